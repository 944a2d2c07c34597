package sigma

import (
	"errors"
	"fmt"
)

// A rule's detection: section, parsed. Its search identifiers become
// selections; a selection is an OR of alternatives (the elements of a list),
// each an AND of items (the pairs of a map); an item tests one field (or,
// for keywords, any field) against its values. Field names stay Sigma names
// here: the logsource's field mapping is applied when the rule is compiled
// for a route (compile.go).

type detection struct {
	sels  []*selection
	names []string // selection names, in written order
	cond  *cnode   // the condition; a list of conditions is OR-ed
	conds []string // the condition text(s) as written
}

type selection struct {
	name string
	line int
	alts [][]*item // OR of AND-groups
}

// item is one detection item: Field|mods: values, or a list of keywords.
type item struct {
	field  string // Sigma field name; "" for keywords (any field)
	all    bool   // values AND-ed (|all)
	negate bool   // |neq
	groups [][]check
	line   int

	// For an OR-ed field item with many plain string values: the set that
	// tests them at once, and the other checks (groups stays whole for
	// the prefilter).
	set  *strSet
	rest [][]check
}

// parseDetection parses a detection: map. degraded is set when an |expand
// placeholder has no value.
func parseDetection(n *ynode, opt *Options) (det *detection, degraded string, err error) {
	if n == nil {
		return nil, "", errors.New("missing detection")
	}
	if n.kind != yMap {
		return nil, "", errorf(n, "detection must be a map, not a %s", n.kind)
	}
	det = &detection{}
	budget := MaxValues
	var condNode *ynode
	for i, key := range n.keys {
		v := n.items[i]
		switch key {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			// Sigma 1.x aggregation window; only meaningful with an
			// aggregation, which the condition parser rejects.
			continue
		}
		sel, deg, err := parseSelection(key, v, opt, &budget)
		if err != nil {
			return nil, "", wrapPos(fmt.Sprintf("search identifier %q", key), err)
		}
		if degraded == "" {
			degraded = deg
		}
		det.sels = append(det.sels, sel)
		det.names = append(det.names, key)
	}
	if condNode == nil {
		return nil, "", errorf(n, "detection has no condition")
	}
	switch {
	case condNode.kind == yString:
		det.conds = []string{condNode.text}
	case condNode.kind == ySeq && len(condNode.items) > 0:
		for _, c := range condNode.items {
			if c.kind != yString {
				return nil, "", errorf(c, "condition list items must be strings")
			}
			det.conds = append(det.conds, c.text)
		}
	default:
		return nil, "", errorf(condNode, "condition must be a string or a list of strings")
	}
	var roots []*cnode
	for _, c := range det.conds {
		root, err := parseCondition(c, det.names)
		if err != nil {
			return nil, "", &posError{line: condNode.line, msg: err.Error(), err: err}
		}
		roots = append(roots, root)
	}
	det.cond = roots[0]
	if len(roots) > 1 {
		det.cond = &cnode{op: cOr, kids: roots}
	}
	return det, degraded, nil
}

func parseSelection(name string, n *ynode, opt *Options, budget *int) (*selection, string, error) {
	sel := &selection{name: name, line: n.line}
	degraded := ""
	addItem := func(alt []*item, key string, v *ynode) ([]*item, error) {
		it, deg, err := parseItem(key, v, opt, budget)
		if err != nil {
			return nil, err
		}
		if degraded == "" {
			degraded = deg
		}
		return append(alt, it), nil
	}
	mapAlt := func(m *ynode) ([]*item, error) {
		if len(m.keys) == 0 {
			return nil, errorf(m, "empty map")
		}
		var alt []*item
		for i, k := range m.keys {
			var err error
			if alt, err = addItem(alt, k, m.items[i]); err != nil {
				return nil, err
			}
		}
		return alt, nil
	}
	switch n.kind {
	case yMap:
		alt, err := mapAlt(n)
		if err != nil {
			return nil, "", err
		}
		sel.alts = append(sel.alts, alt)
	case ySeq:
		if len(n.items) == 0 {
			return nil, "", errorf(n, "empty list")
		}
		// Consecutive plain values form one keyword item (OR-ed).
		var kw []*ynode
		flushKW := func() error {
			if len(kw) == 0 {
				return nil
			}
			list := &ynode{kind: ySeq, items: kw, line: kw[0].line}
			alt, err := addItem(nil, "", list)
			if err != nil {
				return err
			}
			sel.alts = append(sel.alts, alt)
			kw = nil
			return nil
		}
		for _, e := range n.items {
			switch e.kind {
			case yMap:
				if err := flushKW(); err != nil {
					return nil, "", err
				}
				alt, err := mapAlt(e)
				if err != nil {
					return nil, "", err
				}
				sel.alts = append(sel.alts, alt)
			case ySeq:
				return nil, "", errorf(e, "a list inside a list")
			default:
				kw = append(kw, e)
			}
		}
		if err := flushKW(); err != nil {
			return nil, "", err
		}
	case yNull:
		return nil, "", errorf(n, "empty search identifier")
	default:
		alt, err := addItem(nil, "", n)
		if err != nil {
			return nil, "", err
		}
		sel.alts = append(sel.alts, alt)
	}
	return sel, degraded, nil
}

// parseItem parses "Field|mods: value(s)" (key "" or "|mods" for keywords).
func parseItem(key string, v *ynode, opt *Options, budget *int) (*item, string, error) {
	field, mods, err := splitField(key)
	if err != nil {
		return nil, "", errorf(v, "%w", err)
	}
	var raw []*ynode
	switch v.kind {
	case ySeq:
		if len(v.items) == 0 {
			return nil, "", errorf(v, "field %q has an empty list of values", field)
		}
		raw = v.items
	case yMap:
		return nil, "", errorf(v, "field %q: a value cannot be a map", field)
	default:
		raw = []*ynode{v}
	}
	vals := make([]mval, len(raw))
	for i, r := range raw {
		switch r.kind {
		case yString:
			vals[i] = mval{kind: vString, s: parseSigmaString(r.text, false), raw: r.text}
		case yInt, yFloat:
			vals[i] = mval{kind: vNumber, text: r.text}
		case yBool:
			vals[i] = mval{kind: vBool, text: r.text}
		case yNull:
			vals[i] = mval{kind: vNull}
		default:
			return nil, "", errorf(r, "field %q: a value cannot be a %s", field, r.kind)
		}
	}
	*budget -= len(vals)
	if *budget < 0 {
		return nil, "", errorf(v, "more than %d values in the rule", MaxValues)
	}
	c := &itemCtx{field: field, opt: opt}
	groups, err := applyModifiers(c, mods, vals, budget)
	if err != nil {
		return nil, "", errorf(v, "field %q: %w", field, err)
	}
	it := &item{field: field, all: c.all, negate: c.negate, line: v.line}
	for _, g := range groups {
		tg := make([]check, 0, len(g))
		for _, mv := range g {
			if field == "" {
				if mv.kind == vExists || mv.kind == vFieldRef || mv.kind == vNull {
					return nil, "", errorf(v, "keyword values cannot be %s", mv.kind)
				}
				if mv.kind == vString || mv.kind == vNumber || mv.kind == vBool {
					// A keyword is found anywhere in a field value.
					s, _ := mv.asString()
					mv.kind, mv.s = vString, s.withStar(true, true)
				}
			}
			t, err := compileCheck(mv)
			if err != nil {
				return nil, "", errorf(v, "field %q: %w", field, err)
			}
			tg = append(tg, t)
		}
		it.groups = append(it.groups, tg)
	}
	if field != "" && !it.all {
		it.set, it.rest = buildStrSet(it.groups)
	}
	return it, c.degrade, nil
}
