package sigma

import (
	"fmt"
	"strings"
)

// Value modifiers (Field|mod1|mod2: value) are applied left to right to each
// value of a detection item, as the specification says. A modifier either
// transforms values (base64, windash, contains... may turn one value into
// several: an "expansion", whose members stay OR-ed even under |all), changes
// their type (re, cidr, lt, exists, fieldref...), or changes the item as a
// whole (all, neq).
//
// They are grouped one file per category, as Hayabusa does:
//
//	modifiers_string.go    contains startswith endswith windash cased, and
//	                       the wildcard matcher
//	modifiers_encoding.go  base64 base64offset utf16le utf16be utf16 wide
//	modifiers_regex.go     re and its flags i m s
//	modifiers_cidr.go      cidr
//	modifiers_numeric.go   lt lte gt gte
//	modifiers_time.go      minute hour day week month year
//	modifiers_fieldref.go  fieldref
//	modifiers_generic.go   all neq exists
//	modifiers_expand.go    expand (placeholders)
//
// To add a modifier: write its function (a valueMod or an itemMod) in the
// file of its category, add its name to lookupModifier below, give it a test
// of its own in that category's _test.go (spec example, positive and
// negative), and list it in docs/sigma.md. A modifier that introduces a new
// kind of test adds a testKind in match.go and its evaluation next to the
// modifier.

// vkind is the type of a rule value while modifiers work on it.
type vkind uint8

const (
	vString   vkind = iota // a Sigma string (wildcards)
	vNumber                // an unquoted YAML number; text as written
	vBool                  // an unquoted YAML boolean
	vNull                  // null: the field is absent
	vRegex                 // |re
	vCIDR                  // |cidr
	vCompare               // |lt |lte |gt |gte
	vExists                // |exists
	vFieldRef              // |fieldref
	vTimePart              // |hour, |day, ...
)

func (k vkind) String() string {
	return [...]string{"string", "number", "boolean", "null", "regular expression", "CIDR", "numeric comparison", "exists", "field reference", "time part"}[k]
}

// mval is one value on its way through the modifiers.
type mval struct {
	kind  vkind
	s     sstring // vString
	raw   string  // vString: the text as written in the rule (for |re)
	text  string  // vNumber, vBool: as written; vRegex: the expression; vCIDR: the network; vFieldRef: the field
	cased bool    // |cased: compare case-sensitively

	reFlags string // vRegex: any of "i", "m", "s"

	op  cmpOp   // vCompare
	num float64 // vCompare, vTimePart: the number compared with

	exists bool // vExists

	refPrefix, refSuffix bool // vFieldRef: startswith / endswith / both (contains)

	tpart timePart // vTimePart

	never string // non-empty: the value can never match, and why (unresolved placeholder)
}

// asString returns v as a Sigma string when it is text-like: numbers and
// booleans become their text, so that Field|contains: 42 works.
func (v mval) asString() (sstring, bool) {
	switch v.kind {
	case vString:
		return v.s, true
	case vNumber, vBool:
		return sstring{{kind: pLit, s: v.text}}, true
	}
	return nil, false
}

// itemCtx is what a modifier knows about the detection item it works on.
type itemCtx struct {
	field   string   // "" for keywords
	applied []string // modifiers applied before this one
	opt     *Options
	all     bool   // |all
	negate  bool   // |neq
	degrade string // set by expand when a placeholder has no value
}

func (c *itemCtx) hasApplied(name string) bool {
	for _, a := range c.applied {
		if a == name {
			return true
		}
	}
	return false
}

// valueMod transforms one value into one or more (an expansion).
type valueMod func(c *itemCtx, v mval) ([]mval, error)

// itemMod changes the detection item as a whole.
type itemMod func(c *itemCtx) error

// modifier is one entry of the registry: exactly one of value and item is set.
type modifier struct {
	value valueMod
	item  itemMod
}

// lookupModifier is the registry of modifiers by name.
func lookupModifier(name string) (modifier, bool) {
	switch name {
	// modifiers_string.go
	case "contains":
		return modifier{value: modContains}, true
	case "startswith":
		return modifier{value: modStartswith}, true
	case "endswith":
		return modifier{value: modEndswith}, true
	case "windash":
		return modifier{value: modWindash}, true
	case "cased":
		return modifier{value: modCased}, true
	// modifiers_encoding.go
	case "base64":
		return modifier{value: modBase64}, true
	case "base64offset":
		return modifier{value: modBase64Offset}, true
	case "utf16le", "wide":
		return modifier{value: modUTF16LE}, true
	case "utf16be":
		return modifier{value: modUTF16BE}, true
	case "utf16":
		return modifier{value: modUTF16}, true
	// modifiers_regex.go
	case "re":
		return modifier{value: modRegex}, true
	case "i", "ignorecase":
		return modifier{value: modRegexFlag('i')}, true
	case "m", "multiline":
		return modifier{value: modRegexFlag('m')}, true
	case "s", "dotall":
		return modifier{value: modRegexFlag('s')}, true
	// modifiers_cidr.go
	case "cidr":
		return modifier{value: modCIDR}, true
	// modifiers_numeric.go
	case "lt":
		return modifier{value: modCompare(cmpLT)}, true
	case "lte":
		return modifier{value: modCompare(cmpLTE)}, true
	case "gt":
		return modifier{value: modCompare(cmpGT)}, true
	case "gte":
		return modifier{value: modCompare(cmpGTE)}, true
	// modifiers_time.go
	case "minute", "hour", "day", "week", "month", "year":
		return modifier{value: modTimePart(name)}, true
	// modifiers_fieldref.go
	case "fieldref":
		return modifier{value: modFieldRef}, true
	// modifiers_generic.go
	case "all":
		return modifier{item: modAll}, true
	case "neq":
		return modifier{item: modNeq}, true
	case "exists":
		return modifier{value: modExists}, true
	// modifiers_expand.go
	case "expand":
		return modifier{value: modExpand}, true
	}
	return modifier{}, false
}

// MaxValues caps the values of one rule after expansion (windash, expand and
// base64offset multiply them). The largest SigmaHQ rule has ~4,400.
const MaxValues = 100_000

// applyModifiers runs the modifier chain mods over the values of one
// detection item. It returns the value groups: each group is the expansion of
// one written value (OR-ed inside); groups are OR-ed, or AND-ed under |all.
func applyModifiers(c *itemCtx, mods []string, vals []mval, budget *int) ([][]mval, error) {
	groups := make([][]mval, len(vals))
	for i, v := range vals {
		groups[i] = []mval{v}
	}
	for _, name := range mods {
		m, ok := lookupModifier(name)
		if !ok {
			return nil, fmt.Errorf("unknown modifier %q", name)
		}
		if m.item != nil {
			if err := m.item(c); err != nil {
				return nil, fmt.Errorf("modifier %s: %w", name, err)
			}
			c.applied = append(c.applied, name)
			continue
		}
		for gi, g := range groups {
			var out []mval
			for _, v := range g {
				r, err := m.value(c, v)
				if err != nil {
					return nil, fmt.Errorf("modifier %s: %w", name, err)
				}
				*budget -= len(r) - 1
				if *budget < 0 {
					return nil, fmt.Errorf("modifier %s: more than %d values after expansion", name, MaxValues)
				}
				out = append(out, r...)
			}
			groups[gi] = out
		}
		c.applied = append(c.applied, name)
	}
	return groups, nil
}

// splitField cuts "Field|mod1|mod2" into the field and its modifiers.
func splitField(key string) (string, []string, error) {
	parts := strings.Split(key, "|")
	field := parts[0]
	mods := parts[1:]
	for _, m := range mods {
		if m == "" {
			return "", nil, fmt.Errorf("empty modifier in %q", key)
		}
	}
	return field, mods, nil
}

func typeError(mod string, v mval) error {
	return fmt.Errorf("%s does not apply to a %s value", mod, v.kind)
}
