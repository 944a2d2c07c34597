package jpcert

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
)

const bUploadNote = "Squid: add %>st (request size) to the access_log logformat"

// bUploadSeq is a POST followed by CONNECTs to the same host, one a minute.
func bUploadSeq(t *testing.T, client, host, start string, sizes []int64, bytes func(int64) bOpt) []*event.Event {
	t.Helper()
	tm := bJST(t, start)
	var out []*event.Event
	for i, n := range sizes {
		if i == 0 {
			out = append(out, bProxy(tm, client, "POST", "http://"+host+"/upload.php", bytes(n)))
		} else {
			out = append(out, bProxy(tm, client, "CONNECT", host+":443", bytes(n)))
		}
		tm = tm.Add(time.Minute)
	}
	return out
}

// With upload bytes in the log: a POST of 1 MB and 5 CONNECTs of 25 MB to
// the same host sum to 126 MB > 100 MB: high.
func TestJ10LargeSequenceMeasured(t *testing.T) {
	d := NewJ10(bModel(t, nil))
	evs := bUploadSeq(t, "192.168.1.10", "upload.example.net", "2015-02-12 13:53:00",
		[]int64{1_000_000, 25_000_000, 25_000_000, 25_000_000, 25_000_000, 25_000_000}, bOut)
	got := bRun(d, evs...)
	bWant(t, got, 1)
	a := got[0]
	bCheck(t, a, "J10", "192.168.1.10", alert.High, bStages67,
		"192.168.1.10 sent 126.0 MB to upload.example.net in a POST+CONNECT sequence of 1 POST and 5 CONNECT requests (2015-02-12 13:53 JST – 2015-02-12 13:58 JST)")
	f := a.Fields
	if f["bytes"] != "126000000" || f["byte_field"] != "bytes_out" || f["posts"] != "1" || f["connects"] != "5" || f["domain"] != "upload.example.net" {
		t.Errorf("fields %v", f)
	}
	if !reflect.DeepEqual(bOrigins(a), []int64{1, 2, 3, 4, 6}) || a.Count != 6 {
		t.Errorf("evidence %v count %d", bOrigins(a), a.Count)
	}
	bNoNote(t, d.Notes(), bUploadNote)
}

// Squid native logs only %<st: the logged bytes are summed and the finding
// says so; Notes explains that uploads are not measured.
func TestJ10FallbackBytesIn(t *testing.T) {
	d := NewJ10(bModel(t, nil))
	evs := bUploadSeq(t, "192.168.1.11", "storage.example.org", "2015-02-12 14:00:00",
		[]int64{2_000, 60_000_000, 60_000_000}, bIn)
	got := bRun(d, evs...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J10", "192.168.1.11", alert.High, bStages67, "has 120.0 MB logged to storage.example.org", "%<st")
	if got[0].Fields["byte_field"] != "bytes_in" {
		t.Errorf("fields %v", got[0].Fields)
	}
	n := bNote(t, d.Notes(), detect.Degraded, bUploadNote)
	if !strings.Contains(n.Message, "upload volume not in the log") {
		t.Errorf("note %q", n.Message)
	}
}

// Benign look-alikes: many small POSTs, a large download by GET, a large
// download over CONNECT without a POST, a large POST to an internal server.
func TestJ10BenignQuiet(t *testing.T) {
	d := NewJ10(bModel(t, nil))
	tm := bJST(t, "2015-02-12 10:00:00")
	var evs []*event.Event
	for i := 0; i < 200; i++ {
		evs = append(evs, bProxy(tm.Add(time.Duration(i)*time.Second), "192.168.1.12", "POST", "http://webmail.example.com/send", bIn(1_000), bOut(50_000)))
	}
	evs = append(evs,
		bProxy(tm, "192.168.1.13", "GET", "http://dl.example.com/dvd.iso", bIn(4_000_000_000)),
		bProxy(tm, "192.168.1.13", "CONNECT", "video.example.com:443", bIn(900_000_000)),
		bProxy(tm, "192.168.1.14", "POST", "http://10.0.0.5/backup", bOut(500_000_000)),
	)
	bWant(t, bRun(d, evs...), 0)
}

// A gap over 10 minutes, another method to the host, or a new POST ends a
// sequence.
func TestJ10SequenceBoundaries(t *testing.T) {
	m := bModel(t, nil)
	tm := bJST(t, "2015-02-12 10:00:00")
	host := "drop.example.com"
	post := func(at time.Duration) *event.Event {
		return bProxy(tm.Add(at), "192.168.1.15", "POST", "http://"+host+"/u", bIn(1_000))
	}
	conn := func(at time.Duration) *event.Event {
		return bProxy(tm.Add(at), "192.168.1.15", "CONNECT", host+":443", bIn(60_000_000))
	}
	get := func(at time.Duration) *event.Event {
		return bProxy(tm.Add(at), "192.168.1.15", "GET", "http://"+host+"/", bIn(500))
	}
	for name, evs := range map[string][]*event.Event{
		"gap":        {post(0), conn(time.Minute), conn(12 * time.Minute)},
		"get":        {post(0), conn(time.Minute), get(2 * time.Minute), conn(3 * time.Minute)},
		"other-host": {post(0), conn(time.Minute), bProxy(tm.Add(2*time.Minute), "192.168.1.15", "CONNECT", "other.example.com:443", bIn(60_000_000))},
	} {
		if got := bRun(NewJ10(m), evs...); len(got) != 0 {
			t.Errorf("%s: %d alerts, first %q", name, len(got), got[0].Summary)
		}
	}
	got := bRun(NewJ10(m), post(0), conn(time.Minute), conn(10*time.Minute))
	bWant(t, got, 1)
	bCheck(t, got[0], "J10", "192.168.1.15", alert.High, bStages67, "1 POST and 2 CONNECT requests")
	// A new POST starts a new sequence: two sequences of 60 MB are not a
	// high finding, only the day's total (medium).
	got = bRun(NewJ10(m), post(0), conn(time.Minute), post(2*time.Minute), conn(3*time.Minute))
	bWant(t, got, 1)
	bCheck(t, got[0], "J10", "192.168.1.15", alert.Medium, bStages67, "in 4 POST/CONNECT requests on 2015-02-12")
}

// Uploads split into several sequences that together exceed the threshold
// in one day: medium.
func TestJ10DailyTotalMedium(t *testing.T) {
	d := NewJ10(bModel(t, nil))
	var evs []*event.Event
	for _, start := range []string{"2015-02-12 10:00:00", "2015-02-12 11:00:00", "2015-02-12 15:00:00"} {
		evs = append(evs, bUploadSeq(t, "192.168.1.16", "files.example.net", start, []int64{40_000_000}, bOut)...)
	}
	// The next day alone stays under the threshold.
	evs = append(evs, bUploadSeq(t, "192.168.1.16", "files.example.net", "2015-02-13 10:00:00", []int64{40_000_000}, bOut)...)
	got := bRun(d, evs...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J10", "192.168.1.16", alert.Medium, bStages67,
		"192.168.1.16 sent 120.0 MB to files.example.net in 3 POST/CONNECT requests on 2015-02-12, no single POST+CONNECT sequence above 100.0 MB")
	if got[0].Fields["day"] != "2015-02-12" || len(got[0].Evidence) != 3 {
		t.Errorf("fields %v evidence %v", got[0].Fields, bOrigins(got[0]))
	}
}

// thresholds.upload_bytes is honoured.
func TestJ10Threshold(t *testing.T) {
	cfg := bCfg()
	cfg.Thresholds.UploadBytes = 10_000
	got := bRun(NewJ10(bModel(t, cfg)), bUploadSeq(t, "192.168.1.17", "paste.example.com", "2015-02-12 10:00:00", []int64{6_000, 6_000}, bOut)...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J10", "192.168.1.17", alert.High, bStages67, "sent 12.0 kB to paste.example.com")
	if got[0].Fields["threshold_bytes"] != "10000" {
		t.Errorf("fields %v", got[0].Fields)
	}
}

func BenchmarkJ10Observe(b *testing.B) {
	m := bModel(b, nil)
	tm := bJST(b, "2015-02-12 10:00:00")
	b.Run("get", func(b *testing.B) {
		d := NewJ10(m)
		d.Observe(bProxy(tm, "192.168.1.5", "POST", "http://upload.example.net/u", bOut(100)))
		ev := bProxy(tm, "192.168.1.5", "GET", "http://www.example.org/", bIn(5_000))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("connect-no-sequence", func(b *testing.B) {
		d := NewJ10(m)
		ev := bProxy(tm, "192.168.1.5", "CONNECT", "www.example.org:443", bIn(5_000))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("post-connect", func(b *testing.B) {
		d := NewJ10(m)
		evs := []*event.Event{
			bProxy(tm, "192.168.1.5", "POST", "http://upload.example.net/u", bOut(1_000)),
			bProxy(tm, "192.168.1.5", "CONNECT", "upload.example.net:443", bOut(1_000)),
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(evs[i&1])
		}
	})
}
