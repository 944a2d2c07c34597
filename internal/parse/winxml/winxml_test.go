package winxml

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

var pc = parse.NewContext(time.UTC, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

type record struct {
	rec  string
	line int64
}

func split(t testing.TB, data []byte) []record {
	t.Helper()
	var out []record
	err := Parser{}.Split(bytes.NewReader(data), func(rec []byte, line int64) error {
		out = append(out, record{string(rec), line})
		return nil
	})
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	return out
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseOne(t testing.TB, rec string) *event.Event {
	t.Helper()
	ev := &event.Event{Raw: rec, Source: "winxml"}
	if err := (Parser{}).Parse([]byte(rec), ev, pc); err != nil {
		t.Fatalf("Parse(%.80q): %v", rec, err)
	}
	return ev
}

// want maps field names to values: "time" and "host" are the event's own,
// anything else goes through Lookup (common JSON names or Windows names).
// An empty value asserts that the field is absent.
type want map[string]string

func check(t *testing.T, ev *event.Event, w want) {
	t.Helper()
	for k, v := range w {
		var got string
		switch k {
		case "time":
			got = event.FormatTime(ev.Time)
		case "host":
			got = ev.Host
		default:
			got = ev.Lookup(k)
		}
		if got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	ev.Fields(func(k, v string) {
		if v == "" && systemNames[k] {
			t.Errorf("system field %s stored empty", k)
		}
	})
}

var msdocsWant = []struct {
	line int64
	w    want
}{
	{14, want{"time": "2015-11-12T00:24:35.079Z", "host": "WIN-GG82ULGC9GO", "event_id": "4624", "channel": "Security",
		"user": "Administrator", "src_ip": "127.0.0.1", "src_port": "", "logon_type": "2",
		"process": `C:\\Windows\\System32\\svchost.exe`, "EventID": "4624", "Channel": "Security",
		"Computer": "WIN-GG82ULGC9GO", "Provider_Name": "Microsoft-Windows-Security-Auditing",
		"Provider_Guid": "{54849625-5478-4994-A5BA-3E3B0328C30D}", "EventRecordID": "211", "Level": "0",
		"Task": "12544", "Opcode": "0", "Keywords": "0x8020000000000000", "Version": "2", "ProcessID": "716",
		"ThreadID": "760", "ActivityID": "{00D66690-1CDF-0000-AC66-D600DF1CD101}",
		"TimeCreated": "2015-11-12T00:24:35.0797852Z", "TargetDomainName": "WIN-GG82ULGC9GO",
		"WorkstationName": "WIN-GG82ULGC9GO", "IpPort": "0", "TransmittedServices": "-", "SecurityUserID": "",
		"ElevatedToken": "%%1842"}},
	{62, want{"time": "2015-09-08T22:54:54.962Z", "host": "DC01.contoso.local", "event_id": "4625",
		"user": "Auditor", "status": "0xc0000234", "SubStatus": "0x0", "logon_type": "2",
		"WorkstationName": "DC01", "src_ip": "127.0.0.1", "FailureReason": "%%2307"}},
	{104, want{"time": "2015-09-11T01:10:57.091Z", "event_id": "4672", "user": "dadmin",
		"SubjectDomainName": "CONTOSO", "PrivilegeList": "SeTcbPrivilege SeSecurityPrivilege SeTakeOwnershipPrivilege SeLoadDriverPrivilege SeBackupPrivilege SeRestorePrivilege SeDebugPrivilege SeSystemEnvironmentPrivilege SeEnableDelegationPrivilege SeImpersonatePrivilege"}},
	{130, want{"time": "2015-11-12T02:24:52.377Z", "host": "WIN-GG82ULGC9GO.contoso.local", "event_id": "4688",
		"user": "dadmin", "process": `C:\\Windows\\System32\\rundll32.exe`, "command_line": "", "CommandLine": "",
		"ParentProcessName": `C:\\Windows\\explorer.exe`, "NewProcessId": "0x2bc", "MandatoryLabel": "S-1-16-8192"}},
	{166, want{"time": "2015-09-30T19:57:09.668Z", "event_id": "4719", "user": "DC01$",
		"AuditPolicyChanges": "%%8448, %%8450", "SubcategoryGuid": "{0CCE9223-69AE-11D9-BED3-505054503030}"}},
	{195, want{"time": "2015-08-07T18:13:46.074Z", "event_id": "4768", "user": "dadmin", "service": "krbtgt",
		"src_ip": "::ffff:10.0.0.12", "src_port": "49273", "status": "0x0", "TicketEncryptionType": "0x12",
		"PreAuthType": "15", "TargetDomainName": "CONTOSO.LOCAL"}},
	{230, want{"time": "2015-08-07T18:13:46.043Z", "event_id": "4769", "user": "dadmin@CONTOSO.LOCAL",
		"service": "WIN2008R2$", "src_ip": "::ffff:10.0.0.12", "src_port": "49272",
		"LogonGuid": "{F85C455E-C66E-205C-6B39-F6C60A7FE453}", "TransmittedServices": "-"}},
	{262, want{"time": "2015-07-25T04:38:11.003Z", "event_id": "4776", "user": "dadmin", "Workstation": "WIN81",
		"PackageName": `MICROSOFT\_AUTHENTICATION\_PACKAGE\_V1\_0`, "status": "0xc0000234"}},
	{287, want{"time": "2015-10-16T00:39:58.656Z", "host": "DC01.contoso.local", "event_id": "1102",
		"channel": "Security", "user": "dadmin", "SubjectUserName": "dadmin", "SubjectDomainName": "CONTOSO",
		"SubjectUserSid": "S-1-5-21-3457937927-2839227994-823803824-1104", "SubjectLogonId": "0x55cd1d",
		"Provider_Name": "Microsoft-Windows-Eventlog", "Level": "4", "Task": "104"}},
}

// The <Events> file, pretty-printed: one record per <Event>, at the line
// where it starts, whatever the indentation.
func TestSplitEventsPretty(t *testing.T) {
	recs := split(t, readFile(t, "testdata/msdocs-events.xml"))
	if len(recs) != len(msdocsWant) {
		t.Fatalf("got %d records, want %d", len(recs), len(msdocsWant))
	}
	for i, tc := range msdocsWant {
		r := recs[i]
		if r.line != tc.line {
			t.Errorf("record %d starts at line %d, want %d", i, r.line, tc.line)
		}
		if !strings.HasPrefix(r.rec, "<Event xmlns=") || !strings.HasSuffix(r.rec, "</Event>") {
			t.Errorf("record %d is not one <Event> element: %.40q...%q", i, r.rec, r.rec[max(0, len(r.rec)-20):])
		}
		check(t, parseOne(t, r.rec), tc.w)
	}
}

var tagGap = regexp.MustCompile(`>\s+<`)

// The same events as wevtutil writes them without /e:Events: one per line,
// and also all on one line with no separator.
func TestSplitOnePerLine(t *testing.T) {
	pretty := split(t, readFile(t, "testdata/msdocs-events.xml"))
	var lines, oneLine bytes.Buffer
	for _, r := range pretty {
		flat := tagGap.ReplaceAllString(r.rec, "><")
		lines.WriteString(flat + "\r\n")
		oneLine.WriteString(flat)
	}
	for name, data := range map[string][]byte{"lines": lines.Bytes(), "one line": oneLine.Bytes()} {
		recs := split(t, data)
		if len(recs) != len(msdocsWant) {
			t.Fatalf("%s: got %d records, want %d", name, len(recs), len(msdocsWant))
		}
		for i, tc := range msdocsWant {
			wantLine := int64(i + 1)
			if name == "one line" {
				wantLine = 1
			}
			if recs[i].line != wantLine {
				t.Errorf("%s: record %d at line %d, want %d", name, i, recs[i].line, wantLine)
			}
			ev := parseOne(t, recs[i].rec)
			check(t, ev, tc.w)
			// Same fields as the pretty-printed form.
			if a, b := fieldString(ev), fieldString(parseOne(t, pretty[i].rec)); a != b {
				t.Errorf("%s: record %d differs from the pretty form:\n%s\n%s", name, i, a, b)
			}
		}
	}
}

func fieldString(ev *event.Event) string {
	var sb strings.Builder
	ev.Fields(func(k, v string) { sb.WriteString(k + "=" + v + "\n") })
	return sb.String() + "host=" + ev.Host + " time=" + ev.Time.Format(time.RFC3339Nano)
}

func TestSplitWevtutilLines(t *testing.T) {
	recs := split(t, readFile(t, "testdata/wevtutil-lines.xml"))
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if recs[0].line != 3 || recs[1].line != 5 {
		t.Errorf("lines %d, %d; want 3, 5", recs[0].line, recs[1].line)
	}
	check(t, parseOne(t, recs[0].rec), want{
		"time": "2022-10-27T10:30:06.564Z", "host": "win10.windomain.local", "event_id": "4689",
		"user": "vagrant", "process": `C:\\Windows\\System32\\RuntimeBroker.exe`, "status": "0x0",
		"LevelText": "Information", "TaskText": "Process Termination", "OpcodeText": "Info",
		"ChannelText": "Security", "ProviderText": "Microsoft Windows security auditing.",
		"KeywordsText": "Audit Success", "TimeCreated": "2022-10-27T10:30:06.5647827Z",
		"Message": `A process has exited.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-5-21-2892044109-3067629140-1698523921-1000\r\n\tAccount Name:\t\tvagrant\r\n\tAccount Domain:\t\tWIN10\r\n\tLogon ID:\t\t0x391D2\r\n\r\nProcess Information:\r\n\tProcess ID:\t0x10fc\r\n\tProcess Name:\tC:\\Windows\\System32\\RuntimeBroker.exe\r\n\tExit Status:\t0x0`,
	})
	check(t, parseOne(t, recs[1].rec), want{
		"time": "2023-05-22T14:43:53.167Z", "host": "EC2AMAZ-25GMQOK", "event_id": "7036", "channel": "System",
		"EventID": "7036", "Qualifiers": "16384", "Provider_Name": "Service Control Manager",
		"Provider_EventSourceName": "Service Control Manager", "param1": "AppX Deployment Service (AppXSVC)",
		"param2": "running", "Binary": "41007000700058005300760063002F0034000000",
		"Message":  "The AppX Deployment Service (AppXSVC) service entered the running state.",
		"TaskText": "", "KeywordsText": "Classic", "ProviderText": "Microsoft-Windows-Service Control Manager",
		"user": "",
	})
}

func TestPrettyWithRenderingInfo(t *testing.T) {
	recs := split(t, readFile(t, "testdata/openwec-4624-pretty.xml"))
	if len(recs) != 1 || recs[0].line != 4 {
		t.Fatalf("got %+v, want one record at line 4", recs)
	}
	ev := parseOne(t, recs[0].rec)
	check(t, ev, want{
		"time": "2022-09-23T11:53:47.907Z", "host": "win10.windomain.local", "event_id": "4624",
		"user": "SYSTEM", "logon_type": "5", "src_ip": "", "src_port": "", "WorkstationName": "-",
		"LogonProcessName": "Advapi  ", "TargetDomainName": "NT AUTHORITY", "LevelText": "Information",
		"TaskText": "Logon", "KeywordsText": "Audit Success", "ActivityID": "{d88ee832-cf42-0000-26e9-8ed842cfd801}",
		"process": `C:\\Windows\\System32\\services.exe`,
	})
	if !strings.HasPrefix(ev.Extra("Message"), `An account was successfully logged on.\r\n`) {
		t.Errorf("Message = %q", ev.Extra("Message"))
	}
	// Extras keep document order: System first, then EventData, then RenderingInfo.
	var keys []string
	ev.Fields(func(k, _ string) { keys = append(keys, k) })
	idx := func(k string) int {
		for i, x := range keys {
			if x == k {
				return i
			}
		}
		return -1
	}
	if !(idx("EventID") < idx("SubjectUserSid") && idx("SubjectUserSid") < idx("Message")) {
		t.Errorf("field order %v", keys)
	}
}

// PowerShell's `>` and Event Viewer write UTF-16 with a byte-order mark.
func TestSplitUTF16(t *testing.T) {
	src := readFile(t, "testdata/msdocs-events.xml")
	for name, enc := range map[string]*encoding.Encoder{
		"LE+BOM": unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder(),
		"BE+BOM": unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder(),
		"LE":     unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder(),
	} {
		data, err := enc.Bytes(src)
		if err != nil {
			t.Fatal(err)
		}
		recs := split(t, data)
		if len(recs) != len(msdocsWant) {
			t.Fatalf("%s: got %d records, want %d", name, len(recs), len(msdocsWant))
		}
		for i, tc := range msdocsWant {
			if recs[i].line != tc.line {
				t.Errorf("%s: record %d at line %d, want %d", name, i, recs[i].line, tc.line)
			}
			check(t, parseOne(t, recs[i].rec), tc.w)
		}
	}
	// A UTF-8 BOM is dropped.
	recs := split(t, append([]byte("\xEF\xBB\xBF"), src...))
	if len(recs) != len(msdocsWant) || recs[0].line != 14 {
		t.Errorf("UTF-8 BOM: %d records, first at line %d", len(recs), recs[0].line)
	}
}

// Reading in small pieces must give the same records as reading at once.
func TestSplitSmallReads(t *testing.T) {
	src := readFile(t, "testdata/msdocs-events.xml")
	whole := split(t, src)
	var got []record
	err := Parser{}.Split(&oneByteReader{src}, func(rec []byte, line int64) error {
		got = append(got, record{string(rec), line})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(whole) {
		t.Fatalf("got %d records, want %d", len(got), len(whole))
	}
	for i := range got {
		if got[i] != whole[i] {
			t.Errorf("record %d differs: %+v", i, got[i].line)
		}
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// A record cut off at the end of the file (cea-sec/openwec,
// server/src/event.rs, RAW_CONTENT_RECOVERED: a real 4798 event whose
// RenderingInfo was lost), and stray text between events, are passed on and
// reported by Parse; the events around them still parse.
func TestSplitBrokenInput(t *testing.T) {
	lines := readFile(t, "testdata/wevtutil-lines.xml")
	truncated := `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4798</EventID><Version>0</Version><Level>0</Level><Task>13824</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2023-09-29T13:39:08.7234692Z'/><EventRecordID>980236</EventRecordID><Correlation ActivityID='{f59bb999-ec5b-0008-f6b9-9bf55becd901}'/><Execution ProcessID='1440' ThreadID='16952'/><Channel>Security</Channel><Computer>dvas0004_xps</Computer><Security/></System><EventData><Data Name='TargetUserName'>davev</Data><Data Name='TargetDomainName'>xxxxx_xps</Data><Data Name='TargetSid'>S-1-5-21-1604529354-1295832394-4197355770-1001</Data><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectUserName'>xxxxx_XPS$</Data><Data Name='SubjectDomainName'>WORKGROUP</Data><Data Name='SubjectLogonId'>0x3e7</Data><Data Name='CallerProcessId'>0x28d4</Data><Data Name='CallerProcessName'>C:\\Windows\\System32\\svchost.exe</Data></EventData><RenderingInfo Culture='en-US'><Message>A user's local group membership was enumerated.&#13;&#10;&#13;&#10;Subject:&#13;&#10;&#9;`
	data := append(append([]byte("garbage line\n"), lines...), truncated...)
	recs := split(t, data)
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4: %+v", len(recs), recs)
	}
	wantLines := []int64{1, 4, 6, 7}
	for i, r := range recs {
		if r.line != wantLines[i] {
			t.Errorf("record %d at line %d, want %d", i, r.line, wantLines[i])
		}
	}
	ev := &event.Event{}
	if err := (Parser{}).Parse([]byte(recs[0].rec), ev, pc); err == nil || errors.Is(err, parse.ErrSkip) {
		t.Errorf("garbage: err = %v, want a parse error", err)
	}
	parseOne(t, recs[1].rec)
	parseOne(t, recs[2].rec)
	err := (Parser{}).Parse([]byte(recs[3].rec), &event.Event{}, pc)
	if err == nil || !strings.Contains(err.Error(), "not closed") {
		t.Errorf("truncated: err = %v, want 'not closed'", err)
	}
}

func TestParseErrors(t *testing.T) {
	good := tagGap.ReplaceAllString(split(t, readFile(t, "testdata/msdocs-events.xml"))[0].rec, "><")
	tests := []struct {
		name, rec, err string
	}{
		{"blank", "   ", "skip"},
		{"declaration", `<?xml version="1.0" encoding="UTF-8"?>`, "skip"},
		{"wrapper", `<Events>`, "skip"},
		{"wrapper end", `</Events>`, "skip"},
		{"comment", `<!-- event-4624.md -->`, "skip"},
		{"not xml", "Feb 16 11:43:32 mail-server postfix/cleanup[29597]: msg", "no <Event> element"},
		{"other root", `<Eventually/>`, "no <Event> element"},
		{"no EventID", strings.Replace(good, "<EventID>4624</EventID>", "", 1), "no System/EventID"},
		{"no time", strings.Replace(good, `<TimeCreated SystemTime="2015-11-12T00:24:35.079785200Z"/>`, "", 1), "no System/TimeCreated"},
		{"bad time", strings.Replace(good, `2015-11-12T00:24:35.079785200Z`, "yesterday", 1), "bad TimeCreated"},
		{"mismatched", strings.Replace(good, "</Channel>", "</Chanel>", 1), "unexpected </Chanel>"},
		{"bad entity", strings.Replace(good, "Administrator", "Admin&bogus;", 1), "winxml:"},
		{"empty event", `<Event/>`, "no System/EventID"},
	}
	for _, tc := range tests {
		err := (Parser{}).Parse([]byte(tc.rec), &event.Event{}, pc)
		switch {
		case tc.err == "skip":
			if !errors.Is(err, parse.ErrSkip) {
				t.Errorf("%s: err = %v, want ErrSkip", tc.name, err)
			}
		case err == nil || errors.Is(err, parse.ErrSkip) || !strings.Contains(err.Error(), tc.err):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
	// The declaration and wrapper on the same line as the event: the event is found.
	ev := parseOne(t, `<?xml version="1.0"?><Events>`+good+`</Events>`)
	check(t, ev, want{"event_id": "4624", "user": "Administrator"})
}

// Unnamed <Data> (classic providers such as PowerShell 400/403/600 and
// "param" style events) → Data (all joined) and Data1..DataN.
func TestUnnamedData(t *testing.T) {
	rec := `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='PowerShell'/><EventID Qualifiers='0'>400</EventID><Level>4</Level><Task>4</Task><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='2020-10-21T09:40:38.9260000Z'/><EventRecordID>1</EventRecordID><Channel>Windows PowerShell</Channel><Computer>WORKSTATION5</Computer><Security/></System><EventData><Data>Available</Data><Data>None</Data><Data>	NewEngineState=Available
	HostName=ConsoleHost</Data></EventData></Event>`
	ev := parseOne(t, rec)
	check(t, ev, want{"Data": "Available,None,\tNewEngineState=Available\n\tHostName=ConsoleHost", "Data1": "Available",
		"Data2": "None", "Data3": "\tNewEngineState=Available\n\tHostName=ConsoleHost", "Data4": "", "Qualifiers": "0",
		"event_id": "400", "channel": "Windows PowerShell", "host": "WORKSTATION5"})
	one := strings.Replace(rec, "<Data>Available</Data><Data>None</Data>", "", 1)
	check(t, parseOne(t, one), want{"Data": "\tNewEngineState=Available\n\tHostName=ConsoleHost", "Data1": ""})
}

func TestSniff(t *testing.T) {
	yes := []string{
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='x'/>`,
		`<?xml version="1.0" encoding="UTF-8"?><Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">`,
		`<Events>`,
		`  <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">`,
		`    <Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}"/>`,
		`    <EventID>4624</EventID>`,
		`    <TimeCreated SystemTime="2015-11-12T00:24:35.079785200Z"/>`,
		`    <Data Name="SubjectUserSid">S-1-5-18</Data>`,
		` </Event>`,
	}
	no := []string{
		``,
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`Feb 16 11:43:32 mail-server postfix/cleanup[29597]: 4DEC71A0D8: message-id=<20150216024330.4DEC71A0D8@mail-server>`,
		`1418662940.212    156 192.168.1.10 TCP_MISS/200 1524 GET http://example.com/ - DIRECT/93.184.216.34 text/html`,
		`{"EventID":4624,"Channel":"Security"}`,
		`<note><to>x</to></note>`,
		`<134>Jan 22 22:39:45 host AgentDevice=WindowsLog	EventID=4624`,
	}
	for _, s := range yes {
		if !(Parser{}).Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = false", s)
		}
	}
	for _, s := range no {
		if (Parser{}).Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = true", s)
		}
	}
	// Most lines of the pretty-printed files are recognized, so that
	// line-based detection picks winxml for them.
	for _, f := range []string{"testdata/msdocs-events.xml", "testdata/openwec-4624-pretty.xml"} {
		var n, m int
		for _, l := range bytes.Split(readFile(t, f), []byte("\n")) {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			n++
			if (Parser{}).Sniff(l) {
				m++
			}
		}
		if m*10 < n*7 {
			t.Errorf("%s: Sniff recognized %d of %d lines", f, m, n)
		}
	}
	// Lines of a UTF-16 file (Windows PowerShell's `wevtutil qe ... > f.xml`),
	// split at the '\n' byte as a line reader does.
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(readFile(t, "testdata/wevtutil-lines.xml"))
	lines := bytes.Split(u16, []byte("\n"))
	if !(Parser{}).Sniff(lines[2]) || !(Parser{}).Sniff(lines[4]) || (Parser{}).Sniff(lines[5]) {
		t.Errorf("UTF-16 lines not sniffed: %q", lines[2][:20])
	}
}

func TestNormalizeFallbacks(t *testing.T) {
	ev := &event.Event{}
	SetField(ev, "EventID", "3")
	SetField(ev, "User", `NT AUTHORITY\SYSTEM`)
	SetField(ev, "Image", `C:\Windows\System32\svchost.exe`)
	SetField(ev, "SourceIp", "10.0.2.15")
	SetField(ev, "SourcePort", "49712")
	SetField(ev, "DestinationIp", "10.0.2.1")
	SetField(ev, "DestinationPort", "445")
	SetField(ev, "Protocol", "tcp")
	SetField(ev, "DestinationHostname", "dc01.example.local")
	SetField(ev, "Address", "LOCAL")
	SetField(ev, "IpPort", "-")
	Normalize(ev)
	check(t, ev, want{"user": "SYSTEM", "process": `C:\Windows\System32\svchost.exe`, "src_ip": "10.0.2.15",
		"src_port": "49712", "dst_ip": "10.0.2.1", "dst_port": "445", "proto": "tcp", "domain": "dc01.example.local",
		"User": `NT AUTHORITY\SYSTEM`, "event_id": "3"})
	ev = &event.Event{}
	SetField(ev, "SourceAddress", "192.168.2.5")
	SetField(ev, "DestAddress", "168.63.129.16")
	SetField(ev, "DestPort", "80")
	SetField(ev, "Protocol", "6")
	SetField(ev, "SourcePort", "0")
	Normalize(ev)
	check(t, ev, want{"src_ip": "192.168.2.5", "dst_ip": "168.63.129.16", "dst_port": "80", "proto": "tcp", "src_port": ""})
	ev = &event.Event{}
	SetField(ev, "Address", "192.168.56.1")
	SetField(ev, "QueryName", "example.org")
	Normalize(ev)
	check(t, ev, want{"src_ip": "192.168.56.1", "query": "example.org", "domain": "example.org"})
}

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("JST", 9*3600)
	tests := []struct{ in, want string }{
		{"2015-11-12T00:24:35.079785200Z", "2015-11-12T00:24:35.079Z"},
		{"2019-05-10T11:50:48.123+02:00", "2019-05-10T09:50:48.123Z"},
		{"2020-09-19 21:17:03", "2020-09-19T12:17:03.000Z"},
		{"2020-10-21 12:19:01.088", "2020-10-21T03:19:01.088Z"},
		{"2020-10-21T12:19:01", "2020-10-21T03:19:01.000Z"},
		{"2020-10-21T12:19:01+0900", "2020-10-21T03:19:01.000Z"},
	}
	for _, tc := range tests {
		got, ok := ParseTime(tc.in, loc)
		if !ok || event.FormatTime(got) != tc.want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v %v, want %s", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "10/21/2020 12:19:01", "2020-13-45 99:99:99"} {
		if _, ok := ParseTime(bad, loc); ok {
			t.Errorf("ParseTime(%q) ok", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/msdocs-events.xml", "testdata/wevtutil-lines.xml", "testdata/openwec-4624-pretty.xml"} {
		for _, r := range split(f, readFile(f, name)) {
			f.Add([]byte(r.rec))
		}
	}
	f.Add([]byte(`<Event><System><EventID>1</EventID><TimeCreated SystemTime='2020-01-01T00:00:00Z'/></System><UserData><A><B>x</B></A></UserData></Event>`))
	f.Add([]byte(`<Event/>`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ev := &event.Event{}
		err := (Parser{}).Parse(rec, ev, pc)
		if err == nil {
			if ev.Time.Location() != time.UTC {
				t.Errorf("time not UTC: %v", ev.Time)
			}
			// Only data fields (EventData, UserData) may be present and
			// empty; a System element never becomes an empty field.
			ev.Fields(func(k, v string) {
				if v == "" && systemNames[k] {
					t.Errorf("system field %s is empty", k)
				}
			})
		}
		_ = (Parser{}).Sniff(rec)
		_ = (Parser{}).Split(bytes.NewReader(rec), func([]byte, int64) error { return nil })
	})
}

func BenchmarkParse(b *testing.B) {
	rec := []byte(tagGap.ReplaceAllString(split(b, readFile(b, "testdata/msdocs-events.xml"))[0].rec, "><"))
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	ev := &event.Event{}
	for b.Loop() {
		ev.Reset()
		if err := (Parser{}).Parse(rec, ev, pc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplit(b *testing.B) {
	src := readFile(b, "testdata/msdocs-events.xml")
	data := bytes.Repeat(src[bytes.Index(src, []byte("<Events>")):], 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = (Parser{}).Split(bytes.NewReader(data), func([]byte, int64) error { return nil })
	}
}

// systemNames are fields that come from the System section.
var systemNames = map[string]bool{
	"EventID": true, "Version": true, "Level": true, "Task": true, "Opcode": true,
	"Keywords": true, "TimeCreated": true, "EventRecordID": true, "Channel": true,
	"Computer": true, "Provider": true, "Provider_Name": true, "Correlation": true,
	"Execution": true, "Security": true, "KeywordsText": true,
}

// Event 104 (a log was cleared) names the cleared log in a UserData leaf
// called Channel: the field holds it, but the event's own channel, used to
// route it (System), stays.
func TestUserDataChannelKeepsSystemChannel(t *testing.T) {
	rec := `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Eventlog' Guid='{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}'/><EventID>104</EventID><Version>0</Version><Level>4</Level><Task>104</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2019-03-19T23:34:25.1234567Z'/><EventRecordID>2203</EventRecordID><Correlation/><Execution ProcessID='1000' ThreadID='3596'/><Channel>System</Channel><Computer>WS01.corp.local</Computer><Security UserID='S-1-5-21-1-2-3-1104'/></System><UserData><LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'><SubjectUserName>jdoe</SubjectUserName><SubjectDomainName>CORP</SubjectDomainName><Channel>Windows PowerShell</Channel><BackupPath></BackupPath></LogFileCleared></UserData></Event>`
	ev := parseOne(t, rec)
	if ev.Get(event.Channel) != "System" || ev.Extra("Channel") != "Windows PowerShell" {
		t.Errorf("channel %q, Channel field %q", ev.Get(event.Channel), ev.Extra("Channel"))
	}
	if v, ok := ev.LookupOK("BackupPath"); !ok || v != "" {
		t.Errorf("empty UserData leaf: %q %v", v, ok)
	}
}

// An empty <EventData/> or <UserData/> section is no field at all.
func TestEmptySectionIsNoField(t *testing.T) {
	for _, section := range []string{"<EventData/>", "<UserData/>", "<EventData></EventData>"} {
		rec := `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='P'/><EventID>7036</EventID><TimeCreated SystemTime='2019-03-19T23:34:25.1234567Z'/><Channel>System</Channel><Computer>WS01</Computer></System>` + section + `</Event>`
		ev := parseOne(t, rec)
		for _, name := range []string{"EventData", "UserData"} {
			if _, ok := ev.LookupOK(name); ok {
				t.Errorf("%s: field %s", section, name)
			}
		}
	}
}
