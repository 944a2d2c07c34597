package sigma

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
)

// Logsource routing: a rule is evaluated only on the events its logsource
// can match. The table (logsource.yaml, embedded) says, for each Sigma
// product/category/service, which kizuki events qualify (by event.Source,
// Windows Channel and EventID, and further field conditions) and how Sigma
// field names map to the events' names. Windows events need no mapping but
// for Security 4688 as a process_creation source: kizuki keeps Windows field
// names as written, which are Sigma's.

//go:embed logsource.yaml
var logsourceYAML []byte

// routeTable is the parsed logsource.yaml.
type routeTable struct {
	WindowsSources []string  `yaml:"windows_sources"`
	Logsources     []lsEntry `yaml:"logsources"`
}

type lsEntry struct {
	Product  string    `yaml:"product"`
	Category string    `yaml:"category"`
	Service  string    `yaml:"service"`
	Routes   []lsRoute `yaml:"routes"`
}

// lsRoute selects events and maps fields for one logsource.
type lsRoute struct {
	Sources  []string            `yaml:"sources"`
	Channel  []string            `yaml:"channel"`
	EventID  []string            `yaml:"eventid"`
	Where    map[string][]string `yaml:"where"`
	FieldMap map[string]string   `yaml:"fieldmap"`
	Derive   map[string][]string `yaml:"derive"`
	Keywords string              `yaml:"keywords"`
}

// anyChannel in a route's channel list: every channel of the Windows sources.
const anyChannel = "*"

// routeTableOnce parses the embedded table the first time a loader needs
// it. The result is never modified afterwards: it is a constant that
// happens to be written in YAML, and parsing it for every LoadBytes call
// cost more than most rules.
var routeTableOnce = sync.OnceValues(loadRouteTable)

// loadRouteTable parses the embedded table and checks it.
func loadRouteTable() (*routeTable, error) {
	var t routeTable
	if err := yaml.Unmarshal(logsourceYAML, &t); err != nil {
		return nil, fmt.Errorf("logsource.yaml: %w", err)
	}
	seen := map[string]bool{}
	for i := range t.Logsources {
		e := &t.Logsources[i]
		key := e.key()
		if seen[key] {
			return nil, fmt.Errorf("logsource.yaml: %s listed twice", key)
		}
		seen[key] = true
		for j := range e.Routes {
			r := &e.Routes[j]
			if len(r.Channel) > 0 && len(r.Sources) == 0 {
				r.Sources = t.WindowsSources
			}
			if len(r.Sources) == 0 {
				return nil, fmt.Errorf("logsource.yaml: %s: a route needs sources or a channel", key)
			}
			for name, d := range r.Derive {
				if len(d) != 2 || deriveFunc(d[0]) == nil {
					return nil, fmt.Errorf("logsource.yaml: %s: derive %s: want [url_query|url_path|url_extension, field]", key, name)
				}
			}
			switch r.Keywords {
			case "", "fields", "raw":
			default:
				return nil, fmt.Errorf("logsource.yaml: %s: keywords must be fields or raw", key)
			}
		}
	}
	return &t, nil
}

func (e *lsEntry) key() string {
	return Logsource{Product: e.Product, Category: e.Category, Service: e.Service}.String()
}

// routesFor returns the routes of a rule's logsource, nil when no entry
// matches: first an entry equal in product, category and service; else one
// without product, equal in category and service.
func (t *routeTable) routesFor(ls Logsource) []lsRoute {
	p, c, s := strings.ToLower(ls.Product), strings.ToLower(ls.Category), strings.ToLower(ls.Service)
	for _, e := range t.Logsources {
		if e.Product == p && e.Category == c && e.Service == s {
			return e.Routes
		}
	}
	for _, e := range t.Logsources {
		if e.Product == "" && e.Category == c && e.Service == s {
			return e.Routes
		}
	}
	return nil
}

// isWindowsSource reports whether source is one of the Windows readers,
// whose events route by Channel and EventID.
func (t *routeTable) isWindowsSource(source string) bool {
	for _, s := range t.WindowsSources {
		if s == source {
			return true
		}
	}
	return false
}

// mapField returns the event field name for a Sigma field name on route r.
func (r *lsRoute) mapField(name string) string {
	if m, ok := r.FieldMap[name]; ok {
		return m
	}
	if _, ok := r.Derive[name]; ok {
		return derivedName(r.Derive[name])
	}
	return name
}

// derivedName is the internal field name of a derived value; it cannot
// collide with a real field (NUL is in no field name).
func derivedName(d []string) string { return "\x00" + d[0] + "(" + d[1] + ")" }

// deriveFunc returns the function of a derived field.
func deriveFunc(name string) func(string) string {
	switch name {
	case "url_query":
		return urlQuery
	case "url_path":
		return urlPath
	case "url_extension":
		return urlExtension
	}
	return nil
}

// urlQuery returns the query of a URL: after "?", before "#".
func urlQuery(u string) string {
	i := strings.IndexByte(u, '?')
	if i < 0 {
		return ""
	}
	q := u[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	return q
}

// urlPath returns the path of a URL: without scheme, host and query.
func urlPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
		return "/"
	}
	return u
}

// urlExtension returns the extension of the URL path's last segment, without
// the dot.
func urlExtension(u string) string {
	p := urlPath(u)
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return ""
}

// KnownLogsources reports the logsources the table routes, as "product/category/
// service" strings, sorted (for documentation and --explain).
func KnownLogsources() ([]string, error) {
	t, err := routeTableOnce()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(t.Logsources))
	for _, e := range t.Logsources {
		out = append(out, e.key())
	}
	sort.Strings(out)
	return out, nil
}
