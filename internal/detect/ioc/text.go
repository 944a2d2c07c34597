package ioc

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseText reads a plain-text list: one indicator per line, its kind
// inferred (Classify). "#" at the start of a line or after a space starts a
// comment; a comment after an indicator becomes its description. Text after
// the indicator on the same line ("evil.example  dropper site", or a
// ",column" as in a one-column CSV without header) is a description too.
// Hosts-file lines ("0.0.0.0 evil.example", as domain blocklists are
// published) give the name. Blank lines are skipped.
func ParseText(name string, r io.Reader, lim Limits) (*List, Report, error) {
	lim = lim.withDefaults()
	data, err := readLimited(r, name, lim)
	if err != nil {
		return nil, Report{}, err
	}
	return parseText(name, data, lim)
}

func parseText(name string, data []byte, lim Limits) (*List, Report, error) {
	b := newBuilder(name, FormatText, lim)
	rest := bytes.TrimPrefix(data, utf8BOM)
	for no := 1; len(rest) > 0; no++ {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		if len(line) > lim.MaxLine {
			return nil, Report{}, fmt.Errorf("%s line %d: %w (%d bytes, at most %d)", name, no, ErrLineTooLong, len(line), lim.MaxLine)
		}
		value, desc := splitTextLine(string(bytes.TrimRight(line, "\r")))
		if value == "" {
			continue
		}
		ref := "line " + strconv.Itoa(no)
		in, err := Classify(value)
		if err != nil {
			b.rep.problem(ref, value, err.Error())
			continue
		}
		in.Description, in.Ref = desc, ref
		if err := b.add(in); err != nil {
			return nil, Report{}, err
		}
	}
	l, rep := b.done(data)
	return l, rep, nil
}

// splitTextLine returns a line's indicator and its description.
func splitTextLine(line string) (value, desc string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' || strings.HasPrefix(line, "//") || line[0] == ';' {
		return "", ""
	}
	// A comment starts at a "#" after white space: a URL may hold "#".
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			line, desc = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
			break
		}
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", desc
	}
	value = fields[0]
	more := fields[1:]
	switch value {
	case "0.0.0.0", "127.0.0.1", "::", "::1", "::0":
		if len(more) > 0 { // hosts file
			value, more = more[0], more[1:]
		}
	}
	if i := strings.IndexByte(value, ','); i > 0 {
		more = append([]string{strings.TrimSpace(value[i+1:])}, more...)
		value = value[:i]
	}
	if desc == "" && len(more) > 0 {
		desc = strings.TrimSpace(strings.Join(more, " "))
	}
	return value, desc
}
