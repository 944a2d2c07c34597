package jpcert

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// j2Att is a postfix "warning: header Content-Type: ...; name=" event.
func j2Att(queue, header, name, from, to string) []string {
	return []string{"queue_id", queue, "header_name", header, "attachment", name,
		"content_type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"src_ip", "192.168.10.30", "mail_from", from, "mail_to", to}
}

// The document's figure 4-3 / table 4-7: the decoded name is
// 【マル秘】顧客情報！.exe, logged once for Content-Type and once for
// Content-Disposition of the same message.
func TestJ2DocumentExample(t *testing.T) {
	d := NewJ2(aModel(t, &org.Config{}))
	aInfo(t, d, "J2", "4.2.1.2", []alert.Stage{alert.Delivery}, "A")
	name := "【マル秘】顧客情報！.exe"
	got := aRun(d,
		aEv("postfix", 1, j2Att("08C08845EF", "Content-Type", name, "attacker@example.com", "sample@example.co.jp")...),
		aEv("postfix", 2, j2Att("08C08845EF", "Content-Disposition", name, "attacker@example.com", "sample@example.co.jp")...),
		aEv("postfix", 3, "queue_id", "08C08845EF", "mail_from", "attacker@example.com", "mail_to", "sample@example.co.jp"),
	)
	a := aOne(t, got, "J2", "sample@example.co.jp", alert.High)
	aStages(t, a, alert.Delivery)
	aSummary(t, a, name, "attacker@example.com", "sample@example.co.jp", "executable", "1 message")
	aEvidence(t, a, 1, 2)
	aField(t, a, "attachment", name)
	aField(t, a, "extension", "exe")
	aField(t, a, "kind", "executable")
	aField(t, a, "messages", "1")
}

func TestJ2Severities(t *testing.T) {
	cases := []struct {
		name, file string
		sev        alert.Severity
		kind       string
		field      string // field that must be set
		want       string
		summary    string
	}{
		{"plain", "setup.exe", alert.High, "executable", "extension", "exe", `"setup.exe"`},
		{"upper", "SETUP.EXE", alert.High, "executable", "extension", "exe", "SETUP.EXE"},
		{"trailing dot", "run.scr. ", alert.High, "executable", "extension", "scr", "run.scr"},
		{"script", "請求書.js", alert.High, "executable", "extension", "js", "請求書.js"},
		{"double", "invoice.pdf.exe", alert.Critical, "executable", "double_extension", "pdf.exe", "double extension .pdf.exe"},
		{"double padded", "invoice.docx          .scr", alert.Critical, "executable", "double_extension", "docx.scr", ".docx.scr"},
		{"rlo", "invoice\u202Efdp.exe", alert.Critical, "executable", "displayed_as", "invoiceexe.pdf", "invoice[U+202E]fdp.exe"},
		{"rlo non-exec", "photo\u202Egnp.doc", alert.Medium, "bidi-override", "displayed_as", "photocod.png", "bidirectional override"},
		{"archive", "documents.zip", alert.Low, "archive", "extension", "zip", "archive attachment"},
		{"archive rlo", "report\u202excod.zip", alert.Medium, "archive", "displayed_as", "reportpiz.docx", "archive attachment"},
		{"archive lzh", "資料.LZH", alert.Low, "archive", "extension", "lzh", "資料.LZH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewJ2(aModel(t, &org.Config{}))
			got := aRun(d, aEv("postfix", 5, j2Att("Q5", "Content-Disposition", c.file, "x@evil.example", "u@example.co.jp")...))
			a := aOne(t, got, "J2", "u@example.co.jp", c.sev)
			aField(t, a, "kind", c.kind)
			aField(t, a, c.field, c.want)
			aSummary(t, a, c.summary, "x@evil.example")
			aEvidence(t, a, 5)
		})
	}
}

// Executable and archive of one mail are separate findings; distinct
// messages are counted by queue id.
func TestJ2KeysAndMessages(t *testing.T) {
	d := NewJ2(aModel(t, &org.Config{}))
	got := aRun(d,
		aEv("postfix", 1, j2Att("Q1", "Content-Type", "a.exe", "x@evil.example", "u@example.co.jp")...),
		aEv("postfix", 2, j2Att("Q1", "Content-Type", "a.zip", "x@evil.example", "u@example.co.jp")...),
		aEv("postfix", 3, j2Att("Q2", "Content-Type", "a.exe", "x@evil.example", "u@example.co.jp")...),
		aEv("postfix", 4, j2Att("Q3", "Content-Type", "a.exe", "x@evil.example", "v@example.co.jp")...),
	)
	if len(got) != 3 {
		t.Fatalf("want 3 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J2", "u@example.co.jp", alert.High)
	aEvidence(t, got[0], 1, 3)
	aSummary(t, got[0], "2 messages")
	aCheck(t, got[1], "J2", "u@example.co.jp", alert.Low)
	aCheck(t, got[2], "J2", "v@example.co.jp", alert.High)
}

func TestJ2LookAlikesQuiet(t *testing.T) {
	for _, f := range []string{"report.pdf", "exe.txt", "setup.exe.txt", "README", "my.exe-notes.docx",
		"見積書.xlsx", "photo.jpeg", "invoice.pdf.", "executable"} {
		d := NewJ2(aModel(t, &org.Config{}))
		if got := aRun(d, aEv("postfix", 1, j2Att("Q", "Content-Type", f, "a@b.example", "c@d.example")...)); len(got) != 0 {
			t.Errorf("%q: unexpected %q", f, got[0].Summary)
		}
	}
}

func TestJ2ConfiguredExtensions(t *testing.T) {
	d := NewJ2(aModel(t, &org.Config{Mail: org.MailConfig{ExecutableExtensions: []string{".xyz"}, ArchiveExtensions: []string{"pak"}}}))
	got := aRun(d,
		aEv("postfix", 1, j2Att("Q1", "Content-Type", "tool.xyz", "a@b.example", "c@d.example")...),
		aEv("postfix", 2, j2Att("Q2", "Content-Type", "tool.exe", "a@b.example", "c@d.example")...),
		aEv("postfix", 3, j2Att("Q3", "Content-Type", "data.pak", "a@b.example", "c@d.example")...),
		aEv("postfix", 4, j2Att("Q4", "Content-Type", "data.zip", "a@b.example", "c@d.example")...),
	)
	if len(got) != 2 {
		t.Fatalf("want 2 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J2", "c@d.example", alert.High)
	aField(t, got[0], "extension", "xyz")
	aCheck(t, got[1], "J2", "c@d.example", alert.Low)
}

func TestJ2Notes(t *testing.T) {
	d := NewJ2(aModel(t, &org.Config{}))
	aRun(d, aEv("postfix", 1, "queue_id", "Q", "mail_from", "a@b.example", "mail_to", "c@d.example"))
	if n := aNote(d.Notes(), detect.Skipped, "mime_header_checks"); n == nil || n.Rule != "J2" {
		t.Errorf("no skipped note: %+v", d.Notes())
	}
	d = NewJ2(aModel(t, &org.Config{}))
	got := aRun(d, aEv("postfix", 1, j2Att("Q", "Content-Type", "=?Shift_JIS?B?gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl?=", "a@b.example", "c@d.example")...))
	if len(got) != 0 {
		t.Errorf("undecoded name reported")
	}
	if aNote(d.Notes(), detect.Degraded, "MIME-encoded") == nil {
		t.Errorf("no degraded note: %+v", d.Notes())
	}
}

func BenchmarkJ2Observe(b *testing.B) {
	d := NewJ2(aModel(b, &org.Config{}))
	other := aEv("postfix", 1, "queue_id", "Q", "mail_from", "a@b.example", "mail_to", "c@d.example")
	doc := aEv("postfix", 2, j2Att("Q", "Content-Type", "見積書.xlsx", "a@b.example", "c@d.example")...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(other)
		d.Observe(doc)
	}
}
