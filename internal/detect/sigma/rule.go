package sigma

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Rule is one loaded Sigma detection rule: its metadata as written, and (kept
// private) its parsed detection. Rules are immutable once a Ruleset is built;
// several Matchers share them.
type Rule struct {
	ID          string // id: (a UUID in SigmaHQ rules; may be empty elsewhere)
	Name        string // name: the unique handle correlation rules may use instead of ID
	Title       string
	Status      string
	Description string
	License     string
	Author      string // DRL 1.1: every alert raised from the rule must show it
	Level       string
	Date        string
	Modified    string
	Taxonomy    string
	Path        string // file the rule was read from (as given, or the fs.FS path)
	Document    int    // 0-based YAML document index in Path (multi-document files)

	Related        []Related
	Tags           []string
	References     []string
	FalsePositives []string
	Fields         []string
	Scope          []string
	Logsource      Logsource

	// Custom holds the top-level attributes the specification does not define
	// (SigmaHQ's regression_tests_path, simulation, ...), decoded from YAML
	// into string, int64, float64, bool, nil, []any and map[string]any.
	Custom map[string]any

	// Correlated is set when a correlation rule refers to this rule (by ID or
	// Name); the loader sets it once every file is loaded. Match still
	// reports the rule (the correlations feed on its matches);
	// Ruleset.RuleOutput says whether its own alerts are shown.
	Correlated bool

	// Degraded is non-empty when the rule loaded but is not evaluated, and
	// says why (an |expand placeholder with no value in Options.Placeholders).
	// Such a rule never fires.
	Degraded string

	// NoSource is non-empty when no kizuki event source can feed the rule's
	// logsource (e.g. product: aws); the rule loaded fine but never fires. It
	// names the logsource.
	NoSource string

	det *detection // parsed detection; nil for a rule that failed to load
}

// Related is one entry of a rule's related: list.
type Related struct {
	ID   string
	Type string // derived, obsolete, merged, renamed, similar
}

// Logsource is a rule's logsource: section. Product, Category and Service
// are lower-case as the specification asks; Custom keeps any other key.
type Logsource struct {
	Product    string
	Category   string
	Service    string
	Definition string
	Custom     map[string]string
}

// String renders the logsource as "product/category/service" with empty
// parts as "-", for messages and statistics.
func (l Logsource) String() string {
	p := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	return p(l.Product) + "/" + p(l.Category) + "/" + p(l.Service)
}

// Options tune loading.
type Options struct {
	// Placeholders gives the values of |expand placeholders: %Admins% →
	// Placeholders["Admins"]. Each value is a Sigma string (wildcards
	// allowed); several values are OR-ed. A rule whose placeholder has no
	// entry loads but is Degraded.
	Placeholders map[string][]string
}

// LoadError says why one rule (or one document of a multi-document file) did
// not load. The other rules still load.
type LoadError struct {
	Path  string // file
	Doc   int    // 0-based document index in the file
	Line  int    // 1-based line of the problem in the file, 0 when unknown
	ID    string // the rule's id when it could be read
	Title string // the rule's title when it could be read
	Err   error
}

func (e *LoadError) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
	} else if e.Doc > 0 {
		loc = fmt.Sprintf("%s (document %d)", e.Path, e.Doc+1)
	}
	who := ""
	switch {
	case e.Title != "" && e.ID != "":
		who = fmt.Sprintf(" rule %q (%s):", e.Title, e.ID)
	case e.Title != "":
		who = fmt.Sprintf(" rule %q:", e.Title)
	case e.ID != "":
		who = " rule " + e.ID + ":"
	}
	msg := e.Err.Error()
	var pe *posError
	if errors.As(e.Err, &pe) && pe.line == e.Line && pe == e.Err {
		msg = pe.msg // the line is already in loc
	}
	return loc + ":" + who + " " + msg
}

func (e *LoadError) Unwrap() error { return e.Err }

// Ruleset is a loaded set of Sigma rules, filters and correlations, compiled
// for matching. It is safe for concurrent use once built: every goroutine
// takes its own Matcher. Merge is the only method that changes it; call it
// before the first NewMatcher.
type Ruleset struct {
	rules        []*Rule
	filters      []*Filter
	correlations []*Correlation
	byRef        map[string]*Rule // id and name → rule
	routes       *routeTable      // the logsource table, parsed once per load

	mu   sync.Mutex
	comp *compiled // built lazily by NewMatcher, dropped by Merge
}

// Rules returns the loaded detection rules in a stable order (by path, then
// document), including Degraded and NoSource ones.
func (rs *Ruleset) Rules() []*Rule { return rs.rules }

// Filters returns the loaded Sigma filters.
func (rs *Ruleset) Filters() []*Filter { return rs.filters }

// Lookup returns the rule whose id or name is ref, nil when none.
func (rs *Ruleset) Lookup(ref string) *Rule { return rs.byRef[ref] }

// ErrDuplicateID is wrapped by Merge and the loaders when two rules share an
// id or a name.
var ErrDuplicateID = errors.New("duplicate rule id")

// Merge adds other's rules, filters and correlations to rs. Two rules with
// the same id (or name) are an error and nothing is merged. Correlations are
// linked again over the merged rules; one that no longer resolves is dropped
// and reported in the returned error (the merge itself is done). other must
// not be used afterwards.
func (rs *Ruleset) Merge(other *Ruleset) error {
	if other == nil {
		return nil
	}
	for _, r := range other.rules {
		for _, ref := range []string{r.ID, r.Name} {
			if ref == "" {
				continue
			}
			if old, ok := rs.byRef[ref]; ok {
				return fmt.Errorf("merge: %w %q: %s and %s", ErrDuplicateID, ref, old.Path, r.Path)
			}
		}
	}
	if rs.byRef == nil {
		rs.byRef = map[string]*Rule{}
	}
	if rs.routes == nil {
		rs.routes = other.routes
	}
	for _, r := range other.rules {
		rs.index(r)
	}
	rs.rules = append(rs.rules, other.rules...)
	sortRules(rs.rules)
	rs.filters = append(rs.filters, other.filters...)
	rs.correlations = append(rs.correlations, other.correlations...)
	rs.mu.Lock()
	rs.comp = nil
	rs.mu.Unlock()
	var errs []error
	for _, e := range rs.resolveCorrelations() {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("merge: %w", errors.Join(errs...))
	}
	return nil
}

func (rs *Ruleset) index(r *Rule) {
	if r.ID != "" {
		rs.byRef[r.ID] = r
	}
	if r.Name != "" {
		rs.byRef[r.Name] = r
	}
}

func sortRules(rules []*Rule) {
	sort.SliceStable(rules, func(i, j int) bool {
		if rules[i].Path != rules[j].Path {
			return rules[i].Path < rules[j].Path
		}
		return rules[i].Document < rules[j].Document
	})
}
