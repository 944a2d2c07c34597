package jpcert

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

func j13Cfg() *org.Config {
	return &org.Config{Accounts: org.AccountsConfig{Admins: []org.AdminConfig{
		{Name: "Administrator", Hosts: []string{"10.0.0.0/28"}},
		{Name: "da-tanaka", Hosts: []string{"10.0.0.20"}},
		{Name: "svc-backup"}, // may come from anywhere
	}}}
}

// j13Ev builds a Windows Security event on DC01 at time tm.
func j13Ev(tm time.Time, line int64, id, user, src string, kv ...string) *event.Event {
	base := []string{"event_id", id, "channel", "Security", "host", "DC01"}
	if user != "" {
		base = append(base, "user", user, "TargetUserName", user)
	}
	if src != "" {
		base = append(base, "src_ip", src, "IpAddress", src)
	}
	raw := "<Event><EventID>" + id + "</EventID><Data Name='TargetUserName'>" + user + "</Data><Data Name='IpAddress'>" + src + "</Data></Event>"
	return hcEv("winxml", tm, "Security.xml", line, raw, append(base, kv...)...)
}

func TestJ13Info(t *testing.T) {
	hcInfo(t, NewJ13(hcModel(t, nil)), "J13", "4.3.2", []alert.Stage{alert.CommandAndControl}, "F")
}

// TestJ13AdminHost is check (a).
func TestJ13AdminHost(t *testing.T) {
	tm := hcJST(t, "2015-02-12 10:00:00")
	m := hcModel(t, j13Cfg())
	got, notes := hcRun(NewJ13(m),
		j13Ev(tm, 1, "4624", "Administrator", "10.0.5.9", "logon_type", "3"),
		j13Ev(tm.Add(time.Minute), 2, "4769", "administrator@CORP.EXAMPLE", "::ffff:10.0.5.9", "ServiceName", "cifs/fs01"),
		j13Ev(tm.Add(2*time.Minute), 3, "4624", `CORP\Administrator`, "10.0.5.9"),
		j13Ev(tm.Add(3*time.Minute), 4, "4625", "da-tanaka", "10.0.0.21", "Status", "0xc000006d"),
		// Allowed: inside the admin's hosts, an admin without hosts, a non-admin.
		j13Ev(tm, 5, "4624", "Administrator", "10.0.0.3"),
		j13Ev(tm, 6, "4624", "da-tanaka", "10.0.0.20"),
		j13Ev(tm, 7, "4624", "svc-backup", "172.16.9.9"),
		j13Ev(tm, 8, "4624", "alice", "10.0.5.9"),
		// Local logon and NTLM validation naming only the workstation.
		j13Ev(tm, 9, "4624", "Administrator", "127.0.0.1"),
		j13Ev(tm, 10, "4776", "Administrator", "", "Workstation", `\\PC-ATTACKER`, "Status", "0x0"),
		// 4688 of an admin is not an authentication request.
		j13Ev(tm, 11, "4688", "Administrator", "10.0.5.9"),
	)
	if len(got) != 2 {
		for _, a := range got {
			t.Log(a.Summary)
		}
		t.Fatalf("got %d findings, want 2", len(got))
	}
	a := got[0]
	hcCheck(t, a, "J13", "10.0.5.9", alert.High, alert.CommandAndControl)
	hcSummary(t, a, "admin account Administrator authenticated from 10.0.5.9, which is not among its allowed hosts (10.0.0.0/28): 3 events (4624×2, 4769×1) on DC01")
	hcField(t, a, "check", "admin_host")
	hcField(t, a, "account", "Administrator")
	hcEvidence(t, a, "Security.xml:1", "Security.xml:2", "Security.xml:3")
	b := got[1]
	hcCheck(t, b, "J13", "10.0.0.21", alert.High)
	hcSummary(t, b, "da-tanaka authenticated from 10.0.0.21", "(10.0.0.20)", "4625×1")
	if n := hcNote(notes, detect.Degraded, "(4776)"); n == nil {
		t.Errorf("missing 4776 note: %+v", notes)
	}
	if n := hcNote(notes, detect.Skipped, ""); n != nil {
		t.Errorf("unexpected skipped note %+v", n)
	}
}

// TestJ13Privileges is check (b).
func TestJ13Privileges(t *testing.T) {
	tm := hcJST(t, "2015-02-12 10:00:00")
	priv := func(line int64, user, computer string, kv ...string) *event.Event {
		ev := j13Ev(tm.Add(time.Duration(line)*time.Second), line, "4672", "", "", append([]string{"user", user, "SubjectUserName", user,
			"PrivilegeList", "SeDebugPrivilege\n\t\t\tSeBackupPrivilege"}, kv...)...)
		ev.Host = computer
		return ev
	}
	evs := []*event.Event{
		priv(1, "eve", "DC01", "SubjectDomainName", "CORP"),
		priv(2, "eve", "DC01"),
		priv(3, "eve", "FS01"),
		// Quiet: admins, built-in and machine accounts.
		priv(4, "Administrator", "DC01"),
		priv(5, "SYSTEM", "DC01", "SubjectUserSid", "S-1-5-18"),
		priv(6, "DWM-2", "PC01"),
		priv(7, "UMFD-0", "PC01"),
		priv(8, "PC01$", "DC01"),
		priv(9, "LOCAL SERVICE", "DC01"),
		priv(10, "anonymous logon", "DC01"),
		priv(11, "svc-backup", "FS01"),
	}
	got, _ := hcRun(NewJ13(hcModel(t, j13Cfg())), evs...)
	if len(got) != 2 {
		for _, a := range got {
			t.Log(a.Summary)
		}
		t.Fatalf("got %d findings, want 2", len(got))
	}
	hcCheck(t, got[0], "J13", "eve", alert.High)
	hcSummary(t, got[0], `special privileges (4672) were assigned to CORP\eve on DC01`, "(2 logons)", "SeDebugPrivilege SeBackupPrivilege")
	hcField(t, got[0], "check", "privileges")
	hcField(t, got[0], "computer", "DC01")
	hcEvidence(t, got[0], "Security.xml:1", "Security.xml:2")
	hcField(t, got[1], "computer", "FS01")

	t.Run("without accounts.admins", func(t *testing.T) {
		got, notes := hcRun(NewJ13(hcModel(t, nil)), append(evs, j13Ev(tm, 20, "4624", "Administrator", "10.0.5.9"))...)
		if len(got) != 0 {
			t.Errorf("got %d findings", len(got))
		}
		n := hcNote(notes, detect.Skipped, "admin accounts")
		if n == nil || n.Enable != "accounts.admins" {
			t.Errorf("notes %+v", notes)
		}
	})
}

// TestJ13Burst is check (c): the document's "sudden change" in one PC's
// authentication requests.
func TestJ13Burst(t *testing.T) {
	var evs []*event.Event
	line := int64(0)
	add := func(day string, n int, src string, id string) {
		start := hcJST(t, day+" 09:00:00")
		for i := 0; i < n; i++ {
			line++
			evs = append(evs, j13Ev(start.Add(time.Duration(i)*time.Second), line, id, "alice", src))
		}
	}
	for d := 3; d <= 11; d++ {
		add("2015-02-"+hcPad2(d), 40, "10.0.0.50", "4624")
		add("2015-02-"+hcPad2(d), 45, "10.0.0.51", "4768")
	}
	add("2015-02-12", 4812, "10.0.0.50", "4769")
	add("2015-02-12", 60, "10.0.0.51", "4768")  // within its usual range
	add("2015-02-12", 300, "10.0.0.52", "4624") // only one day of data: no baseline
	got, notes := hcRun(NewJ13(hcModel(t, nil)), evs...)
	var bursts []*alert.Alert
	for _, a := range got {
		if a.Fields["check"] == "auth_burst" {
			bursts = append(bursts, a)
		}
	}
	if len(bursts) != 1 {
		for _, a := range got {
			t.Log(a.Summary)
		}
		t.Fatalf("got %d burst findings, want 1", len(bursts))
	}
	a := bursts[0]
	hcCheck(t, a, "J13", "10.0.0.50", alert.Medium)
	hcSummary(t, a, "10.0.0.50 made 4,812 authentication requests on 2015-02-12 vs. a median of 40/day on its other 9 days")
	hcField(t, a, "day", "2015-02-12")
	hcField(t, a, "baseline_median", "40")
	if a.Count != 4812 || len(a.Evidence) != 2 {
		t.Errorf("count %d evidence %d", a.Count, len(a.Evidence))
	}
	// The 50th request of the day (AuthMinCount) and the latest one.
	if !strings.Contains(a.Evidence[0].Raw, "4769") || a.Evidence[1].Time.Before(a.Evidence[0].Time) {
		t.Errorf("evidence %+v", a.Evidence)
	}
	if hcNote(notes, detect.Degraded, "3 days") != nil {
		t.Errorf("unexpected span note")
	}
}

func hcPad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// TestJ13Volume is check (d): one PC with far more requests than the others,
// brute force when failures dominate.
func TestJ13Volume(t *testing.T) {
	tm := hcJST(t, "2015-02-12 09:00:00")
	var evs []*event.Event
	line := int64(0)
	add := func(n int, src, id string, kv ...string) {
		for i := 0; i < n; i++ {
			line++
			evs = append(evs, j13Ev(tm.Add(time.Duration(line)*time.Second), line, id, "user"+strconv.Itoa(i%50), src, kv...))
		}
	}
	for h := 1; h <= 10; h++ {
		add(30+h, "10.0.1."+strconv.Itoa(h), "4624")
	}
	add(900, "10.0.1.66", "4625", "Status", "0xc000006d")
	add(100, "10.0.1.66", "4624")
	add(250, "10.0.1.77", "4769", "Status", "0x0")
	add(250, "::ffff:10.0.1.77", "4768", "Status", "0x0") // the same host as Kerberos logs it
	// Loopback and address-less requests are not attributed to a host.
	add(5000, "127.0.0.1", "4624")
	got, notes := hcRun(NewJ13(hcModel(t, nil)), evs...)
	if len(got) != 2 {
		for _, a := range got {
			t.Log(a.Summary)
		}
		t.Fatalf("got %d findings, want 2", len(got))
	}
	a := got[0]
	hcCheck(t, a, "J13", "10.0.1.66", alert.High)
	hcSummary(t, a, "10.0.1.66 made 1,000 authentication requests (900 failed) vs. a median of 36.5 per host across 12 hosts (threshold 67)", "brute force")
	hcField(t, a, "check", "auth_volume")
	if a.Count != 1000 || len(a.Evidence) < 2 {
		t.Errorf("count %d evidence %d", a.Count, len(a.Evidence))
	}
	hcCheck(t, got[1], "J13", "10.0.1.77", alert.Medium)
	hcSummary(t, got[1], "10.0.1.77 made 500 authentication requests vs.")
	if n := hcNote(notes, detect.Degraded, "needs at least 3 days"); n == nil || !strings.Contains(n.Message, "covers 1 day") {
		t.Errorf("missing span note: %+v", notes)
	}
}

// TestJ13VolumeQuiet: an even population, or fewer than 3 hosts, is quiet.
func TestJ13VolumeQuiet(t *testing.T) {
	tm := hcJST(t, "2015-02-12 09:00:00")
	var evs []*event.Event
	for h := 1; h <= 2; h++ {
		for i := 0; i < 500*h; i++ {
			evs = append(evs, j13Ev(tm, int64(i), "4624", "bob", "10.0.1."+strconv.Itoa(h)))
		}
	}
	if got, _ := hcRun(NewJ13(hcModel(t, nil)), evs...); len(got) != 0 {
		t.Errorf("two hosts: got %d findings", len(got))
	}
	evs = evs[:0]
	for h := 1; h <= 20; h++ {
		for i := 0; i < 100+h; i++ {
			evs = append(evs, j13Ev(tm, int64(i), "4624", "bob", "10.0.1."+strconv.Itoa(h)))
		}
	}
	if got, _ := hcRun(NewJ13(hcModel(t, nil)), evs...); len(got) != 0 {
		t.Errorf("even population: got %d findings, first %q", len(got), got[0].Summary)
	}
}

func TestJ13Commas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 4812: "4,812", 1234567: "1,234,567", -4812: "-4,812"} {
		if got := j13Commas(n); got != want {
			t.Errorf("j13Commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func BenchmarkJ13Observe(b *testing.B) {
	tm := hcJST(b, "2015-02-12 09:00:00")
	for _, c := range []struct {
		name string
		ev   *event.Event
	}{
		{"other-event", j13Ev(tm, 1, "4688", "alice", "")},
		{"logon-counted", j13Ev(tm, 2, "4624", "alice", "10.0.1.5")},
		{"admin-allowed-host", j13Ev(tm, 3, "4624", "Administrator", "10.0.0.3")},
		{"4672-system", j13Ev(tm, 4, "4672", "", "", "user", "SYSTEM", "SubjectUserSid", "S-1-5-18")},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := NewJ13(hcModel(b, j13Cfg()))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Observe(c.ev)
			}
		})
	}
}

// TestJ13AdminsWithoutHosts: (b) runs, (a) reports what it needs.
func TestJ13AdminsWithoutHosts(t *testing.T) {
	tm := hcJST(t, "2015-02-12 10:00:00")
	cfg := &org.Config{Accounts: org.AccountsConfig{Admins: []org.AdminConfig{{Name: "Administrator"}}}}
	got, notes := hcRun(NewJ13(hcModel(t, cfg)), j13Ev(tm, 1, "4624", "Administrator", "10.9.9.9"))
	if len(got) != 0 {
		t.Errorf("got %d findings", len(got))
	}
	if n := hcNote(notes, detect.Degraded, "(a)"); n == nil || n.Enable != "accounts.admins[].hosts" {
		t.Errorf("notes %+v", notes)
	}
}
