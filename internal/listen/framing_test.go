package listen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// chunkReader returns data in reads of the given sizes, in turn, as a
// network connection might.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, max(1, c.sizes[c.i%len(c.sizes)]))
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// framed is what a stream split into: messages and counted events.
type framed struct {
	msgs   []string
	counts frameCounts
}

func (f framed) String() string {
	return fmt.Sprintf("%q oversized=%d bad=%d empty=%d truncated=%d",
		f.msgs, f.counts.oversized, f.counts.badCounts, f.counts.empty, f.counts.truncated)
}

// runFramer splits r the way a connection does: frame what is buffered,
// then read; at EOF take what finish returns.
func runFramer(t testing.TB, r io.Reader, maxMsg int) framed {
	t.Helper()
	fr := newFramer(maxMsg, maxMsg+frameOverhead)
	var out framed
	for reads := 0; ; reads++ {
		if reads > 1<<22 {
			t.Fatal("framer does not progress")
		}
		for {
			msg, k := fr.next()
			if k == frameNone {
				break
			}
			if k == frameMsg {
				if len(msg) > maxMsg {
					t.Fatalf("message of %d bytes over the limit %d", len(msg), maxMsg)
				}
				out.msgs = append(out.msgs, string(msg))
			} else {
				out.counts.add(k)
			}
		}
		_, err := fr.fill(r)
		if err == nil {
			continue
		}
		for { // what came with the error
			msg, k := fr.next()
			if k == frameNone {
				break
			}
			if k == frameMsg {
				out.msgs = append(out.msgs, string(msg))
			} else {
				out.counts.add(k)
			}
		}
		if !errors.Is(err, io.EOF) {
			t.Fatalf("read: %v", err)
		}
		msg, k := fr.finish()
		if k == frameMsg {
			out.msgs = append(out.msgs, string(msg))
		} else {
			out.counts.add(k)
		}
		return out
	}
}

// chunkings are the read patterns every table case is run with: one
// read, byte by byte, and sizes that cut frames in every place.
var chunkings = [][]int{nil, {1}, {2}, {3}, {7}, {1, 5, 2, 11}, {16}}

func TestFraming(t *testing.T) {
	const max = 16
	x := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name string
		in   string
		want []string
		fc   frameCounts
	}{
		{"LF", "a\nbb\n", []string{"a", "bb"}, frameCounts{}},
		{"CRLF", "a\r\nbb\r\n", []string{"a", "bb"}, frameCounts{}},
		{"NUL", "a\x00bb\x00", []string{"a", "bb"}, frameCounts{}},
		{"mixed trailers", "a\nb\x00c\r\nd\r\x00", []string{"a", "b", "c", "d"}, frameCounts{}},
		{"CR inside kept", "a\rb\n", []string{"a\rb"}, frameCounts{}},
		{"one CR removed", "a\r\r\n", []string{"a\r"}, frameCounts{}},
		{"octet counting", "3 abc5 hello", []string{"abc", "hello"}, frameCounts{}},
		{"octet keeps LF and NUL", "7 a\nb\x00c\r\n", []string{"a\nb\x00c\r\n"}, frameCounts{}},
		{"octet then LF", "3 abcline\n4 wxyz", []string{"abc", "line", "wxyz"}, frameCounts{}},
		{"octet with LF trailers", "3 abc\n4 wxyz\n", []string{"abc", "wxyz"}, frameCounts{empty: 2}},
		{"syslog both framings", "<13>1 - x\n16 <13>Nov 1 h t: m<14>a\n", []string{"<13>1 - x", "<13>Nov 1 h t: m", "<14>a"}, frameCounts{}},
		{"exact max LF", x(max) + "\r\n", []string{x(max)}, frameCounts{}},
		{"exact max octet", "16 " + x(max) + "ok\n", []string{x(max), "ok"}, frameCounts{}},
		{"oversized LF by one", x(max+1) + "\nok\n", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized LF with CR", x(max+1) + "\r\nok\n", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized LF past buffer", x(10*max) + "\nok\n", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized LF ended by NUL", x(3*max) + "\x00ok\n", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized octet", "17 " + x(17) + "ok\n", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized octet holding LFs", "100 " + strings.Repeat("ab\n", 33) + "c" + "2 ok", []string{"ok"}, frameCounts{oversized: 1}},
		{"oversized octet cut by EOF", "1000 " + x(50), nil, frameCounts{oversized: 1}},
		{"count with leading zero", "05 hello\nnext\n", []string{"05 hello", "next"}, frameCounts{badCounts: 1}},
		{"count zero", "0 \nnext\n", []string{"0 ", "next"}, frameCounts{badCounts: 1}},
		{"count past any record", "16777217 x\n", []string{"16777217 x"}, frameCounts{badCounts: 1}},
		{"largest count skipped", "16777216 abc", nil, frameCounts{oversized: 1}},
		{"digits then no space", "2024-01-01 x\n", []string{"2024-01-01 x"}, frameCounts{}},
		{"nine digits is a line", "123456789 x\n", []string{"123456789 x"}, frameCounts{}},
		{"digits then LF", "42\n", []string{"42"}, frameCounts{}},
		{"empty frames", "\n\r\n\x00a\n", []string{"a"}, frameCounts{empty: 3}},
		{"unterminated last line", "a\nb", []string{"a", "b"}, frameCounts{}},
		{"unterminated last line with CR", "a\r", []string{"a"}, frameCounts{}},
		{"digits at EOF", "123", []string{"123"}, frameCounts{}},
		{"truncated octet frame", "10 abc", nil, frameCounts{truncated: 1}},
		{"octet header only", "10 ", nil, frameCounts{truncated: 1}},
		{"unterminated oversized line", x(max + 5), nil, frameCounts{oversized: 1}},
		{"bad count at EOF", "0 abc", []string{"0 abc"}, frameCounts{badCounts: 1}},
		{"empty stream", "", nil, frameCounts{}},
	}
	for _, tc := range cases {
		for _, sizes := range chunkings {
			t.Run(fmt.Sprintf("%s/%v", tc.name, sizes), func(t *testing.T) {
				got := runFramer(t, &chunkReader{data: []byte(tc.in), sizes: sizes}, max)
				want := framed{msgs: tc.want, counts: tc.fc}
				if !slices.Equal(got.msgs, want.msgs) || got.counts != want.counts {
					t.Fatalf("%q:\n got %v\nwant %v", tc.in, got, want)
				}
			})
		}
	}
}

// TestFramerGrows checks that a connection's buffer starts small, grows
// while a sender keeps it full, and never passes the limit.
func TestFramerGrows(t *testing.T) {
	const maxMsg, limit = 1000, 100 << 10
	var in bytes.Buffer
	var want []string
	for i := range 5000 {
		m := fmt.Sprintf("<13>message %d %s", i, strings.Repeat("y", i%300))
		want = append(want, m)
		if i%2 == 0 {
			in.WriteString(strconv.Itoa(len(m)) + " " + m)
		} else {
			in.WriteString(m + "\n")
		}
	}
	fr := newFramer(maxMsg, limit)
	if len(fr.buf) != initialBuffer {
		t.Fatalf("initial buffer %d, want %d", len(fr.buf), initialBuffer)
	}
	var got []string
	r := bytes.NewReader(in.Bytes())
	for {
		for {
			msg, k := fr.next()
			if k == frameNone {
				break
			}
			if k != frameMsg {
				t.Fatalf("unexpected frame kind %d", k)
			}
			got = append(got, string(msg))
		}
		if _, err := fr.fill(r); err == io.EOF {
			break
		}
		if len(fr.buf) > limit {
			t.Fatalf("buffer %d over the limit %d", len(fr.buf), limit)
		}
	}
	if len(fr.buf) != limit {
		t.Errorf("buffer %d after a sender that kept it full, want the limit %d", len(fr.buf), limit)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d messages, want %d (first difference matters)", len(got), len(want))
	}
}

// FuzzFramer checks the framer on any bytes: it never panics, never
// returns a message over the limit or more bytes than it read, and splits
// a stream the same way however the reads cut it.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"a\nbb\r\nccc\x00",
		"3 abc5 hello",
		"3 abc\n4 wxyz\n<13>1 - - x\n",
		"05 hello\nnext\n",
		"16777217 x\n",
		"99 " + strings.Repeat("z", 120) + "\n3 end",
		"2024-01-01 a\n1 b12 c",
		strings.Repeat("x", 70) + "\nok\n",
		"10 abc",
		"\n\r\n\x00\x00",
		"123456789 x\n12345678 y",
	} {
		f.Add([]byte(s), uint8(3), uint8(32))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxMsg uint8) {
		max := int(maxMsg%64) + 1
		whole := runFramer(t, bytes.NewReader(data), max)
		sizes := []int{int(chunk%13) + 1, int(chunk/13%7) + 1}
		cut := runFramer(t, &chunkReader{data: data, sizes: sizes}, max)
		if !slices.Equal(whole.msgs, cut.msgs) || whole.counts != cut.counts {
			t.Fatalf("reads cut at %v change the frames:\nwhole %v\n  cut %v", sizes, whole, cut)
		}
		n := 0
		for _, m := range whole.msgs {
			n += len(m)
		}
		if n > len(data) {
			t.Fatalf("%d message bytes from %d read", n, len(data))
		}
	})
}

// FuzzFramingRoundTrip frames messages the ways senders do (octet
// counting, LF, CR LF, NUL), and checks that the framer returns exactly
// them, skipping and counting only those over the limit.
func FuzzFramingRoundTrip(f *testing.F) {
	f.Add([]byte("<13>1 a\xfe<14>b\nc\xfeplain line\xfe\xfe0 zero"), uint8(5), uint8(40))
	f.Add([]byte("hello\xfe12 Oct\xfe"+strings.Repeat("q", 80)+"\xfeend\r"), uint8(200), uint8(64))
	f.Add([]byte("a\x00b\xfec\nd\xfe\r\xfe9"), uint8(1), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxMsg uint8) {
		max := int(maxMsg%96) + 1
		var in bytes.Buffer
		var want []string
		oversized := uint64(0)
		for i, m := range bytes.Split(data, []byte{0xfe}) {
			if len(m) == 0 {
				continue
			}
			lineSafe := !bytes.ContainsAny(m, "\n\x00") && m[len(m)-1] != '\r' && (m[0] < '0' || m[0] > '9')
			switch {
			case !lineSafe || i%4 == 0:
				in.WriteString(strconv.Itoa(len(m)) + " ")
				in.Write(m)
			case i%4 == 1:
				in.Write(m)
				in.WriteByte('\n')
			case i%4 == 2:
				in.Write(m)
				in.WriteString("\r\n")
			default:
				in.Write(m)
				in.WriteByte(0)
			}
			if len(m) > max {
				oversized++
			} else {
				want = append(want, string(m))
			}
		}
		sizes := []int{int(chunk%17) + 1, int(chunk/17%5) + 1}
		got := runFramer(t, &chunkReader{data: in.Bytes(), sizes: sizes}, max)
		if !slices.Equal(got.msgs, want) || got.counts != (frameCounts{oversized: oversized}) {
			t.Fatalf("stream %q:\n got %v\nwant %q oversized=%d", in.Bytes(), got, want, oversized)
		}
	})
}
