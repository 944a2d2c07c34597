package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/query"
)

// searchAnswer is the part of GET /api/v1/search's answer the tests read.
type searchAnswer struct {
	Total  int64 `json:"total"`
	Events []struct {
		Time   string            `json:"time"`
		Source string            `json:"source"`
		Host   string            `json:"host"`
		Raw    string            `json:"raw"`
		Fields map[string]string `json:"fields"`
	} `json:"events"`
	Aggregation struct {
		Type string `json:"type"`
		Rows []struct {
			Values []string `json:"values"`
			Count  int64    `json:"count"`
		} `json:"rows"`
		Buckets []struct {
			Count int64 `json:"count"`
		} `json:"buckets"`
	} `json:"aggregation"`
}

// The flow: events sent over syslog (the real logger) and HTTPS
// are searchable through GET /api/v1/search and kizuki search, with the
// query language's field values, CIDR, comparisons, free words, stats and
// timeline; the same answers come from the data directory once the server
// stopped, and again after kizuki reindex rebuilt the index from the
// journal.
func TestServeSearch(t *testing.T) {
	logger := needTool(t, "logger", "bsdutils")
	data, key := keyed(t)
	srv := startServe(t, data, key, "--syslog-udp", "off", "--syslog-tcp", "127.0.0.1:0", "--syslog-tls", "off", "--https", "127.0.0.1:0")
	tcpPort := srv.await(t, `syslog over TCP on 127\.0\.0\.1:(\d+)`)
	port := srv.httpsPort(t)
	tokenFile := filepath.Join(data, "admin-token")
	base := "https://127.0.0.1:" + port
	call := apiCall(t, data, port)
	get := func(path string, wantStatus int) []byte {
		t.Helper()
		st, b := call("GET", path, "")
		if st != wantStatus {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		return b
	}
	search := func(q string, extra ...string) searchAnswer {
		t.Helper()
		v := url.Values{"q": {q}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		var a searchAnswer
		if err := json.Unmarshal(get("/api/v1/search?"+v.Encode(), 200), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}

	// The JPCERT document's proxy log over HTTPS, its firewall log with
	// the format left to detection, and lines of no known format from
	// logger over TCP.
	proxy, err := os.ReadFile("../../examples/logs/proxy/access_combined.log")
	if err != nil {
		t.Fatal(err)
	}
	fw, err := os.ReadFile("../../examples/logs/firewall/netscreen.log")
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body []byte) {
		t.Helper()
		if st, b := call("POST", path, string(body)); st != 200 {
			t.Fatalf("POST %s: %d %s", path, st, b)
		}
	}
	post("/api/v1/ingest?type=squid-combined", proxy)
	post("/api/v1/ingest", fw)
	const nLogger = 40
	var lines []string
	for i := range nLogger {
		lines = append(lines, fmt.Sprintf("backup job %d finished on kizukitesthost", i))
	}
	cmd := exec.Command(logger, "--tcp", "-n", "127.0.0.1", "-P", tcpPort, "--rfc3164", "-t", "backupd")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger: %v\n%s", err, b)
	}
	nProxy, nFW := countLines(proxy), countLines(fw)
	all := int64(nProxy + nFW + nLogger)
	var a searchAnswer
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if a = search("", "limit", "0"); a.Total == all {
			break
		}
	}
	if a.Total != all {
		t.Fatalf("%d events searchable, want %d", a.Total, all)
	}

	// What each query should find, counted here from the files' text.
	want := map[string]int64{
		"source:squid-combined":          int64(nProxy),
		"source:netscreen":               int64(nFW),
		"backupd":                        nLogger,
		"source:syslog process:backupd":  nLogger, // no known format: its syslog header's parts
		`"backup job 7 finished"`:        1,
		"kizukitesthost AND NOT backupd": 0,
		"ctldl":                          countTokenLines(proxy, "ctldl"),
		"url:*windowsupdate.com*":        countContaining(proxy, "windowsupdate.com"),
		"source:squid-combined AND src_ip:192.168.200.0/24":                  countPrefix(proxy, "192.168.200."),
		"source:squid-combined (src_ip:10.0.0.0/8 OR src_ip:192.168.100.28)": countPrefix(proxy, "192.168.100.28 "),
	}
	for q, n := range want {
		if got := search(q, "limit", "5"); got.Total != n || len(got.Events) != int(min(n, 5)) {
			t.Errorf("%s: total %d, %d events; want %d", q, got.Total, len(got.Events), n)
		}
	}
	if n := want["ctldl"]; n == 0 {
		t.Fatal("the needle is not in the proxy log: the test checks nothing")
	}
	// Events come back as kizuki parse prints them, newest first.
	got := search("source:squid-combined", "limit", "3")
	for i, ev := range got.Events {
		if ev.Source != "squid-combined" || ev.Fields["src_ip"] == "" || !strings.Contains(string(proxy), ev.Raw) {
			t.Errorf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.Time > got.Events[i-1].Time {
			t.Errorf("event %d is newer than the one before it", i)
		}
	}
	// Comparisons and aggregation agree with each other.
	errorsTotal := search("source:squid-combined status:>=400", "limit", "0").Total
	st := search("source:squid-combined | stats count by status", "limit", "0")
	var sum, over400 int64
	for _, r := range st.Aggregation.Rows {
		sum += r.Count
		if len(r.Values) == 1 && r.Values[0] >= "400" {
			over400 += r.Count
		}
	}
	if st.Aggregation.Type != "stats" || sum != int64(nProxy) || over400 != errorsTotal {
		t.Errorf("stats by status: %+v (sum %d, >=400 %d, status:>=400 found %d)", st.Aggregation, sum, over400, errorsTotal)
	}
	// The firewall log's syslog times (+09:00) in [from, to), counted
	// from its text.
	from, to := time.Date(2015, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2015, 2, 3, 0, 0, 0, 0, time.UTC)
	var inRange int64
	for _, l := range strings.Split(string(fw), "\n") {
		if ts, err := time.Parse(time.RFC3339Nano, strings.Fields(l + " x")[0]); err == nil && !ts.Before(from) && ts.Before(to) {
			inRange++
		}
	}
	tl := search("source:netscreen | timeline", "from", "2015-02-01", "to", "2015-02-03T00:00:00Z", "limit", "0")
	sum = 0
	for _, b := range tl.Aggregation.Buckets {
		sum += b.Count
	}
	if tl.Aggregation.Type != "timeline" || sum != inRange || tl.Total != inRange || inRange == 0 || inRange == int64(nFW) {
		t.Errorf("timeline: total %d, buckets sum to %d, want %d of %d", tl.Total, sum, inRange, nFW)
	}
	// from/to bound the time range: the 2015 logs are not in the last hour.
	if n := search("source:netscreen", "from", "-1h").Total; n != 0 {
		t.Errorf("from=-1h found %d of the 2015 firewall events", n)
	}
	// A bad query names its column; no token, no search.
	if b := get("/api/v1/search?q="+url.QueryEscape("(src_ip:1.2.3.4"), 400); !strings.Contains(string(b), "column") {
		t.Errorf("bad query: %s", b)
	}
	if st, b := call("GET", "/api/v1/search?q=x", "", "kzk_not-a-token"); st != 401 {
		t.Errorf("search with an unknown token: %d %s", st, b)
	}

	// kizuki search against the running server.
	stdout, _, err := run(t, "", "search", "--server", base, "--token-file", tokenFile, "--ca", filepath.Join(data, "tls", "ca-cert.pem"), "source:netscreen")
	if err != nil || !strings.Contains(stdout, fmt.Sprintf("%d matching events", nFW)) {
		t.Fatalf("kizuki search --server: %v\n%s", err, stdout)
	}
	// A data directory in use is refused, with what to do instead.
	if _, _, err := run(t, "", "search", "--data", data, "x"); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("search --data under a running server: %v", err)
	}
	srv.stop(t)

	// The same answers from the data directory, and after reindex.
	check := func(what string) {
		t.Helper()
		for _, q := range []string{"source:squid-combined", "ctldl", "backupd"} {
			stdout, _, err := run(t, "", "search", "--data", data, "--format", "json", "--limit", "0", q)
			var a searchAnswer
			if err != nil || json.Unmarshal([]byte(stdout), &a) != nil || a.Total != want[q] {
				t.Errorf("%s: search --data %s: %v, total %d want %d\n%s", what, q, err, a.Total, want[q], stdout)
			}
		}
	}
	check("stopped server")
	stdout, _, err = run(t, "", "reindex", "--data", data)
	if err != nil || !strings.Contains(stdout, fmt.Sprintf("indexed %d records", all)) {
		t.Fatalf("reindex: %v\n%s", err, stdout)
	}
	check("after reindex")
}

// countWhere counts the lines of b for which keep says yes.
func countWhere(b []byte, keep func(line string) bool) int64 {
	var n int64
	for _, l := range strings.Split(string(b), "\n") {
		if keep(l) {
			n++
		}
	}
	return n
}

func countLines(b []byte) int {
	return int(countWhere(b, func(l string) bool { return strings.TrimSpace(l) != "" }))
}

func countContaining(b []byte, s string) int64 {
	return countWhere(b, func(l string) bool { return strings.Contains(l, s) })
}

func countPrefix(b []byte, p string) int64 {
	return countWhere(b, func(l string) bool { return strings.HasPrefix(l, p) })
}

// countTokenLines counts the lines holding tok as a whole token.
func countTokenLines(b []byte, tok string) int64 {
	return countWhere(b, func(l string) bool {
		found := false
		query.Tokens(l, func(t string) { found = found || t == tok })
		return found
	})
}

// An indicator list sent over the API is retro-hunted over what is already
// stored (alerts marked retro with the original event's time and record)
// and matched live on what comes after; a viewer may not add one.
func TestServeIndicatorsRetroHunt(t *testing.T) {
	data, key := keyed(t)
	srv := startServe(t, data, key, apiOnly()...)
	call := apiCall(t, data, srv.httpsPort(t))
	proxy, err := os.ReadFile("../../examples/logs/proxy/access_combined.log")
	if err != nil {
		t.Fatal(err)
	}
	if st, b := call("POST", "/api/v1/ingest?type=squid-combined", string(proxy)); st != 200 {
		t.Fatalf("ingest: %d %s", st, b)
	}
	viewer, _, err := run(t, "", "token", "create", "--data", data, "--role", "viewer", "v")
	if err != nil {
		t.Fatal(err)
	}
	// Tokens made while the server runs are seen after a restart.
	srv.stop(t)
	srv = startServe(t, data, key, apiOnly()...)
	call = apiCall(t, data, srv.httpsPort(t))
	iocs, err := os.ReadFile("../../examples/iocs.txt")
	if err != nil {
		t.Fatal(err)
	}
	if st, b := call("PUT", "/api/v1/indicators/partner.txt", string(iocs), viewer); st != 403 {
		t.Fatalf("a viewer added indicators: %d %s", st, b)
	}
	st, b := call("PUT", "/api/v1/indicators/partner.txt", string(iocs))
	if st != 200 || !strings.Contains(string(b), `"indicators":5`) {
		t.Fatalf("PUT indicators: %d %s", st, b)
	}
	type alerts struct {
		Alerts []struct {
			Kind   string `json:"kind"`
			Rule   string `json:"rule_id"`
			Time   string `json:"time"`
			Seq    int    `json:"seq"`
			Retro  bool   `json:"retro"`
			Origin string `json:"origin"`
		} `json:"alerts"`
	}
	// The two requests to dl.evil-cdn.example (lines 292 and 293 of the
	// proxy log, records 291 and 292) are found in the history.
	var got alerts
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, b := call("GET", "/api/v1/alerts?kind=ioc", "")
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Alerts) >= 1 {
			break
		}
	}
	if len(got.Alerts) == 0 {
		t.Fatal("the retro-hunt found nothing")
	}
	for _, a := range got.Alerts {
		if a.Kind != "ioc" || !a.Retro || !strings.HasPrefix(a.Time, "2015-02-03T00:47:1") || (a.Seq != 291 && a.Seq != 292) {
			t.Errorf("retro alert %+v", a)
		}
	}
	// A new request to a subdomain is matched live, not retro.
	line := `192.168.100.30 - - [23/Nov/2026:10:00:00 +0900] "GET http://cdn2.evil-cdn.example/x.js HTTP/1.1" 200 100 "-" "Mozilla/5.0" TCP_MISS:HIER_DIRECT`
	if st, b := call("POST", "/api/v1/ingest?type=squid-combined", line+"\n"); st != 200 {
		t.Fatalf("ingest: %d %s", st, b)
	}
	found := false
	for deadline := time.Now().Add(15 * time.Second); !found && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, b := call("GET", "/api/v1/alerts?kind=ioc", "")
		got.Alerts = nil
		json.Unmarshal(b, &got)
		for _, a := range got.Alerts {
			found = found || (a.Seq == len(strings.Split(strings.TrimSpace(string(proxy)), "\n")) && !a.Retro)
		}
	}
	if !found {
		t.Errorf("the live request to a listed domain raised no live alert: %+v", got.Alerts)
	}
	if st, b := call("GET", "/api/v1/alerts?kind=nonsense", ""); st != 400 {
		t.Errorf("an unknown kind: %d %s", st, b)
	}
	if st, b := call("DELETE", "/api/v1/indicators/partner.txt", ""); st != 200 {
		t.Errorf("DELETE: %d %s", st, b)
	}
	srv.stop(t)
}

// A source that falls silent raises one alert (C7), with what to check,
// and its clock offset is listed with the sources.
func TestServeSilentSource(t *testing.T) {
	data, key := keyed(t)
	srv := startServe(t, data, key, append(apiOnly(), "--silent-after", "1s")...)
	port := srv.httpsPort(t)
	call := apiCall(t, data, port)
	do := func(method, path, body string) []byte { t.Helper(); _, b := call(method, path, body); return b }
	get := func(path string) []byte { t.Helper(); return do("GET", path, "") }
	// Postfix lines time-stamped an hour ahead of now: a clock off (or a
	// wrong time zone).
	var lines []string
	for i := range 5 {
		lines = append(lines, time.Now().Add(time.Hour).Format(time.RFC3339)+fmt.Sprintf(" mx1 postfix/smtpd[1]: connect from unknown[192.0.2.%d]", i))
	}
	if b := do("POST", "/api/v1/ingest?type=postfix", strings.Join(lines, "\n")); !strings.Contains(string(b), `"accepted":5`) {
		t.Fatalf("ingest: %s", b)
	}
	var got struct {
		Alerts []struct {
			Kind      string `json:"kind"`
			Rule      string `json:"rule_title"`
			Host      string `json:"host"`
			Summary   string `json:"summary"`
			NextSteps *struct {
				EN []string `json:"en"`
			} `json:"next_steps"`
		} `json:"alerts"`
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := json.Unmarshal(get("/api/v1/alerts?kind=health"), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Alerts) > 0 {
			break
		}
	}
	time.Sleep(1500 * time.Millisecond) // three more checks: still one alert
	json.Unmarshal(get("/api/v1/alerts?kind=health"), &got)
	var sources []struct {
		Name        string  `json:"name"`
		Silent      bool    `json:"silent"`
		ClockOffset float64 `json:"clock_offset_seconds"`
		ClockSkewed bool    `json:"clock_skewed"`
	}
	b := get("/api/v1/sources")
	if err := json.Unmarshal(b, &sources); err != nil {
		var wrapped struct {
			Sources json.RawMessage `json:"sources"`
		}
		json.Unmarshal(b, &wrapped)
		json.Unmarshal(wrapped.Sources, &sources)
	}
	srv.stop(t)
	if len(got.Alerts) != 1 || got.Alerts[0].Rule != "Log source went silent" || got.Alerts[0].Host != "127.0.0.1" ||
		got.Alerts[0].NextSteps == nil || len(got.Alerts[0].NextSteps.EN) == 0 {
		t.Fatalf("health alerts: %+v", got.Alerts)
	}
	if len(sources) != 1 || !sources[0].Silent || !sources[0].ClockSkewed || sources[0].ClockOffset < 3000 || sources[0].ClockOffset > 4000 {
		t.Errorf("sources: %s", b)
	}
}

// --hot-days: index parts whose events are all older are removed at start
// (recorded in the audit trail), the events stay in the journal, the index
// does not take them in again, and kizuki reindex brings them back.
func TestServeHotDays(t *testing.T) {
	data, key := keyed(t)
	srv := startServe(t, data, key, apiOnly()...)
	port := srv.httpsPort(t)
	call := apiCall(t, data, port)
	do := func(method, path, body string) []byte { t.Helper(); _, b := call(method, path, body); return b }
	fw, err := os.ReadFile("../../examples/logs/firewall/netscreen.log")
	if err != nil {
		t.Fatal(err)
	}
	nFW := int64(countLines(fw))
	total := func() int64 {
		var a searchAnswer
		json.Unmarshal(do("GET", "/api/v1/search?limit=0", ""), &a)
		return a.Total
	}
	wait := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); total() != want && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		}
		if n := total(); n != want {
			t.Fatalf("%d events searchable, want %d", n, want)
		}
	}
	// The 2015 firewall log, then (in a part of its own: a stop writes
	// the index's tail to a part) today's mail.
	do("POST", "/api/v1/ingest?type=netscreen", string(fw))
	wait(nFW)
	srv.stop(t)
	srv = startServe(t, data, key, apiOnly()...)
	call = apiCall(t, data, srv.httpsPort(t))
	today := time.Now().UTC().Format(time.RFC3339) + " mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]"
	do("POST", "/api/v1/ingest?type=postfix", today)
	wait(nFW + 1)
	srv.stop(t)

	srv = startServe(t, data, key, append(apiOnly(), "--hot-days", "30")...)
	call = apiCall(t, data, srv.httpsPort(t))
	srv.await(t, "index retention: removed")
	time.Sleep(300 * time.Millisecond) // a few polls of the indexer: nothing comes back
	n := total()
	srv.stop(t)
	if n != 1 {
		t.Errorf("with --hot-days 30: %d events searchable, want only today's", n)
	}
	var audited string
	journal.Iterate(context.Background(), filepath.Join(data, "audit"), 0, func(r journal.Record) error {
		audited += string(r.Raw)
		return nil
	})
	if !strings.Contains(audited, `"action":"index-retention"`) {
		t.Errorf("no index retention in the audit trail")
	}
	if c := countJournal(t, data); c != int(nFW)+1 {
		t.Errorf("the journal holds %d records, want all %d", c, nFW+1)
	}
	stdout, _, err := run(t, "", "reindex", "--data", data)
	if err != nil || !strings.Contains(stdout, fmt.Sprintf("indexed %d records", nFW+1)) {
		t.Fatalf("reindex: %v\n%s", err, stdout)
	}
}
