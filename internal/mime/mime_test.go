package mime

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

// The JPCERT/CC document (figure 4-3, table 4-7): the attachment name of a
// targeted mail, and what it decodes to.
const (
	jpcertWord    = "=?Shift_JIS?B?gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl?="
	jpcertPrinted = "=?Shift_JIS?B? gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl=?=" // as printed in fig. 4-3
	jpcertName    = "【マル秘】顧客情報！.exe"
)

func TestDecodeHeaderKnownVectors(t *testing.T) {
	tests := []struct{ in, want string }{
		// JPCERT/CC figure 4-3.
		{jpcertWord, jpcertName},
		{jpcertPrinted, jpcertName},
		{"=?Shift_JIS?B?gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl?=", jpcertName},
		// RFC 2047 section 8.
		{"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
		{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", "Keld Jørn Simonsen <keld@dkuug.dk>"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "André Pirard <PIRARD@vm1.ulg.ac.be>"},
		{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
			"If you can read this you understand the example."},
		{"(=?ISO-8859-1?Q?a?=)", "(a)"},
		{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
		// RFC 2047 section 2 (via RFC 2231 section 5): language suffix.
		{"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
		// Well-known Japanese samples: 日本語 in ISO-2022-JP (the RFC 1468
		// mail charset), UTF-8, Shift_JIS (93FA 967B 8CEA), EUC-JP
		// (C6FC CBDC B8EC).
		{"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語"},
		{"=?iso-2022-jp?b?GyRCRnxLXDhsGyhC?=", "日本語"},
		{"=?UTF-8?B?5pel5pys6Kqe?=", "日本語"},
		{"=?utf-8?q?=E6=97=A5=E6=9C=AC=E8=AA=9E?=", "日本語"},
		{"=?Shift_JIS?B?k/qWe4zq?=", "日本語"},
		{"=?EUC-JP?B?xvzL3Ljs?=", "日本語"},
		// Charset aliases.
		{"=?SJIS?B?k/qWe4zq?=", "日本語"},
		{"=?x-sjis?B?k/qWe4zq?=", "日本語"},
		{"=?windows-31j?B?k/qWe4zq?=", "日本語"},
		{"=?CP932?B?k/qWe4zq?=", "日本語"},
		{"=?utf8?B?5pel5pys6Kqe?=", "日本語"},
		// postfix-grok-patterns cleanup_0007: two adjacent UTF-8 words and text.
		{"=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_=E2=80=92?= test", "Grüße ‒ test"},
		// A multibyte character split across two words is joined first.
		{"=?UTF-8?Q?=E6=97?= =?UTF-8?Q?=A5?=", "日"},
		// Unknown charset, bad base64, incomplete words: kept as they are.
		{"=?x-unknown?B?5pel?=", "=?x-unknown?B?5pel?="},
		{"=?UTF-8?B?!!!!?=", "=?UTF-8?B?!!!!?="},
		{"=?UTF-8?B?5pel", "=?UTF-8?B?5pel"},
		{"a =?UTF-8?B? from", "a =?UTF-8?B? from"},
		{"=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?="},
		{"=?=?UTF-8?B?5pel?=", "=?日"},
		// An unknown word between two known ones keeps its spacing.
		{"=?UTF-8?B?5pel?= =?x?Q?a?= =?UTF-8?B?5pel?=", "日 =?x?Q?a?= 日"},
		// Plain text is returned untouched.
		{"no words here", "no words here"},
		{"", ""},
		{"a=?b", "a=?b"},
		// Q: "=" without two hex digits stays literal.
		{"=?UTF-8?Q?100=25_=ZZ?=", "100% =ZZ"},
		// B: missing padding is fine.
		{"=?UTF-8?B?YWJj?= =?UTF-8?B?ZA?=", "abcd"},
	}
	for _, tt := range tests {
		if got := DecodeHeader(tt.in); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeWord(t *testing.T) {
	if got, ok := DecodeWord(jpcertWord); !ok || got != jpcertName {
		t.Errorf("DecodeWord(%q) = %q, %v", jpcertWord, got, ok)
	}
	if got, ok := DecodeWord(jpcertPrinted); !ok || got != jpcertName {
		t.Errorf("DecodeWord(%q) = %q, %v", jpcertPrinted, got, ok)
	}
	if _, ok := DecodeWord(jpcertWord + " x"); ok {
		t.Error("DecodeWord accepted trailing text")
	}
	if _, ok := DecodeWord("=?klingon?Q?a?="); ok {
		t.Error("DecodeWord accepted an unknown charset")
	}
}

// TestRoundTripCharsets encodes sample text with x/text encoders in every
// supported charset and both encodings, and decodes it back.
func TestRoundTripCharsets(t *testing.T) {
	ja := "【マル秘】顧客情報！添付ファイル.docx"
	latin := "Keld Jørn Simonsen, André, façade"
	cases := []struct {
		names []string
		enc   encoding.Encoding // nil: UTF-8 / ASCII bytes as they are
		text  string
	}{
		{[]string{"UTF-8", "utf-8", "utf8"}, nil, ja},
		{[]string{"US-ASCII", "us-ascii"}, nil, "plain ASCII name.pdf"},
		{[]string{"ISO-8859-1", "iso-8859-1", "latin1"}, charmap.ISO8859_1, latin},
		{[]string{"Shift_JIS", "SJIS", "x-sjis", "windows-31j", "cp932", "shift-jis"}, japanese.ShiftJIS, ja},
		{[]string{"ISO-2022-JP", "iso-2022-jp"}, japanese.ISO2022JP, ja},
		{[]string{"EUC-JP", "euc-jp"}, japanese.EUCJP, ja},
	}
	for _, c := range cases {
		raw := []byte(c.text)
		if c.enc != nil {
			var err error
			raw, err = c.enc.NewEncoder().Bytes(raw)
			if err != nil {
				t.Fatalf("%s: encode: %v", c.names[0], err)
			}
		}
		for _, name := range c.names {
			b := "=?" + name + "?B?" + base64.StdEncoding.EncodeToString(raw) + "?="
			if got := DecodeHeader(b); got != c.text {
				t.Errorf("B %s: got %q, want %q", name, got, c.text)
			}
			q := "=?" + name + "?Q?" + qEncode(raw) + "?="
			if got := DecodeHeader(q); got != c.text {
				t.Errorf("Q %s: got %q, want %q", name, got, c.text)
			}
			// Split into words of at most 9 octets (so multibyte
			// characters straddle words) with folding white space.
			var parts []string
			for i := 0; i < len(raw); i += 9 {
				j := min(i+9, len(raw))
				parts = append(parts, "=?"+name+"?B?"+base64.StdEncoding.EncodeToString(raw[i:j])+"?=")
			}
			multi := strings.Join(parts, "\r\n ")
			if got := DecodeHeader(multi); got != c.text {
				t.Errorf("split %s: got %q, want %q", name, got, c.text)
			}
			// RFC 2231 in the same charset.
			v := "attachment; filename*=" + name + "''" + pctEncode(raw)
			if got := FileName(v); got != c.text {
				t.Errorf("RFC 2231 %s: got %q, want %q", name, got, c.text)
			}
			if got, ok := DecodeCharset(name, raw); !ok || got != c.text {
				t.Errorf("DecodeCharset(%s) = %q, %v", name, got, ok)
			}
		}
	}
}

func qEncode(b []byte) string {
	const hex = "0123456789ABCDEF"
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == ' ':
			s.WriteByte('_')
		case c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_':
			s.WriteByte(c)
		default:
			s.WriteByte('=')
			s.WriteByte(hex[c>>4])
			s.WriteByte(hex[c&15])
		}
	}
	return s.String()
}

func pctEncode(b []byte) string {
	const hex = "0123456789ABCDEF"
	var s strings.Builder
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			s.WriteByte(c)
			continue
		}
		s.WriteByte('%')
		s.WriteByte(hex[c>>4])
		s.WriteByte(hex[c&15])
	}
	return s.String()
}

func TestFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		// JPCERT/CC figure 4-3 (the print artefacts "docume nt" joined; the
		// "?" after ";" is how Postfix prints the folded line break).
		{`application/vnd.openxmlformats-officedocument.wordprocessingml.document;? name="=?Shift_JIS?B? gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl=?="`, jpcertName},
		{`application/octet-stream; name="` + jpcertWord + `"`, jpcertName},
		{`application/octet-stream; name=` + jpcertWord, jpcertName},
		{`attachment; filename="report.pdf"`, "report.pdf"},
		{`attachment; filename=report.pdf`, "report.pdf"},
		{`attachment;filename="a \"quoted\" name.txt"`, `a "quoted" name.txt`},
		{`ATTACHMENT; FILENAME="Upper.PDF"`, "Upper.PDF"},
		{`application/pdf; name="a.pdf"; charset=us-ascii`, "a.pdf"},
		// filename wins over name.
		{`attachment; name="n.txt"; filename="f.txt"`, "f.txt"},
		// RFC 2231 single and continued forms.
		{`attachment; filename*=UTF-8''%E3%81%82%E3%81%84.txt`, "あい.txt"},
		{`attachment; filename*=utf-8'ja'%E6%97%A5%E6%9C%AC%E8%AA%9E.xlsx`, "日本語.xlsx"},
		{`attachment; filename*0*=UTF-8''%E6%97%A5%E6%9C; filename*1*=%AC%E8%AA%9E; filename*2=".exe"`, "日本語.exe"},
		{`application/octet-stream; name*0="very long "; name*1="file name.zip"`, "very long file name.zip"},
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"; name="x"`, "x"},
		// RFC 2231 preferred over the plain parameter of the same name.
		{`attachment; filename="fallback.txt"; filename*=UTF-8''%E6%97%A5.txt`, "日.txt"},
		// Sections out of order.
		{`attachment; filename*1*=%AC%E8%AA%9E; filename*0*=UTF-8''%E6%97%A5%E6%9C`, "日本語"},
		// Shift_JIS percent-encoded.
		{`attachment; filename*=Shift_JIS''%93%FA%96%7B%8C%EA.exe`, "日本語.exe"},
		// Truncated log value: unterminated quote, incomplete last word.
		{`attachment;? filename="=?UTF-8?B?SU5WT0lDRV/Dtl8=?= =?UTF-8?B?`, "INVOICE_ö_ =?UTF-8?B?"},
		// Nothing to find.
		{`text/plain; charset=utf-8`, ""},
		{`attachment`, ""},
		{``, ""},
		{`; =; ;;`, ""},
	}
	for _, tt := range tests {
		if got := FileName(tt.in); got != tt.want {
			t.Errorf("FileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// RFC 2231 section 4.1 example, through ParamValue.
	v := `application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`
	if got, want := ParamValue(v, "title"), "This is even more ***fun*** isn't it!"; got != want {
		t.Errorf("ParamValue title = %q, want %q", got, want)
	}
	v = `application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`
	if got, want := ParamValue(v, "title"), "This is ***fun***"; got != want {
		t.Errorf("ParamValue title = %q, want %q", got, want)
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct{ in, want string }{
		{`application/vnd.openxmlformats-officedocument.wordprocessingml.document;? name="x"`, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{`Application/PDF; name=a.pdf`, "application/pdf"},
		{` attachment ; filename=a`, "attachment"},
		{`text/plain`, "text/plain"},
		{`text/plain?`, "text/plain"},
		{``, ""},
	}
	for _, tt := range tests {
		if got := MediaType(tt.in); got != tt.want {
			t.Errorf("MediaType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeRFC2231(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"UTF-8''%E3%81%82", "あ", true},
		{"us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "This is ***fun***", true},
		{"ISO-8859-1'de'Gr%FC%DFe", "Grüße", true},
		{"EUC-JP''%C6%FC%CB%DC%B8%EC", "日本語", true},
		{"x-klingon''abc%20d", "abc d", false},
		{"no-quotes%41", "no-quotesA", false},
		{"UTF-8''100%", "100%", true},
	}
	for _, tt := range tests {
		got, ok := DecodeRFC2231(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DecodeRFC2231(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSplitFrom(t *testing.T) {
	tests := []struct{ in, display, addr string }{
		// JPCERT/CC figure 4-2.
		{`"sample@example.co.jp" <attack@example.com>`, "sample@example.co.jp", "attack@example.com"},
		{`Taro Yamada <taro@example.jp>`, "Taro Yamada", "taro@example.jp"},
		{`<taro@example.jp>`, "", "taro@example.jp"},
		{`taro@example.jp`, "", "taro@example.jp"},
		{`  taro@example.jp  `, "", "taro@example.jp"},
		{`taro@example.jp (Taro Yamada)`, "Taro Yamada", "taro@example.jp"},
		{`=?UTF-8?B?5bGx55Sw?= <taro@example.jp>`, "山田", "taro@example.jp"},
		{`"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=" <a@example.jp>`, "日本語", "a@example.jp"},
		{`=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>`, "Keld Jørn Simonsen", "keld@dkuug.dk"},
		{`"Yamada, Taro" <taro@example.jp>`, "Yamada, Taro", "taro@example.jp"},
		{`"a \"quoted\" <name>" <x@example.com>`, `a "quoted" <name>`, "x@example.com"},
		{`Alice <alice@example.com>, Bob <bob@example.com>`, "Alice", "alice@example.com"},
		{`alice@example.com, bob@example.com`, "", "alice@example.com"},
		{`"Truncated" <addr@exa`, "Truncated", "addr@exa"},
		{`"Only a name"`, "Only a name", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		d, a := SplitFrom(tt.in)
		if d != tt.display || a != tt.addr {
			t.Errorf("SplitFrom(%q) = %q, %q; want %q, %q", tt.in, d, a, tt.display, tt.addr)
		}
	}
}

func TestKnownCharset(t *testing.T) {
	for _, cs := range []string{"UTF-8", "us-ascii", "ISO-8859-1", "Shift_JIS", "SJIS", "x-sjis", "Windows-31J", "CP932", "ISO-2022-JP", "EUC-JP"} {
		if !KnownCharset(cs) {
			t.Errorf("KnownCharset(%q) = false", cs)
		}
	}
	for _, cs := range []string{"", "klingon", strings.Repeat("x", 100)} {
		if KnownCharset(cs) {
			t.Errorf("KnownCharset(%q) = true", cs)
		}
	}
	if s, ok := DecodeCharset("klingon", []byte("abc")); ok || s != "abc" {
		t.Errorf("DecodeCharset(unknown) = %q, %v", s, ok)
	}
}

func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{jpcertWord, jpcertPrinted, "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
		"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "=?UTF-8?Q?=E6=97?= =?UTF-8?Q?=A5?=", "=?=?", "=?a*?b?c?=", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := DecodeHeader(s)
		if !strings.Contains(s, "=?") && got != s {
			t.Fatalf("DecodeHeader changed text without encoded words: %q -> %q", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) && !strings.Contains(strings.ToLower(s), "utf") && !strings.Contains(strings.ToLower(s), "ascii") {
			// Converted charsets always yield valid UTF-8; only UTF-8 /
			// ASCII words pass their octets through unchecked.
			t.Fatalf("DecodeHeader(%q) produced invalid UTF-8 %q", s, got)
		}
		DecodeWord(s)
	})
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{
		`application/vnd.openxmlformats-officedocument.wordprocessingml.document;? name="=?Shift_JIS?B? gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl=?="`,
		`attachment; filename*0*=UTF-8''%E6%97%A5%E6%9C; filename*1*=%AC%E8%AA%9E; filename*2=".exe"`,
		`attachment; filename="a\"b`, `; name*=''%`, `x; name*999999999999=a`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		FileName(s)
		MediaType(s)
		Params(s)
		DecodeRFC2231(s)
	})
}

func FuzzSplitFrom(f *testing.F) {
	for _, s := range []string{`"sample@example.co.jp" <attack@example.com>`, `a@b (c)`, `"x`, `<`, `(((`, `=?UTF-8?B?5bGx55Sw?= <t@e>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		SplitFrom(s)
	})
}

func BenchmarkDecodeHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		DecodeHeader(jpcertPrinted)
	}
}
