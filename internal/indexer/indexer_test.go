package indexer

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/query"
	"github.com/kizuki-dev/kizuki/internal/store"
)

// The JPCERT document's proxy log and lines of no known format, stored in
// a journal, are indexed and found; after a restart the indexer resumes
// where the index's durable parts end, adding each record once; reading
// the journal's folder (reindex) gives the same index.
func TestFollow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := journal.Open(dir+"/journal", journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	proxy, err := os.ReadFile("../../examples/logs/proxy/access_combined.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(proxy)), "\n")
	origin := "https 10.0.0.7:4242 token=shipper"
	var recs []journal.Record
	for _, l := range lines {
		recs = append(recs, journal.Record{Origin: origin, Source: "squid-combined", Raw: []byte(l)})
	}
	recs = append(recs, journal.Record{Origin: "syslog-udp :5514 <- 10.0.0.9:514", Raw: []byte("<13>not a known format, kizukineedle")})
	if _, err := j.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	tracker := health.NewTracker()
	tracker.Observe(recs)
	count := func(x *store.Index, q string) int64 {
		t.Helper()
		pq, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(ctx, store.Request{Query: pq, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}

	x, err := store.Open(dir+"/index", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix := New(j, x, formats.Registry(), Options{Tracker: tracker})
	if err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if st.Indexed != uint64(len(recs)) || st.Unparsed != 1 || st.Next != journal.Seq(len(recs)) || st.LagP99 <= 0 {
		t.Errorf("stats %+v", st)
	}
	if n := count(x, "source:squid-combined"); n != int64(len(lines)) {
		t.Errorf("%d proxy events found, want %d", n, len(lines))
	}
	if n := count(x, "kizukineedle host:10.0.0.9"); n != 1 {
		t.Errorf("the unparsed record: found %d times", n)
	}
	// The proxy log is from 2015: its sender's clock looks ten years
	// behind (these are old logs sent late, as the offset's doc says).
	if src := tracker.Sources(0)[0]; src.ClockSamples == 0 || src.ClockOffset > -3e8 {
		t.Errorf("clock offset of the proxy log's sender: %+v", src)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// More records, then a restart: only those are added.
	if _, err := j.Append(ctx, recs[:10]); err != nil {
		t.Fatal(err)
	}
	x, err = store.Open(dir+"/index", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix = New(j, x, formats.Registry(), Options{})
	if ix.Stats().Next != journal.Seq(len(recs)) {
		t.Errorf("resumes at %d, want %d", ix.Stats().Next, len(recs))
	}
	if err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(x, "source:squid-combined"); n != int64(len(lines)+10) || ix.Stats().Indexed != 10 {
		t.Errorf("after a restart: %d proxy events, %d indexed", n, ix.Stats().Indexed)
	}
	x.Close()

	// Reindex: from the journal's folder into an empty index.
	x, err = store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ix = New(Dir(dir+"/journal"), x, formats.Registry(), Options{})
	if err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(x, ""); n != int64(len(recs)+10) {
		t.Errorf("reindex: %d events, want %d", n, len(recs)+10)
	}
}

// The 99th percentile of the delays: within a bucket's width (5%).
func TestLagP99(t *testing.T) {
	ix := &Indexer{}
	for i := 1; i <= 1000; i++ {
		ix.lags[lagBucket(time.Duration(i)*time.Millisecond)]++
	}
	if p := ix.Stats().LagP99; p < 990*time.Millisecond || p > 1040*time.Millisecond {
		t.Errorf("p99 of 1..1000 ms: %v", p)
	}
	if lagBucket(0) != 0 || lagBucket(time.Hour) != lagBuckets-1 {
		t.Error("bucket bounds")
	}
}
