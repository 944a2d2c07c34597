package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// lockedBuffer is a bytes.Buffer safe for a server writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// needTool returns the path of a real client, or skips loudly (fails when
// KIZUKI_REQUIRE_TOOLS=1, as in CI).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("TOOL MISSING: %s not found (apt-get install %s): this test with a real client did not run", name, pkg)
		if os.Getenv("KIZUKI_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// apiOnly are the listener flags of a server with only its HTTPS API on.
func apiOnly() []string {
	return []string{"--syslog-udp", "off", "--syslog-tcp", "off", "--syslog-tls", "off", "--https", "127.0.0.1:0"}
}

// keyed makes a data directory's path and a signing key beside it, as
// kizuki keygen does.
func keyed(t *testing.T) (data, key string) {
	t.Helper()
	dir := t.TempDir()
	data, key = filepath.Join(dir, "data"), filepath.Join(dir, "keys", "journal.key")
	if _, _, err := run(t, "", "keygen", "--out", key); err != nil {
		t.Fatal(err)
	}
	return data, key
}

// serving is `kizuki serve` run in-process by a test.
type serving struct {
	log    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `kizuki serve --data data --key key` with args.
func startServe(t *testing.T, data, key string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{log: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	t.Cleanup(cancel)
	root := newRoot(strings.NewReader(""), io.Discard, s.log)
	root.SetArgs(append([]string{"serve", "--data", data, "--key", key}, args...))
	go func() { s.done <- root.ExecuteContext(ctx) }()
	return s
}

// await waits (10 s at most) until the server's log matches pattern and
// returns the first submatch (the whole match when there is none).
func (s *serving) await(t *testing.T, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.log.String()); m != nil {
			return m[len(m)-1]
		}
	}
	t.Fatalf("the server never logged %q:\n%s", pattern, s.log.String())
	return ""
}

// httpsPort waits for the HTTPS API's port.
func (s *serving) httpsPort(t *testing.T) string {
	t.Helper()
	return s.await(t, `HTTPS API on 127\.0\.0\.1:(\d+)`)
}

// stop stops the server and fails the test if it did not end cleanly.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, s.log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// apiClient trusts the CA kizuki serve made in data.
func apiClient(t *testing.T, data string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(data, "tls", "ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// apiCall returns a caller of the HTTPS API of the server of data
// listening on port: it sends body with the token (the admin token of data
// unless one is given) and returns the status and the answer.
func apiCall(t *testing.T, data, port string) func(method, path, body string, token ...string) (int, []byte) {
	t.Helper()
	client := apiClient(t, data)
	admin, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return func(method, path, body string, token ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://127.0.0.1:"+port+path, strings.NewReader(body))
		tok := string(admin)
		if len(token) > 0 {
			tok = token[0]
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
}

// The README's flow: kizuki serve, messages from the real logger over TCP
// and UDP, stop; every message is in the journal once, kizuki verify passes,
// and a flipped byte makes it fail naming the record.
func TestServeLoggerVerify(t *testing.T) {
	logger := needTool(t, "logger", "bsdutils")
	data, key := keyed(t)
	if _, _, err := run(t, "", "serve", "--data", data, "--key", filepath.Join(data, "in.key")); err == nil || !strings.Contains(err.Error(), "inside the data directory") {
		t.Fatalf("a key inside the data directory was accepted: %v", err)
	}

	srv := startServe(t, data, key, "--syslog-udp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0", "--syslog-tls", "off", "--https", "off")
	tcpPort := srv.await(t, `syslog over TCP on 127\.0\.0\.1:(\d+)`)
	udpPort := srv.await(t, `syslog over UDP on 127\.0\.0\.1:(\d+)`)

	const n = 50
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("kizuki serve test line %d", i))
	}
	cmd := exec.Command(logger, "--tcp", "-n", "127.0.0.1", "-P", tcpPort, "--rfc5424", "-t", "kztest")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger --tcp: %v\n%s", err, b)
	}
	if b, err := exec.Command(logger, "--udp", "-n", "127.0.0.1", "-P", udpPort, "--rfc3164", "-t", "kztest", "kizuki serve udp line").CombinedOutput(); err != nil {
		t.Fatalf("logger --udp: %v\n%s", err, b)
	}
	// UDP has no acknowledgement: wait until the server counted it.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if countJournal(t, data) == n+1 {
			break
		}
	}
	srv.stop(t)

	seen := map[string]int{}
	err := journal.Iterate(context.Background(), filepath.Join(data, "journal"), 0, func(r journal.Record) error {
		for _, l := range append(lines, "kizuki serve udp line") {
			if strings.HasSuffix(strings.TrimRight(string(r.Raw), "\n"), l) {
				seen[l]++
			}
		}
		if !strings.HasPrefix(r.Origin, "syslog-") {
			t.Errorf("record %d origin %q", r.Seq, r.Origin)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(lines, "kizuki serve udp line") {
		if seen[l] != 1 {
			t.Errorf("%q stored %d times, want once", l, seen[l])
		}
	}

	stdout, _, err := run(t, "", "verify", "--data", data, "--pub", key+".pub")
	if err != nil || !strings.Contains(stdout, "signatures checked") || !strings.HasSuffix(stdout, "OK\n") {
		t.Fatalf("verify of an untouched journal: %v\n%s", err, stdout)
	}
	seg, _ := filepath.Glob(filepath.Join(data, "journal", "*.seg"))
	if len(seg) == 0 {
		t.Fatal("no segment")
	}
	b, err := os.ReadFile(seg[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0x20
	if err := os.WriteFile(seg[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = run(t, "", "verify", "--data", data, "--pub", key+".pub")
	if !errors.Is(err, errVerifyFailed) || !strings.Contains(stdout, "FAILED: ") || !strings.Contains(stdout, filepath.Base(seg[0])) {
		t.Fatalf("verify after a flipped byte: %v\n%s", err, stdout)
	}
}

// countJournal counts the records committed so far (the server is running:
// the reader sees only committed blocks).
func countJournal(t *testing.T, data string) int {
	t.Helper()
	n := 0
	err := journal.Iterate(context.Background(), filepath.Join(data, "journal"), 0, func(journal.Record) error { n++; return nil })
	if err != nil {
		return -1
	}
	return n
}

// The HTTPS API with the real curl: the admin token made at the first start
// (file mode 0600, never in the log) ingests NDJSON and plain lines; an
// unknown token gets 401, a viewer's 403; every call is in the audit trail,
// which kizuki verify checks with the events.
func TestServeHTTPSIngest(t *testing.T) {
	curl := needTool(t, "curl", "curl")
	data, key := keyed(t)
	srv := startServe(t, data, key, apiOnly()...)
	port := srv.httpsPort(t)
	tokenFile := filepath.Join(data, "admin-token")
	st, err := os.Stat(tokenFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", st, err)
	}
	b, _ := os.ReadFile(tokenFile)
	admin := strings.TrimSpace(string(b))
	if !strings.HasPrefix(admin, "kzk_") || strings.Contains(srv.log.String(), admin) {
		t.Fatalf("admin token %q malformed or logged", admin)
	}
	post := func(token, contentType, body, query string) (int, string) {
		t.Helper()
		args := []string{"-sS", "--cacert", filepath.Join(data, "tls", "ca-cert.pem"), "-o", "-", "-w", "\n%{http_code}",
			"-H", "Content-Type: " + contentType, "--data-binary", "@-",
			"https://127.0.0.1:" + port + "/api/v1/ingest" + query}
		if token != "" {
			args = append(args, "-H", "Authorization: Bearer "+token)
		}
		cmd := exec.Command(curl, args...)
		cmd.Stdin = strings.NewReader(body)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, b)
		}
		s := strings.TrimSpace(string(b))
		i := strings.LastIndexByte(s, '\n')
		code := 0
		fmt.Sscan(s[i+1:], &code)
		return code, s[:max(i, 0)]
	}
	ndjson := `{"EventID":4625,"TargetUserName":"alice"}` + "\n" + `{"EventID":4624,"TargetUserName":"bob"}` + "\n"
	if code, body := post(admin, "application/x-ndjson", ndjson, "?type=winjson"); code != 200 || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("NDJSON ingest: %d %s", code, body)
	}
	if code, body := post(admin, "text/plain", "Feb  1 10:00:00 mx postfix/smtpd[1]: connect from x\nsecond line\n", ""); code != 200 || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("plain ingest: %d %s", code, body)
	}
	if code, body := post(admin, "application/x-ndjson", "{\"ok\":1}\nnot json\n", ""); code != 400 || !strings.Contains(body, "line 2") {
		t.Fatalf("bad NDJSON: %d %s", code, body)
	}
	if code, _ := post("kzk_wrong", "text/plain", "x\n", ""); code != 401 {
		t.Fatalf("unknown token: %d", code)
	}
	if code, _ := post("", "text/plain", "x\n", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	// The senders seen: this one, with what it stored.
	b, err = exec.Command(curl, "-sS", "--fail", "--cacert", filepath.Join(data, "tls", "ca-cert.pem"),
		"-H", "Authorization: Bearer "+admin, "https://127.0.0.1:"+port+"/api/v1/sources").CombinedOutput()
	var sources struct {
		Sources []struct {
			Name     string `json:"name"`
			Messages int    `json:"messages"`
			Silent   bool   `json:"silent"`
		} `json:"sources"`
	}
	if err != nil || json.Unmarshal(b, &sources) != nil || len(sources.Sources) != 1 ||
		sources.Sources[0].Name != "https 127.0.0.1" || sources.Sources[0].Messages != 4 || sources.Sources[0].Silent {
		t.Fatalf("sources: %v\n%s", err, b)
	}
	srv.stop(t)

	// A viewer token (seen by the server from its next start) may not
	// ingest.
	viewer, _, err := run(t, "", "token", "create", "--data", data, "--role", "viewer", "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	viewer = strings.TrimSpace(viewer)
	srv = startServe(t, data, key, apiOnly()...)
	port = srv.httpsPort(t)
	if code, body := post(viewer, "text/plain", "x\n", ""); code != 403 || !strings.Contains(body, "viewer") {
		t.Fatalf("viewer ingest: %d %s", code, body)
	}
	// A viewer may read the Prometheus metrics.
	metrics, err := exec.Command(curl, "-sS", "--fail", "--cacert", filepath.Join(data, "tls", "ca-cert.pem"),
		"-H", "Authorization: Bearer "+viewer, "https://127.0.0.1:"+port+"/metrics").CombinedOutput()
	if err != nil || !strings.Contains(string(metrics), "# TYPE kizuki_journal_next_seq gauge\nkizuki_journal_next_seq 4\n") {
		t.Fatalf("metrics: %v\n%s", err, metrics)
	}
	srv.stop(t)

	var events []string
	if err := journal.Iterate(context.Background(), filepath.Join(data, "journal"), 0, func(r journal.Record) error {
		events = append(events, r.Source+"|"+string(r.Raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{`winjson|{"EventID":4625,"TargetUserName":"alice"}`, `winjson|{"EventID":4624,"TargetUserName":"bob"}`,
		"|Feb  1 10:00:00 mx postfix/smtpd[1]: connect from x", "|second line"}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Fatalf("journal holds\n%s\nwant\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
	var statuses []string
	if err := journal.Iterate(context.Background(), filepath.Join(data, "audit"), 0, func(r journal.Record) error {
		var a struct {
			Token  string `json:"token"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(r.Raw, &a); err != nil {
			return err
		}
		statuses = append(statuses, fmt.Sprintf("%s:%d", a.Token, a.Status))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(statuses, " "); got != "admin:200 admin:200 admin:400 :401 :401 admin:200 dashboard:403 dashboard:200" {
		t.Fatalf("audit trail: %s", got)
	}
	stdout, _, err := run(t, "", "verify", "--data", data, "--pub", key+".pub")
	if err != nil || strings.Count(stdout, "OK\n") != 3 {
		t.Fatalf("verify: %v\n%s", err, stdout)
	}
}

// Retention: segments whose records are all older than --keep-months go
// at start, recorded in the audit trail; kizuki verify still passes.
func TestServeRetention(t *testing.T) {
	data, key := keyed(t)
	priv, err := journal.LoadKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Three years of old records in small segments, then today's.
	j, err := journal.Open(filepath.Join(data, "journal"), journal.Options{SigningKey: priv, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().AddDate(-3, 0, 0)
	for i := range 200 {
		raw := []byte(fmt.Sprintf("<13>old event %d %s", i, strings.Repeat("x", 100)))
		if _, err := j.Append(context.Background(), []journal.Record{{Received: old.Add(time.Duration(i) * time.Minute), Origin: "test", Raw: raw}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Append(context.Background(), []journal.Record{{Origin: "test", Raw: []byte("<13>today")}}); err != nil {
		t.Fatal(err)
	}
	segs := j.Stats().Segments
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if segs < 3 {
		t.Fatalf("only %d segments", segs)
	}

	srv := startServe(t, data, key, "--keep-months", "18",
		"--syslog-udp", "off", "--syslog-tcp", "127.0.0.1:0", "--syslog-tls", "off", "--https", "off")
	srv.await(t, "retention: removed")
	srv.stop(t)
	var first journal.Seq
	n := 0
	if err := journal.Iterate(context.Background(), filepath.Join(data, "journal"), 0, func(r journal.Record) error {
		if n == 0 {
			first = r.Seq
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if first <= 0 || n == 0 || n >= 201 {
		t.Fatalf("after retention: first record %d, %d records", first, n)
	}
	var audited string
	journal.Iterate(context.Background(), filepath.Join(data, "audit"), 0, func(r journal.Record) error {
		audited += string(r.Raw)
		return nil
	})
	if !strings.Contains(audited, `"action":"retention"`) || !strings.Contains(audited, `"first_kept_seq":`+fmt.Sprint(first)) {
		t.Fatalf("audit trail: %s", audited)
	}
	stdout, _, err := run(t, "", "verify", "--data", data, "--pub", key+".pub")
	if err != nil || strings.Count(stdout, "OK\n") != 3 || !strings.Contains(stdout, "retention removed") {
		t.Fatalf("verify after retention: %v\n%s", err, stdout)
	}
}

// Live detection: an event stored over the API is checked by the Sigma
// rules (kizuki's built-in pack by default) as soon as it is durable, and
// the alert is listed by GET /api/v1/alerts with the rule's author.
func TestServeLiveDetection(t *testing.T) {
	data, key := keyed(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("../../rules/testdata/kizuki_security_log_cleared", name))
		if err != nil {
			t.Fatal(err)
		}
		// The samples start with a comment line; the event is the XML line.
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "<Event") {
				return l
			}
		}
		t.Fatalf("no event in %s", name)
		return ""
	}
	positive, negative := read("positive.xml"), read("negative.xml")
	// A webhook receiver on 127.0.0.1.
	var hookMu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooked = append(hooked, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()

	srv := startServe(t, data, key, append([]string{"--webhook", hook.URL + "/alerts?token=s3cret"}, apiOnly()...)...)
	port := srv.httpsPort(t)
	api := apiCall(t, data, port)
	call := func(method, path, body string) []byte {
		t.Helper()
		st, b := api(method, path, body)
		if st != 200 {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		return b
	}
	call("POST", "/api/v1/ingest?type=winxml", negative+"\n"+positive+"\n")

	var got struct {
		Total  int `json:"total"`
		Alerts []struct {
			Rule   string `json:"rule_title"`
			Level  string `json:"level"`
			Author string `json:"author"`
			Host   string `json:"host"`
			Seq    int    `json:"seq"`
		} `json:"alerts"`
		Detection struct {
			Checked int `json:"checked"`
		} `json:"detection"`
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := json.Unmarshal(call("GET", "/api/v1/alerts", ""), &got); err != nil {
			t.Fatal(err)
		}
		if got.Detection.Checked >= 2 {
			break
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		hookMu.Lock()
		n := len(hooked)
		hookMu.Unlock()
		if n > 0 {
			break
		}
	}
	srv.stop(t)
	if got.Detection.Checked != 2 || got.Total != 1 || len(got.Alerts) != 1 {
		t.Fatalf("alerts: %+v", got)
	}
	hookMu.Lock()
	if len(hooked) != 1 || !strings.Contains(hooked[0], `"rule_title":"Security Event Log Cleared"`) {
		t.Errorf("webhook received %q", hooked)
	}
	hookMu.Unlock()
	if strings.Contains(srv.log.String(), "s3cret") {
		t.Error("the webhook's token is in the log")
	}
	a := got.Alerts[0]
	if a.Rule != "Security Event Log Cleared" || a.Host != "DC01.corp.example.jp" || a.Author == "" || a.Seq != 1 {
		t.Errorf("alert %+v", a)
	}

	// Restarted, the server lists the alert it kept, raises it no second
	// time, and resumes where detection stopped.
	srv = startServe(t, data, key, apiOnly()...)
	api = apiCall(t, data, srv.httpsPort(t))
	if !strings.Contains(srv.log.String(), "from record 2") {
		t.Errorf("detection did not resume after record 1:\n%s", srv.log.String())
	}
	got.Alerts = nil
	if err := json.Unmarshal(call("GET", "/api/v1/alerts", ""), &got); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)
	if len(got.Alerts) != 1 || got.Alerts[0].Rule != "Security Event Log Cleared" {
		t.Fatalf("after a restart: %+v", got)
	}
	n := 0
	journal.Iterate(context.Background(), filepath.Join(data, "alerts"), 0, func(journal.Record) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d alerts kept, want 1", n)
	}
}
