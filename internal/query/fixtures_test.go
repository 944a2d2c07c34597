package query

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/evtx"
	"github.com/kizuki-dev/kizuki/internal/parse/postfix"
	"github.com/kizuki-dev/kizuki/internal/parse/squid"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// Events the tests search: three fixed ones, parsed from real log lines
// by kizuki's own parsers so that the package tests run without the
// datasets, and the datasets' real logs when they are there.

var testContext = parse.NewContext(time.UTC, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))

// squidLine is a Squid native access.log line (fail2ban's test logs).
const squidLine = `1386543323.000      4 91.188.124.227 TCP_DENIED/403 4099 GET http://www.proxy-listen.de/azenv.php - HIER_NONE/- text/html`

// postfixLine is a Postfix relay rejection as smtpd logs it.
const postfixLine = `Feb 16 11:43:32 mail-server postfix/smtpd[29597]: NOQUEUE: reject: RCPT from unknown[192.168.1.5]: 554 5.7.1 <x@example.com>: Relay access denied; from=<spam@evil.com> to=<x@example.com> proto=ESMTP helo=<evil>`

// win4688 is a Windows Security 4688 (process creation) record of
// mimikatz run from cmd.exe, as wevtutil writes it.
const win4688 = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}"/><EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime="2024-07-25T20:03:11.123456700Z"/><EventRecordID>91234</EventRecordID><Correlation/><Execution ProcessID="4" ThreadID="412"/><Channel>Security</Channel><Computer>WS01.corp.example</Computer><Security/></System><EventData><Data Name="SubjectUserSid">S-1-5-21-1004336348-1177238915-682003330-1104</Data><Data Name="SubjectUserName">jsmith</Data><Data Name="SubjectDomainName">CORP</Data><Data Name="SubjectLogonId">0x4a5af0</Data><Data Name="NewProcessId">0x1b2c</Data><Data Name="NewProcessName">C:\Users\Public\mimikatz.exe</Data><Data Name="TokenElevationType">%%1937</Data><Data Name="ProcessId">0xe74</Data><Data Name="CommandLine">mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit</Data><Data Name="TargetUserSid">S-1-0-0</Data><Data Name="TargetUserName">-</Data><Data Name="TargetDomainName">-</Data><Data Name="TargetLogonId">0x0</Data><Data Name="ParentProcessName">C:\Windows\System32\cmd.exe</Data><Data Name="MandatoryLabel">S-1-16-12288</Data><Data Name="CurrentDirectory"></Data></EventData></Event>`

// parseLine parses one record with p, as the pipeline would: Raw, Source
// and Origin set first.
func parseLine(t testing.TB, p parse.Parser, line, file string, no int64) *event.Event {
	t.Helper()
	ev := &event.Event{Raw: line, Source: p.Name(), Origin: event.Origin{File: file, Line: no}}
	if err := p.Parse([]byte(line), ev, testContext); err != nil {
		t.Fatalf("%s: %v", p.Name(), err)
	}
	return ev
}

func squidEvent(t testing.TB) *event.Event {
	return parseLine(t, squid.NewNative(), squidLine, "/var/log/squid/access.log", 7)
}

func postfixEvent(t testing.TB) *event.Event {
	return parseLine(t, postfix.New(), postfixLine, "/var/log/maillog", 1021)
}

func win4688Event(t testing.TB) *event.Event {
	return parseLine(t, winxml.New(), win4688, "security.xml", 1)
}

func fixedEvents(t testing.TB) []*event.Event {
	return []*event.Event{squidEvent(t), postfixEvent(t), win4688Event(t)}
}

// datasetEvents reads real logs of several formats from the shared
// datasets with kizuki's parsers: Squid and Postfix lines (format found by
// the registry's detection), and Windows events from .evtx recordings of
// attacks. It skips the test, loudly, when the datasets are absent.
func datasetEvents(t testing.TB) []*event.Event {
	t.Helper()
	root := testutil.Datasets(t)
	reg := formats.Registry()
	var out []*event.Event
	for _, rel := range []string{
		"squid/fail2ban/squid",
		"postfix/postfix-maillog-dump/maillog",
		"postfix/fail2ban/postfix",
	} {
		out = append(out, textEvents(t, reg, filepath.Join(root, rel))...)
	}
	for _, rel := range []string{"squid/wazuh-ruleset/squid_rules.ini", "postfix/wazuh-ruleset/postfix.ini", "firewall/wazuh-ruleset"} {
		out = append(out, wazuhEvents(t, reg, filepath.Join(root, rel))...)
	}
	out = append(out, evtxEvents(t, filepath.Join(root, "windows/EVTX-to-MITRE-Attack/TA0006-Credential Access"))...)
	out = append(out, evtxEvents(t, filepath.Join(root, "windows/EVTX-to-MITRE-Attack/TA0008-Lateral Movement"))...)
	return out
}

// textEvents parses the lines of a log file with the format the registry
// detects on its first lines; lines that format rejects are left out (a
// dump may mix formats).
func textEvents(t testing.TB, reg *parse.Registry, path string) []*event.Event {
	t.Helper()
	lines := readLines(t, path)
	var sample [][]byte
	for _, l := range lines[:min(64, len(lines))] {
		sample = append(sample, []byte(l))
	}
	det, err := reg.Detect(sample)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []*event.Event
	for i, l := range lines {
		ev := &event.Event{Raw: l, Source: det.Parser.Name(), Origin: event.Origin{File: path, Line: int64(i + 1)}}
		if det.Parser.Parse([]byte(l), ev, testContext) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// wazuhEvents parses the sample lines of wazuh-ruleset test files (one
// file, or every .ini of a folder), each with the first format whose
// Sniff recognizes it.
func wazuhEvents(t testing.TB, reg *parse.Registry, path string) []*event.Event {
	t.Helper()
	var files []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ini") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for _, f := range files {
		for _, s := range testutil.WazuhLines(t, f) {
			for _, p := range reg.Parsers() {
				if !p.Sniff([]byte(s.Line)) {
					continue
				}
				ev := &event.Event{Raw: s.Line, Source: p.Name(), Origin: event.Origin{File: f, Line: int64(s.No)}}
				if p.Parse([]byte(s.Line), ev, testContext) == nil {
					out = append(out, ev)
					break
				}
			}
		}
	}
	return out
}

// evtxEvents reads every .evtx under dir with kizuki's EVTX reader.
func evtxEvents(t testing.TB, dir string) []*event.Event {
	t.Helper()
	rd := evtx.NewReader(evtx.Options{Workers: 1})
	var out []*event.Event
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return err
		}
		_, err = rd.ReadFile(context.Background(), p, func(ev *event.Event) error {
			c := ev.Clone()
			c.Source = "evtx"
			out = append(out, c)
			return nil
		}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		t.Fatal(err)
	}
	return out
}

// plainRow hides an EventRow behind another type, so Match takes the
// generic path through the Row interface (as for the index's rows).
type plainRow struct{ r Row }

func (p plainRow) Time() time.Time                   { return p.r.Time() }
func (p plainRow) Get(name string) (string, bool)    { return p.r.Get(name) }
func (p plainRow) Each(fn func(name, v string) bool) { p.r.Each(fn) }

// mustParse parses a query or fails the test.
func mustParse(t testing.TB, s string) *Query {
	t.Helper()
	q, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}
