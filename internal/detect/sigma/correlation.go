package sigma

// This file holds the Sigma correlation rule (Sigma specification 2.1,
// sigma-correlation-rules-specification.md): its type, and the parsing and
// validation of one YAML document with a top-level "correlation:" key.
// Resolving the rules it refers to is in correlation_resolve.go, running it
// over base-rule matches in correlation_engine.go.

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// CorrelationType is what a correlation aggregates over its window.
type CorrelationType uint8

// The correlation types of Sigma 2.1.
const (
	// CorrEventCount counts the matches of the referenced rules per group.
	CorrEventCount CorrelationType = iota + 1
	// CorrValueCount counts the distinct values of condition.field per group.
	CorrValueCount
	// CorrTemporal needs the referenced rules to match (in any order) within
	// the timespan per group; its count is the number of distinct rules.
	CorrTemporal
	// CorrTemporalOrdered is CorrTemporal with the matches in the listed order.
	CorrTemporalOrdered
	// CorrValueSum sums the numeric condition.field per group.
	CorrValueSum
	// CorrValueAvg averages the numeric condition.field per group.
	CorrValueAvg
	// CorrValuePercentile takes a percentile of the numeric condition.field
	// per group.
	CorrValuePercentile
)

var corrTypeNames = [...]string{"", "event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile"}

// String returns the name the specification uses.
func (t CorrelationType) String() string {
	if int(t) < len(corrTypeNames) && t != 0 {
		return corrTypeNames[t]
	}
	return "correlation_type(" + strconv.Itoa(int(t)) + ")"
}

// corrParseType maps a specification name to its type.
func corrParseType(s string) (CorrelationType, bool) {
	for i, n := range corrTypeNames {
		if i > 0 && n == s {
			return CorrelationType(i), true
		}
	}
	return 0, false
}

// needsField reports whether the type aggregates condition.field.
func (t CorrelationType) needsField() bool {
	return t == CorrValueCount || t == CorrValueSum || t == CorrValueAvg || t == CorrValuePercentile
}

// temporal reports whether the type is temporal or temporal_ordered.
func (t CorrelationType) temporal() bool { return t == CorrTemporal || t == CorrTemporalOrdered }

// CorrOp is one comparison of a correlation condition.
type CorrOp uint8

// The condition operators of Sigma 2.1 (neq is new in 2.1).
const (
	CorrGT CorrOp = iota + 1
	CorrGTE
	CorrLT
	CorrLTE
	CorrEQ
	CorrNEQ
)

var corrOpNames = [...]string{"", "gt", "gte", "lt", "lte", "eq", "neq"}
var corrOpSymbols = [...]string{"", ">", ">=", "<", "<=", "==", "!="}

// String returns the operator's key in a rule ("gte").
func (o CorrOp) String() string {
	if int(o) < len(corrOpNames) && o != 0 {
		return corrOpNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// CorrTerm is one "op: value" of a condition; several terms are ANDed (the
// specification's range form, "gt: 100" and "lte: 200").
type CorrTerm struct {
	Op    CorrOp
	Value float64
}

// holds reports whether v satisfies the term.
func (t CorrTerm) holds(v float64) bool {
	switch t.Op {
	case CorrGT:
		return v > t.Value
	case CorrGTE:
		return v >= t.Value
	case CorrLT:
		return v < t.Value
	case CorrLTE:
		return v <= t.Value
	case CorrEQ:
		return v == t.Value
	case CorrNEQ:
		return v != t.Value
	}
	return false
}

// CorrelationCondition says when a correlation matches.
type CorrelationCondition struct {
	// Terms are ANDed. Never empty after parsing: a temporal correlation
	// without a condition gets "gte: number of rules" (all rules matched),
	// as pySigma does.
	Terms []CorrTerm
	// Field is condition.field: the field(s) value_count counts the
	// distinct values (tuples) of, or the one numeric field value_sum,
	// value_avg and value_percentile aggregate. Names may be aliases.
	Field []string
	// Percentile is condition.percentile (0–100] for value_percentile, an
	// extension pySigma reads; 50 (the median) when the rule gives none.
	Percentile float64
	// Implicit is set when the rule had no condition (temporal types).
	Implicit bool
}

// Holds reports whether v satisfies every term.
func (c *CorrelationCondition) Holds(v float64) bool {
	for _, t := range c.Terms {
		if !t.holds(v) {
			return false
		}
	}
	return len(c.Terms) > 0
}

// upperBounded reports whether a growing count can stop satisfying the
// condition (lt, lte, eq, neq). Such a condition is only decided when its
// window is complete; see correlation_engine.go.
func (c *CorrelationCondition) upperBounded() bool {
	for _, t := range c.Terms {
		if t.Op != CorrGT && t.Op != CorrGTE {
			return true
		}
	}
	return false
}

// String renders the condition for messages: ">= 5", "> 100 and <= 200".
func (c *CorrelationCondition) String() string {
	parts := make([]string, 0, len(c.Terms))
	for _, t := range c.Terms {
		parts = append(parts, corrOpSymbols[t.Op]+" "+strconv.FormatFloat(t.Value, 'g', -1, 64))
	}
	return strings.Join(parts, " and ")
}

// satisfiable reports whether some number satisfies every term, so that a
// contradictory range ("gt: 5" with "lt: 3") is refused at load time
// instead of silently never matching.
func (c *CorrelationCondition) satisfiable() bool {
	lo, hi := math.Inf(-1), math.Inf(1)
	loIncl, hiIncl := false, false
	var eq []float64
	var neq []float64
	for _, t := range c.Terms {
		switch t.Op {
		case CorrGT:
			if t.Value > lo || (t.Value == lo && loIncl) {
				lo, loIncl = t.Value, false
			}
		case CorrGTE:
			if t.Value > lo {
				lo, loIncl = t.Value, true
			}
		case CorrLT:
			if t.Value < hi || (t.Value == hi && hiIncl) {
				hi, hiIncl = t.Value, false
			}
		case CorrLTE:
			if t.Value < hi {
				hi, hiIncl = t.Value, true
			}
		case CorrEQ:
			eq = append(eq, t.Value)
		case CorrNEQ:
			neq = append(neq, t.Value)
		}
	}
	if len(eq) > 0 {
		for _, e := range eq {
			if e != eq[0] {
				return false
			}
		}
		return c.Holds(eq[0])
	}
	if lo > hi || (lo == hi && !(loIncl && hiIncl)) {
		return false
	}
	if lo == hi { // a single point, which a neq may exclude
		for _, n := range neq {
			if n == lo {
				return false
			}
		}
	}
	return true
}

// holdsForCount reports whether some whole number in [1, maxCount] satisfies
// the condition. Only the numbers next to the thresholds need trying.
func (c *CorrelationCondition) holdsForCount(maxCount float64) bool {
	try := func(v float64) bool { return v >= 1 && v <= maxCount && c.Holds(v) }
	if try(1) || try(maxCount) {
		return true
	}
	for _, t := range c.Terms {
		for _, v := range []float64{math.Floor(t.Value) - 1, math.Floor(t.Value), math.Floor(t.Value) + 1, math.Ceil(t.Value) + 1} {
			if try(v) {
				return true
			}
		}
	}
	return false
}

// Correlation is one Sigma correlation rule.
type Correlation struct {
	// Path is the file the rule was read from, for messages. Doc (0-based
	// document index) and Line (1-based line of the document in the file)
	// are set by the loader when it knows them.
	Path string
	Doc  int
	Line int

	// Metadata, as written. Only the outermost correlation of a chain is
	// expected to carry status, level and the like (specification).
	Title          string
	ID             string
	Name           string
	Status         string
	Description    string
	Author         string // shown with every match (Detection Rule License)
	References     []string
	Date           string
	Modified       string
	Level          string
	Taxonomy       string
	Tags           []string
	FalsePositives []string

	// Generate says whether the referenced rules keep producing their own
	// matches. False (the default) suppresses them: they only feed this
	// correlation.
	Generate bool

	Type CorrelationType
	// Rules are the references as written: ids or names of Sigma rules or
	// of other correlations (chaining).
	Rules []string
	// GroupBy are the fields (or aliases) whose values must be equal for
	// matches to be counted together. Empty: all matches form one group.
	GroupBy []string
	// Timespan is the width of the window; TimespanText is as written.
	Timespan     time.Duration
	TimespanText string
	Condition    CorrelationCondition
	// Aliases maps an alias (usable in GroupBy and Condition.Field) to, per
	// referenced rule name, the field that holds its value in that rule's
	// events.
	Aliases map[string]map[string]string

	// Warnings are non-fatal remarks from parsing (a missing group-by, an
	// implicit percentile) for the rule report.
	Warnings []string

	// Set by resolveCorrelations.
	refs     []corrRef // the resolved Rules, same order
	resolved bool
	// suppressed is set when a correlation with generate: false refers to
	// this one: its matches only feed that correlation.
	suppressed bool
}

// corrRef is one resolved reference: a base rule or a correlation.
type corrRef struct {
	text string // as written in rules:
	rule *Rule
	corr *Correlation
}

// Output reports whether the correlation's own matches are reported: false
// when a correlation that refers to it has generate: false (it is then a
// building block of that chain).
func (c *Correlation) Output() bool { return !c.suppressed }

// String names the correlation for messages: its title and where it is.
func (c *Correlation) String() string {
	s := strconv.Quote(c.Title)
	if c.ID != "" {
		s += " (" + c.ID + ")"
	}
	if c.Path != "" {
		s += " in " + c.Path
	}
	return s
}

// Limits on what a correlation document may hold. They bound the work and
// memory one hostile or broken file can cost; real rules are far below.
const (
	// MaxCorrelationBytes bounds one correlation document.
	MaxCorrelationBytes = 1 << 20
	// MaxCorrelationRules bounds the rules a correlation refers to.
	MaxCorrelationRules = 256
	// MaxCorrelationFields bounds group-by fields and condition fields.
	MaxCorrelationFields = 64
	// MaxTimespan bounds the window: a window of years would keep every
	// match in memory for the whole run.
	MaxTimespan = 366 * 24 * time.Hour
)

// corrTimespanUnit gives the length in seconds of a timespan unit: those of
// the specification (s m h d) and those pySigma also accepts (w, M = month,
// y = year).
func corrTimespanUnit(u byte) (int64, bool) {
	switch u {
	case 's':
		return 1, true
	case 'm':
		return 60, true
	case 'h':
		return 3600, true
	case 'd':
		return 86400, true
	case 'w':
		return 604800, true
	case 'M':
		return 2629746, true
	case 'y':
		return 31556952, true
	}
	return 0, false
}

// ParseCorrelationTimespan reads a correlation timespan: a positive integer followed
// by one unit letter, "90m", "1h", "7d".
func ParseCorrelationTimespan(s string) (time.Duration, error) {
	if len(s) > 10 {
		return 0, fmt.Errorf("timespan %q: too long (at most 10 characters)", s)
	}
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h, d, w, M, y), e.g. \"5m\"", s)
	}
	unit, ok := corrTimespanUnit(s[len(s)-1])
	if !ok {
		return 0, fmt.Errorf("timespan %q: unknown unit %q (want s, m, h, d, w, M or y)", s, s[len(s)-1:])
	}
	digits := s[:len(s)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("timespan %q: %q is not a whole number", s, digits)
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timespan %q: %w", s, err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("timespan %q: must be greater than zero", s)
	}
	if n > int64(MaxTimespan/time.Second)/unit {
		return 0, fmt.Errorf("timespan %q: longer than the %v kizuki keeps windows for", s, MaxTimespan)
	}
	return time.Duration(n*unit) * time.Second, nil
}

// corrSectionKey reports whether k is an attribute of the correlation:
// section.
func corrSectionKey(k string) bool {
	switch k {
	case "type", "rules", "group-by", "timespan", "condition", "aliases", "generate":
		return true
	}
	return false
}

// corrLevel reports whether s is a Sigma level.
func corrLevel(s string) bool {
	switch s {
	case "informational", "low", "medium", "high", "critical":
		return true
	}
	return false
}

// corrStatus reports whether s is a Sigma status.
func corrStatus(s string) bool {
	switch s {
	case "stable", "test", "experimental", "deprecated", "unsupported":
		return true
	}
	return false
}

// parseCorrelation reads one YAML document that has a top-level
// "correlation:" key. The rule loader calls it for each such document and
// wraps its errors in a LoadError naming the file, document and title, so the
// errors here say only what is wrong. A broken document never panics
// (goccy/go-yaml has panicked on fuzzed input; its panics become errors).
func parseCorrelation(path string, doc []byte) (*Correlation, error) {
	if len(doc) > MaxCorrelationBytes {
		return nil, fmt.Errorf("correlation document of %d bytes is larger than %d", len(doc), MaxCorrelationBytes)
	}
	var m map[string]any
	if err := corrDecodeYAML(doc, &m); err != nil {
		return nil, err
	}
	c, err := corrFromMap(m)
	if err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

// corrDecodeYAML is yaml.Unmarshal that turns a panic of the decoder into an
// error and keeps only the first line of its messages (goccy appends a
// source excerpt).
func corrDecodeYAML(doc []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	if err := yaml.Unmarshal(doc, v); err != nil {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return errors.New("invalid YAML: " + strings.TrimSpace(msg))
	}
	return nil
}

// corrFromMap validates a decoded document.
func corrFromMap(m map[string]any) (*Correlation, error) {
	c := &Correlation{}
	if m == nil {
		return c, errors.New("empty document")
	}
	var err error
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		*dst, err = corrOptString(m, key)
	}
	strs := func(key string, dst *[]string) {
		if err != nil {
			return
		}
		*dst, err = corrOptStrings(m, key)
	}
	str("title", &c.Title)
	str("id", &c.ID)
	str("name", &c.Name)
	str("status", &c.Status)
	str("description", &c.Description)
	str("author", &c.Author)
	str("date", &c.Date)
	str("modified", &c.Modified)
	str("level", &c.Level)
	str("taxonomy", &c.Taxonomy)
	strs("references", &c.References)
	strs("tags", &c.Tags)
	strs("falsepositives", &c.FalsePositives)
	if err != nil {
		return c, err
	}
	switch {
	case c.Title == "":
		return c, errors.New("title is missing (mandatory)")
	case len(c.Title) > 256:
		return c, fmt.Errorf("title is %d characters long, more than 256", len(c.Title))
	case len(c.Description) > 65535:
		return c, fmt.Errorf("description is %d characters long, more than 65,535", len(c.Description))
	case c.Level != "" && !corrLevel(c.Level):
		return c, fmt.Errorf("level %q is not one of informational, low, medium, high, critical", c.Level)
	case c.Status != "" && !corrStatus(c.Status):
		return c, fmt.Errorf("status %q is not one of stable, test, experimental, deprecated, unsupported", c.Status)
	}
	for _, d := range [][2]string{{"date", c.Date}, {"modified", c.Modified}} {
		if d[1] != "" && !corrIsISODate(d[1]) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s %q is not a YYYY-MM-DD date", d[0], d[1]))
		}
	}

	raw, ok := m["correlation"]
	if !ok || raw == nil {
		return c, errors.New("correlation section is missing")
	}
	sec, ok := raw.(map[string]any)
	if !ok {
		return c, fmt.Errorf("correlation must be a mapping, not %s", corrYAMLKind(raw))
	}
	for _, k := range corrSortedKeys(sec) {
		if !corrSectionKey(k) {
			return c, fmt.Errorf("correlation.%s is not a correlation attribute (want type, rules, group-by, timespan, condition, aliases)", k)
		}
	}

	// generate: a top-level attribute in the specification and its schema;
	// pySigma reads it inside correlation:. Both are accepted.
	gen, genSet, err := corrOptBool(m, "generate")
	if err != nil {
		return c, err
	}
	gen2, gen2Set, err := corrOptBool(sec, "generate")
	if err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	if genSet && gen2Set && gen != gen2 {
		return c, errors.New("generate is given twice (top level and in correlation) with different values")
	}
	c.Generate = gen || gen2

	typ, err := corrOptString(sec, "type")
	if err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	if typ == "" {
		return c, errors.New("correlation.type is missing (want event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile)")
	}
	if c.Type, ok = corrParseType(typ); !ok {
		return c, fmt.Errorf("correlation.type %q is unknown (want event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile)", typ)
	}

	if c.Rules, err = corrOptStrings(sec, "rules"); err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	if len(c.Rules) == 0 {
		return c, errors.New("correlation.rules is missing or empty (want the ids or names of the rules to correlate)")
	}
	if len(c.Rules) > MaxCorrelationRules {
		return c, fmt.Errorf("correlation.rules lists %d rules, more than %d", len(c.Rules), MaxCorrelationRules)
	}
	if err := corrCheckUnique("correlation.rules", c.Rules); err != nil {
		return c, err
	}

	if c.GroupBy, err = corrOptStrings(sec, "group-by"); err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	if len(c.GroupBy) > MaxCorrelationFields {
		return c, fmt.Errorf("correlation.group-by lists %d fields, more than %d", len(c.GroupBy), MaxCorrelationFields)
	}
	if err := corrCheckUnique("correlation.group-by", c.GroupBy); err != nil {
		return c, err
	}
	if _, present := sec["group-by"]; !present {
		c.Warnings = append(c.Warnings, "correlation.group-by is missing: all matches form one group")
	}

	ts, err := corrOptString(sec, "timespan")
	if err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	if ts == "" {
		return c, errors.New("correlation.timespan is missing (e.g. \"5m\")")
	}
	if c.Timespan, err = ParseCorrelationTimespan(ts); err != nil {
		return c, fmt.Errorf("correlation.%w", err)
	}
	c.TimespanText = ts

	if err := c.parseAliases(sec["aliases"]); err != nil {
		return c, err
	}
	if err := c.parseCondition(sec); err != nil {
		return c, err
	}
	return c, nil
}

// parseAliases reads correlation.aliases: alias → rule name → field.
func (c *Correlation) parseAliases(raw any) error {
	if raw == nil {
		return nil
	}
	am, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("correlation.aliases must be a mapping of alias to (rule name: field), not %s", corrYAMLKind(raw))
	}
	if len(am) > MaxCorrelationFields {
		return fmt.Errorf("correlation.aliases defines %d aliases, more than %d", len(am), MaxCorrelationFields)
	}
	c.Aliases = make(map[string]map[string]string, len(am))
	for _, alias := range corrSortedKeys(am) {
		per, ok := am[alias].(map[string]any)
		if !ok {
			return fmt.Errorf("correlation.aliases.%s must be a mapping of rule name to field name, not %s", alias, corrYAMLKind(am[alias]))
		}
		if len(per) == 0 {
			return fmt.Errorf("correlation.aliases.%s maps no rule", alias)
		}
		fields := make(map[string]string, len(per))
		for _, rule := range corrSortedKeys(per) {
			f, ok := per[rule].(string)
			if !ok || f == "" {
				return fmt.Errorf("correlation.aliases.%s.%s must be a field name, not %s", alias, rule, corrYAMLKind(per[rule]))
			}
			fields[rule] = f
		}
		c.Aliases[alias] = fields
	}
	return nil
}

// parseCondition reads correlation.condition and checks it against the type.
func (c *Correlation) parseCondition(sec map[string]any) error {
	raw, present := sec["condition"]
	if !present || raw == nil {
		if !c.Type.temporal() {
			return fmt.Errorf("correlation.condition is missing (mandatory for %s; e.g. \"gte: 5\")", c.Type)
		}
		// All referenced rules must match (specification: "All events
		// defined by the rules ... must occur").
		c.Condition = CorrelationCondition{Terms: []CorrTerm{{CorrGTE, float64(len(c.Rules))}}, Implicit: true}
		return nil
	}
	cm, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("correlation.condition must be a mapping such as \"gte: 5\", not %s", corrYAMLKind(raw))
	}
	cond := CorrelationCondition{}
	for _, k := range corrSortedKeys(cm) {
		if k == "field" || k == "percentile" {
			continue
		}
		op := CorrOp(0)
		for i, n := range corrOpNames {
			if i > 0 && n == k {
				op = CorrOp(i)
			}
		}
		if op == 0 {
			return fmt.Errorf("correlation.condition.%s is unknown (want gt, gte, lt, lte, eq, neq and, for value types, field)", k)
		}
		v, err := corrNumber(cm[k])
		if err != nil {
			return fmt.Errorf("correlation.condition.%s: %w", k, err)
		}
		cond.Terms = append(cond.Terms, CorrTerm{op, v})
	}
	// Keep the written order stable: operators in their canonical order.
	sort.Slice(cond.Terms, func(i, j int) bool { return cond.Terms[i].Op < cond.Terms[j].Op })
	if len(cond.Terms) == 0 {
		return errors.New("correlation.condition has no comparison (want one of gt, gte, lt, lte, eq, neq)")
	}
	if !cond.satisfiable() {
		return fmt.Errorf("correlation.condition %s can never hold", cond.String())
	}
	if !c.Type.needsField() || c.Type == CorrValueCount {
		// A count is a whole number from 1 up (for temporal types, up to
		// the number of rules).
		maxCount := math.Inf(1)
		if c.Type.temporal() {
			maxCount = float64(len(c.Rules))
		}
		if !cond.holdsForCount(maxCount) {
			rng := "a whole number from 1 up"
			if !math.IsInf(maxCount, 1) {
				rng = fmt.Sprintf("a whole number from 1 to %v, the number of rules", maxCount)
			}
			return fmt.Errorf("correlation.condition %s can never hold: the %s count is %s", cond.String(), c.Type, rng)
		}
	}

	if f, present := cm["field"]; present {
		fields, err := corrStringList(f)
		if err != nil {
			return fmt.Errorf("correlation.condition.field: %w", err)
		}
		if len(fields) > MaxCorrelationFields {
			return fmt.Errorf("correlation.condition.field lists %d fields, more than %d", len(fields), MaxCorrelationFields)
		}
		cond.Field = fields
	}
	switch {
	case c.Type.needsField() && len(cond.Field) == 0:
		return fmt.Errorf("correlation.condition.field is required for %s (the field whose values are aggregated)", c.Type)
	case !c.Type.needsField() && len(cond.Field) > 0:
		return fmt.Errorf("correlation.condition.field is only meaningful for value_count, value_sum, value_avg and value_percentile, not %s", c.Type)
	case len(cond.Field) > 1 && c.Type != CorrValueCount:
		return fmt.Errorf("correlation.condition.field: %s aggregates one numeric field, got %d", c.Type, len(cond.Field))
	}
	if err := corrCheckUnique("correlation.condition.field", cond.Field); err != nil {
		return err
	}

	if p, present := cm["percentile"]; present {
		if c.Type != CorrValuePercentile {
			return fmt.Errorf("correlation.condition.percentile is only meaningful for value_percentile, not %s", c.Type)
		}
		v, err := corrNumber(p)
		if err != nil {
			return fmt.Errorf("correlation.condition.percentile: %w", err)
		}
		if v <= 0 || v > 100 {
			return fmt.Errorf("correlation.condition.percentile %v is not in (0, 100]", v)
		}
		cond.Percentile = v
	} else if c.Type == CorrValuePercentile {
		cond.Percentile = 50
		c.Warnings = append(c.Warnings, "correlation.condition.percentile is not given: using 50 (the median)")
	}
	c.Condition = cond
	return nil
}

// corrOptString reads an optional string attribute. Numbers and booleans are
// accepted as their text (an id written as a bare number).
func corrOptString(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := corrScalarText(v)
	if !ok {
		return "", fmt.Errorf("%s must be a string, not %s", key, corrYAMLKind(v))
	}
	return s, nil
}

// corrOptStrings reads an optional string or list of strings.
func corrOptStrings(m map[string]any, key string) ([]string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	out, err := corrStringList(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return out, nil
}

// corrOptBool reads an optional boolean, reporting whether it was given.
func corrOptBool(m map[string]any, key string) (bool, bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, fmt.Errorf("%s must be true or false, not %s", key, corrYAMLKind(v))
	}
	return b, true, nil
}

// corrStringList accepts one string or a list of strings, none of them empty.
func corrStringList(v any) ([]string, error) {
	if s, ok := corrScalarText(v); ok {
		if s == "" {
			return nil, errors.New("empty string")
		}
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a string or a list of strings, not %s", corrYAMLKind(v))
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := corrScalarText(e)
		if !ok {
			return nil, fmt.Errorf("item %d is %s, not a string", i+1, corrYAMLKind(e))
		}
		if s == "" {
			return nil, fmt.Errorf("item %d is empty", i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// corrScalarText renders a YAML scalar as the text a rule author wrote.
func corrScalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.Format("2006-01-02"), true
	}
	return "", false
}

// corrNumber reads a condition threshold: an integer or a finite number.
func corrNumber(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case uint64:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		// goccy leaves "1e3" as a string; a quoted number is accepted too.
		p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		f = p
	default:
		return 0, fmt.Errorf("want a number, not %s", corrYAMLKind(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return f, nil
}

// corrYAMLKind names the YAML shape of a decoded value for messages.
func corrYAMLKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case uint64, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// corrCheckUnique refuses a list with a repeated item.
func corrCheckUnique(what string, list []string) error {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if seen[s] {
			return fmt.Errorf("%s lists %q twice", what, s)
		}
		seen[s] = true
	}
	return nil
}

// corrSortedKeys returns a map's keys in order, so that the first error reported
// for a document is always the same.
func corrSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// corrIsISODate reports whether s is YYYY-MM-DD.
func corrIsISODate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}
