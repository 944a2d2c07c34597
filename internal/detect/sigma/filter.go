package sigma

import (
	"errors"
	"fmt"
	"strings"
)

// Sigma filters (sigma-filters-specification.md) tune rules without editing
// them: a filter document names rules (by id or name) and a logsource, and
// its detection describes events the rules must not fire on. The
// specification's example, "Filter Administrator account ... the valid
// administrator account start with adm_" with condition "selection", makes
// the filter condition the events to drop: a rule it applies to fires when
// (rule condition) and not (filter condition).
//
// pySigma instead appends "and (filter condition)" and expects filters
// written as "condition: not selection"; with the specification's own
// examples that would keep only the administrators' events. We follow the
// specification and say so in docs/sigma.md.
//
// A filter applies to a rule when the filter's logsource fields that are set
// equal the rule's, and the rule's id or name is in rules: (rules: any, all,
// or an empty list, as pySigma accepts, mean every rule of the logsource).

// Filter is a loaded Sigma filter.
type Filter struct {
	ID          string
	Title       string
	Description string
	Date        string
	Modified    string
	Taxonomy    string
	Path        string
	Document    int
	Logsource   Logsource
	Rules       []string // ids or names of the rules it applies to
	AllRules    bool     // rules: any / all / []

	det *detection
}

// parseFilter reads a filter document.
func parseFilter(doc *ynode, path string, index int, opt *Options) (*Filter, error) {
	f := &Filter{Path: path, Document: index}
	var err error
	if f.Title, err = scalarField(doc, "title"); err != nil {
		return nil, err
	}
	if f.Title == "" {
		return nil, errorf(doc, "filter has no title")
	}
	for _, s := range []struct {
		key string
		dst *string
	}{{"id", &f.ID}, {"description", &f.Description}, {"date", &f.Date}, {"modified", &f.Modified}, {"taxonomy", &f.Taxonomy}} {
		if *s.dst, err = scalarField(doc, s.key); err != nil {
			return nil, err
		}
	}
	ls := doc.get("logsource")
	if ls == nil {
		return nil, errorf(doc, "filter has no logsource")
	}
	if f.Logsource, err = parseLogsource(ls); err != nil {
		return nil, err
	}
	fd := doc.get("filter")
	if fd == nil || fd.kind != yMap {
		return nil, errorf(doc, "filter: must be a map")
	}
	rules := fd.get("rules")
	switch {
	case rules == nil:
		return nil, errorf(fd, "filter has no rules: list (use rules: any for every rule of the logsource)")
	case rules.kind == yString && (strings.EqualFold(rules.text, "any") || strings.EqualFold(rules.text, "all")):
		f.AllRules = true
	case rules.kind == yString:
		f.Rules = []string{rules.text}
	case rules.kind == ySeq:
		for _, r := range rules.items {
			if !r.isScalar() || r.text == "" {
				return nil, errorf(r, "filter rules: items must be rule ids or names")
			}
			f.Rules = append(f.Rules, r.text)
		}
		f.AllRules = len(f.Rules) == 0
	default:
		return nil, errorf(rules, "filter rules: must be a list of rule ids or names")
	}
	// The filter's detection: every key but rules.
	det := &ynode{kind: yMap, line: fd.line}
	for i, k := range fd.keys {
		if k != "rules" {
			det.keys = append(det.keys, k)
			det.items = append(det.items, fd.items[i])
		}
	}
	d, degraded, err := parseDetection(det, opt)
	if err != nil {
		return nil, err
	}
	if degraded != "" {
		return nil, errors.New("filter: " + degraded)
	}
	if len(d.conds) != 1 {
		return nil, errorf(fd, "filter: condition must be one string")
	}
	f.det = d
	return f, nil
}

// appliesTo reports whether f applies to rule r.
func (f *Filter) appliesTo(r *Rule) bool {
	eq := func(filter, rule string) bool { return filter == "" || strings.EqualFold(filter, rule) }
	if !eq(f.Logsource.Product, r.Logsource.Product) || !eq(f.Logsource.Category, r.Logsource.Category) || !eq(f.Logsource.Service, r.Logsource.Service) {
		return false
	}
	if f.AllRules {
		return true
	}
	for _, ref := range f.Rules {
		if ref == r.ID || (r.Name != "" && ref == r.Name) {
			return true
		}
	}
	return false
}

func (f *Filter) String() string {
	if f.ID != "" {
		return fmt.Sprintf("filter %q (%s)", f.Title, f.ID)
	}
	return fmt.Sprintf("filter %q", f.Title)
}
