package winxml

import (
	"bytes"
	"fmt"
	"io"
)

// MaxRecord is the largest record Split accepts (an <Event> element or a JSON
// document); a larger one is reported as an error. Real events stay far below:
// an event's payload is limited to 64 KiB by the event log service.
const MaxRecord = 16 << 20

// Split implements parse.Framer: it calls fn with each <Event>...</Event>
// element of r, wherever the line breaks are (one per line, all on one line,
// or pretty-printed over many lines), with the 1-based line number where the
// element starts. The XML declaration, comments and the <Events> wrapper are
// skipped. Any other text between events is passed to fn as a record of its
// own (up to the end of its line) so that Parse reports it; an <Event> left
// open at the end of the input is passed as it is, and Parse reports it as
// truncated. UTF-16 input is decoded (see UTF8Reader). rec is only valid
// during the call.
func (Parser) Split(r io.Reader, fn func(rec []byte, line int64) error) error {
	s := newScanner(UTF8Reader(r))
	for {
		if err := s.skipSpace(); err != nil {
			return err
		}
		if s.atEOF() {
			return nil
		}
		var b []byte
		switch {
		case hasPrefixMore(s, "<?"):
			if err := s.skipPast("?>"); err != nil {
				return err
			}
			continue
		case hasPrefixMore(s, "<!--"):
			if err := s.skipPast("-->"); err != nil {
				return err
			}
			continue
		case hasPrefixMore(s, "<Events") && s.tagEndAt(7), hasPrefixMore(s, "</Events"), hasPrefixMore(s, "<!"):
			if err := s.skipPast(">"); err != nil {
				return err
			}
			continue
		case hasPrefixMore(s, "<Event") && s.tagEndAt(6):
			n, err := s.findEnd()
			if err != nil {
				return err
			}
			b = s.buf[s.off : s.off+n]
			line := s.line
			if err := fn(b, line); err != nil {
				return err
			}
			s.consume(n)
		default:
			// Stray text: up to the end of its line or the next "<Event".
			if err := s.fillLine(); err != nil {
				return err
			}
			b = s.buf[s.off:]
			n := bytes.IndexByte(b, '\n')
			if n < 0 {
				n = len(b)
			}
			if j := findEvent(b[:n]); j > 0 {
				n = j
			}
			line := s.line
			if err := fn(bytes.TrimRight(b[:n], "\r"), line); err != nil {
				return err
			}
			s.consume(n)
		}
	}
}

func hasPrefixMore(s *scanner, p string) bool {
	for len(s.buf)-s.off < len(p)+1 && !s.eof {
		if s.fill() != nil {
			break
		}
	}
	return bytes.HasPrefix(s.buf[s.off:], []byte(p))
}

// scanner is a sliding window over the input that knows the line number of
// its first unconsumed byte.
type scanner struct {
	r    io.Reader
	buf  []byte
	off  int
	line int64
	eof  bool
	err  error
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, 64<<10), line: 1}
}

// fill reads more input; it returns the read error other than io.EOF.
func (s *scanner) fill() error {
	if s.eof {
		return s.err
	}
	if s.off > 0 && s.off >= len(s.buf)/2 {
		n := copy(s.buf, s.buf[s.off:])
		s.buf = s.buf[:n]
		s.off = 0
	}
	if cap(s.buf)-len(s.buf) < 32<<10 {
		nb := make([]byte, len(s.buf), 2*cap(s.buf)+64<<10)
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.err = err
		}
		return s.err
	}
	return nil
}

func (s *scanner) atEOF() bool { return s.off >= len(s.buf) && s.eof }

func (s *scanner) consume(n int) {
	s.line += int64(bytes.Count(s.buf[s.off:s.off+n], []byte{'\n'}))
	s.off += n
}

func (s *scanner) skipSpace() error {
	for {
		for s.off < len(s.buf) {
			switch s.buf[s.off] {
			case '\n':
				s.line++
				s.off++
			case ' ', '\t', '\r':
				s.off++
			default:
				return nil
			}
		}
		if s.eof {
			return s.err
		}
		if err := s.fill(); err != nil {
			return err
		}
	}
}

// tagEndAt reports whether the byte at offset i of the window ends a tag name
// (or the input ends there).
func (s *scanner) tagEndAt(i int) bool {
	for len(s.buf)-s.off <= i && !s.eof {
		if s.fill() != nil {
			break
		}
	}
	if s.off+i >= len(s.buf) {
		return true
	}
	return isTagEnd(s.buf[s.off+i])
}

// skipPast consumes input up to and including the first occurrence of end
// (or to the end of the input).
func (s *scanner) skipPast(end string) error {
	from := 0
	for {
		b := s.buf[s.off:]
		if i := bytes.Index(b[from:], []byte(end)); i >= 0 {
			s.consume(from + i + len(end))
			return nil
		}
		if s.eof {
			s.consume(len(b))
			return s.err
		}
		if len(b) > MaxRecord {
			return fmt.Errorf("winxml: line %d: markup longer than %d bytes", s.line, MaxRecord)
		}
		from = max(0, len(b)-len(end))
		if err := s.fill(); err != nil {
			return err
		}
	}
}

// fillLine makes sure the window holds a whole line (or the rest of the
// input).
func (s *scanner) fillLine() error {
	from := 0
	for {
		b := s.buf[s.off:]
		if bytes.IndexByte(b[from:], '\n') >= 0 || s.eof || len(b) > MaxRecord {
			return s.err
		}
		from = len(b)
		if err := s.fill(); err != nil {
			return err
		}
	}
}

// findEnd returns the length of the <Event> element at the start of the
// window: up to and including its "</Event>" end tag (or "/>" when the
// element is empty), or the rest of the input when it is not closed.
func (s *scanner) findEnd() (int, error) {
	from := 0
	for {
		b := s.buf[s.off:]
		if n := endOfEvent(b, from); n > 0 {
			return n, nil
		}
		if s.eof {
			return len(b), s.err
		}
		if len(b) > MaxRecord {
			return 0, fmt.Errorf("winxml: line %d: <Event> element longer than %d bytes", s.line, MaxRecord)
		}
		from = max(0, len(b)-16)
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// endOfEvent finds "</Event>" (allowing spaces before '>') in b at or after
// from, and returns the offset just past it, or 0. A self-closed "<Event/>" at
// the start of b ends at its "/>".
func endOfEvent(b []byte, from int) int {
	if gt := bytes.IndexByte(b, '>'); gt > 0 && b[gt-1] == '/' && bytes.IndexByte(b[1:gt], '<') < 0 {
		return gt + 1
	}
	for {
		i := bytes.Index(b[from:], []byte("</Event"))
		if i < 0 {
			return 0
		}
		j := from + i + len("</Event")
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
			j++
		}
		if j < len(b) && b[j] == '>' {
			return j + 1
		}
		if j >= len(b) {
			return 0 // need more input to decide
		}
		from = from + i + 1
	}
}
