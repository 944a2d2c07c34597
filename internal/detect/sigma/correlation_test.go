package sigma

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// The specification's own schema tests: every one is a valid correlation.
func TestParseCorrelationSpecTests(t *testing.T) {
	dir := testutil.Dataset(t, "sigma-specification/tests/schema/correlation")
	want := map[string]struct {
		typ      CorrelationType
		rules    []string
		groupBy  []string
		timespan time.Duration
		cond     string
		field    []string
	}{
		"event_count.yml":      {CorrEventCount, []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, []string{"ComputerName"}, time.Hour, ">= 100", nil},
		"event_count_ecs.yml":  {CorrEventCount, []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, []string{"dns.question.name"}, time.Hour, ">= 100", nil},
		"temporal.yml":         {CorrTemporal, []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, []string{"ComputerName", "User"}, 5 * time.Minute, ">= 3", nil},
		"temporal_ordered.yml": {CorrTemporalOrdered, []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, []string{"ComputerName", "User"}, 5 * time.Minute, ">= 3", nil},
		"value_avg.yml":        {CorrValueAvg, []string{"rule_a_id"}, []string{"SourceIP", "User"}, 24 * time.Hour, "> 500", []string{"BytesOut"}},
		"value_count.yml":      {CorrValueCount, []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, []string{"ComputerName", "WorkstationName"}, 24 * time.Hour, ">= 100", []string{"User"}},
		"value_percentile.yml": {CorrValuePercentile, []string{"process_creation"}, []string{"ComputerName"}, 24 * time.Hour, "<= 1", []string{"Image"}},
		"value_sum.yml":        {CorrValueSum, []string{"website_access"}, []string{"SourceIP", "User"}, time.Hour, "> 1e+06", []string{"bytes_sent"}},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("found %d spec test files in %s, want %d", len(files), dir, len(want))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCorrelation(f, data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		w, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("unexpected spec test file %s", f)
			continue
		}
		if c.Type != w.typ || strings.Join(c.Rules, ",") != strings.Join(w.rules, ",") ||
			strings.Join(c.GroupBy, ",") != strings.Join(w.groupBy, ",") || c.Timespan != w.timespan ||
			c.Condition.String() != w.cond || strings.Join(c.Condition.Field, ",") != strings.Join(w.field, ",") {
			t.Errorf("%s: got type %v rules %v group-by %v timespan %v condition %q field %v", filepath.Base(f),
				c.Type, c.Rules, c.GroupBy, c.Timespan, c.Condition.String(), c.Condition.Field)
		}
		if c.Title == "" || c.Path != f {
			t.Errorf("%s: title %q path %q", filepath.Base(f), c.Title, c.Path)
		}
	}
}

// The complete correlations in the specification's text parse; the
// fragments without a title are refused for that reason.
func TestParseCorrelationSpecExamples(t *testing.T) {
	path := filepath.Join(testutil.Dataset(t, "sigma-specification/specification"), "sigma-correlation-rules-specification.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```ya?ml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	complete, fragments := 0, 0
	for _, b := range blocks {
		for _, doc := range strings.Split(b[1], "\n---\n") {
			if !regexp.MustCompile(`(?m)^correlation:`).MatchString(doc) || !regexp.MustCompile(`(?m)^\s+type:`).MatchString(doc) {
				continue
			}
			c, err := parseCorrelation(path, []byte(doc))
			if !regexp.MustCompile(`(?m)^title:`).MatchString(doc) {
				fragments++
				if err == nil || !strings.Contains(err.Error(), "title is missing") {
					t.Errorf("fragment without title: got %v", err)
				}
				continue
			}
			complete++
			if err != nil {
				t.Errorf("spec example:\n%s\nerror: %v", doc, err)
				continue
			}
			if len(c.Rules) == 0 || c.Timespan <= 0 || len(c.Condition.Terms) == 0 {
				t.Errorf("spec example %q parsed incompletely: %+v", c.Title, c)
			}
		}
	}
	// event_count, value_count, value_sum, value_avg, value_percentile,
	// the aliases example and the two correlations of the final example;
	// the temporal and temporal_ordered snippets have no title.
	if complete != 8 || fragments != 2 {
		t.Errorf("found %d complete correlations and %d fragments in the specification, want 8 and 2", complete, fragments)
	}
}

func TestParseCorrelationTimespan(t *testing.T) {
	ok := func(s string, want time.Duration) {
		t.Helper()
		got, err := ParseCorrelationTimespan(s)
		if err != nil || got != want {
			t.Errorf("ParseCorrelationTimespan(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := func(s, msg string) {
		t.Helper()
		_, err := ParseCorrelationTimespan(s)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseCorrelationTimespan(%q) error %v, want it to mention %q", s, err, msg)
		}
	}
	ok("30s", 30*time.Second)
	ok("90m", 90*time.Minute) // the specification's "1h30"
	ok("1h", time.Hour)
	ok("7d", 7*24*time.Hour)
	ok("2w", 14*24*time.Hour)
	ok("1M", 2629746*time.Second)
	ok("1y", 31556952*time.Second)
	ok("0010s", 10*time.Second)
	bad("0s", "greater than zero")
	bad("5", "want a number and a unit")
	bad("m", "want a number and a unit")
	bad("5 m", "not a whole number")
	bad("-5m", "not a whole number")
	bad("1.5h", "not a whole number")
	bad("5H", "unknown unit")
	bad("5min", "unknown unit")
	bad("2y", "longer than")
	bad("9999999999s", "too long") // maxLength 10 in the schema
	bad("367d", "longer than")
}

func TestParseCorrelationFields(t *testing.T) {
	doc := `title: Failed logons then success
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
name: brute_then_success
status: experimental
description: Many failed logons followed by a success
references:
    - https://example.org/a
author: Someone
date: 2023-06-16
modified: 2024/01/02
tags:
    - attack.credential-access
    - attack.t1110
correlation:
    type: value_count
    rules:
        - failed_logon
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - src
    timespan: 10m
    condition:
        field: [TargetUserName, TargetDomainName]
        gt: 10
        lte: 200
    aliases:
        src:
            failed_logon: IpAddress
            5638f7c0-ac70-491d-8465-2a65075e0d86: SourceIp
falsepositives: Unlikely
level: high
generate: true
`
	c, err := parseCorrelation("x.yml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("title", c.Title, "Failed logons then success")
	check("id", c.ID, "b180ead8-d58f-40b2-ae54-c8940995b9b6")
	check("name", c.Name, "brute_then_success")
	check("status", c.Status, "experimental")
	check("author", c.Author, "Someone")
	check("date", c.Date, "2023-06-16")
	check("level", c.Level, "high")
	check("references", strings.Join(c.References, ","), "https://example.org/a")
	check("tags", strings.Join(c.Tags, ","), "attack.credential-access,attack.t1110")
	check("falsepositives", strings.Join(c.FalsePositives, ","), "Unlikely")
	check("condition", c.Condition.String(), "> 10 and <= 200")
	check("field", strings.Join(c.Condition.Field, ","), "TargetUserName,TargetDomainName")
	check("alias", c.Aliases["src"]["failed_logon"], "IpAddress")
	if !c.Generate || c.Timespan != 10*time.Minute || c.TimespanText != "10m" {
		t.Errorf("generate %v timespan %v %q", c.Generate, c.Timespan, c.TimespanText)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "modified") {
		t.Errorf("warnings %q, want one about modified's date format", c.Warnings)
	}
	if !c.Condition.upperBounded() {
		t.Error("a condition with lte must be decided at window close")
	}
}

// Each broken document is refused with a message that names what is wrong.
func TestParseCorrelationErrors(t *testing.T) {
	const head = "title: t\ncorrelation:\n"
	bad := func(doc, msg string) {
		t.Helper()
		_, err := parseCorrelation("bad.yml", []byte(doc))
		if err == nil {
			t.Errorf("accepted:\n%s", doc)
			return
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("error %q, want it to mention %q", err, msg)
		}
	}
	bad("", "empty document")
	bad("- a\n- b\n", "invalid YAML")
	bad("title: t\n", "correlation section is missing")
	bad("correlation: {type: event_count}\n", "title is missing")
	bad("title: [a]\ncorrelation: {}\n", "title must be a string")
	bad("title: "+strings.Repeat("x", 257)+"\ncorrelation: {}\n", "more than 256")
	bad("title: t\ncorrelation: 5\n", "correlation must be a mapping")
	bad(head+"  type: event_sum\n", `correlation.type "event_sum" is unknown`)
	bad(head+"  rules: [a]\n", "correlation.type is missing")
	bad(head+"  type: event_count\n  timespan: 1m\n  condition: {gte: 1}\n", "correlation.rules is missing")
	bad(head+"  type: event_count\n  rules: []\n", "correlation.rules is missing or empty")
	bad(head+"  type: event_count\n  rules: [a, a]\n", `lists "a" twice`)
	bad(head+"  type: event_count\n  rules: [a, {b: c}]\n", "item 2 is a mapping")
	bad(head+"  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n", "correlation.timespan is missing")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 1}\n", "unknown unit")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n", "correlation.condition is missing")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: gte 5\n", "condition must be a mapping")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {}\n", "has no comparison")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {ge: 5}\n", "correlation.condition.ge is unknown")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: many}\n", `"many" is not a number`)
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: [5]}\n", "want a number")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 5, lt: 3}\n", "can never hold")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, lte: 5, neq: 5}\n", "can never hold")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {eq: 5, eq2: 6}\n", "eq2 is unknown")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {lt: 1}\n", "the event_count count is a whole number from 1 up")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 2, lt: 3}\n", "the event_count count is a whole number from 1 up")
	bad(head+"  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  condition: {gte: 3}\n", "from 1 to 2, the number of rules")
	bad(head+"  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n", "condition.field is required for value_count")
	bad(head+"  type: value_sum\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n", "condition.field is required for value_sum")
	bad(head+"  type: value_avg\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, field: [a, b]}\n", "aggregates one numeric field")
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, field: User}\n", "only meaningful for value_count")
	bad(head+"  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, field: User, percentile: 50}\n", "percentile is only meaningful for value_percentile")
	bad(head+"  type: value_percentile\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, field: n, percentile: 0}\n", "not in (0, 100]")
	bad(head+"  type: event_count\n  rules: [a]\n  group-by: [h, h]\n  timespan: 5m\n  condition: {gte: 5}\n", `group-by lists "h" twice`)
	bad(head+"  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n  groupby: [h]\n", "correlation.groupby is not a correlation attribute")
	bad(head+"  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: [x]\n", "aliases must be a mapping")
	bad(head+"  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: {ip: IpAddress}\n", "aliases.ip must be a mapping of rule name to field name")
	bad(head+"  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: {ip: {a: [x]}}\n", "aliases.ip.a must be a field name")
	bad(head+"  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  generate: yes please\n", "generate must be true or false")
	bad("title: t\ngenerate: true\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  generate: false\n", "generate is given twice")
	bad("title: t\nlevel: severe\ncorrelation: {type: temporal, rules: [a], timespan: 1m}\n", `level "severe"`)
	bad("title: t\nstatus: done\ncorrelation: {type: temporal, rules: [a], timespan: 1m}\n", `status "done"`)
	bad("title: t\ntitle: u\ncorrelation: {type: temporal, rules: [a], timespan: 1m}\n", "invalid YAML")
	bad("title: t\ncorrelation: {type: temporal, rules: [a], timespan: 1m}\n"+strings.Repeat("#", MaxCorrelationBytes), "larger than")
}

// A temporal correlation without a condition needs all its rules; one
// without group-by is one group, with a warning.
func TestParseCorrelationDefaults(t *testing.T) {
	c, err := parseCorrelation("t.yml", []byte("title: t\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, c]\n  timespan: 5m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Condition.Implicit || c.Condition.String() != ">= 3" || c.Generate {
		t.Errorf("condition %q implicit %v generate %v", c.Condition.String(), c.Condition.Implicit, c.Generate)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "group-by is missing") {
		t.Errorf("warnings %q", c.Warnings)
	}
	c, err = parseCorrelation("p.yml", []byte("title: p\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  group-by: [Computer]\n  timespan: 1h\n  condition: {field: Duration, gt: 10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Condition.Percentile != 50 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "median") {
		t.Errorf("percentile %v warnings %q", c.Condition.Percentile, c.Warnings)
	}
}

func TestCorrelationConditionHolds(t *testing.T) {
	f := func(doc string, v float64, want bool) {
		t.Helper()
		c, err := parseCorrelation("c.yml", []byte("title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: "+doc+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Condition.Holds(v); got != want {
			t.Errorf("%s holds for %v = %v, want %v", doc, v, got, want)
		}
	}
	f("{gt: 5}", 5, false)
	f("{gt: 5}", 6, true)
	f("{gte: 5}", 5, true)
	f("{gte: 5}", 4, false)
	f("{lt: 5}", 5, false)
	f("{lt: 5}", 4, true)
	f("{lte: 5}", 5, true)
	f("{lte: 5}", 6, false)
	f("{eq: 5}", 5, true)
	f("{eq: 5}", 6, false)
	f("{neq: 5}", 5, false)
	f("{neq: 5}", 6, true)
	f("{gt: 100, lte: 200}", 100, false) // the specification's range
	f("{gt: 100, lte: 200}", 101, true)
	f("{gt: 100, lte: 200}", 200, true)
	f("{gt: 100, lte: 200}", 201, false)
	f("{gte: 2.5}", 2.5, true) // value_avg thresholds may be fractions
	f("{gte: 2.5}", 2.4, false)
}

// References resolve by id first, then by name, to rules or correlations; a
// correlation that cannot resolve is dropped with an error naming its file,
// and the others keep working.
func TestResolveCorrelations(t *testing.T) {
	a := &Rule{ID: "id-a", Name: "rule_a", Title: "A", Path: "a.yml"}
	b := &Rule{ID: "id-b", Name: "rule_b", Title: "B", Path: "b.yml"}
	// A rule whose name is another rule's id: the id wins.
	tricky := &Rule{ID: "id-t", Name: "id-a", Title: "T", Path: "t.yml"}
	unref := &Rule{ID: "id-u", Title: "U"}
	docs := map[string]string{
		"good":     "title: good\nname: good\ncorrelation: {type: temporal, rules: [id-a, rule_b], group-by: [h], timespan: 1m}\n",
		"chain":    "title: chain\ncorrelation: {type: event_count, rules: [good], timespan: 1h, condition: {gte: 2}}\n",
		"missing":  "title: missing\nname: missing\ncorrelation: {type: event_count, rules: [rule_a, nosuch], timespan: 1h, condition: {gte: 2}}\n",
		"cascade":  "title: cascade\ncorrelation: {type: event_count, rules: [missing], timespan: 1h, condition: {gte: 2}}\n",
		"self":     "title: self\nname: self\ncorrelation: {type: event_count, rules: [self], timespan: 1h, condition: {gte: 2}}\n",
		"cycle1":   "title: cycle1\nname: cycle1\ncorrelation: {type: event_count, rules: [cycle2], timespan: 1h, condition: {gte: 2}}\n",
		"cycle2":   "title: cycle2\nname: cycle2\ncorrelation: {type: event_count, rules: [cycle1], timespan: 1h, condition: {gte: 2}}\n",
		"twice":    "title: twice\ncorrelation: {type: temporal, rules: [id-b, rule_b], timespan: 1h}\n",
		"alias":    "title: alias\ncorrelation: {type: temporal, rules: [rule_a, rule_b], group-by: [ip], timespan: 1h, aliases: {ip: {rule_a: IpAddress, rule_c: SourceIp}}}\n",
		"dupname1": "title: dup1\nname: dup\ncorrelation: {type: event_count, rules: [rule_a], timespan: 1h, condition: {gte: 2}}\n",
		"dupname2": "title: dup2\nname: dup\ncorrelation: {type: event_count, rules: [rule_a], timespan: 1h, condition: {gte: 2}}\n",
		"usesdup":  "title: usesdup\ncorrelation: {type: event_count, rules: [dup], timespan: 1h, condition: {gte: 2}}\n",
		"twin":     "title: twin\nname: rule_a\ncorrelation: {type: event_count, rules: [rule_b], timespan: 1h, condition: {gte: 2}}\n",
	}
	rs := &Ruleset{rules: []*Rule{a, b, tricky, unref}}
	for _, name := range corrSortedKeys(docs) {
		c, err := parseCorrelation(name+".yml", []byte(docs[name]))
		if err != nil {
			t.Fatal(err)
		}
		rs.correlations = append(rs.correlations, c)
	}
	errs := rs.resolveCorrelations()
	got := map[string]string{}
	for _, e := range errs {
		got[e.Title] = e.Error()
		if e.Path != strings.TrimSuffix(e.Path, ".yml")+".yml" || e.Path == "" {
			t.Errorf("error without its file: %v", e)
		}
	}
	for title, msg := range map[string]string{
		"missing": `rule "nosuch" is not loaded`,
		"cascade": `refers to correlation "missing", which cannot be loaded`,
		"self":    `rule "self" is this correlation itself`,
		"cycle1":  "cycle",
		"cycle2":  "cycle",
		"twice":   `rules "id-b" and "rule_b" are the same rule`,
		"alias":   `aliases.ip names rule "rule_c", which is not in its rules`,
		"dup2":    `id or name "dup" is already used by correlation "dup1"`,
		"twin":    `id or name "rule_a" is already used by rule "A" in a.yml`,
	} {
		if !strings.Contains(got[title], msg) || !strings.Contains(got[title], "yml") {
			t.Errorf("%s: error %q, want it to mention %q and its file", title, got[title], msg)
		}
		delete(got, title)
	}
	if len(got) != 0 {
		t.Errorf("unexpected errors: %v", got)
	}
	var kept []string
	for _, c := range rs.Correlations() {
		kept = append(kept, c.Title)
	}
	if strings.Join(kept, ",") != "chain,dup1,good,usesdup" {
		t.Errorf("kept %v", kept)
	}
	good := rs.Correlations()[2]
	if good.refs[0].rule != a || good.refs[1].rule != b || rs.Correlations()[0].refs[0].corr != good {
		t.Errorf("good resolved to %+v", good.refs)
	}
	if !a.Correlated || !b.Correlated || tricky.Correlated || unref.Correlated {
		t.Errorf("correlated: a %v b %v tricky %v unref %v", a.Correlated, b.Correlated, tricky.Correlated, unref.Correlated)
	}
	if rs.Correlations()[3].refs[0].corr != rs.Correlations()[1] {
		t.Error("usesdup must refer to the first correlation named dup")
	}
	if good.Output() || !rs.Correlations()[0].Output() {
		t.Error("good is chained by a generate: false correlation: it must not report on its own")
	}
	// Resolving again (after a Merge) gives the same result.
	if errs := rs.resolveCorrelations(); len(errs) != 0 || len(rs.Correlations()) != 4 || !a.Correlated || good.Output() {
		t.Errorf("second resolution: %v", errs)
	}
}
