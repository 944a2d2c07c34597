package journal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The kill -9 test runs this test binary again as a child that appends
// from several goroutines and prints a line for every acknowledged Append;
// the parent SIGKILLs it in the middle of the stream, reopens the journal
// and checks that every acknowledged record is there, at the number its
// Append returned, exactly once.
const (
	killDirEnv   = "KIZUKI_JOURNAL_KILL_DIR"
	killRoundEnv = "KIZUKI_JOURNAL_KILL_ROUND"
)

func killOptions() Options {
	_, priv := testKey(nil)
	return Options{SegmentSize: 256 << 10, BlockSize: 8 << 10, SigningKey: priv, CheckpointEvery: 500, CheckpointInterval: 50 * time.Millisecond}
}

func killRecord(round, writer, n int) Record {
	return Record{
		Received: time.Now(),
		Origin:   fmt.Sprintf("tcp 10.1.%d.%d:514", writer, n%250),
		Raw:      fmt.Appendf(nil, "kill-test r=%d w=%d n=%d %s", round, writer, n, strings.Repeat("p", n%150)),
	}
}

// killChild is the child's side: append until killed (or 20 s).
func killChild(dir string, round int) {
	j, err := Open(dir, killOptions())
	if err != nil {
		fmt.Fprintf(os.Stdout, "error %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	stop := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); {
				c := 1 + n%4
				recs := make([]Record, c)
				for i := range recs {
					recs[i] = killRecord(round, w, n+i)
				}
				first, err := j.Append(context.Background(), recs)
				if err != nil {
					fmt.Fprintf(os.Stdout, "error %v\n", err)
					os.Exit(2)
				}
				// One line per acknowledged Append, flushed at once: what
				// the parent reads was acknowledged before the kill.
				mu.Lock()
				fmt.Fprintf(out, "ack %d %d %d %d %d\n", first, c, round, w, n)
				out.Flush()
				mu.Unlock()
				n += c
			}
		}()
	}
	wg.Wait()
	j.Close()
	os.Exit(0)
}

type ack struct {
	first              Seq
	count, round, w, n int
}

func TestKill9(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		round, _ := strconv.Atoi(os.Getenv(killRoundEnv))
		killChild(dir, round)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	var acks []ack
	for round := 0; round < 4; round++ {
		acks = append(acks, killRound(t, dir, round)...)
		// Reopen in this process after each kill: repair, then a clean
		// close, as a restarted server would.
		j := mustOpen(t, dir, killOptions())
		t.Logf("round %d: %d acknowledged Appends so far; reopen: %v; next record %d", round, len(acks), j.Recovery(), j.Stats().NextSeq)
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Every record, by its content.
	type key struct{ round, w, n int }
	at := map[key]Seq{}
	r, err := NewReader(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	total := 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		var k key
		if _, err := fmt.Sscanf(string(rec.Raw), "kill-test r=%d w=%d n=%d", &k.round, &k.w, &k.n); err != nil {
			t.Fatalf("record %d: %q", rec.Seq, rec.Raw)
		}
		if prev, dup := at[k]; dup {
			t.Fatalf("record %+v stored twice: %d and %d", k, prev, rec.Seq)
		}
		at[k] = rec.Seq
		total++
	}
	for _, a := range acks {
		for i := 0; i < a.count; i++ {
			k := key{a.round, a.w, a.n + i}
			seq, ok := at[k]
			if !ok {
				t.Fatalf("acknowledged record %+v (number %d) is missing", k, a.first+Seq(i))
			}
			if seq != a.first+Seq(i) {
				t.Fatalf("acknowledged record %+v is at %d, Append said %d", k, seq, a.first+Seq(i))
			}
		}
	}
	pub, _ := testKey(t)
	rep := mustVerify(t, dir, pub)
	t.Logf("%d records stored (%d acknowledged Appends); verify: %d segments, %d checkpoints, %d repairs", total, len(acks), rep.Segments, rep.Checkpoints, rep.Repairs)
}

// killRound runs one child, kills it once it has acknowledged a few
// thousand records, and returns the acknowledgements it printed.
func killRound(t *testing.T, dir string, round int) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir, killRoundEnv+"="+strconv.Itoa(round))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	records := 0
	killAt := 2000 + round*1500 // vary where in the stream the kill lands
	br := bufio.NewReader(stdout)
	killed := false
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break // EOF after the kill; a partial last line was never complete
		}
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		var a ack
		if _, err := fmt.Sscanf(line, "ack %d %d %d %d %d", &a.first, &a.count, &a.round, &a.w, &a.n); err != nil {
			t.Fatalf("child printed %q", line)
		}
		acks = append(acks, a)
		records += a.count
		if records >= killAt && !killed {
			cmd.Process.Kill() // SIGKILL
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("round %d: the child ended before the kill (%d records)", round, records)
	}
	return acks
}
