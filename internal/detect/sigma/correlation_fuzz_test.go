package sigma

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// FuzzParseCorrelation: any document is either a correlation or an error,
// never a panic; a correlation that parses resolves against rules of the
// names it refers to and runs without breaking its own condition.
func FuzzParseCorrelation(f *testing.F) {
	dir := testutil.Dataset(f, "sigma-specification/tests/schema/correlation")
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in %s: %v", dir, err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(bruteForce))
	f.Add([]byte(passwordSpray))
	f.Add([]byte("title: r\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [h]\n  timespan: 1s\n  condition: {gt: 1, lte: 3}\n"))
	f.Add([]byte("title: r\ncorrelation:\n  type: value_percentile\n  rules: [a, b]\n  timespan: 2m\n  condition: {field: n, percentile: 99, neq: 0}\n  aliases: {n: {a: x, b: y}}\n"))
	f.Add([]byte("title: r\ncorrelation: {type: temporal_ordered, rules: [a, b, c], group-by: [h], timespan: 1s, condition: {eq: 2}}\n"))
	f.Add([]byte("title: &a x\ncorrelation: *a\n"))
	f.Add([]byte("title: !!binary aGk=\ncorrelation: {}\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := parseCorrelation("fuzz.yml", doc)
		if err != nil {
			if c != nil {
				t.Fatal("a correlation together with an error")
			}
			return
		}
		var rules []*Rule
		for _, ref := range c.Rules {
			rules = append(rules, &Rule{ID: "id-" + ref, Name: ref})
		}
		rs := &Ruleset{rules: rules, correlations: []*Correlation{c}}
		if errs := rs.resolveCorrelations(); len(errs) > 0 {
			return // an alias naming a rule it does not refer to
		}
		corr := rs.NewCorrelatorWithLimits(CorrelationLimits{MaxGroups: 8, MaxEntries: 8, MaxEvidence: 3, MaxRawBytes: 1 << 10})
		emit := func(m *CorrelationMatch) {
			if !m.Correlation.Condition.Holds(m.Value) {
				t.Fatalf("match of value %v breaks condition %s", m.Value, m.Correlation.Condition.String())
			}
		}
		for i := range 24 {
			ref := i % len(rules)
			ev := &event.Event{Time: time.Unix(int64(i*i), 0), Raw: "raw " + strconv.Itoa(i), Origin: event.Origin{File: "f", Line: int64(i)}}
			for _, f := range c.GroupBy {
				ev.SetExtra(c.fieldFor(f, ref), strconv.Itoa(i%3))
			}
			for _, f := range c.Condition.Field {
				ev.SetExtra(c.fieldFor(f, ref), strconv.Itoa(i%5))
			}
			corr.Observe(rules[ref], ev, emit)
		}
		corr.Flush(emit)
		if corr.rawHeld != 0 {
			t.Fatalf("raw bytes held after Flush: %d", corr.rawHeld)
		}
	})
}

// corrFuzzSet is one correlation of every kind, chained ones included, over
// three base rules; fields h (group) and n (value).
const corrFuzzSet = `title: count
name: count
correlation: {type: event_count, rules: [a, b], group-by: [h], timespan: 10s, condition: {gte: 3}}
---
title: range
correlation: {type: event_count, rules: [a], group-by: [h], timespan: 10s, condition: {gt: 1, lte: 3}}
---
title: distinct
correlation: {type: value_count, rules: [a, c], group-by: [h], timespan: 10s, condition: {field: n, gte: 3}}
---
title: sum
correlation: {type: value_sum, rules: [b], group-by: [h], timespan: 10s, condition: {field: n, gt: 20}}
---
title: avg
correlation: {type: value_avg, rules: [b, c], group-by: [h], timespan: 10s, condition: {field: n, gte: 5}}
---
title: pct
correlation: {type: value_percentile, rules: [c], timespan: 10s, condition: {field: n, percentile: 75, lt: 4}}
---
title: any order
correlation: {type: temporal, rules: [a, b, c], group-by: [h], timespan: 10s}
---
title: in order
name: ordered
correlation: {type: temporal_ordered, rules: [a, b, c], group-by: [h], timespan: 10s}
---
title: ordered eq
correlation: {type: temporal_ordered, rules: [a, b, c], group-by: [h], timespan: 10s, condition: {eq: 2}}
---
title: chain
generate: true
correlation: {type: temporal_ordered, rules: [count, ordered], group-by: [h], timespan: 30s}
---
title: chain of chain
correlation: {type: event_count, rules: [count], timespan: 1m, condition: {gte: 2}}
`

// FuzzCorrelator feeds arbitrary sequences of observations (rule, time step
// that may go backwards, group, value) to every correlation type and checks
// what must always hold: matches meet their condition, eager windows are no
// wider than the timespan, evidence is capped, and Flush leaves no state.
func FuzzCorrelator(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 1, 1, 0, 2, 2, 1, 0, 3, 0, 1, 1, 4, 1, 1, 0, 5, 2, 1, 0, 6})
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0, 9, 1, 200, 0, 9, 2, 0, 1, 1})
	f.Add([]byte{2, 5, 1, 1, 2, 5, 1, 2, 2, 5, 1, 3, 2, 5, 1, 4, 2, 250, 1, 5, 2, 3, 1, 6})
	// The rule set is read-only while Correlators run: build it once.
	rules := []*Rule{{ID: "ia", Name: "a"}, {ID: "ib", Name: "b"}, {ID: "ic", Name: "c"}}
	rs := corrSet(f, rules, corrFuzzSet)
	f.Fuzz(func(t *testing.T, data []byte) {
		limits := CorrelationLimits{MaxGroups: 4, MaxEntries: 6, MaxEvidence: 3, MaxValues: 2, MaxRawBytes: 200}
		corr := rs.NewCorrelatorWithLimits(limits)
		emit := func(m *CorrelationMatch) {
			c := m.Correlation
			if !c.Condition.Holds(m.Value) {
				t.Fatalf("%s: value %v breaks %s", c.Title, m.Value, c.Condition.String())
			}
			if len(m.Evidence) > limits.MaxEvidence || len(m.Parts) > limits.MaxEvidence || len(m.Values) > limits.MaxValues {
				t.Fatalf("%s: %d evidence %d parts %d values", c.Title, len(m.Evidence), len(m.Parts), len(m.Values))
			}
			if m.Last.Before(m.First) || m.Last.Sub(m.First) > c.Timespan {
				t.Fatalf("%s: window %v – %v wider than %v", c.Title, m.First, m.Last, c.Timespan)
			}
			if m.Count < len(m.Evidence)+len(m.Parts) {
				t.Fatalf("%s: count %d < evidence %d + parts %d", c.Title, m.Count, len(m.Evidence), len(m.Parts))
			}
		}
		at := t0
		for i := 0; i+3 < len(data) && i < 4000; i += 4 {
			step := time.Duration(int8(data[i+1])) * 500 * time.Millisecond
			at = at.Add(step)
			ev := &event.Event{Time: at, Raw: "raw record " + strconv.Itoa(i), Origin: event.Origin{File: "fuzz", Line: int64(i)}}
			if data[i+2] != 255 {
				ev.SetExtra("h", strconv.Itoa(int(data[i+2]%5)))
			}
			ev.SetExtra("n", strconv.Itoa(int(data[i+3]%11)))
			corr.Observe(rules[int(data[i])%3], ev, emit)
			if corr.rawHeld < 0 || corr.rawHeld > limits.MaxRawBytes+300 {
				t.Fatalf("raw bytes held %d", corr.rawHeld)
			}
		}
		corr.Flush(emit)
		if corr.rawHeld != 0 {
			t.Fatalf("raw bytes held after Flush: %d", corr.rawHeld)
		}
		for _, s := range corr.Stats() {
			if s.LiveGroups != 0 {
				t.Fatalf("%s: %d groups after Flush", s.Correlation.Title, s.LiveGroups)
			}
		}
	})
}
