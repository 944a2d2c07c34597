package ioc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseSTIX reads a STIX 2.1 (or 2.0) bundle: {"type": "bundle", "objects":
// [...]}, or a bare JSON array of objects, or one indicator object. Every
// indicator object's pattern is parsed (see stixpattern.go); a pattern of
// another language (pattern_type sigma, yara, snort ...), a revoked
// indicator and every comparison kizuki cannot match are reported with the
// indicator's id. The indicator's name and description become the
// description; the name of the identity that created it (created_by_ref,
// when the bundle holds that identity) becomes the source. Other objects
// (observed-data, malware, relationships ...) are not indicators and are
// only counted.
func ParseSTIX(name string, r io.Reader, lim Limits) (*List, Report, error) {
	lim = lim.withDefaults()
	data, err := readLimited(r, name, lim)
	if err != nil {
		return nil, Report{}, err
	}
	return parseSTIX(name, data, lim)
}

// stixObject holds the properties kizuki reads of a STIX object.
type stixObject struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Pattern      string `json:"pattern"`
	PatternType  string `json:"pattern_type"`
	Revoked      bool   `json:"revoked"`
	CreatedByRef string `json:"created_by_ref"`
	ValidUntil   string `json:"valid_until"`
}

// maxDescription bounds the description kept per indicator.
const maxDescription = 512

type stixLoader struct {
	b          *builder
	identities map[string]string // identity id → name
	creators   []string          // per indicator added: created_by_ref
	others     int
}

func parseSTIX(name string, data []byte, lim Limits) (*List, Report, error) {
	sl := &stixLoader{b: newBuilder(name, FormatSTIX, lim), identities: map[string]string{}}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	tok, err := dec.Token()
	if err != nil {
		return nil, Report{}, fmt.Errorf("%s: not JSON: %w", name, err)
	}
	switch tok {
	case json.Delim('['):
		if err := sl.objects(dec); err != nil {
			return nil, Report{}, fmt.Errorf("%s: %w", name, err)
		}
	case json.Delim('{'):
		single, err := sl.bundle(dec)
		if err != nil {
			return nil, Report{}, fmt.Errorf("%s: %w", name, err)
		}
		if single {
			var o stixObject
			if err := json.Unmarshal(data, &o); err != nil {
				return nil, Report{}, fmt.Errorf("%s: %w", name, err)
			}
			if err := sl.object(o); err != nil {
				return nil, Report{}, fmt.Errorf("%s: %w", name, err)
			}
		}
	default:
		return nil, Report{}, fmt.Errorf("%s: %w: a STIX bundle is a JSON object", name, ErrUnknownFormat)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Report{}, fmt.Errorf("%s: data after the bundle", name)
	}
	for i := range sl.b.list.Indicators {
		if src := sl.identities[sl.creators[i]]; src != "" {
			sl.b.list.Indicators[i].Source = src
		}
	}
	l, rep := sl.b.done(data)
	return l, rep, nil
}

// bundle reads the members of the top-level object; single is true when it
// is not a bundle but one object (its members are then decoded again as a
// whole).
func (sl *stixLoader) bundle(dec *json.Decoder) (single bool, err error) {
	typ, sawObjects := "", false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return false, err
		}
		key, _ := kt.(string)
		switch key {
		case "objects":
			t, err := dec.Token()
			if err != nil {
				return false, err
			}
			if t != json.Delim('[') {
				return false, errors.New(`"objects" is not an array`)
			}
			if err := sl.objects(dec); err != nil {
				return false, err
			}
			sawObjects = true
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return false, fmt.Errorf("type: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return false, err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return false, err
	}
	switch {
	case typ == "bundle" || sawObjects:
		return false, nil
	case typ == "indicator":
		return true, nil
	}
	return false, fmt.Errorf("%w: neither a STIX bundle nor an indicator (type %q)", ErrUnknownFormat, typ)
}

// objects reads array elements up to and including the closing bracket.
func (sl *stixLoader) objects(dec *json.Decoder) error {
	for dec.More() {
		var o stixObject
		if err := dec.Decode(&o); err != nil {
			return fmt.Errorf("object %d: %w", len(sl.creators)+sl.others+1, err)
		}
		if err := sl.object(o); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// object takes one STIX object.
func (sl *stixLoader) object(o stixObject) error {
	switch o.Type {
	case "identity":
		if o.ID != "" && len(sl.identities) < 10_000 {
			sl.identities[o.ID] = o.Name
		}
		sl.others++
		return nil
	case "indicator":
	default:
		sl.others++
		return nil
	}
	ref := o.ID
	if ref == "" {
		ref = "indicator without id"
	}
	switch {
	case o.Revoked:
		sl.b.rep.problem(ref, o.Pattern, "revoked")
		return nil
	case o.PatternType != "" && !strings.EqualFold(o.PatternType, "stix"):
		sl.b.rep.problem(ref, o.Pattern, "pattern_type "+o.PatternType+" is not supported (stix only)")
		return nil
	case o.Pattern == "":
		sl.b.rep.problem(ref, "", "no pattern")
		return nil
	}
	comps, err := parsePattern(o.Pattern)
	if err != nil {
		reason := err.Error()
		if !errors.Is(err, errUnsupported) {
			reason = "malformed pattern: " + reason
		}
		sl.b.rep.problem(ref, o.Pattern, reason)
		return nil
	}
	desc := o.Name
	if o.Description != "" {
		if desc != "" {
			desc += ": "
		}
		desc += o.Description
	}
	if o.ValidUntil != "" {
		desc += " (valid until " + o.ValidUntil + ")"
	}
	desc = truncate(desc, maxDescription)
	for _, c := range comps {
		in, err := indicatorOf(c)
		if err != nil {
			sl.b.rep.problem(ref, c.path+" "+c.op+" '"+c.value+"'", err.Error())
			continue
		}
		in.Description, in.Ref = desc, ref
		n := len(sl.b.list.Indicators)
		if err := sl.b.add(in); err != nil {
			return err
		}
		if len(sl.b.list.Indicators) > n {
			sl.creators = append(sl.creators, o.CreatedByRef)
		}
	}
	return nil
}
