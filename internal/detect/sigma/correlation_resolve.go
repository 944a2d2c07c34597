package sigma

// This file links correlation rules to the rules they refer to, once every
// file of a rule set is loaded: references by id or name, chains of
// correlations, aliases, and the generate decision (whether the referenced
// rules still report their own matches).

import (
	"errors"
	"fmt"
)

// Correlations returns the correlation rules of the set that loaded and
// resolved, in load order.
func (rs *Ruleset) Correlations() []*Correlation { return rs.correlations }

// RuleOutput reports whether a base rule's own matches are reported. A rule
// referred to by a correlation with generate: false (the default) only feeds
// that correlation, as the specification says; every other rule reports.
func (rs *Ruleset) RuleOutput(r *Rule) bool {
	for _, c := range rs.correlations {
		if c.Generate {
			continue
		}
		for _, ref := range c.refs {
			if ref.rule == r {
				return false
			}
		}
	}
	return true
}

// resolveCorrelations resolves the references of every correlation of the
// set. The loader calls it once all files are loaded (references may point
// into other files), and again after Merge. A correlation that cannot be
// resolved (a rule that does not exist or is ambiguous, a cycle, an alias
// for a rule it does not refer to) is removed from the set and returned as a
// LoadError naming its file; the others are kept and run.
//
// For each correlation that resolves, the base rules it refers to get
// Correlated = true, and when its generate is false, the rules and
// correlations it refers to stop reporting their own matches (RuleOutput,
// Correlation.Output).
func (rs *Ruleset) resolveCorrelations() []*LoadError {
	rules := rs.rules
	rulesByID := make(map[string][]*Rule, len(rules))
	rulesByName := make(map[string][]*Rule)
	for _, r := range rules {
		r.Correlated = false
		if r.ID != "" {
			rulesByID[r.ID] = append(rulesByID[r.ID], r)
		}
		if r.Name != "" {
			rulesByName[r.Name] = append(rulesByName[r.Name], r)
		}
	}
	// Ids and names are unique, as for rules: the first correlation loaded
	// keeps an id or name, a later one that reuses it is refused.
	failed := make(map[*Correlation]error)
	corrsByID := make(map[string][]*Correlation)
	corrsByName := make(map[string][]*Correlation)
	for _, c := range rs.correlations {
		c.refs, c.resolved, c.suppressed = nil, false, false
		for _, key := range []string{c.ID, c.Name} {
			if key == "" || failed[c] != nil {
				continue
			}
			switch {
			case len(rulesByID[key])+len(rulesByName[key]) > 0:
				r := append(rulesByID[key], rulesByName[key]...)[0]
				failed[c] = fmt.Errorf("id or name %q is already used by rule %q in %s", key, r.Title, r.Path)
			case len(corrsByID[key])+len(corrsByName[key]) > 0:
				o := append(corrsByID[key], corrsByName[key]...)[0]
				failed[c] = fmt.Errorf("id or name %q is already used by correlation %s", key, o)
			}
		}
		if failed[c] != nil {
			continue
		}
		if c.ID != "" {
			corrsByID[c.ID] = append(corrsByID[c.ID], c)
		}
		if c.Name != "" && c.Name != c.ID {
			corrsByName[c.Name] = append(corrsByName[c.Name], c)
		}
	}
	for _, c := range rs.correlations {
		if failed[c] != nil {
			continue
		}
		if err := c.resolveRefs(rulesByID, rulesByName, corrsByID, corrsByName); err != nil {
			failed[c] = err
		}
	}
	// A correlation that refers to a broken one, or that sits on a cycle of
	// references, cannot run either.
	for changed := true; changed; {
		changed = false
		for _, c := range rs.correlations {
			if failed[c] != nil {
				continue
			}
			for _, ref := range c.refs {
				if ref.corr != nil && failed[ref.corr] != nil {
					failed[c] = fmt.Errorf("refers to correlation %q, which cannot be loaded", ref.text)
					changed = true
					break
				}
			}
		}
	}
	for _, c := range rs.correlations {
		if failed[c] == nil && corrOnCycle(c) {
			failed[c] = errors.New("its references form a cycle (a correlation that refers back to itself)")
		}
	}

	var errs []*LoadError
	kept := rs.correlations[:0]
	for _, c := range rs.correlations {
		if err := failed[c]; err != nil {
			errs = append(errs, &LoadError{Path: c.Path, Doc: c.Doc, Line: c.Line, ID: c.ID, Title: c.Title,
				Err: fmt.Errorf("correlation not loaded: %w", err)})
			continue
		}
		c.resolved = true
		kept = append(kept, c)
	}
	for i := len(kept); i < len(rs.correlations); i++ {
		rs.correlations[i] = nil
	}
	rs.correlations = kept

	for _, c := range rs.correlations {
		for _, ref := range c.refs {
			if ref.rule != nil {
				ref.rule.Correlated = true
			}
			if !c.Generate && ref.corr != nil {
				ref.corr.suppressed = true
			}
		}
	}
	return errs
}

// resolveRefs finds what each entry of rules: names, by id first, then by
// name (the specification's lookup table), and checks the aliases.
func (c *Correlation) resolveRefs(rulesByID, rulesByName map[string][]*Rule, corrsByID, corrsByName map[string][]*Correlation) error {
	c.refs = make([]corrRef, 0, len(c.Rules))
	for _, text := range c.Rules {
		rs, cs := rulesByID[text], corrsByID[text]
		if len(rs)+len(cs) == 0 {
			rs, cs = rulesByName[text], corrsByName[text]
		}
		switch n := len(rs) + len(cs); {
		case n == 0:
			return fmt.Errorf("rule %q is not loaded (no rule or correlation has that id or name)", text)
		case n > 1:
			return fmt.Errorf("rule %q is ambiguous: %d loaded rules have that id or name", text, n)
		}
		ref := corrRef{text: text}
		if len(rs) == 1 {
			ref.rule = rs[0]
		} else {
			ref.corr = cs[0]
			if ref.corr == c {
				return fmt.Errorf("rule %q is this correlation itself", text)
			}
		}
		for _, prev := range c.refs {
			if (ref.rule != nil && prev.rule == ref.rule) || (ref.corr != nil && prev.corr == ref.corr) {
				return fmt.Errorf("rules %q and %q are the same rule", prev.text, text)
			}
		}
		c.refs = append(c.refs, ref)
	}
	for _, alias := range corrSortedKeys(c.Aliases) {
		for _, key := range corrSortedKeys(c.Aliases[alias]) {
			if c.refIndex(key) < 0 {
				return fmt.Errorf("aliases.%s names rule %q, which is not in its rules", alias, key)
			}
		}
	}
	return nil
}

// refIndex finds the reference an alias key names: the reference as written,
// or the referred rule's name or id. -1 when none.
func (c *Correlation) refIndex(key string) int {
	for i, ref := range c.refs {
		if ref.text == key {
			return i
		}
	}
	for i, ref := range c.refs {
		var id, name string
		if ref.rule != nil {
			id, name = ref.rule.ID, ref.rule.Name
		} else {
			id, name = ref.corr.ID, ref.corr.Name
		}
		if key == name || key == id {
			return i
		}
	}
	return -1
}

// fieldFor returns the field that holds group-by field or alias f in the
// events of reference i.
func (c *Correlation) fieldFor(f string, i int) string {
	per, ok := c.Aliases[f]
	if !ok {
		return f
	}
	for key, field := range per {
		if c.refIndex(key) == i {
			return field
		}
	}
	return f
}

// corrOnCycle reports whether following c's correlation references leads
// back to c. Chains are short; the walk is bounded by the set's size.
func corrOnCycle(c *Correlation) bool {
	seen := map[*Correlation]bool{}
	stack := []*Correlation{c}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ref := range cur.refs {
			if ref.corr == nil {
				continue
			}
			if ref.corr == c {
				return true
			}
			if !seen[ref.corr] {
				seen[ref.corr] = true
				stack = append(stack, ref.corr)
			}
		}
	}
	return false
}

// corrDepth is how many correlations lie below c in its chain (0 when it
// refers only to base rules); the Correlator flushes inner ones first.
func corrDepth(c *Correlation, memo map[*Correlation]int) int {
	if d, ok := memo[c]; ok {
		return d
	}
	memo[c] = 0 // cycles were refused by resolveCorrelations; guard anyway
	d := 0
	for _, ref := range c.refs {
		if ref.corr != nil {
			if x := corrDepth(ref.corr, memo) + 1; x > d {
				d = x
			}
		}
	}
	memo[c] = d
	return d
}
