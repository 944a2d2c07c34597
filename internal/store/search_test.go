package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// TestBlockSkipping proves the token filter earns its keep: a needle that
// is in two blocks of 40 reads two blocks, and the answer is still right.
func TestBlockSkipping(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{FlushEvents: 1 << 30, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 500, NoMerge: true})
	defer x.Close()
	evs := synthEvents(20000, t0)
	// The needle: a user name in event 777 (block 1) and a value of an
	// extra field in event 15000 (block 30).
	evs[777].Set(event.User, "Zyzzyva.Needle")
	evs[15000].SetExtra("CommandLine", `C:\Windows\zyzzyva.exe -enc AAAA`)
	added := addAll(t, x, 0, evs)
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := x.Stats().Blocks; n != 40 {
		t.Fatalf("%d blocks, want 40", n)
	}
	f := func(q string, wantTotal int64, wantBlocks int) {
		t.Helper()
		res := checkSearch(t, x, added, Request{Query: mustParse(t, q)}, q)
		if res.Total != wantTotal || res.Scanned.Blocks != wantBlocks || res.Scanned.BlocksSkipped != 40-wantBlocks {
			t.Errorf("%q: total %d, scanned %+v; want total %d, %d blocks read", q, res.Total, res.Scanned, wantTotal, wantBlocks)
		}
	}
	f("zyzzyva", 2, 2)
	f("ZYZZYVA", 2, 2)
	f("user:zyzzyva.needle", 1, 1)
	f("zyzzyva needle", 1, 1)
	f(`"zyzzyva needle"`, 1, 1)
	f("zyzzyva.exe", 1, 1)
	f("zyzzyva OR absentword", 2, 2)
	f("absentword", 0, 0)
	f("session", 20000, 40)
	f("zyzzyva*", 2, 40) // a wildcard word gives no token to look for
	f("-zyzzyva", 19998, 40)

	// The time range skips blocks by their min/max time.
	from, to := evs[1000].Time, evs[1500].Time
	res := checkSearch(t, x, added, Request{From: from, To: to, Limit: 1000}, "time range")
	if res.Total != 500 || res.Scanned.Blocks > 2 {
		t.Errorf("time range: total %d, %+v", res.Total, res.Scanned)
	}
}

// TestConcurrentAddSearch adds from one goroutine while others search,
// flush and merge (run with -race). Every search must see a prefix of the
// added events: nothing lost or doubled while the tail moves into parts.
func TestConcurrentAddSearch(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{FlushEvents: 700, FlushAge: 5 * time.Millisecond, BlockEvents: 300, MergeFanIn: 3})
	evs := synthEvents(12000, t0)
	// done counts the Adds that returned, started those that began: a
	// search sees at least the first and at most the second.
	var done, started atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := mustParse(t, []string{"", "deny", "| stats count by host"}[w])
			for ctx.Err() == nil {
				before := done.Load()
				res, err := x.Search(ctx, Request{Query: q, Limit: 50})
				after := started.Load()
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if w == 0 && (res.Total < before || res.Total > after) {
					errs <- fmt.Errorf("search saw %d events, between %d and %d were added", res.Total, before, after)
					return
				}
				if w == 0 && len(res.Events) > 0 && res.Total > 0 {
					// The newest event is the last added before the snapshot.
					if got, want := res.Events[0].Raw, evs[res.Total-1].Raw; got != want {
						errs <- fmt.Errorf("newest of %d is %q, want %q", res.Total, got, want)
						return
					}
				}
			}
		}()
	}
	for i, ev := range evs {
		started.Store(int64(i + 1))
		if err := x.Add(uint64(i), ev); err != nil {
			t.Fatal(err)
		}
		done.Store(int64(i + 1))
		if i%3000 == 0 {
			if err := x.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var all []indexed
	for i, ev := range evs {
		all = append(all, indexed{uint64(i), ev})
	}
	checkSearch(t, x, all, Request{Limit: maxLimit}, "at the end")
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), Request{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("search after close: %v", err)
	}
	if err := x.Add(99999, evs[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("add after close: %v", err)
	}
}

func TestSearchCancelled(t *testing.T) {
	x := openTest(t, t.TempDir(), Options{NoMerge: true, BlockEvents: 1000})
	defer x.Close()
	addAll(t, x, 0, synthEvents(20000, t0))
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Search(ctx, Request{Query: mustParse(t, "deny")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled search: %v", err)
	}
}

func TestAddRules(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{NoMerge: true, MaxValueBytes: 100})
	evs := synthEvents(3, t0)
	if err := x.Add(10, evs[0]); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{10, 9} {
		if err := x.Add(seq, evs[1]); err == nil || !strings.Contains(err.Error(), "must grow") {
			t.Errorf("add %d after 10: %v", seq, err)
		}
	}
	big := &event.Event{Raw: strings.Repeat("x", maxRawBytes+1)}
	if err := x.Add(11, big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("add of a %d-byte raw: %v", len(big.Raw), err)
	}
	// Long values are cut at a character boundary; long raw is not.
	long := &event.Event{Time: t0, Raw: strings.Repeat("r", 5000)}
	long.Set(event.URL, strings.Repeat("é", 80)) // 160 bytes
	long.SetExtra("Payload", strings.Repeat("a", 150))
	if err := x.Add(12, long); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	x.Close()
	x = openTest(t, dir, Options{NoMerge: true})
	defer x.Close()
	if x.Next() != 13 {
		t.Fatalf("Next = %d, want 13", x.Next())
	}
	if err := x.Add(12, evs[2]); err == nil {
		t.Fatal("add below Next accepted")
	}
	res, err := x.Search(context.Background(), Request{Query: mustParse(t, "Payload:*")})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("%v %v", res, err)
	}
	got := res.Events[0]
	if got.Raw != long.Raw || got.Get(event.URL) != strings.Repeat("é", 50) || got.Extra("Payload") != strings.Repeat("a", 100) {
		t.Fatalf("cut values: raw %d bytes, url %q, payload %d bytes", len(got.Raw), got.Get(event.URL), len(got.Extra("Payload")))
	}
}

// TestFlushByAge: a slow source still gets its events into parts after
// FlushAge, with nobody calling Flush, and Next follows.
func TestFlushByAge(t *testing.T) {
	x := openTest(t, t.TempDir(), Options{FlushAge: 30 * time.Millisecond, NoMerge: true})
	defer x.Close()
	addAll(t, x, 0, synthEvents(10, t0))
	deadline := time.Now().Add(5 * time.Second)
	for x.Next() != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("no flush by age: %+v", x.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := x.Stats(); st.Parts != 1 || st.TailEvents != 0 {
		t.Fatalf("%+v", st)
	}
}

// TestFlushFailure: when parts cannot be written (here the folder is
// gone; in life, a full disk), events stay searchable in the tail, Add
// reports the failure once the tail is full, and all is well again once
// the flusher's retry succeeds.
func TestFlushFailure(t *testing.T) {
	dir := t.TempDir() + "/index"
	x := openTest(t, dir, Options{FlushEvents: 100, BlockEvents: 50, FlushAge: time.Millisecond, NoMerge: true})
	defer x.Close()
	evs := synthEvents(1000, t0)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	var added []indexed
	var addErr error
	for i, ev := range evs {
		if addErr = x.Add(uint64(i), ev); addErr != nil {
			break
		}
		added = append(added, indexed{uint64(i), ev})
	}
	if addErr == nil || !strings.Contains(addErr.Error(), "flushing fails") {
		t.Fatalf("Add with no folder to flush to: %v", addErr)
	}
	if st := x.Stats(); st.FlushError == "" || st.TailEvents != len(added) {
		t.Fatalf("stats: %+v", st)
	}
	checkSearch(t, x, added, Request{Limit: maxLimit}, "tail while flushes fail")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for x.Stats().TailEvents > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no flush after the folder came back: %+v", x.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := x.Stats(); st.FlushError != "" || x.Next() != uint64(len(added)) {
		t.Fatalf("after recovery: %+v", st)
	}
	added = append(added, addAll(t, x, uint64(len(added)), evs[len(added):])...)
	checkSearch(t, x, added, Request{Limit: maxLimit}, "after recovery")
}

// TestPairSkipping: an IP address needle is made of tokens (198, 51, 100,
// 237) that every block holds; only the pairs of consecutive tokens
// (198 51, 51 100, 100 237) in the filters let the search skip blocks. The
// answer must still be the brute-force one.
func TestPairSkipping(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{FlushEvents: 1 << 30, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 500, NoMerge: true})
	defer x.Close()
	evs := synthEvents(20000, t0)
	// Every block has src=10.0.x.y for every y < 251; these add the
	// address's tokens to every block's raw lines, in other orders.
	for i := 0; i < len(evs); i += 50 {
		evs[i].Raw += " sent=237 recv=198 next=51.100"
	}
	evs[777].Set(event.SrcIP, "198.51.100.237")
	evs[15000].Raw += " from 198.51.100.237 port 22"
	evs[16000].Set(event.DstIP, "::ffff:198.51.100.237") // the same address, IPv4-mapped
	evs[17000].SetExtra("Message", "Failed password for root from 203.0.113.5")
	added := addAll(t, x, 0, evs)
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := x.Stats().Blocks; n != 40 {
		t.Fatalf("%d blocks, want 40", n)
	}
	f := func(q string, wantTotal int64, maxBlocks int) {
		t.Helper()
		res := checkSearch(t, x, added, Request{Query: mustParse(t, q)}, q)
		if res.Total != wantTotal || res.Scanned.Blocks > maxBlocks || res.Scanned.BlocksSkipped != 40-res.Scanned.Blocks {
			t.Errorf("%q: total %d, scanned %+v; want total %d, at most %d blocks read", q, res.Total, res.Scanned, wantTotal, maxBlocks)
		}
	}
	// The tokens alone are in every block: nothing is skipped.
	f("198 51 100 237", 401, 40)
	f("198.51.100.237", 3, 3)
	f(`"198 51 100 237"`, 3, 3)
	// An address field asks for each pair or ffff (the address may be
	// written IPv4-mapped in hex): the blocks of the three events.
	f("src_ip:198.51.100.237", 1, 3)
	f("dst_ip:198.51.100.237", 1, 3)
	f(`"failed password for root"`, 1, 1)
	f(`Message:"*password for root*"`, 1, 3)
	f("for", 1, 3)
	f("198.51.100.237 OR absentword", 3, 3)
	f("src_ip:198.51.100.0/24", 1, 40) // a prefix asks for no pair
}

// TestMergeV1Part merges a version 1 part (filters without pairs) with a
// new one: its full blocks must be re-encoded, not copied, so that the
// merged part, of the current version, has pairs in every filter.
func TestMergeV1Part(t *testing.T) {
	dir := t.TempDir()
	ents, err := os.ReadDir(filepath.Join("testdata", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		copyFile(t, filepath.Join("testdata", "v1", e.Name()), filepath.Join(dir, e.Name()))
	}
	x := openTest(t, dir, Options{FlushEvents: 1 << 30, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 100, MergeFanIn: 4, NoMerge: true})
	defer x.Close()
	old := synthEvents(250, t0)
	added := make([]indexed, len(old))
	for i, ev := range old {
		added[i] = indexed{seq: 1000 + uint64(i), ev: ev}
	}
	added = append(added, addAll(t, x, 1250, synthEvents(250, t0.Add(10*time.Minute)))...)
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := mergeAll(t, x, t0.Add(time.Hour)); n != 1 || len(x.parts) != 1 || !x.parts[0].pairs {
		t.Fatalf("%d merges, %d parts; want one part with pairs", n, len(x.parts))
	}
	for _, q := range []string{"", "10.0.3.3", "src_ip:10.0.3.3", `"action=deny user=u007"`, "mail.example.jp", "zone:repeated"} {
		checkSearch(t, x, added, Request{Query: mustParse(t, q), Limit: maxLimit}, q)
	}
	res := checkSearch(t, x, added, Request{Query: mustParse(t, "10.0.3.3")}, "10.0.3.3")
	if res.Scanned.BlocksSkipped == 0 {
		t.Errorf("10.0.3.3: no block skipped in the merged part: %+v", res.Scanned)
	}
}

// Field terms whose exact name a row lacks fall back to names equal
// ignoring case (commandline: finds CommandLine); over stored rows that
// fallback reads only blocks with such a name (EachFold). The answers,
// filters and group-bys alike, are those of the events themselves.
func TestCaseFoldedFields(t *testing.T) {
	evs := loadReal(t)
	x := openTest(t, t.TempDir(), Options{BlockEvents: 512})
	defer x.Close()
	added := addAll(t, x, 0, evs)
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"commandline:*powershell*", "IMAGE:*\\\\cmd.exe", "user:administrator", "EVENTID:4688",
		"targetusername:* -TargetUserName:*", "| stats count by commandline", "SOURCE:evtx | stats count by image",
	} {
		checkSearch(t, x, added, Request{Query: mustParse(t, q), Limit: 50}, q)
	}
	if got := checkSearch(t, x, added, Request{Query: mustParse(t, "commandline:*powershell*"), Limit: 1}, "count"); got.Total == 0 {
		t.Error("no event with a PowerShell command line: the test checks nothing")
	}
	// Two names that fit in one block (and one event), and a repeated one:
	// Each's order decides which value a group-by takes.
	var more []*event.Event
	for i, names := range [][]string{{"User", "USER"}, {"USER"}, {"User", "User"}, {"uSeR"}} {
		ev := synthEvents(1, t0.Add(time.Duration(i)*time.Second))[0]
		for j, n := range names {
			ev.AppendExtra(n, fmt.Sprintf("u%d-%d", i, j))
		}
		more = append(more, ev)
	}
	y := openTest(t, t.TempDir(), Options{})
	defer y.Close()
	extra := addAll(t, y, 0, more)
	for _, q := range []string{"user:u0-1", "user:u2-1", "user:u3-0", "| stats count by user", "user:*"} {
		checkSearch(t, y, extra, Request{Query: mustParse(t, q), Limit: 10}, q)
	}
}
