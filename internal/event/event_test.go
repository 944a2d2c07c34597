package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// coerced is what a JSON string carrying s decodes to: every byte that is not
// part of valid UTF-8 becomes U+FFFD.
func coerced(s string) string { return string([]rune(s)) }

// decoded is AppendJSON's output read back by encoding/json.
type decoded struct {
	Time      *string           `json:"time"`
	Source    string            `json:"source"`
	Host      string            `json:"host"`
	Origin    string            `json:"origin"`
	Raw       string            `json:"raw"`
	RawBase64 *string           `json:"raw_base64"`
	Fields    map[string]string `json:"fields"`
}

func decode(t testing.TB, b []byte) decoded {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %q", b)
	}
	var d decoded
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return d
}

// objectKeys returns the keys of the JSON object b in output order, or, with
// path set, the keys of the object under that top-level key.
func objectKeys(t testing.TB, b []byte, path string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q: not an object (%v)", b, err)
	}
	var keys, nested []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		key := tok.(string)
		keys = append(keys, key)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: value of %s: %v", b, key, err)
		}
		if key == path {
			nested = objectKeys(t, v, "")
		}
	}
	if path != "" {
		return nested
	}
	return keys
}

func TestAppendJSONRawRecords(t *testing.T) {
	f := func(raw string) {
		t.Helper()
		ev := &Event{Source: "squid", Raw: raw}
		out := ev.AppendJSON(nil)
		d := decode(t, out)
		if d.Raw != coerced(raw) {
			t.Errorf("raw %q decoded to %q", raw, d.Raw)
		}
		if utf8.ValidString(raw) {
			if d.Raw != raw {
				t.Errorf("valid UTF-8 raw %q decoded to %q", raw, d.Raw)
			}
			if d.RawBase64 != nil {
				t.Errorf("raw_base64 present for valid UTF-8 %q", raw)
			}
			return
		}
		if d.RawBase64 == nil {
			t.Errorf("raw %q is not UTF-8 but has no raw_base64: %s", raw, out)
			return
		}
		b, err := base64.StdEncoding.DecodeString(*d.RawBase64)
		if err != nil || string(b) != raw {
			t.Errorf("raw_base64 of %q decodes to %q (%v)", raw, b, err)
		}
	}
	f(``)
	f(`plain line`)
	f(`say "hi" to \\server\share`)
	f(`C:\Windows\System32\cmd.exe /c "whoami"`)
	f("tab\there\r\nnewline and NUL \x00 and BEL \x07 and ESC \x1b and DEL \x7f")
	f("every control: \x01\x02\x03\x04\x05\x06\x08\x0b\x0c\x0e\x0f\x10\x1f")
	f("<script>alert(1)</script> & co")
	f("line separator \u2028 and paragraph separator \u2029")
	f("日本語のログ 見積書.pdf")
	f("Shift_JIS \x8c\xa9\x90\xcf\x8f\x91.pdf")       // 見積書 in Shift_JIS: not UTF-8
	f("truncated UTF-8 \xe6\x97")                     // cut in the middle of 日
	f("lone continuation \x80 and overlong \xc0\xaf") // never valid
	f("surrogate half \xed\xa0\x80")
	f("\xff")
}

func TestAppendStringEscapes(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
	f("", `""`)
	f(`a"b\c`, `"a\"b\\c"`)
	f("\n\r\t", `"\n\r\t"`)
	f("\x00\x1f", `"\u0000\u001f"`)
	f("<&>", `"<&>"`)
	f("\u2028\u2029", `"\u2028\u2029"`)
	f("x\xffy", `"x\ufffdy"`)
	f("é日", `"é日"`)
	// dst is appended to, not replaced.
	if got := string(AppendString([]byte("k:"), "v")); got != `k:"v"` {
		t.Errorf("AppendString onto a prefix = %s", got)
	}
}

func TestAppendJSONShape(t *testing.T) {
	ev := &Event{
		Time:   time.Date(2024, 2, 16, 11, 43, 32, 123999999, time.FixedZone("JST", 9*3600)),
		Source: "postfix",
		Host:   "mail-server",
		Origin: Origin{File: "logs/maillog", Line: 42},
		Raw:    "Feb 16 11:43:32 mail-server postfix/smtpd[1]: x",
	}
	// Set in an order different from Key order; extras in insertion order.
	ev.SetExtra("zz_last_key_first", "1")
	ev.Set(QueueID, "2F1C71A0B")
	ev.SetExtra("alpha", "2")
	ev.Set(SrcIP, "192.0.2.1")
	ev.SetExtra("middle", "3")
	ev.Set(Action, "reject")

	prefix := []byte(`{"prev":1}` + "\n")
	out := ev.AppendJSON(bytes.Clone(prefix))
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("AppendJSON overwrote dst: %q", out)
	}
	out = out[len(prefix):]
	d := decode(t, out)
	if d.Time == nil || *d.Time != "2024-02-16T02:43:32.123Z" {
		t.Errorf("time = %v, want 2024-02-16T02:43:32.123Z (UTC, milliseconds, truncated)", d.Time)
	}
	if d.Source != "postfix" || d.Host != "mail-server" || d.Origin != "logs/maillog:42" {
		t.Errorf("source/host/origin = %q %q %q", d.Source, d.Host, d.Origin)
	}
	if got, want := strings.Join(objectKeys(t, out, ""), ","), "time,source,host,origin,raw,fields"; got != want {
		t.Errorf("top-level keys %s, want %s", got, want)
	}
	if got, want := strings.Join(objectKeys(t, out, "fields"), ","), "src_ip,action,queue_id,zz_last_key_first,alpha,middle"; got != want {
		t.Errorf("field keys %s, want %s", got, want)
	}
	if len(d.Fields) != 6 || d.Fields["queue_id"] != "2F1C71A0B" || d.Fields["middle"] != "3" {
		t.Errorf("fields = %v", d.Fields)
	}

	// Invalid UTF-8: raw_base64 right after raw.
	ev.Raw = "bad \xff byte"
	if got, want := strings.Join(objectKeys(t, ev.AppendJSON(nil), ""), ","), "time,source,host,origin,raw,raw_base64,fields"; got != want {
		t.Errorf("top-level keys %s, want %s", got, want)
	}

	// The empty event: time null, fields an empty object.
	if got, want := string((&Event{}).AppendJSON(nil)), `{"time":null,"source":"","host":"","origin":"","raw":"","fields":{}}`; got != want {
		t.Errorf("empty event = %s, want %s", got, want)
	}
}

func TestFormatTime(t *testing.T) {
	f := func(tm time.Time, want string) {
		t.Helper()
		if got := FormatTime(tm); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", tm, got, want)
		}
	}
	f(time.Time{}, "")
	f(time.Date(2014, 12, 16, 1, 2, 1, 258399000, time.FixedZone("", 9*3600)), "2014-12-15T16:02:01.258Z")
	f(time.Date(2014, 12, 16, 1, 2, 1, 0, time.UTC), "2014-12-16T01:02:01.000Z")
	f(time.Date(2014, 12, 31, 23, 59, 59, 999999999, time.UTC), "2014-12-31T23:59:59.999Z")
	f(time.Date(2015, 1, 1, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)), "2015-01-01T05:00:00.000Z")
}

func TestOriginString(t *testing.T) {
	f := func(o Origin, want string) {
		t.Helper()
		if got := o.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", o, got, want)
		}
	}
	f(Origin{File: "logs/access.log", Line: 12}, "logs/access.log:12")
	f(Origin{File: "-", Line: 3}, "-:3")
	f(Origin{File: "logs/access.log"}, "logs/access.log")
	f(Origin{}, "")
}

func TestKeys(t *testing.T) {
	seen := map[string]bool{}
	for k := Key(0); int(k) < NumKeys; k++ {
		name := k.String()
		if name == "" || seen[name] || strings.HasPrefix(name, "key(") {
			t.Errorf("key %d has name %q (duplicate or missing)", k, name)
		}
		seen[name] = true
		if got, ok := KeyByName(name); !ok || got != k {
			t.Errorf("KeyByName(%q) = %d, %v; want %d", name, got, ok, k)
		}
	}
	f := func(name string, want Key, wantOK bool) {
		t.Helper()
		if got, ok := KeyByName(name); got != want || ok != wantOK {
			t.Errorf("KeyByName(%q) = %d, %v; want %d, %v", name, got, ok, want, wantOK)
		}
	}
	f("src_ip", SrcIP, true)
	f("duration_ms", Duration, true)
	f("mail_from", MailFrom, true)
	f("SRC_IP", 0, false)
	f("", 0, false)
	f("duration", 0, false)
	if got := Key(NumKeys).String(); got != "key(31)" {
		t.Errorf("Key(NumKeys).String() = %q", got)
	}
}

func TestSetGet(t *testing.T) {
	var ev Event
	if ev.Has(SrcIP) || ev.Get(SrcIP) != "" || ev.NumFields() != 0 {
		t.Fatal("a new event has fields")
	}
	ev.Set(SrcIP, "192.0.2.1")
	ev.Set(DstPort, "443")
	if ev.Get(SrcIP) != "192.0.2.1" || !ev.Has(DstPort) || ev.Has(DstIP) || ev.NumFields() != 2 {
		t.Errorf("after two Sets: src_ip %q dst_port %v dst_ip %v n %d", ev.Get(SrcIP), ev.Has(DstPort), ev.Has(DstIP), ev.NumFields())
	}
	ev.Set(SrcIP, "192.0.2.2")
	if ev.Get(SrcIP) != "192.0.2.2" || ev.NumFields() != 2 {
		t.Errorf("replacing: src_ip %q n %d", ev.Get(SrcIP), ev.NumFields())
	}
	ev.Set(SrcIP, "")
	if ev.Has(SrcIP) || ev.NumFields() != 1 {
		t.Errorf("Set empty did not clear: has %v n %d", ev.Has(SrcIP), ev.NumFields())
	}
	if strings.Contains(string(ev.AppendJSON(nil)), "src_ip") {
		t.Errorf("cleared field still written: %s", ev.AppendJSON(nil))
	}

	// Int and Addr.
	ev.Set(BytesIn, "1234567890123")
	ev.Set(Status, "20x")
	if n, ok := ev.Int(BytesIn); !ok || n != 1234567890123 {
		t.Errorf("Int(bytes_in) = %d, %v", n, ok)
	}
	if _, ok := ev.Int(Status); ok {
		t.Error("Int of 20x succeeded")
	}
	if _, ok := ev.Int(Duration); ok {
		t.Error("Int of an absent field succeeded")
	}
	addr := func(v, want string) {
		t.Helper()
		ev.Set(DstIP, v)
		got := ev.Addr(DstIP)
		s := ""
		if got.IsValid() {
			s = got.String()
		}
		if s != want {
			t.Errorf("Addr(%q) = %q, want %q", v, s, want)
		}
	}
	addr("10.0.0.1", "10.0.0.1")
	addr("::ffff:198.51.100.215", "198.51.100.215")
	addr("2001:db8::1", "2001:db8::1")
	addr("example.com", "")
	addr("", "")
}

func TestExtra(t *testing.T) {
	var ev Event
	ev.SetExtra("policy_id", "5")
	ev.SetExtra("rule", "Trust->Untrust")
	ev.SetExtra("empty", "")
	ev.SetExtra("policy_id", "6")    // replaces, keeps its place
	ev.SetExtra("rule", "")          // ignored: the value stays
	ev.SetExtra("session_id", "999") // appended
	f := func(key, want string) {
		t.Helper()
		if got := ev.Extra(key); got != want {
			t.Errorf("Extra(%q) = %q, want %q", key, got, want)
		}
	}
	f("policy_id", "6")
	f("rule", "Trust->Untrust")
	f("empty", "")
	f("session_id", "999")
	f("absent", "")
	var order []string
	ev.Fields(func(k, v string) { order = append(order, k+"="+v) })
	if got, want := strings.Join(order, " "), "policy_id=6 rule=Trust->Untrust session_id=999"; got != want {
		t.Errorf("Fields = %s, want %s", got, want)
	}
	if ev.NumFields() != 3 {
		t.Errorf("NumFields = %d, want 3", ev.NumFields())
	}
}

func TestLookup(t *testing.T) {
	var ev Event
	ev.Set(SrcIP, "192.0.2.1")
	ev.Set(Duration, "15")
	ev.SetExtra("device_id", "0275112227993284")
	f := func(name, want string) {
		t.Helper()
		if got := ev.Lookup(name); got != want {
			t.Errorf("Lookup(%q) = %q, want %q", name, got, want)
		}
	}
	f("src_ip", "192.0.2.1")
	f("duration_ms", "15")
	f("device_id", "0275112227993284")
	f("dst_ip", "")
	f("nothing", "")
	f("SrcIP", "") // JSON names only
}

func TestReset(t *testing.T) {
	ev := &Event{
		Time: time.Unix(1700000000, 0), Source: "squid", Host: "proxy",
		Origin: Origin{File: "access.log", Line: 9}, Raw: "raw line",
	}
	ev.Set(URL, "http://example.com/")
	ev.SetExtra("hierarchy", "HIER_DIRECT")
	ev.SetExtra("peer", "1.2.3.4")
	ev.Reset()
	if got, want := string(ev.AppendJSON(nil)), string((&Event{}).AppendJSON(nil)); got != want {
		t.Errorf("after Reset: %s, want %s", got, want)
	}
	if ev.NumFields() != 0 || ev.Extra("hierarchy") != "" || ev.Lookup("url") != "" || !ev.Time.IsZero() || ev.Origin != (Origin{}) {
		t.Errorf("Reset kept data: %+v", ev)
	}
	// Reuse: only what is set after Reset shows.
	ev.SetExtra("peer", "5.6.7.8")
	var got []string
	ev.Fields(func(k, v string) { got = append(got, k+"="+v) })
	if strings.Join(got, " ") != "peer=5.6.7.8" {
		t.Errorf("fields after reuse: %v", got)
	}
}

func TestClone(t *testing.T) {
	ev := &Event{Source: "netscreen", Host: "fw", Raw: "r"}
	ev.Set(Action, "deny")
	ev.SetExtra("policy_id", "5")
	ev.SetExtra("zone", "Untrust")
	c := ev.Clone()

	// Changing the clone leaves the original alone, and the other way round.
	c.Set(Action, "allow")
	c.SetExtra("policy_id", "7")
	c.SetExtra("clone_only", "x")
	c.Host = "other"
	ev.SetExtra("zone", "Trust")
	ev.SetExtra("orig_only", "y")

	f := func(e *Event, want string) {
		t.Helper()
		var got []string
		e.Fields(func(k, v string) { got = append(got, k+"="+v) })
		if s := e.Host + " " + strings.Join(got, " "); s != want {
			t.Errorf("got %s, want %s", s, want)
		}
	}
	f(ev, "fw action=deny policy_id=5 zone=Trust orig_only=y")
	f(c, "other action=allow policy_id=7 zone=Untrust clone_only=x")

	// Resetting and reusing the original does not reach the clone (the
	// original's extra slice is reused in place).
	c2 := ev.Clone()
	ev.Reset()
	ev.SetExtra("new", "1")
	ev.SetExtra("newer", "2")
	f(c2, "fw action=deny policy_id=5 zone=Trust orig_only=y")
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("Feb 16 11:43:32 mail postfix/smtpd[1]: x", uint8(SrcIP), "192.0.2.1", "policy_id", "5", int64(1700000000123))
	f.Add(`"quoted" \back\slash`, uint8(URL), "http://x/?a=\"b\"", "k\"ey", "v\\al", int64(0))
	f.Add("ctl \x00\x01\x1f\x7f", uint8(User), "\t\n", "\x00", "\x1f", int64(-1))
	f.Add("sjis \x8c\xa9\x90\xcf", uint8(Attachment), "見積書.pdf", "名前", "\xff\xfe", int64(253402300799999))
	f.Add("sep \u2028\u2029", uint8(Domain), "\u2028", "\u2029", "<&>", int64(1))
	f.Fuzz(func(t *testing.T, raw string, key uint8, value, extraKey, extraValue string, ms int64) {
		ev := &Event{Raw: raw, Source: value, Host: extraKey, Origin: Origin{File: extraValue, Line: ms}}
		if ms %= 253402300800000; ms < 0 { // stay within 1970-9999
			ms += 253402300800000
		}
		if ms != 0 {
			ev.Time = time.UnixMilli(ms)
		}
		k := Key(int(key) % NumKeys)
		ev.Set(k, value)
		_, isCommon := KeyByName(extraKey)
		if !isCommon {
			ev.SetExtra(extraKey, extraValue)
		}
		out := ev.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		var d decoded
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		check := func(what, got, want string) {
			t.Helper()
			if got != coerced(want) {
				t.Errorf("%s: %q decoded to %q", what, want, got)
			}
		}
		check("raw", d.Raw, raw)
		check("source", d.Source, value)
		check("host", d.Host, extraKey)
		check("origin", d.Origin, ev.Origin.String())
		if value != "" {
			check(k.String(), d.Fields[k.String()], value)
		}
		if !isCommon && extraValue != "" && utf8.ValidString(extraKey) {
			check("extra "+extraKey, d.Fields[extraKey], extraValue)
		}
		if utf8.ValidString(raw) != (d.RawBase64 == nil) {
			t.Errorf("raw %q: raw_base64 present = %v", raw, d.RawBase64 != nil)
		}
		if d.RawBase64 != nil {
			b, err := base64.StdEncoding.DecodeString(*d.RawBase64)
			if err != nil || string(b) != raw {
				t.Errorf("raw_base64 of %q decodes to %q (%v)", raw, b, err)
			}
		}
		if ev.Time.IsZero() != (d.Time == nil) {
			t.Errorf("time %v written as %v", ev.Time, d.Time)
		} else if d.Time != nil {
			if tm, err := time.Parse(TimeFormat, *d.Time); err != nil || !tm.Equal(ev.Time.Truncate(time.Millisecond)) {
				t.Errorf("time %v written as %q (%v)", ev.Time, *d.Time, err)
			}
		}
	})
}

// KeyByName rejects most names by length and first letter before looking:
// every common name must pass that test, and be found.
func TestKeyByNameFindsEveryKey(t *testing.T) {
	for k := Key(0); int(k) < NumKeys; k++ {
		if got, ok := KeyByName(k.String()); !ok || got != k {
			t.Errorf("KeyByName(%q) = %v, %v", k.String(), got, ok)
		}
	}
	for _, n := range []string{"", "EventID", "Image", "ip", "CommandLine", "command_line_x"} {
		if _, ok := KeyByName(n); ok {
			t.Errorf("KeyByName(%q) found a key", n)
		}
	}
}

// plain8 must say exactly whether eight bytes need no escape: every byte
// value at every position, among plain neighbours and among others.
func TestPlain8(t *testing.T) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	for _, fill := range []byte{'a', ' ', '~', 0x21, 0x5b, 0x5d, 0x7f} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat(string(fill), 8))
				b[pos] = byte(c)
				if got, want := plain8(string(b)), plain(string(b)); got != want {
					t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) > 0 {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		if got, want := plain8(string(b[:])), plain(string(b[:])); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
		}
	}
}
