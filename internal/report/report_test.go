package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
)

var jst = time.FixedZone("JST", 9*3600)

// at returns 2024-02-16 hh:mm:ss JST plus ms milliseconds.
func at(hh, mm, ss, ms int) time.Time {
	return time.Date(2024, 2, 16, hh, mm, ss, ms*int(time.Millisecond), jst)
}

// newAlert builds an alert the way detectors do, with evidence added through
// AddEvidence so that Time, LastTime, Count and EvidenceTotal follow.
func newAlert(rule, host string, sev alert.Severity, stages []alert.Stage, times ...time.Time) *alert.Alert {
	a := &alert.Alert{
		Rule: rule, Requirements: []string{rule}, Title: rule + " finding", Severity: sev,
		Stages: stages, Host: host, Summary: rule + " summary for " + host,
	}
	for i, t := range times {
		a.AddEvidence(alert.Evidence{
			Source: "squid", Time: t,
			Origin: event.Origin{File: "logs/" + rule + ".log", Line: int64(10 + i)},
			Raw:    rule + " record " + string(rune('a'+i)),
		})
	}
	a.FinalizeID(host)
	return a
}

func TestWriteJSON(t *testing.T) {
	full := &alert.Alert{
		ID: "J6-0123456789ab", Rule: "J6", Requirements: []string{"J6"},
		Title: "CONNECT to ports other than 80/443", Severity: alert.High,
		Stages:     []alert.Stage{alert.Delivery, alert.CommandAndControl},
		Techniques: []string{"B", "D"}, Attack: []string{"T1090", "T1571"},
		Time: at(11, 43, 32, 123), LastTime: at(12, 0, 1, 999),
		Host:    "192.168.100.24",
		Summary: `CONNECT 192.168.1.1:8089 <tunnel> & "quoted" 見積書`,
		Count:   2, EvidenceTotal: 2,
		Fields: map[string]string{"port": "8089", "dst": "192.168.1.1"},
		Evidence: []alert.Evidence{
			{Source: "squid", Time: at(11, 43, 32, 123), Origin: event.Origin{File: "logs/access.log", Line: 17}, Raw: "raw one", Note: "first"},
			{Source: "squid", Origin: event.Origin{File: "-", Line: 3}, Raw: "raw two"},
		},
		NextSteps: alert.Text{EN: []string{"check the PC"}, JA: []string{"PC を確認する"}},
		Caveats:   alert.Text{EN: []string{"proxy bypass is missed"}},
	}
	bare := &alert.Alert{ID: "J9-x", Rule: "J9", Time: at(3, 0, 0, 0), Host: ""}

	var buf bytes.Buffer
	if err := WriteJSON(&buf, []*alert.Alert{full, bare}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per alert:\n%s", len(lines), out)
	}
	decode := func(line string) map[string]any {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return m
	}
	keys := func(m map[string]any) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	f := func(m map[string]any, key, want string) {
		t.Helper()
		got, err := json.Marshal(m[key])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}

	a := decode(lines[0])
	if got, want := keys(a), "attack,caveats,count,evidence,evidence_total,fields,host,id,last_time,next_steps,requirements,rule,severity,stage_names,stages,summary,techniques,time,title"; got != want {
		t.Errorf("keys %s\nwant %s", got, want)
	}
	f(a, "id", `"J6-0123456789ab"`)
	f(a, "severity", `"high"`)
	f(a, "stages", `[3,6]`)
	f(a, "stage_names", `["Delivery","Command \u0026 Control"]`)
	f(a, "techniques", `["B","D"]`)
	f(a, "attack", `["T1090","T1571"]`)
	f(a, "time", `"2024-02-16T02:43:32.123Z"`)
	f(a, "last_time", `"2024-02-16T03:00:01.999Z"`)
	f(a, "count", `2`)
	f(a, "evidence_total", `2`)
	f(a, "fields", `{"dst":"192.168.1.1","port":"8089"}`)
	f(a, "evidence", `[{"note":"first","origin":"logs/access.log:17","raw":"raw one","source":"squid","time":"2024-02-16T02:43:32.123Z"},{"origin":"-:3","raw":"raw two","source":"squid"}]`)
	f(a, "next_steps", `{"en":["check the PC"],"ja":["PC を確認する"]}`)
	f(a, "caveats", `{"en":["proxy bypass is missed"],"ja":[]}`)
	if !strings.Contains(lines[0], `"summary":"CONNECT 192.168.1.1:8089 <tunnel> & \"quoted\" 見積書"`) {
		t.Errorf("summary is HTML-escaped or altered: %s", lines[0])
	}
	if !strings.Contains(lines[0], `"stages":[3,6]`) {
		t.Errorf("stages are not written as plain integers: %s", lines[0])
	}

	// Every list is [] rather than null; no fields means no "fields" key;
	// a missing last time is the first time.
	b := decode(lines[1])
	if got, want := keys(b), "attack,caveats,count,evidence,evidence_total,host,id,last_time,next_steps,requirements,rule,severity,stage_names,stages,summary,techniques,time,title"; got != want {
		t.Errorf("keys %s\nwant %s", got, want)
	}
	if strings.Contains(lines[1], "null") {
		t.Errorf("null in %s", lines[1])
	}
	f(b, "severity", `"info"`)
	f(b, "stages", `[]`)
	f(b, "stage_names", `[]`)
	f(b, "requirements", `[]`)
	f(b, "techniques", `[]`)
	f(b, "attack", `[]`)
	f(b, "evidence", `[]`)
	f(b, "time", `"2024-02-15T18:00:00.000Z"`)
	f(b, "last_time", `"2024-02-15T18:00:00.000Z"`)
	f(b, "next_steps", `{"en":[],"ja":[]}`)
	f(b, "caveats", `{"en":[],"ja":[]}`)
	f(b, "host", `""`)

	// No alerts, no output.
	buf.Reset()
	if err := WriteJSON(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("WriteJSON(nil) wrote %q, %v", buf.String(), err)
	}
}

func TestStorylines(t *testing.T) {
	// Host A: stages 3, 5 and 5+6; ordered by first stage, then time.
	a6 := newAlert("J6", "A", alert.Medium, []alert.Stage{alert.Installation, alert.CommandAndControl}, at(10, 0, 0, 0))
	a3 := newAlert("J2", "A", alert.Low, []alert.Stage{alert.Delivery}, at(12, 0, 0, 0))
	a5 := newAlert("J5", "A", alert.Low, []alert.Stage{alert.Installation}, at(9, 0, 0, 0))
	// Host B went furthest (stage 7) with a single low alert.
	b7 := newAlert("J10", "B", alert.Low, []alert.Stage{alert.ActionsOnObjectives}, at(13, 0, 0, 0))
	// C and D also reach 6: C (critical) before A (medium, 3 findings)
	// before D (medium, 1 finding).
	c6 := newAlert("J8", "C", alert.Critical, []alert.Stage{alert.CommandAndControl}, at(8, 0, 0, 0))
	d6 := newAlert("J8", "D", alert.Medium, []alert.Stage{alert.CommandAndControl}, at(7, 0, 0, 0))
	// E and F both reach 4 with the same severity: more findings first.
	e4 := newAlert("J4", "E", alert.Low, []alert.Stage{alert.Exploitation}, at(6, 0, 0, 0))
	e4b := newAlert("J4", "E", alert.Low, []alert.Stage{alert.Exploitation}, at(5, 0, 0, 0))
	f4 := newAlert("J4", "F", alert.Low, []alert.Stage{alert.Exploitation}, at(4, 0, 0, 0))
	// H and G tie on everything: by name.
	h3 := newAlert("J1", "H", alert.Info, []alert.Stage{alert.Delivery}, at(3, 0, 0, 0))
	g3 := newAlert("J1", "G", alert.Info, []alert.Stage{alert.Delivery}, at(3, 0, 0, 0))

	ss := Storylines([]*alert.Alert{h3, a6, f4, d6, a3, e4, g3, c6, b7, a5, e4b})
	var order []string
	for _, s := range ss {
		order = append(order, s.Host)
	}
	if got, want := strings.Join(order, " "), "B C A D E F G H"; got != want {
		t.Fatalf("host order %s, want %s", got, want)
	}
	byHost := map[string]*Storyline{}
	for _, s := range ss {
		byHost[s.Host] = s
	}
	A := byHost["A"]
	var rules []string
	for _, x := range A.Alerts {
		rules = append(rules, x.Rule)
	}
	if got, want := strings.Join(rules, " "), "J2 J5 J6"; got != want {
		t.Errorf("host A alert order %s, want %s (first stage, then time)", got, want)
	}
	if A.MaxStage != alert.CommandAndControl || !A.First.Equal(at(9, 0, 0, 0)) {
		t.Errorf("host A: max stage %d first %v", A.MaxStage, A.First)
	}
	var stages []int
	for s, ok := range A.Stages {
		if ok {
			stages = append(stages, int(s))
		}
	}
	sort.Ints(stages)
	if got, want := fmt.Sprint(stages), "[3 5 6]"; got != want {
		t.Errorf("host A stages %s, want %s", got, want)
	}
	if E := byHost["E"]; len(E.Alerts) != 2 || !E.Alerts[0].Time.Equal(at(5, 0, 0, 0)) {
		t.Errorf("host E alerts not in time order")
	}
	if len(Storylines(nil)) != 0 {
		t.Error("storylines without alerts")
	}
}

// sections splits a table report into its preamble, one part per storyline
// (keyed by host as printed) and the rest after the last storyline.
func sections(t *testing.T, out string) map[string]string {
	t.Helper()
	parts := strings.Split(out, "\n== ")
	m := map[string]string{"": parts[0]}
	for _, p := range parts[1:] {
		host := p[:strings.Index(p, ":")]
		m[host] = p
	}
	return m
}

func tableRun() *Run {
	// 192.168.100.24: delivery (J2) then C&C (J8); long, multibyte raw.
	j2 := newAlert("J2", "192.168.100.24", alert.High, []alert.Stage{alert.Delivery}, at(9, 15, 0, 0))
	j2.NextSteps = alert.Text{EN: []string{"Find the mail and its recipients."}, JA: []string{"メールと受信者を特定する。"}}
	j8 := newAlert("J8", "192.168.100.24", alert.Critical, []alert.Stage{alert.CommandAndControl},
		at(10, 0, 0, 0), at(10, 5, 0, 0), at(10, 10, 0, 0), at(10, 15, 0, 0), at(10, 20, 0, 0))
	j8.Evidence[0].Note = "resolved apt.example.com"
	j8.Evidence[1].Raw = strings.Repeat("x", 159) + "日本語"
	j8.NextSteps = alert.Text{EN: []string{"Block the destination."}} // no Japanese text
	// 192.168.100.33: C&C without any delivery trace.
	j6 := newAlert("J6", "192.168.100.33", alert.High, []alert.Stage{alert.Installation, alert.CommandAndControl}, at(1, 2, 3, 0))
	// An alert without a host, at stage 4.
	j4 := newAlert("J4", "", alert.Low, []alert.Stage{alert.Exploitation}, at(8, 0, 0, 0))
	return &Run{
		Files: []*pipeline.FileReport{
			{Path: "logs/access.log.gz", Format: "squid", Compression: "gzip", Events: 1234567, Skipped: 2, Malformed: 3,
				First: at(0, 0, 0, 0), Last: at(23, 59, 0, 0), OutOfRange: 5,
				Errors: []pipeline.ErrorLocation{{Line: 17, Err: "squid: 3 fields, want 10"}, {Line: 99, Err: "squid: bad time"}}},
			{Path: "logs/maillog", Format: "postfix", Events: 999},
			{Path: "logs/missing.log", Error: "open logs/missing.log: no such file or directory"},
		},
		Alerts: []*alert.Alert{j4, j8, j6, j2},
		Notes: []detect.Note{
			{Rule: "J4", Level: detect.Skipped, Message: "no internal segments configured", Enable: "segments in org.yaml"},
			{Rule: "J7", Level: detect.Degraded, Message: "no User-Agent in the proxy log"},
		},
		Elapsed:  1500 * time.Millisecond,
		Location: jst,
		Lang:     "en",
	}
}

func TestWriteTable(t *testing.T) {
	r := tableRun()
	var buf bytes.Buffer
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8 (a clip cut a character?)")
	}
	sec := sections(t, out)
	has := func(where, want string) {
		t.Helper()
		if !strings.Contains(sec[where], want) {
			t.Errorf("section %q lacks %q:\n%s", where, want, sec[where])
		}
	}
	lacks := func(where, unwanted string) {
		t.Helper()
		if strings.Contains(sec[where], unwanted) {
			t.Errorf("section %q has %q:\n%s", where, unwanted, sec[where])
		}
	}

	has("", "kizuki analyze: 4 findings on 3 hosts (3 high or critical) from 1,235,566 events in 3 files, 1.5s\n")
	has("", "Times are JST.")

	// Storyline order: both .24 and .33 reach 6; .24 has the critical alert.
	i24, i33, iUnknown := strings.Index(out, "== 192.168.100.24:"), strings.Index(out, "== 192.168.100.33:"), strings.Index(out, "== (unknown host):")
	if i24 < 0 || i33 < 0 || iUnknown < 0 || !(i24 < i33 && i33 < iUnknown) {
		t.Errorf("storylines out of order (%d %d %d):\n%s", i24, i33, iUnknown, out)
	}

	has("192.168.100.24", "192.168.100.24: 2 findings, reached stage 6 Command & Control\n")
	has("192.168.100.24", "   kill chain: [x] 3 Delivery > [ ] 4 Exploitation > [ ] 5 Installation > [x] 6 Command & Control > [ ] 7 Actions on objectives\n")
	lacks("192.168.100.24", "without a delivery trace")
	has("192.168.100.24", "   [3] HIGH     2024-02-16 09:15:00  J2 J2 finding\n        J2 summary for 192.168.100.24\n")
	has("192.168.100.24", "        next: Find the mail and its recipients.\n")
	has("192.168.100.24", "   [6] CRITICAL 2024-02-16 10:00:00  J8 J8 finding\n")
	has("192.168.100.24", "        until 2024-02-16 10:20:00, 5 records\n")
	has("192.168.100.24", "        evidence logs/J8.log:10: J8 record a  (resolved apt.example.com)\n")
	has("192.168.100.24", "        evidence logs/J8.log:11: "+strings.Repeat("x", 159)+"…\n")
	has("192.168.100.24", "        evidence logs/J8.log:12: J8 record c\n")
	has("192.168.100.24", "        … 2 more records (see --format json)\n")
	lacks("192.168.100.24", "J8 record d")
	has("192.168.100.24", "        next: Block the destination.\n")
	if strings.Index(sec["192.168.100.24"], "J2 finding") > strings.Index(sec["192.168.100.24"], "J8 finding") {
		t.Error("stage 3 finding listed after the stage 6 one")
	}

	has("192.168.100.33", "192.168.100.33: 1 findings, reached stage 6 Command & Control\n")
	has("192.168.100.33", "   kill chain: [ ] 3 Delivery > [ ] 4 Exploitation > [x] 5 Installation > [x] 6 Command & Control > [ ] 7 Actions on objectives\n")
	// The alert is at 01:02 JST on the 16th, 16:02 UTC on the 15th: the date
	// is the local one.
	has("192.168.100.33", "   ! Stage 6+ without a delivery trace: stages 3-5 happened unseen. Widen the search to mail, proxy and DNS logs before 2024-02-16 (JPCERT 2.1).\n")
	has("192.168.100.33", "   [5,6] HIGH     2024-02-16 01:02:03  J6 J6 finding\n")
	lacks("192.168.100.33", "until ")
	lacks("192.168.100.33", "next:")

	has("(unknown host)", "(unknown host): 1 findings, reached stage 4 Exploitation\n")
	lacks("(unknown host)", "without a delivery trace")

	rest := out[strings.Index(out, "\nAnalyses skipped or degraded:\n"):]
	for _, want := range []string{
		"  J4   skipped  no internal segments configured (enable: segments in org.yaml)\n",
		"  J7   degraded no User-Agent in the proxy log\n",
		"\nInputs:\n",
		"  logs/access.log.gz: squid, gzip, 1,234,567 events, 2 skipped, 3 malformed, 2024-02-16 00:00 to 2024-02-16 23:59\n",
		"      5 events outside --since/--until\n",
		"      malformed logs/access.log.gz:17: squid: 3 fields, want 10\n",
		"      malformed logs/access.log.gz:99: squid: bad time\n",
		"  logs/maillog: postfix, 999 events, 0 skipped, 0 malformed\n",
		"  logs/missing.log: not read: open logs/missing.log: no such file or directory\n",
		"  3 malformed lines in all; they were counted and skipped.\n",
	} {
		if !strings.Contains(rest, want) {
			t.Errorf("notes/inputs lack %q:\n%s", want, rest)
		}
	}
	if strings.Contains(rest, "J7   degraded no User-Agent in the proxy log (enable") {
		t.Error("a note without Enable got an (enable: ...) hint")
	}
	if strings.Contains(out, "No attack traces found") {
		t.Error("'no attack traces' printed with findings")
	}
}

func TestWriteTableJapanese(t *testing.T) {
	r := tableRun()
	r.Lang = "ja"
	var buf bytes.Buffer
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	sec := sections(t, buf.String())
	has := func(where, want string) {
		t.Helper()
		if !strings.Contains(sec[where], want) {
			t.Errorf("section %q lacks %q:\n%s", where, want, sec[where])
		}
	}
	has("192.168.100.24", "        next: メールと受信者を特定する。\n")
	has("192.168.100.24", "        next: Block the destination.\n") // no Japanese text: English
	has("192.168.100.33", "   ! 第6段階以降の痕跡があるため、第3〜5段階も既に進行したと考えられます。2024-02-16 より前のメール・プロキシ・DNS ログも調べてください (JPCERT 2.1)。\n")
	if strings.Contains(buf.String(), "Stage 6+ without a delivery trace") {
		t.Error("English hint in the Japanese report")
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var buf bytes.Buffer
	r := &Run{Files: []*pipeline.FileReport{{Path: "-", Format: "bind", Events: 12}}, Location: time.UTC}
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"kizuki analyze: 0 findings on 0 hosts (0 high or critical) from 12 events in 1 files, 0.0s\n",
		"Times are UTC.",
		"\nNo attack traces found by the analyses that could run.\n",
		"\nInputs:\n  -: bind, 12 events, 0 skipped, 0 malformed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"\n== ", "Analyses skipped", "malformed lines in all"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("has %q:\n%s", unwanted, out)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	r := tableRun()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := "kizuki: 4 findings from 1235566 events in 3 files (3 malformed lines), 1.5s\n" +
		"kizuki: malformed logs/access.log.gz:17: squid: 3 fields, want 10\n" +
		"kizuki: malformed logs/access.log.gz:99: squid: bad time\n" +
		"kizuki: logs/missing.log not read: open logs/missing.log: no such file or directory\n" +
		"kizuki: J4 skipped: no internal segments configured (enable: segments in org.yaml)\n" +
		"kizuki: J7 degraded: no User-Agent in the proxy log\n"
	if buf.String() != want {
		t.Errorf("summary\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestThousands(t *testing.T) {
	f := func(n int64, want string) {
		t.Helper()
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	f(0, "0")
	f(999, "999")
	f(1000, "1,000")
	f(12345, "12,345")
	f(100000, "100,000")
	f(1234567, "1,234,567")
}

func TestClip(t *testing.T) {
	f := func(in string, n int, want string) {
		t.Helper()
		if got := clip(in, n); got != want {
			t.Errorf("clip(%q, %d) = %q, want %q", in, n, got, want)
		}
	}
	f("short", 10, "short")
	f("exactly10!", 10, "exactly10!")
	f("0123456789abc", 10, "0123456789…")
	f("ab日本", 3, "ab…")  // 日 is bytes 2-4: cut before it
	f("ab日本", 5, "ab日…") // 本 starts at 5
	f("ab日本", 4, "ab…")
}
