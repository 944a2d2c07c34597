package ioc

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseCSV reads a CSV list. The first row is a header: one column named
// indicator, value, ioc or observable (case-insensitive) holds the
// indicators; optional columns type (or kind), description (or comment,
// name) and source (or feed, provider) say more. A row's type decides its
// kind (domain, hostname, ip, ip-dst, cidr, url, md5, sha1, sha256, email,
// and their MISP and STIX spellings); an empty type is inferred as in a
// text list; any other type is reported and the row skipped. Lines
// starting with "#" are comments.
func ParseCSV(name string, r io.Reader, lim Limits) (*List, Report, error) {
	lim = lim.withDefaults()
	data, err := readLimited(r, name, lim)
	if err != nil {
		return nil, Report{}, err
	}
	return parseCSV(name, data, lim)
}

// csvCols are the column positions of a header (-1: absent).
type csvCols struct{ value, kind, desc, source int }

// csvColumns finds the columns in a header row; ok is false without an
// indicator column.
func csvColumns(header []string) (csvCols, bool) {
	c := csvCols{-1, -1, -1, -1}
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))) {
		case "indicator", "value", "ioc", "observable", "indicator_value", "ioc_value":
			if c.value < 0 {
				c.value = i
			}
		case "type", "kind", "indicator_type", "ioc_type", "type_name":
			if c.kind < 0 {
				c.kind = i
			}
		case "description", "comment", "comments", "name", "title":
			if c.desc < 0 {
				c.desc = i
			}
		case "source", "feed", "provider", "reporter":
			if c.source < 0 {
				c.source = i
			}
		}
	}
	return c, c.value >= 0
}

// splitCSVHeader splits a header line for format detection (no quotes
// handling is needed to find the column names).
func splitCSVHeader(line string) []string {
	parts := strings.Split(strings.TrimRight(line, "\r"), ",")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"`)
	}
	return parts
}

// csvKinds maps the type spellings of common feeds (MISP, OTX, STIX object
// types) to a kind.
var csvKinds = map[string]Kind{
	"domain": Domain, "domain-name": Domain, "domainname": Domain, "hostname": Domain, "host": Domain, "fqdn": Domain,
	"ip": IP, "ipv4": IP, "ipv6": IP, "ip-dst": IP, "ip-src": IP, "ipv4-addr": IP, "ipv6-addr": IP, "ip-address": IP,
	"ipaddress": IP, "cidr": IP, "ipv4-cidr": IP, "ipv6-cidr": IP, "netblock": IP,
	"url": URL, "uri": URL, "link": URL,
	"md5": Hash, "sha1": Hash, "sha-1": Hash, "sha256": Hash, "sha-256": Hash, "hash": Hash, "file-hash": Hash,
	"filehash-md5": Hash, "filehash-sha1": Hash, "filehash-sha256": Hash,
	"email": Email, "email-addr": Email, "email-src": Email, "email-dst": Email, "email-address": Email, "emailaddress": Email,
}

// csvAlgo is the algorithm a hash type names, "" when any.
func csvAlgo(t string) string {
	switch {
	case strings.Contains(t, "md5"):
		return "md5"
	case strings.Contains(t, "sha256"), strings.Contains(t, "sha-256"):
		return "sha256"
	case strings.Contains(t, "sha1"), strings.Contains(t, "sha-1"):
		return "sha1"
	}
	return ""
}

func parseCSV(name string, data []byte, lim Limits) (*List, Report, error) {
	body := bytes.TrimPrefix(data, utf8BOM)
	if err := checkLines(name, body, lim.MaxLine); err != nil {
		return nil, Report{}, err
	}
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Report{}, fmt.Errorf("%s: %w: empty CSV", name, ErrNoIndicators)
	}
	if err != nil {
		return nil, Report{}, fmt.Errorf("%s: CSV header: %w", name, err)
	}
	cols, ok := csvColumns(header)
	if !ok {
		return nil, Report{}, fmt.Errorf("%s: the CSV header (%s) has no column named indicator, value or ioc", name, strings.Join(header, ","))
	}
	b := newBuilder(name, FormatCSV, lim)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				b.rep.problem("line "+strconv.Itoa(pe.Line), "", pe.Err.Error())
				continue
			}
			return nil, Report{}, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		ref := "line " + strconv.Itoa(line)
		get := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		value := get(cols.value)
		if value == "" {
			if len(rec) > 1 || get(0) != "" {
				b.rep.problem(ref, "", "no value in the indicator column")
			}
			continue
		}
		in, err := csvIndicator(value, strings.ToLower(get(cols.kind)))
		if err != nil {
			b.rep.problem(ref, value, err.Error())
			continue
		}
		in.Description, in.Source, in.Ref = get(cols.desc), get(cols.source), ref
		if err := b.add(in); err != nil {
			return nil, Report{}, err
		}
	}
	l, rep := b.done(data)
	return l, rep, nil
}

// csvIndicator builds the indicator of one row from its value and type.
func csvIndicator(value, typ string) (Indicator, error) {
	if typ == "" {
		return Classify(value)
	}
	k, ok := csvKinds[typ]
	if !ok {
		return Indicator{}, fmt.Errorf("type %q is not supported (domain, ip, cidr, url, md5, sha1, sha256, email)", typ)
	}
	in, err := NewIndicator(k, value)
	if err != nil {
		return in, err
	}
	if want := csvAlgo(typ); k == Hash && want != "" && want != in.Algo {
		return Indicator{}, fmt.Errorf("%w: type %s but %d hex digits (%s)", ErrInvalid, typ, len(in.Value), in.Algo)
	}
	return in, nil
}

// checkLines fails on the first line longer than max (the CSV reader has no
// such bound of its own).
func checkLines(name string, data []byte, max int) error {
	for no := 1; len(data) > 0; no++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if i > max {
			return fmt.Errorf("%s line %d: %w (%d bytes, at most %d)", name, no, ErrLineTooLong, i, max)
		}
		if i == len(data) {
			break
		}
		data = data[i+1:]
	}
	return nil
}
