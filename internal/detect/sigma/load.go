package sigma

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Loading: files, folders (every .yml / .yaml below, recursively, in path
// order) or an fs.FS (an embedded rule pack). A file may hold several YAML
// documents: detection rules, correlation rules (handed to parseCorrelation),
// filters, and the Sigma 1.x collection actions (action: global, reset,
// repeat). Every document that does not load becomes a LoadError saying why;
// the others still load.

// LoadPaths loads rule files and folders.
func LoadPaths(paths []string, opt Options) (*Ruleset, []*LoadError) {
	l := newLoader(opt)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			l.fail(p, 0, 0, nil, fmt.Errorf("read rules: %w", err))
			continue
		}
		if !st.IsDir() {
			l.loadFile(p, func() ([]byte, error) { return readLimited(os.Open(p)) })
			continue
		}
		l.loadTree(os.DirFS(p), func(rel string) string { return filepath.Join(p, rel) })
	}
	return l.finish()
}

// LoadFS loads every .yml / .yaml file of fsys.
func LoadFS(fsys fs.FS, opt Options) (*Ruleset, []*LoadError) {
	l := newLoader(opt)
	l.loadTree(fsys, func(rel string) string { return rel })
	return l.finish()
}

// loadTree loads every rule file below the root of fsys, in path order;
// name turns a path of fsys into the one rules and errors carry.
func (l *loader) loadTree(fsys fs.FS, name func(string) string) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			l.fail(name(path), 0, 0, nil, fmt.Errorf("read rules: %w", err))
			return nil
		}
		if !d.IsDir() && isRuleFile(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		l.fail(name("."), 0, 0, nil, fmt.Errorf("read rules: %w", err))
	}
	sort.Strings(files)
	parsed := make([]parsedFile, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f := files[i]
				parsed[i] = l.parseFile(name(f), func() ([]byte, error) { return readLimited(fsys.Open(f)) })
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, pf := range parsed {
		l.apply(pf)
	}
}

// LoadBytes loads the rules of one file's content; name is used as its Path.
func LoadBytes(name string, data []byte, opt Options) (*Ruleset, []*LoadError) {
	l := newLoader(opt)
	l.loadFile(name, func() ([]byte, error) {
		if len(data) > MaxFileSize {
			return nil, fmt.Errorf("file larger than %d bytes", MaxFileSize)
		}
		return data, nil
	})
	return l.finish()
}

func isRuleFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yml" || ext == ".yaml"
}

func readLimited(f io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("file larger than %d bytes", MaxFileSize)
	}
	return b, nil
}

type loader struct {
	opt    Options
	rs     *Ruleset
	errs   []*LoadError
	routes *routeTable
}

func newLoader(opt Options) *loader {
	l := &loader{opt: opt, rs: &Ruleset{byRef: map[string]*Rule{}}}
	t, err := routeTableOnce()
	if err != nil {
		// The table is embedded and tested: this is a build defect, but
		// still an error, not a crash.
		l.fail("logsource.yaml", 0, 0, nil, err)
	}
	l.routes = t
	l.rs.routes = t
	return l
}

func (l *loader) finish() (*Ruleset, []*LoadError) {
	sortRules(l.rs.rules)
	// Correlations refer to rules of any file: link them once all are in.
	l.errs = append(l.errs, l.rs.resolveCorrelations()...)
	return l.rs, l.errs
}

func (l *loader) fail(path string, doc, line int, n *ynode, err error) {
	l.errs = append(l.errs, newLoadError(path, doc, line, n, err))
}

func newLoadError(path string, doc, line int, n *ynode, err error) *LoadError {
	le := &LoadError{Path: path, Doc: doc, Line: line, Err: err}
	if n != nil && n.kind == yMap {
		if v := n.get("id"); v.isScalar() {
			le.ID = v.text
		}
		if v := n.get("title"); v.isScalar() {
			le.Title = v.text
		}
	}
	if le.Line == 0 {
		le.Line = lineOf(err)
	}
	return le
}

// parsedFile is what parseFile made of one rule file, in document order:
// each item is an error, a rule, a filter or a correlation. Parsing is the
// costly part of loading and touches nothing shared, so files are parsed
// on all cores; apply then adds the items in file order, so the result
// does not depend on scheduling.
type parsedFile struct {
	path  string
	items []parsedItem
}

type parsedItem struct {
	err    *LoadError
	rule   *Rule
	node   *ynode // the rule's document, for a duplicate-id error
	doc    int
	filter *Filter
	corr   *Correlation
}

// loadFile reads, parses and adds the documents of one file.
func (l *loader) loadFile(path string, read func() ([]byte, error)) {
	l.apply(l.parseFile(path, read))
}

// apply adds what parseFile found.
func (l *loader) apply(pf parsedFile) {
	for _, it := range pf.items {
		switch {
		case it.err != nil:
			l.errs = append(l.errs, it.err)
		case it.corr != nil:
			l.rs.correlations = append(l.rs.correlations, it.corr)
		case it.filter != nil:
			l.rs.filters = append(l.rs.filters, it.filter)
		case it.rule != nil:
			if err := l.add(it.rule); err != nil {
				l.fail(pf.path, it.doc, it.node.line, it.node, err)
			}
		}
	}
}

// parseFile reads and parses one file; it only reads the loader (its
// options and logsource table).
func (l *loader) parseFile(path string, read func() ([]byte, error)) parsedFile {
	pf := parsedFile{path: path}
	fail := func(path string, doc, line int, n *ynode, err error) {
		pf.items = append(pf.items, parsedItem{err: newLoadError(path, doc, line, n, err)})
	}
	data, err := read()
	if err != nil {
		fail(path, 0, 0, nil, fmt.Errorf("read rule file: %w", err))
		return pf
	}
	docs := splitDocuments(data)
	if len(docs) > MaxDocuments {
		fail(path, 0, 0, nil, fmt.Errorf("more than %d YAML documents", MaxDocuments))
		return pf
	}
	var global, prev *ynode
	for i, d := range docs {
		n, err := parseYAML(d.text, d.firstLine)
		if err != nil {
			line := lineOf(err)
			if line == 0 {
				line = d.firstLine
			}
			fail(path, i, line, nil, err)
			continue
		}
		if n.kind == yNull {
			continue
		}
		if n.kind != yMap {
			fail(path, i, n.line, nil, errorf(n, "a Sigma document must be a map, not a %s", n.kind))
			continue
		}
		if a := n.get("action"); a != nil {
			switch a.text {
			case "global":
				global = without(n, "action")
				continue
			case "reset":
				global = nil
				continue
			case "repeat":
				if prev == nil {
					fail(path, i, n.line, n, errorf(a, "action: repeat without a previous document"))
					continue
				}
				n = mergeNodes(prev, without(n, "action"))
			default:
				fail(path, i, a.line, n, errorf(a, "unknown action %q (want global, reset or repeat)", a.text))
				continue
			}
		}
		prev = n
		if global != nil {
			n = mergeNodes(global, n)
		}
		switch {
		case n.get("correlation") != nil:
			c, err := parseCorrelation(path, d.text)
			if err != nil {
				fail(path, i, n.line, n, err)
				continue
			}
			// Where it is, for the errors of resolving its references.
			c.Doc, c.Line = i, n.line
			pf.items = append(pf.items, parsedItem{corr: c})
		case n.get("filter") != nil && n.get("detection") == nil:
			f, err := parseFilter(n, path, i, &l.opt)
			if err != nil {
				fail(path, i, 0, n, err)
				continue
			}
			pf.items = append(pf.items, parsedItem{filter: f})
		default:
			r, err := l.parseRule(n, path, i)
			if err != nil {
				fail(path, i, 0, n, err)
				continue
			}
			pf.items = append(pf.items, parsedItem{rule: r, node: n, doc: i})
		}
	}
	return pf
}

func (l *loader) add(r *Rule) error {
	for _, ref := range []string{r.ID, r.Name} {
		if ref == "" {
			continue
		}
		if old, ok := l.rs.byRef[ref]; ok {
			return fmt.Errorf("%w %q, already used by %s", ErrDuplicateID, ref, old.Path)
		}
	}
	l.rs.index(r)
	l.rs.rules = append(l.rs.rules, r)
	return nil
}

// without returns map n without key.
func without(n *ynode, key string) *ynode {
	out := &ynode{kind: yMap, line: n.line, col: n.col}
	for i, k := range n.keys {
		if k != key {
			out.keys = append(out.keys, k)
			out.items = append(out.items, n.items[i])
		}
	}
	return out
}

// mergeNodes deep-merges map b over map a (Sigma 1.x collections: a global
// document's keys go into every following document).
func mergeNodes(a, b *ynode) *ynode {
	if a == nil || a.kind != yMap || b.kind != yMap {
		return b
	}
	out := &ynode{kind: yMap, line: b.line, col: b.col}
	for i, k := range a.keys {
		out.keys = append(out.keys, k)
		if bv := b.get(k); bv != nil {
			out.items = append(out.items, mergeNodes(a.items[i], bv))
		} else {
			out.items = append(out.items, a.items[i])
		}
	}
	for i, k := range b.keys {
		if a.get(k) == nil {
			out.keys = append(out.keys, k)
			out.items = append(out.items, b.items[i])
		}
	}
	return out
}

// specKeys are the top-level attributes the specification defines; any
// other goes to Rule.Custom.
func isSpecKey(k string) bool {
	switch k {
	case "title", "id", "name", "related", "taxonomy", "status", "description", "license",
		"author", "references", "date", "modified", "logsource", "detection", "fields",
		"falsepositives", "level", "tags", "scope":
		return true
	}
	return false
}

func (l *loader) parseRule(n *ynode, path string, index int) (*Rule, error) {
	r := &Rule{Path: path, Document: index}
	var err error
	for _, s := range []struct {
		key string
		dst *string
	}{
		{"title", &r.Title}, {"id", &r.ID}, {"name", &r.Name}, {"taxonomy", &r.Taxonomy},
		{"status", &r.Status}, {"description", &r.Description}, {"license", &r.License},
		{"author", &r.Author}, {"date", &r.Date}, {"modified", &r.Modified}, {"level", &r.Level},
	} {
		if *s.dst, err = scalarField(n, s.key); err != nil {
			return nil, err
		}
	}
	if r.Title == "" {
		return nil, errorf(n, "rule has no title")
	}
	for _, s := range []struct {
		key string
		dst *[]string
	}{
		{"references", &r.References}, {"falsepositives", &r.FalsePositives},
		{"fields", &r.Fields}, {"tags", &r.Tags}, {"scope", &r.Scope},
	} {
		if *s.dst, err = listField(n, s.key); err != nil {
			return nil, err
		}
	}
	if rel := n.get("related"); rel != nil {
		if r.Related, err = parseRelated(rel); err != nil {
			return nil, err
		}
	}
	ls := n.get("logsource")
	if ls == nil {
		return nil, errorf(n, "rule has no logsource")
	}
	if r.Logsource, err = parseLogsource(ls); err != nil {
		return nil, err
	}
	det, degraded, err := parseDetection(n.get("detection"), &l.opt)
	if err != nil {
		return nil, err
	}
	r.det, r.Degraded = det, degraded
	for i, k := range n.keys {
		if !isSpecKey(k) {
			if r.Custom == nil {
				r.Custom = map[string]any{}
			}
			r.Custom[k] = n.items[i].value()
		}
	}
	if l.routes != nil && l.routes.routesFor(r.Logsource) == nil {
		r.NoSource = "no kizuki source for logsource " + r.Logsource.String()
	}
	return r, nil
}

// scalarField returns the text of a scalar attribute ("" when absent).
func scalarField(n *ynode, key string) (string, error) {
	v := n.get(key)
	switch {
	case v == nil || v.kind == yNull:
		return "", nil
	case v.isScalar():
		return v.text, nil
	}
	return "", errorf(v, "%s must be a single value, not a %s", key, v.kind)
}

// listField returns a list attribute; a single value is a list of one.
func listField(n *ynode, key string) ([]string, error) {
	v := n.get(key)
	switch {
	case v == nil || v.kind == yNull:
		return nil, nil
	case v.isScalar():
		return []string{v.text}, nil
	case v.kind == ySeq:
		out := make([]string, 0, len(v.items))
		for _, it := range v.items {
			if !it.isScalar() {
				return nil, errorf(it, "%s must be a list of values", key)
			}
			out = append(out, it.text)
		}
		return out, nil
	}
	return nil, errorf(v, "%s must be a list, not a %s", key, v.kind)
}

func parseRelated(v *ynode) ([]Related, error) {
	var items []*ynode
	switch v.kind {
	case ySeq:
		items = v.items
	case yMap:
		items = []*ynode{v}
	default:
		return nil, errorf(v, "related must be a list of {id, type}")
	}
	out := make([]Related, 0, len(items))
	for _, it := range items {
		if it.kind != yMap {
			return nil, errorf(it, "related must be a list of {id, type}")
		}
		id, err := scalarField(it, "id")
		if err != nil {
			return nil, err
		}
		typ, err := scalarField(it, "type")
		if err != nil {
			return nil, err
		}
		out = append(out, Related{ID: id, Type: typ})
	}
	return out, nil
}

func parseLogsource(v *ynode) (Logsource, error) {
	var ls Logsource
	if v.kind != yMap {
		return ls, errorf(v, "logsource must be a map")
	}
	for i, k := range v.keys {
		it := v.items[i]
		if !it.isScalar() {
			return ls, errorf(it, "logsource %s must be a single value", k)
		}
		text := it.text
		if it.kind == yNull {
			text = ""
		}
		switch k {
		case "product":
			ls.Product = strings.ToLower(text)
		case "category":
			ls.Category = strings.ToLower(text)
		case "service":
			ls.Service = strings.ToLower(text)
		case "definition":
			ls.Definition = text
		default:
			if ls.Custom == nil {
				ls.Custom = map[string]string{}
			}
			ls.Custom[k] = text
		}
	}
	return ls, nil
}
