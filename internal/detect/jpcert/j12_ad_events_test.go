package jpcert

import (
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// j12Ev builds a Windows Security event as the winxml parser would.
func j12Ev(t testing.TB, line int64, id, channel, computer string, kv ...string) *event.Event {
	tm := hcJST(t, "2015-02-12 03:04:05").Add(time.Duration(line) * time.Minute)
	raw := `<Event><System><EventID>` + id + `</EventID><Channel>` + channel + `</Channel><Computer>` + computer + `</Computer></System></Event>`
	return hcEv("winxml", tm, "Security.xml", line, raw, append([]string{"event_id", id, "channel", channel, "host", computer}, kv...)...)
}

func TestJ12Info(t *testing.T) {
	hcInfo(t, NewJ12(hcModel(t, nil)), "J12", "4.3.2", []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives}, "F")
}

// TestJ12Table: every event id of table 4-27 is a high finding on its
// computer with the table's summary.
func TestJ12Table(t *testing.T) {
	cases := []struct {
		id, channel, en, ja, attack string
		stages                      []alert.Stage
	}{
		{"4618", "Security", "monitored security event pattern", "監視対象のセキュリティイベントパターン", "T1078", []alert.Stage{6}},
		{"4649", "Security", "replay attack was detected", "リプレイ攻撃が検出されました。", "T1558", []alert.Stage{6}},
		{"4719", "Security", "System audit policy was changed", "システム監査ポリシーが変更されました。", "T1562.002", []alert.Stage{6}},
		{"4765", "Security", "SID History was added", "SID の履歴をアカウントに追加されました。", "T1134.005", []alert.Stage{6}},
		{"4766", "Security", "add SID History to an account failed", "SID の履歴をアカウントに追加できませんでした。", "T1134.005", []alert.Stage{6}},
		{"4794", "Security", "Directory Services Restore Mode", "ディレクトリ サービス復元モードを設定しようとしました。", "T1098", []alert.Stage{6}},
		{"4897", "Security", "Role separation enabled", "役割の分離が有効になっています。", "T1649", []alert.Stage{6}},
		{"4964", "Security", "Special groups have been assigned", "特殊グループは、新しいログオンに割り当てられています。", "T1078", []alert.Stage{6}},
		{"5124", "Security", "OCSP Responder Service", "OCSP レスポンダー サービスのセキュリティ設定が更新されました。", "T1649", []alert.Stage{6}},
		{"1102", "Security", "audit (Security) log was cleared", "イベントログ消去", "T1070.001", []alert.Stage{6, 7}},
		{"104", "System", "event log (System or another channel) was cleared", "イベントログ消去", "T1070.001", []alert.Stage{6, 7}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			got, notes := hcRun(NewJ12(hcModel(t, nil)),
				j12Ev(t, 1, c.id, c.channel, "DC01.corp.example", "user", "eve", "SubjectDomainName", "CORP"))
			if len(got) != 1 {
				t.Fatalf("got %d findings", len(got))
			}
			a := got[0]
			hcCheck(t, a, "J12", "DC01.corp.example", alert.High, c.stages...)
			hcSummary(t, a, "DC01.corp.example logged event "+c.id, c.en, c.ja, `by CORP\eve`)
			hcField(t, a, "event_id", c.id)
			hcField(t, a, "computer", "DC01.corp.example")
			hcField(t, a, "subject_user", `CORP\eve`)
			if !strings.Contains(a.Fields["event_summary"], c.en) || !strings.Contains(a.Fields["event_summary_ja"], c.ja) {
				t.Errorf("event summary fields %q / %q", a.Fields["event_summary"], a.Fields["event_summary_ja"])
			}
			if len(a.Attack) == 0 || a.Attack[0] != c.attack {
				t.Errorf("attack %v, want %s first", a.Attack, c.attack)
			}
			hcEvidence(t, a, "Security.xml:1")
			if len(notes) != 0 {
				t.Errorf("notes %+v", notes)
			}
		})
	}
}

// TestJ12Grouping: one finding per (computer, event id) with all subjects.
func TestJ12Grouping(t *testing.T) {
	got, _ := hcRun(NewJ12(hcModel(t, nil)),
		j12Ev(t, 1, "4719", "Security", "DC01", "user", "eve"),
		j12Ev(t, 2, "4719", "Security", "DC01", "user", "mallory"),
		j12Ev(t, 3, "4719", "Security", "DC01", "user", "EVE"),
		j12Ev(t, 4, "4719", "Security", "DC02", "user", "eve"),
		j12Ev(t, 5, "1102", "Security", "DC01", "user", "eve"))
	if len(got) != 3 {
		t.Fatalf("got %d findings", len(got))
	}
	a := got[0]
	hcCheck(t, a, "J12", "DC01", alert.High)
	hcSummary(t, a, "event 4719", "3 times", "by eve, mallory")
	hcEvidence(t, a, "Security.xml:1", "Security.xml:2", "Security.xml:3")
	if a.Count != 3 {
		t.Errorf("count %d", a.Count)
	}
	hcCheck(t, got[1], "J12", "DC02", alert.High)
	hcField(t, got[2], "event_id", "1102")
}

func TestJ12Quiet(t *testing.T) {
	evs := []*event.Event{
		j12Ev(t, 1, "4624", "Security", "DC01", "user", "alice", "src_ip", "10.0.0.5", "logon_type", "3"),
		j12Ev(t, 2, "4688", "Security", "PC01", "user", "alice", "process", `C:\Windows\System32\cmd.exe`),
		j12Ev(t, 3, "4672", "Security", "DC01", "user", "Administrator", "PrivilegeList", "SeDebugPrivilege"),
		j12Ev(t, 4, "104", "Application", "PC01"),                                                 // not the System log's clearing event
		j12Ev(t, 5, "104", "System", "PC01", "Provider_Name", "Microsoft-Windows-Something-Else"), // other provider's 104
		j12Ev(t, 6, "1102", "Microsoft-Windows-TerminalServices-RDPClient/Operational", "PC01"),
		j12Ev(t, 7, "4719", "Microsoft-Windows-Sysmon/Operational", "PC01"),
	}
	if got, _ := hcRun(NewJ12(hcModel(t, nil)), evs...); len(got) != 0 {
		t.Errorf("got %d findings, first %q", len(got), got[0].Summary)
	}
}

func TestJ12SystemLogCleared(t *testing.T) {
	// The winxml reader stores UserData's Channel (the cleared log) over the
	// System channel: the provider identifies the event.
	got, _ := hcRun(NewJ12(hcModel(t, nil)),
		j12Ev(t, 1, "104", "Microsoft-Windows-PowerShell/Operational", "PC01", "SubjectUserName", "eve",
			"Channel", "Microsoft-Windows-PowerShell/Operational", "Provider_Name", "Microsoft-Windows-Eventlog", "BackupPath", ""))
	if len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	hcCheck(t, got[0], "J12", "PC01", alert.High, alert.CommandAndControl, alert.ActionsOnObjectives)
	hcSummary(t, got[0], "cleared log: Microsoft-Windows-PowerShell/Operational", "by eve")
}

// TestJ12RenderedMessage: NXLog-style records (OTRF Security Datasets) keep
// the subject and the cleared log only in the rendered message.
func TestJ12RenderedMessage(t *testing.T) {
	msg1102 := "The audit log was cleared.\r\nSubject:\r\n\tSecurity ID:\tS-1-5-21-3940915590-64593676-1414006259-500\r\n\tAccount Name:\twardog\r\n\tDomain Name:\tWORKSTATION5\r\n\tLogon ID:\t0xC61D9"
	got, _ := hcRun(NewJ12(hcModel(t, nil)),
		j12Ev(t, 1, "1102", "Security", "WORKSTATION5", "Message", msg1102, "Provider_Name", "Microsoft-Windows-Eventlog"),
		j12Ev(t, 2, "104", "System", "DC01.pandalab.com", "Channel", "System", "Provider_Name", "Microsoft-Windows-Eventlog",
			"Message", "The Microsoft-Windows-PowerShell/Operational log file was cleared."))
	if len(got) != 2 {
		t.Fatalf("got %d", len(got))
	}
	hcSummary(t, got[0], "WORKSTATION5 logged event 1102", `by WORKSTATION5\wardog`)
	hcSummary(t, got[1], "DC01.pandalab.com logged event 104", "cleared log: Microsoft-Windows-PowerShell/Operational")
	hcField(t, got[1], "cleared_log", "Microsoft-Windows-PowerShell/Operational")
}

// TestJ12MSDocs uses the values of the Microsoft sample 1102 record the
// winxml reader's tests parse (DC01.contoso.local, dadmin).
func TestJ12MSDocs(t *testing.T) {
	ev := j12Ev(t, 287, "1102", "Security", "DC01.contoso.local", "user", "dadmin", "SubjectUserName", "dadmin",
		"SubjectDomainName", "CONTOSO", "Provider_Name", "Microsoft-Windows-Eventlog")
	got, _ := hcRun(NewJ12(hcModel(t, nil)), ev)
	if len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	hcCheck(t, got[0], "J12", "DC01.contoso.local", alert.High, alert.CommandAndControl, alert.ActionsOnObjectives)
	hcSummary(t, got[0], "DC01.contoso.local logged event 1102 (The audit (Security) log was cleared / イベントログ消去", `by CONTOSO\dadmin`)
	hcField(t, got[0], "subject_user", `CONTOSO\dadmin`)
}

func BenchmarkJ12Observe(b *testing.B) {
	d := NewJ12(hcModel(b, nil))
	logon := j12Ev(b, 1, "4624", "Security", "DC01", "user", "alice", "src_ip", "10.0.0.5")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(logon)
	}
}
