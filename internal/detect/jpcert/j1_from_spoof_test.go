package jpcert

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

func j1Model(t testing.TB) *org.Model {
	return aModel(t, &org.Config{Mail: org.MailConfig{Domains: []string{"example.co.jp"}}})
}

// j1From is a postfix "warning: header From:" event as the parser emits it.
func j1From(line int64, header, display, addr, to string) []string {
	kv := []string{"queue_id", "B1467845E2", "header_name", "From", "header_from", header,
		"src_ip", "192.168.10.20", "mail_from", "root@example.com", "mail_to", to}
	if display != "" {
		kv = append(kv, "from_display", display)
	}
	if addr != "" {
		kv = append(kv, "from_address", addr)
	}
	return kv
}

// The document's figure 4-2: "sample@example.co.jp" <attack@example.com>.
func TestJ1DocumentExample(t *testing.T) {
	d := NewJ1(j1Model(t))
	aInfo(t, d, "J1", "4.2.1.1", []alert.Stage{alert.Delivery}, "A", "B")
	got := aRun(d,
		aEv("postfix", 1, "queue_id", "B1467845E2", "header_name", "Subject", "mail_to", "info@example.co.jp"),
		aEv("postfix", 2, j1From(2, `"sample@example.co.jp" <attack@example.com>`, "sample@example.co.jp", "attack@example.com", "info@example.co.jp")...),
	)
	a := aOne(t, got, "J1", "info@example.co.jp", alert.High)
	aStages(t, a, alert.Delivery)
	aSummary(t, a, "info@example.co.jp", `"sample@example.co.jp"`, "attack@example.com", "root@example.com", "1 message")
	aEvidence(t, a, 2)
	aField(t, a, "display_address", "sample@example.co.jp")
	aField(t, a, "from_address", "attack@example.com")
	aField(t, a, "mail_from", "root@example.com")
	aField(t, a, "src_ip", "192.168.10.20")
	if !reflectHas(a.Techniques, "A") || !reflectHas(a.Attack, "T1566.001") {
		t.Errorf("techniques %v attack %v", a.Techniques, a.Attack)
	}
}

func reflectHas(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Without the parser's extras the detector splits header From itself.
func TestJ1HeaderOnlyAndForms(t *testing.T) {
	cases := []struct {
		name, header, spoof string
		sev                 alert.Severity
	}{
		{"quoted", `"sample@example.co.jp" <attack@example.com>`, "sample@example.co.jp", alert.High},
		{"unquoted", `sample@example.co.jp <attack@example.com>`, "sample@example.co.jp", alert.High},
		{"rfc822 comment", `attack@example.com (sample@example.co.jp)`, "sample@example.co.jp", alert.High},
		{"fullwidth at", `"sample＠example.co.jp" <attack@example.com>`, "sample＠example.co.jp", alert.High},
		{"second address", `"attack@example.com via sample@example.co.jp" <attack@example.com>`, "sample@example.co.jp", alert.High},
		{"name and address", `"Yamada Taro (taro@partner.example.org)" <taro.yamada@freemail.example>`, "taro@partner.example.org", alert.High},
		{"same domain", `"president@corp.example" <intern@corp.example>`, "president@corp.example", alert.Medium},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewJ1(j1Model(t))
			got := aRun(d, aEv("postfix", 7, "header_from", c.header, "mail_to", "info@example.co.jp, boss@example.co.jp"))
			a := aOne(t, got, "J1", "info@example.co.jp", c.sev)
			aField(t, a, "display_address", c.spoof)
			aEvidence(t, a, 7)
		})
	}
}

// Benign look-alikes stay quiet.
func TestJ1LookAlikesQuiet(t *testing.T) {
	for _, h := range []string{
		`info@example.co.jp`,
		`<info@example.co.jp>`,
		`"info@example.co.jp" <info@example.co.jp>`,
		`"INFO@Example.CO.JP" <info@example.co.jp>`,
		`info@example.co.jp <info@example.co.jp>`,
		`"Taro Yamada" <t@example.co.jp>`,
		`Yamada Taro (Sales) <t@example.co.jp>`,
		`"Sales @ Example" <sales@example.co.jp>`,
		`"user@localhost" <user@example.co.jp>`,
		`"info＠example.co.jp" <info@example.co.jp>`,
		`"ヤマダ タロウ" <taro@example.co.jp>`,
	} {
		d := NewJ1(j1Model(t))
		if got := aRun(d, aEv("postfix", 1, "header_from", h, "mail_to", "x@example.co.jp")); len(got) != 0 {
			t.Errorf("%s: unexpected %q", h, got[0].Summary)
		}
	}
	// Parser extras: display equal to the address in another case.
	d := NewJ1(j1Model(t))
	if got := aRun(d, aEv("postfix", 1, j1From(1, `"Sample@Example.co.jp" <sample@example.co.jp>`, "Sample@Example.co.jp", "sample@example.co.jp", "x@example.co.jp")...)); len(got) != 0 {
		t.Errorf("unexpected %q", got[0].Summary)
	}
}

// One finding per (recipient, display address, real address).
func TestJ1Grouping(t *testing.T) {
	d := NewJ1(j1Model(t))
	h := `"sample@example.co.jp" <attack@example.com>`
	got := aRun(d,
		aEv("postfix", 1, j1From(1, h, "", "", "info@example.co.jp")...),
		aEv("postfix", 2, j1From(2, h, "", "", "info@example.co.jp")...),
		aEv("postfix", 3, j1From(3, h, "", "", "sales@example.co.jp")...),
		aEv("postfix", 4, j1From(4, `"sample@example.co.jp" <other@example.net>`, "", "", "info@example.co.jp")...),
		// Another header line of message 1 carrying the same header From.
		aEv("postfix", 5, "queue_id", "B1467845E2", "header_name", "Content-Type", "attachment", "a.pdf",
			"header_from", `"sample@example.co.jp" <attack@example.com>`, "mail_to", "info@example.co.jp"),
	)
	if len(got) != 3 {
		t.Fatalf("want 3 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J1", "info@example.co.jp", alert.High)
	aEvidence(t, got[0], 1, 2)
	aSummary(t, got[0], "2 messages")
	aCheck(t, got[1], "J1", "sales@example.co.jp", alert.High)
	aField(t, got[2], "from_address", "other@example.net")
}

func TestJ1Notes(t *testing.T) {
	d := NewJ1(aModel(t, &org.Config{}))
	got := aRun(d, aEv("postfix", 1, "queue_id", "Q1", "mail_from", "a@b.example", "mail_to", "c@d.example"))
	if len(got) != 0 {
		t.Fatal("unexpected alert")
	}
	n := d.Notes()
	if x := aNote(n, detect.Skipped, "header_checks"); x == nil || x.Rule != "J1" {
		t.Errorf("no skipped note for missing header From: %+v", n)
	}
	if aNote(n, detect.Degraded, "mail.domains") == nil {
		t.Errorf("no degraded note for mail.domains: %+v", n)
	}
	d = NewJ1(j1Model(t))
	aRun(d, aEv("postfix", 1, "header_from", `"Taro" <t@example.co.jp>`))
	if n := d.Notes(); len(n) != 0 {
		t.Errorf("unexpected notes %+v", n)
	}
}

func BenchmarkJ1Observe(b *testing.B) {
	d := NewJ1(j1Model(b))
	other := aEv("postfix", 1, "queue_id", "B1467845E2", "mail_from", "root@example.com", "mail_to", "info@example.co.jp", "src_ip", "192.168.1.2")
	plain := aEv("postfix", 2, "header_name", "From", "header_from", `"Taro Yamada" <taro@example.co.jp>`, "from_display", "Taro Yamada", "from_address", "taro@example.co.jp")
	same := aEv("postfix", 3, "header_name", "From", "header_from", `"taro@example.co.jp" <taro@example.co.jp>`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(other)
		d.Observe(plain)
		d.Observe(same)
	}
}
