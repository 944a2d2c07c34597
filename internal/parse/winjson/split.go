package winjson

import (
	"bytes"
	"fmt"
	"io"

	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Split implements parse.Framer: it calls fn with each top-level JSON object
// of r and the 1-based line number where it starts. Objects may span lines
// (evtx_dump's pretty-printed output, Winlogbeat documents saved by hand) or
// sit one per line (JSON lines); the members of a top-level array are
// records too. evtx_dump's "Record N" lines and any other text outside an
// object are passed to fn line by line, for Parse to skip or report.
//
// A JSON-lines file stays in step when a line is cut short: a string cannot
// span lines in JSON, and an object still open when a line starts with '{'
// at column 0 is ended there (pretty printers indent nested objects), so a
// broken line costs one record, not the rest of the file. UTF-16 input is
// decoded (winxml.UTF8Reader). rec is only valid during the call.
func (Parser) Split(r io.Reader, fn func(rec []byte, line int64) error) error {
	s := &scanner{r: winxml.UTF8Reader(r), buf: make([]byte, 0, 64<<10), line: 1}
	for {
		// Between records: white space and the punctuation of a top-level array.
		for {
			if s.off >= len(s.buf) {
				if s.eof {
					return s.err
				}
				if err := s.fill(); err != nil {
					return err
				}
				continue
			}
			c := s.buf[s.off]
			if c == '\n' {
				s.line++
			} else if c != ' ' && c != '\t' && c != '\r' && c != ',' && c != '[' && c != ']' {
				break
			}
			s.off++
		}
		line := s.line
		var n int
		var err error
		if s.buf[s.off] == '{' {
			n, err = s.object()
		} else {
			n, err = s.restOfLine()
		}
		if err != nil {
			return err
		}
		rec := bytes.TrimRight(s.buf[s.off:s.off+n], "\r\n")
		if err := fn(rec, line); err != nil {
			return err
		}
		s.line += int64(bytes.Count(s.buf[s.off:s.off+n], []byte{'\n'}))
		s.off += n
	}
}

type scanner struct {
	r    io.Reader
	buf  []byte
	off  int
	line int64
	eof  bool
	err  error
}

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

// object returns the length of the JSON object at s.off: through its closing
// brace, or, when it is broken, through the end of the line where it breaks
// (or the rest of the input).
func (s *scanner) object() (int, error) {
	depth, inStr, esc := 0, false, false
	i := 0 // offset from s.off of the next byte to look at
	for {
		b := s.buf[s.off:]
		for ; i < len(b); i++ {
			c := b[i]
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				case c == '\n':
					return i + 1, nil // a JSON string never spans lines
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth <= 0 {
					return i + 1, nil
				}
			case '\n':
				if i+1 < len(b) && b[i+1] == '{' {
					return i + 1, nil // a new record starts while this one is open
				}
				if i+1 == len(b) && !s.eof {
					// Need the next byte to decide: read more, look again.
					goto more
				}
			}
		}
		if s.eof {
			return len(b), s.err
		}
	more:
		if len(b) > winxml.MaxRecord {
			return 0, fmt.Errorf("winjson: line %d: JSON object longer than %d bytes", s.line, winxml.MaxRecord)
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// restOfLine returns the length of the text from s.off through the end of its
// line.
func (s *scanner) restOfLine() (int, error) {
	from := 0
	for {
		b := s.buf[s.off:]
		if j := bytes.IndexByte(b[from:], '\n'); j >= 0 {
			return from + j + 1, nil
		}
		if s.eof {
			return len(b), s.err
		}
		if len(b) > winxml.MaxRecord {
			return 0, fmt.Errorf("winjson: line %d: line longer than %d bytes", s.line, winxml.MaxRecord)
		}
		from = len(b)
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}
