package winjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

var pc = parse.NewContext(time.UTC, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type want map[string]string

func check(t *testing.T, ev *event.Event, w want) {
	t.Helper()
	if ev == nil {
		t.Error("no event")
		return
	}
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
}

func checkClean(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.Time.IsZero() || ev.Time.Location() != time.UTC {
		t.Errorf("bad time %v", ev.Time)
	}
	// System elements without text are attribute carriers, never fields;
	// data fields keep "-" and "" as the event holds them (Sigma tells them
	// apart from a missing field).
	ev.Fields(func(k, v string) {
		switch k {
		case "Correlation", "Execution", "Security", "Provider", "TimeCreated", "EventID", "Channel", "Computer":
			if v == "" {
				t.Errorf("system field %s stored empty", k)
			}
		}
	})
}

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

func parseWith(t testing.TB, rec string, ctx *parse.Context) *event.Event {
	t.Helper()
	ev := &event.Event{Raw: rec, Source: "winjson"}
	if err := (Parser{}).Parse([]byte(rec), ev, ctx); err != nil {
		t.Fatalf("Parse(%.100q): %v", rec, err)
	}
	if tt, ok := t.(*testing.T); ok {
		checkClean(tt, ev)
	}
	return ev
}

func TestMordorLines(t *testing.T) {
	recs := split(t, readFile(t, "testdata/mordor-lines.json"))
	if len(recs) != 10 {
		t.Fatalf("got %d records, want 10", len(recs))
	}
	for i, r := range recs {
		if r.line != int64(i+1) {
			t.Errorf("record %d at line %d", i, r.line)
		}
	}
	// NXLog writes EventTime in the collector's local time without a zone:
	// these hosts were on US Eastern summer time (@timestamp, the receive
	// time in UTC, is 2 s later).
	edt := parse.NewContext(time.FixedZone("EDT", -4*3600), time.Time{})
	tests := []struct {
		ctx *parse.Context
		w   want
	}{
		{pc, want{"time": "2023-07-19T12:21:28.386Z", "host": "DC01.pandalab.com", "event_id": "4624", "channel": "Security",
			"user": "DC01$", "src_ip": "192.168.1.4", "src_port": "55435", "logon_type": "3", "process": "",
			"Provider_Name": "Microsoft-Windows-Security-Auditing", "Provider_Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
			"Computer": "DC01.pandalab.com", "Keywords": "0x8020000000000000", "TimeCreated": "2023-07-19T12:21:28.386Z",
			"@timestamp": "2023-07-19T12:21:28.386Z", "SubjectUserName": "-", "TargetDomainName": "PANDALAB.COM",
			"Hostname": "", "SourceName": ""}},
		{edt, want{"time": "2020-09-20T01:18:56.000Z", "host": "MORDORDC.theshire.local", "event_id": "4624",
			"user": "WORKSTATION6$", "src_ip": "172.18.39.6", "src_port": "54102", "logon_type": "3",
			"Keywords": "0x8020000000000000", "ProcessID": "696", "ThreadID": "6500", "EventRecordID": "1103206",
			"Opcode": "0", "OpcodeText": "Info", "TaskText": "Logon", "Task": "12544", "Version": "2",
			"EventTime": "2020-09-19 21:18:56", "TimeCreated": "2020-09-20T01:18:56Z", "ExecutionProcessID": "",
			"ActivityID": "{ACAAA2B5-6AED-0001-4B50-4040058DD601}"}},
		{pc, want{"time": "2022-08-18T06:56:26.233Z", "host": "pedro-computer", "event_id": "4625", "user": "pedro-admin",
			"status": "0xc000010b", "logon_type": "11", "src_ip": "::1", "src_port": "",
			"process": `C:\Windows\System32\consent.exe`}},
		{pc, want{"time": "2021-06-11T09:07:15.635Z", "host": "WORKSTATION5", "event_id": "1",
			"channel": "Microsoft-Windows-Sysmon/Operational", "user": "APT-Simulator", "User": `WORKSTATION5\APT-Simulator`,
			"process": `C:\Windows\System32\PING.EXE`, "command_line": "ping  -n 3 127.0.0.1 ", "RuleName": "-",
			"Product": "Microsoft® Windows® Operating System", "ParentCommandLine": `"C:\Windows\system32\cmd.exe" `,
			"UtcTime": "2021-06-12 01:07:15.633"}},
		{pc, want{"time": "2021-06-11T09:07:42.306Z", "event_id": "3", "user": "SYSTEM", "process": "System",
			"src_ip": "fe80:0:0:0:5d54:ed5a:760f:c4ff", "src_port": "59324", "dst_ip": "fe80:0:0:0:5d54:ed5a:760f:c4ff",
			"dst_port": "445", "proto": "tcp", "domain": "", "Initiated": "true"}},
		// No zone and no @timestamp: the time is read in the Context's zone.
		{pc, want{"time": "2020-10-21T12:19:01.088Z", "host": "WORKSTATION5", "event_id": "1102", "user": "",
			"TimeCreated": "2020-10-21T12:19:01.088Z", "Task": "104",
			"Message": "The audit log was cleared.\r\nSubject:\r\n\tSecurity ID:\tS-1-5-21-3940915590-64593676-1414006259-500\r\n\tAccount Name:\twardog\r\n\tDomain Name:\tWORKSTATION5\r\n\tLogon ID:\t0xC61D9"}},
		{pc, want{"time": "2020-10-21T12:19:04.411Z", "event_id": "4688", "user": "wardog", "TargetUserName": "-",
			"process": `C:\Windows\System32\netsh.exe`, "ParentProcessName": `C:\Windows\System32\cmd.exe`,
			"command_line": `netsh  advfirewall firewall add rule name="atomic testing" action=allow dir=in protocol=TCP localport=450`}},
		{edt, want{"time": "2020-09-20T16:16:56.000Z", "host": "WORKSTATION6.theshire.local", "event_id": "7045",
			"channel": "System", "service": "Updater", "user": "pgustavo", "AccountName": "pgustavo", "Domain": "THESHIRE",
			"SecurityUserID": "S-1-5-21-4228717743-1032521047-1810997296-1104", "Keywords": "0x8080000000000000",
			"ServiceType": "user mode service", "Opcode": "0", "EventRecordID": "1075", "tags": "mordorDataset"}},
		{pc, want{"time": "2022-08-18T06:55:56.605Z", "event_id": "4104", "ScriptBlockText": "prompt", "Path": "",
			"MessageNumber": "1", "Keywords": "0x0", "Level": "5"}},
		{pc, want{"time": "2022-08-18T06:58:14.415Z", "event_id": "4719", "user": "pedro-admin",
			"SubcategoryGuid": "{0cce923f-69ae-11d9-bed3-505054503030}", "AuditPolicyChanges": "%%8448"}},
	}
	for i, tc := range tests {
		check(t, parseWith(t, recs[i].rec, tc.ctx), tc.w)
	}
}

func TestEvtxDump(t *testing.T) {
	data := readFile(t, "testdata/evtx_dump.json")
	recs := split(t, data)
	if len(recs) != 3 || recs[0].line != 1 || recs[1].line != 60 || recs[2].line != 120 {
		t.Fatalf("got %d records at %v", len(recs), recs)
	}
	check(t, parseWith(t, recs[0].rec, pc), want{"time": "2025-11-27T07:40:10.165Z", "event_id": "7",
		"Version": "3", "Task": "7", "Opcode": "0", "ProcessID": "3544", "ThreadID": "4272", "ProcessId": "4460",
		"Signature": "Microsoft Windows", "user": "xodih", "Hashes": "SHA1=5E4F2C531C549BB72A658ED9DD16D491EDDBB286,MD5=FAB4B30C1C4F0A9202A7B42DCF1729DC,SHA256=1B48A4F8D20026E6C56E3AB4CC4788FA6425C8A75F8D91C2869FA533DE6B209E,IMPHASH=C324AAAC01F0F75C811E1F80C41B860C"})
	check(t, parseWith(t, recs[1].rec, pc), want{"event_id": "5858", "Id": "{00000000-0000-0000-0000-000000000000}",
		"ClientMachine": "SWACHCHHANDA", "PossibleCause": "Unknown", "xmlns": ""})
	check(t, parseWith(t, recs[2].rec, pc), want{"time": "2026-03-11T05:16:41.815Z", "event_id": "142",
		"channel": "Microsoft-Windows-TaskScheduler/Operational", "EventData_Name": "TaskDisabled",
		"TaskName": `\Microsoft\Windows\SystemRestore\SR`, "UserName": "System", "user": "System"})

	// evtx_dump -o json writes a "Record N" line before each document;
	// -o jsonl one document per line.
	var withHeaders, jsonl bytes.Buffer
	for i, r := range recs {
		fmt.Fprintf(&withHeaders, "Record %d\n%s\n", i+1, r.rec)
		var v any
		if err := json.Unmarshal([]byte(r.rec), &v); err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(v)
		jsonl.Write(append(line, '\n'))
	}
	hrecs := split(t, withHeaders.Bytes())
	if len(hrecs) != 6 || hrecs[0].rec != "Record 1" || hrecs[1].line != 2 || hrecs[3].line != 62 {
		t.Fatalf("with headers: %d records", len(hrecs))
	}
	for i, r := range hrecs {
		err := (Parser{}).Parse([]byte(r.rec), &event.Event{}, pc)
		if i%2 == 0 && !errors.Is(err, parse.ErrSkip) {
			t.Errorf("header %q: err = %v, want ErrSkip", r.rec, err)
		}
		if i%2 == 1 && err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	lrecs := split(t, jsonl.Bytes())
	if len(lrecs) != 3 || lrecs[2].line != 3 {
		t.Fatalf("jsonl: %v", lrecs)
	}
	for i := range lrecs {
		a, b := fields(parseWith(t, lrecs[i].rec, pc)), fields(parseWith(t, recs[i].rec, pc))
		if sortLines(a) != sortLines(b) { // encoding/json sorted the keys
			t.Errorf("record %d: jsonl and pretty differ:\n%s\n%s", i, a, b)
		}
	}
}

func fields(ev *event.Event) string {
	var sb strings.Builder
	ev.Fields(func(k, v string) { sb.WriteString(k + "=" + v + "\n") })
	return sb.String() + "host=" + ev.Host + " time=" + ev.Time.Format(time.RFC3339Nano)
}

// evtx_dump's other renderings of EventData and System: unnamed <Data> as
// {"#text": [...]}, an EventID with Qualifiers, RenderingInfo, and named
// <Data> as an array of {"#attributes": {"Name": …}, "#text": …}.
func TestEvtxDumpVariants(t *testing.T) {
	rec := `{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"PowerShell"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":400},"Level":4,"Task":4,"Keywords":"0x80000000000000","TimeCreated":{"#attributes":{"SystemTime":"2020-10-21T09:40:38.926Z"}},"EventRecordID":1,"Channel":"Windows PowerShell","Computer":"WORKSTATION5","Security":null},` +
		`"EventData":{"Data":{"#text":["Available","None","\tNewEngineState=Available\r\n\tHostName=ConsoleHost"]},"Binary":null},` +
		`"RenderingInfo":{"#attributes":{"Culture":"en-US"},"Message":"Engine state is changed from None to Available.","Level":"Information","Keywords":{"Keyword":["Classic","Audit"]}}}}`
	check(t, parseWith(t, rec, pc), want{"event_id": "400", "Qualifiers": "0", "channel": "Windows PowerShell",
		"Data": "Available,None,\tNewEngineState=Available\r\n\tHostName=ConsoleHost", "Data1": "Available", "Data2": "None",
		"Data3": "\tNewEngineState=Available\r\n\tHostName=ConsoleHost", "Binary": "", "LevelText": "Information",
		"KeywordsText": "Classic,Audit", "Message": "Engine state is changed from None to Available.", "Culture": ""})
	named := `{"Event":{"System":{"EventID":4624,"TimeCreated":{"#attributes":{"SystemTime":"2015-11-12T00:24:35.0797852Z"}},"Computer":"WIN-GG82ULGC9GO"},"EventData":{"Data":[{"#attributes":{"Name":"TargetUserName"},"#text":"Administrator"},{"@Name":"LogonType","#text":"2"},"unnamed"]}}}`
	check(t, parseWith(t, named, pc), want{"user": "Administrator", "logon_type": "2", "TargetUserName": "Administrator",
		"LogonType": "2", "Data": "unnamed", "host": "WIN-GG82ULGC9GO", "time": "2015-11-12T00:24:35.079Z"})
}

func TestWinlogbeat(t *testing.T) {
	recs := split(t, readFile(t, "testdata/winlogbeat-golden.json"))
	if len(recs) != 2 || recs[0].line != 2 || recs[1].line != 66 {
		t.Fatalf("got %d records: %v", len(recs), recs)
	}
	check(t, parseWith(t, recs[0].rec, pc), want{
		"time": "2019-11-07T10:34:29.055Z", "TimeCreated": "2019-11-07T10:34:29.0559196Z",
		"host": "WIN-41OB2LO92CR.wlbeat.local", "event_id": "1102", "channel": "Security", "user": "Administrator",
		"SubjectUserName": "Administrator", "SubjectLogonId": "0x50e87", "xml_name": "", "ProcessID": "1144",
		"ThreadID": "1824", "EventRecordID": "14224", "Provider_Name": "Microsoft-Windows-Eventlog",
		"Provider_Guid": "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", "OpcodeText": "Info", "TaskText": "Log clear",
		"KeywordsText": "Audit Success", "LevelText": "information", "event_action": "audit-log-cleared",
		"event_type": "admin,change", "user_name": "Administrator", "winlog_logon_id": "0x50e87", "winlog_api": "wineventlog",
	})
	check(t, parseWith(t, recs[1].rec, pc), want{
		"time": "2019-11-07T15:22:57.655Z", "event_id": "4719", "user": "WIN-41OB2LO92CR$",
		"AuditPolicyChangesDescription": "Success Added,Failure Added", "Category": "Logon/Logoff",
		"ActivityID": "{3eef0a0d-9551-0000-140c-ef3e5195d501}", "event_code": "",
	})
	// The same documents one per line, as Winlogbeat's file output writes
	// them (event_id as a string or a number), and with a host but no
	// computer_name.
	for i, r := range recs {
		var v any
		if err := json.Unmarshal([]byte(r.rec), &v); err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(v)
		a, b := fields(parseWith(t, string(line), pc)), fields(parseWith(t, r.rec, pc))
		// encoding/json sorts keys; compare as sets of lines.
		if sortLines(a) != sortLines(b) {
			t.Errorf("record %d: one-line and pretty differ:\n%s\n%s", i, a, b)
		}
	}
	noComputer := strings.Replace(recs[1].rec, `"computer_name": "WIN-41OB2LO92CR.wlbeat.local",`, "", 1)
	noID := strings.Replace(noComputer, `"event_id": 4719,`, "", 1)
	check(t, parseWith(t, noID, pc), want{"host": "WIN-41OB2LO92CR.wlbeat.local", "event_id": "4719", "Computer": ""})
}

func sortLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// A JSON-lines file with a cut line in the middle stays in step.
func TestSplitBrokenLines(t *testing.T) {
	lines := readFile(t, "testdata/mordor-lines.json")
	all := bytes.SplitAfter(lines, []byte("\n"))
	var data bytes.Buffer
	data.Write(all[0])
	data.Write(all[1][:300]) // cut inside a string
	data.WriteString("\n")
	data.Write(all[2])
	data.Write([]byte(`{"EventID":1,"a":{"b":2}` + "\n")) // cut outside strings: object left open
	data.Write(all[3])
	data.WriteString("not json at all\n")
	data.Write(all[4][:len(all[4])-1]) // last line without newline
	recs := split(t, data.Bytes())
	wantOK := []bool{true, false, true, false, true, false, true}
	if len(recs) != len(wantOK) {
		t.Fatalf("got %d records, want %d: %v", len(recs), len(wantOK), recs)
	}
	for i, r := range recs {
		if r.line != int64(i+1) {
			t.Errorf("record %d at line %d", i, r.line)
		}
		err := (Parser{}).Parse([]byte(r.rec), &event.Event{}, pc)
		if (err == nil) != wantOK[i] || errors.Is(err, parse.ErrSkip) {
			t.Errorf("record %d (%.40q): err = %v", i, r.rec, err)
		}
	}
}

func TestSplitUTF16AndSmallReads(t *testing.T) {
	src := readFile(t, "testdata/evtx_dump.json")
	want := split(t, src)
	data, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{"utf16": bytes.NewReader(data), "small reads": &smallReader{src}} {
		var got []record
		err := Parser{}.Split(r, func(rec []byte, line int64) error {
			got = append(got, record{string(rec), line})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: record %d differs (line %d vs %d)", name, i, got[i].line, want[i].line)
			}
		}
	}
}

type smallReader struct{ b []byte }

func (r *smallReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 5)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, rec, err string }{
		{"blank", "  ", "skip"},
		{"array punctuation", "],", "skip"},
		{"record header", "Record 42", "skip"},
		{"not json", "Feb 16 11:43:32 host prog: msg", "not a JSON object"},
		{"bad json", `{"EventID":4624,`, "winjson:"},
		{"trailing", `{"EventID":4624,"TimeCreated":"2020-10-21T12:19:01Z"} x`, "after the JSON value"},
		{"no EventID", `{"Channel":"Security","TimeCreated":"2020-10-21T12:19:01Z"}`, "no EventID"},
		{"no time", `{"EventID":4624,"Channel":"Security"}`, "no time stamp"},
		{"bad evtx time", `{"Event":{"System":{"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"x"}}}}}`, "bad TimeCreated"},
		{"evtx no time", `{"Event":{"System":{"EventID":1}}}`, "no Event.System.TimeCreated"},
		{"winlogbeat no time", `{"winlog":{"event_id":1}}`, "@timestamp"},
		{"only brackets", strings.Repeat("[", 300) + strings.Repeat("]", 300), "skip"},
		{"deep object", `{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "}", "nested too deeply"},
		{"bad escape", `{"EventID":"\x"}`, "bad escape"},
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
}

func TestJSONValues(t *testing.T) {
	rec := `{"EventID":4624,"TimeCreated":"2020-10-21T12:19:01Z","N":1.5e3,"B":false,"Z":null,"Arr":[1,"a",true,null],` +
		`"Obj":{"x":{"y":"z"},"l":[{"k":1},{"k":2}]},"Esc":"a\"b\\c\/d\u00e9\ud83d\ude00\ud800x","E":""}`
	check(t, parseWith(t, rec, pc), want{"N": "1500", "B": "false", "Z": "", "Arr": "1,a,true", "Obj_x_y": "z",
		"Obj_l_0_k": "1", "Obj_l_1_k": "2", "Esc": "a\"b\\c/dé😀\uFFFDx", "E": ""})
}

func TestSniff(t *testing.T) {
	lines := bytes.Split(readFile(t, "testdata/mordor-lines.json"), []byte("\n"))
	yes := []string{
		`{"winlog":{"channel":"Security","event_id":4624},"@timestamp":"2019-11-07T10:34:29.055Z"}`,
		`[{"@timestamp":"2019-11-07T10:34:29.055Z","winlog":{"event_id":"1102"}}`,
		`{"Event":{"System":{"EventID":4688}}}`,
		`  "#attributes": {`,
		`      "EventRecordID": 571146,`,
	}
	for _, l := range lines {
		if len(l) > 0 {
			yes = append(yes, string(l))
		}
	}
	no := []string{
		``, `x`,
		`{"eventVersion":"1.08","eventID":"3b4e7d1c","eventName":"ConsoleLogin"}`,
		`{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76"}`,
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4624</EventID>`,
		`Feb 16 11:43:32 mail-server postfix/cleanup[29597]: 4DEC71A0D8: message-id=<x@y>`,
		`  "eventName": "ConsoleLogin",`,
	}
	for _, s := range yes {
		if !(Parser{}).Sniff([]byte(s)) {
			t.Errorf("Sniff(%.80q) = false", s)
		}
	}
	for _, s := range no {
		if (Parser{}).Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = true", s)
		}
	}
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(lines[5])
	if !(Parser{}).Sniff(u16) {
		t.Errorf("UTF-16 line not sniffed")
	}
	// Most of the first lines of evtx_dump's pretty output are recognized,
	// so that line-based detection picks winjson for it.
	var n, m int
	for _, l := range bytes.Split(readFile(t, "testdata/evtx_dump.json"), []byte("\n"))[:50] {
		n++
		if (Parser{}).Sniff(l) {
			m++
		}
	}
	if m*3 <= n*2 {
		t.Errorf("Sniff recognized %d of the first %d evtx_dump lines", m, n)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/mordor-lines.json", "testdata/evtx_dump.json", "testdata/winlogbeat-golden.json"} {
		for _, r := range split(f, readFile(f, name)) {
			f.Add([]byte(r.rec))
		}
	}
	f.Add([]byte(`{"EventID":1,"TimeCreated":"2020-10-21 12:19:01","event_data":{"Data":["a","b"]},"x":[{"y":[1]}]}`))
	f.Add([]byte(`{"Event":{"System":{"EventID":{"#text":[1,2]},"TimeCreated":{"@SystemTime":"2020-01-01T00:00:00Z"}},"UserData":{"A":{"B":{"#text":"x"}}}}}`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ev := &event.Event{}
		err := (Parser{}).Parse(rec, ev, pc)
		if err == nil {
			if ev.Time.Location() != time.UTC {
				t.Errorf("time not UTC: %v", ev.Time)
			}
			ev.Fields(func(k, v string) {
				if v == "" {
					t.Errorf("field %s is empty", k)
				}
			})
		}
		_ = (Parser{}).Sniff(rec)
		_ = (Parser{}).Split(bytes.NewReader(rec), func([]byte, int64) error { return nil })
	})
}

func BenchmarkParse(b *testing.B) {
	rec := bytes.Split(readFile(b, "testdata/mordor-lines.json"), []byte("\n"))[0]
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

func BenchmarkParseEvtxDump(b *testing.B) {
	rec := []byte(split(b, readFile(b, "testdata/evtx_dump.json"))[0].rec)
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
	data := bytes.Repeat(readFile(b, "testdata/mordor-lines.json"), 50)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = (Parser{}).Split(bytes.NewReader(data), func([]byte, int64) error { return nil })
	}
}

// A hostile record with a huge number of members stays linear: fields past
// winxml.MaxFields are dropped.
func TestManyFields(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"EventID":1,"TimeCreated":"2020-10-21T12:19:01Z","a":[`)
	for i := range 200000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`[1]`)
	}
	sb.WriteString(`]}`)
	start := time.Now()
	ev := parseWith(t, sb.String(), pc)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if n := ev.NumFields(); n > 1001+event.NumKeys {
		t.Errorf("%d fields", n)
	}
	check(t, ev, want{"a_0": "1", "event_id": "1"})

	// Many top-level members, and many duplicate "#attributes" in an EventData.
	sb.Reset()
	sb.WriteString(`{"EventID":1,"TimeCreated":"2020-10-21T12:19:01Z"`)
	for i := range 100000 {
		fmt.Fprintf(&sb, `,"k%d":%d`, i, i)
	}
	sb.WriteString(`,"EventData":{`)
	for i := range 50000 {
		fmt.Fprintf(&sb, `"#attributes":{"Name":"x%d"},`, i)
	}
	sb.WriteString(`"a":1}}`)
	start = time.Now()
	parseWith(t, sb.String(), pc)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// Winlogbeat 5/6 wrote flat documents. This record is built from the field
// names of Winlogbeat 6's documentation (no public sample was at hand), with
// the values of Microsoft's 4624 example (see ../winxml/testdata).
func TestOldWinlogbeat(t *testing.T) {
	rec := `{"@timestamp":"2015-11-12T00:24:35.079Z","beat":{"hostname":"WIN-GG82ULGC9GO","name":"WIN-GG82ULGC9GO","version":"6.8.0"},` +
		`"computer_name":"WIN-GG82ULGC9GO","event_data":{"IpAddress":"127.0.0.1","IpPort":"0","LogonType":"2","SubjectUserName":"WIN-GG82ULGC9GO$",` +
		`"TargetUserName":"Administrator","TargetDomainName":"WIN-GG82ULGC9GO","WorkstationName":"WIN-GG82ULGC9GO"},"event_id":4624,` +
		`"keywords":["Audit Success"],"level":"Information","log_name":"Security","message":"An account was successfully logged on.",` +
		`"opcode":"Info","process_id":716,"provider_guid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","record_number":"211",` +
		`"source_name":"Microsoft-Windows-Security-Auditing","task":"Logon","thread_id":760,"type":"wineventlog"}`
	check(t, parseWith(t, rec, pc), want{"time": "2015-11-12T00:24:35.079Z", "host": "WIN-GG82ULGC9GO",
		"event_id": "4624", "channel": "Security", "user": "Administrator", "src_ip": "127.0.0.1", "src_port": "",
		"logon_type": "2", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventRecordID": "211",
		"ProcessID": "716", "ThreadID": "760", "OpcodeText": "Info", "TaskText": "Logon", "LevelText": "Information",
		"KeywordsText": "Audit Success", "Message": "An account was successfully logged on.", "beat_version": "6.8.0",
		"type": "wineventlog", "WorkstationName": "WIN-GG82ULGC9GO"})
}
