package rules_test

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/winjson"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
	"github.com/kizuki-dev/kizuki/internal/testutil"
	"github.com/kizuki-dev/kizuki/rules"
)

// The tests below hold the pack to what docs/rules.md promises: every rule
// loads into kizuki's Sigma engine and is fed by some kizuki source, carries
// the metadata an analyst needs, validates against the Sigma JSON schema, and
// fires on its positive sample events and on none of the pack's negative
// (benign look-alike) samples.

const (
	samplesDir = "testdata"         // testdata/<rule file name without .yml>/
	docsFile   = "../docs/rules.md" // the pack's documentation
	schemaFile = "sigma-specification/json-schema/sigma-detection-rule-schema.json"
	sigmaHQDir = "sigma/rules/windows" // SigmaHQ's Windows rules (DRL 1.1)
)

var (
	uuidV4   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	fileName = regexp.MustCompile(`^kizuki_[a-z0-9_]+\.yml$`)
	attackT  = regexp.MustCompile(`^attack\.t[0-9]{4}(\.[0-9]{3})?$`)
	// requirement ids of REQUIREMENTS.md that rules of this pack may cover
	knownRequirements = map[string]bool{"A1": true, "A9": true, "A11": true, "A12": true, "A13": true, "A14": true, "J12": true}
)

// packFiles lists the rule files of the embedded pack.
func packFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(rules.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the embedded pack: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("the embedded pack holds no files")
	}
	return files
}

// loadPack loads the pack and fails the test on any load error.
func loadPack(t *testing.T) *sigma.Ruleset {
	t.Helper()
	rs, errs := sigma.LoadFS(rules.FS(), sigma.Options{})
	for _, e := range errs {
		t.Errorf("rule does not load: %v", e)
	}
	if rs == nil {
		t.Fatal("LoadFS returned no ruleset")
	}
	return rs
}

// base is a rule's file name without ".yml": the name of its samples folder.
func base(r *sigma.Rule) string { return strings.TrimSuffix(path.Base(r.Path), ".yml") }

func TestPackLoads(t *testing.T) {
	files := packFiles(t)
	rs := loadPack(t)
	if got := len(rs.Rules()); got != len(files) {
		t.Fatalf("%d rules loaded from %d files; every file must hold exactly one rule", got, len(files))
	}
	ids := map[string]string{}
	names := map[string]string{}
	for _, r := range rs.Rules() {
		where := r.Path
		if !fileName.MatchString(path.Base(r.Path)) || len(path.Base(r.Path)) > 70 {
			t.Errorf("%s: file name must be kizuki_<lower-case words>.yml, at most 70 characters", where)
		}
		if !strings.HasPrefix(r.Path, "windows/") || strings.Count(r.Path, "/") != 2 {
			t.Errorf("%s: rules live in windows/<category>/", where)
		}
		if other, dup := names[base(r)]; dup {
			t.Errorf("%s: file name also used by %s (samples are looked up by file name)", where, other)
		}
		names[base(r)] = where
		if !uuidV4.MatchString(r.ID) {
			t.Errorf("%s: id %q is not a lower-case UUIDv4", where, r.ID)
		}
		if other, dup := ids[r.ID]; dup {
			t.Errorf("%s: id %s also used by %s", where, r.ID, other)
		}
		ids[r.ID] = where
		for what, v := range map[string]string{"title": r.Title, "description": r.Description, "date": r.Date} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: no %s", where, what)
			}
		}
		if r.Author != "kizuki" {
			t.Errorf("%s: author is %q, want kizuki", where, r.Author)
		}
		if r.Status != "experimental" && r.Status != "test" {
			t.Errorf("%s: status %q, want experimental or test", where, r.Status)
		}
		if _, err := time.Parse("2006-01-02", r.Date); err != nil {
			t.Errorf("%s: date %q is not YYYY-MM-DD", where, r.Date)
		}
		switch r.Level {
		case "informational", "low", "medium", "high", "critical":
		default:
			t.Errorf("%s: level %q is not a Sigma level", where, r.Level)
		}
		hasTechnique := false
		for _, tag := range r.Tags {
			hasTechnique = hasTechnique || attackT.MatchString(tag)
		}
		if !hasTechnique {
			t.Errorf("%s: tags %v name no ATT&CK technique (attack.tNNNN)", where, r.Tags)
		}
		if len(r.References) == 0 {
			t.Errorf("%s: no references", where)
		}
		if len(r.FalsePositives) == 0 {
			t.Errorf("%s: no falsepositives", where)
		}
		if r.Logsource.Product != "windows" {
			t.Errorf("%s: logsource product %q, want windows", where, r.Logsource.Product)
		}
		if r.NoSource != "" || r.Degraded != "" {
			t.Errorf("%s: loads but can never fire in kizuki: %s%s", where, r.NoSource, r.Degraded)
		}
		reqs, _ := r.Custom["kizuki_requirements"].([]any)
		if len(reqs) == 0 {
			t.Errorf("%s: no kizuki_requirements list", where)
		}
		for _, q := range reqs {
			if s, ok := q.(string); !ok || !knownRequirements[s] {
				t.Errorf("%s: kizuki_requirements entry %v is not one of A1, A9, A11-A14, J12", where, q)
			}
		}
	}
}

// sample is one event of a sample file.
type sample struct {
	ev   *event.Event
	line int64
}

// readSamples parses a sample file with the winxml reader, the way kizuki
// reads `wevtutil qe /f:xml` output.
func readSamples(t testing.TB, file string) []sample {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Errorf("samples: %v", err)
		return nil
	}
	defer f.Close()
	pc := parse.NewContext(time.UTC, time.Time{})
	var out []sample
	err = winxml.Parser{}.Split(f, func(rec []byte, line int64) error {
		ev := &event.Event{Source: "winxml", Raw: string(rec), Origin: event.Origin{File: file, Line: line}}
		if err := (winxml.Parser{}).Parse(rec, ev, pc); err != nil {
			if errors.Is(err, parse.ErrSkip) {
				return nil
			}
			return fmt.Errorf("%s:%d: %w", file, line, err)
		}
		out = append(out, sample{ev, line})
		return nil
	})
	if err != nil {
		t.Errorf("samples: %v", err)
	}
	if len(out) == 0 {
		t.Errorf("%s: no events", file)
	}
	return out
}

// fired returns the file names of the rules that fire on ev, sorted.
func fired(m *sigma.Matcher, ev *event.Event) []string {
	var names []string
	m.Match(ev, func(r *sigma.Rule) { names = append(names, base(r)) })
	sort.Strings(names)
	return names
}

func TestSamples(t *testing.T) {
	rs := loadPack(t)
	m := rs.NewMatcher()
	have := map[string]bool{}
	for _, r := range rs.Rules() {
		have[base(r)] = true
	}
	entries, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatalf("samples: %v", err)
	}
	for _, e := range entries {
		if !have[e.Name()] {
			t.Errorf("%s/%s: samples of no rule of the pack", samplesDir, e.Name())
		}
	}
	for _, r := range rs.Rules() {
		name := base(r)
		dir := filepath.Join(samplesDir, name)
		for _, s := range readSamples(t, filepath.Join(dir, "positive.xml")) {
			got := fired(m, s.ev)
			if !slices.Contains(got, name) {
				t.Errorf("rule %s (%s) does not fire on its positive sample %s (event %s); rules that fired: %v",
					name, r.Title, s.ev.Origin, s.ev.Get(event.EventID), got)
			}
		}
		for _, s := range readSamples(t, filepath.Join(dir, "negative.xml")) {
			for _, other := range fired(m, s.ev) {
				if other == name {
					t.Errorf("rule %s (%s) fires on its negative sample %s", name, r.Title, s.ev.Origin)
				} else {
					t.Errorf("rule %s fires on %s, a negative sample of rule %s: too broad, or the sample is not benign",
						other, s.ev.Origin, name)
				}
			}
		}
	}
}

// TestDocsListEveryRule keeps docs/rules.md in step with the pack.
func TestDocsListEveryRule(t *testing.T) {
	b, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("docs: %v", err)
	}
	doc := string(b)
	for _, r := range loadPack(t).Rules() {
		if !strings.Contains(doc, r.ID) || !strings.Contains(doc, base(r)) {
			t.Errorf("%s: %s does not list the rule (id %s, file %s)", r.Path, docsFile, r.ID, base(r))
		}
	}
}

// TestSchema validates every rule file against SigmaHQ's JSON schema for
// detection rules (sigma-specification 2.1.0). No JSON-schema module is a
// dependency of kizuki, so schemaCheck below implements the keywords that
// schema uses and refuses any other, so that a schema update cannot pass
// unchecked.
func TestSchema(t *testing.T) {
	raw, err := os.ReadFile(testutil.Dataset(t, schemaFile))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("schema %s: %v", schemaFile, err)
	}
	for _, f := range packFiles(t) {
		b, err := fs.ReadFile(rules.FS(), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: YAML: %v", f, err)
			continue
		}
		for _, e := range schemaCheck(schema, doc, "") {
			t.Errorf("%s: %s", f, e)
		}
	}
}

// TestSchemaCheck shows that schemaCheck rejects what the schema forbids, on
// real schema excerpts: a test of the test helper, so that TestSchema passing
// means something.
func TestSchemaCheck(t *testing.T) {
	raw, err := os.ReadFile(testutil.Dataset(t, schemaFile))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	good := "title: t\nid: 3acaf8fe-3aac-4674-92e9-d8a7bc3c2105\nstatus: test\ndate: 2026-11-23\nlevel: low\n" +
		"tags: [attack.t1654]\nlogsource: {product: windows}\ndetection: {sel: {EventID: 1}, condition: sel}\n"
	bad := map[string]string{
		"no title":           strings.Replace(good, "title: t\n", "", 1),
		"no condition":       strings.Replace(good, ", condition: sel", "", 1),
		"bad id":             strings.Replace(good, "3acaf8fe-3aac", "3acaf8fe3aac", 1),
		"bad status":         strings.Replace(good, "status: test", "status: beta", 1),
		"bad level":          strings.Replace(good, "level: low", "level: severe", 1),
		"bad date":           strings.Replace(good, "2026-11-23", "2026-13-23", 1),
		"bad tag":            strings.Replace(good, "attack.t1654", "ATTACK T1654", 1),
		"duplicate tag":      strings.Replace(good, "[attack.t1654]", "[attack.t1654, attack.t1654]", 1),
		"selection a string": strings.Replace(good, "sel: {EventID: 1}", "sel: EventID", 1),
	}
	var v any
	if err := yaml.Unmarshal([]byte(good), &v); err != nil {
		t.Fatal(err)
	}
	if errs := schemaCheck(schema, v, ""); len(errs) > 0 {
		t.Errorf("valid rule rejected: %v", errs)
	}
	for what, doc := range bad {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if errs := schemaCheck(schema, v, ""); len(errs) == 0 {
			t.Errorf("%s: accepted", what)
		}
	}
}

var uuidFormat = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// schemaCheck validates v against a JSON-schema (draft 2020-12) node s and
// returns the violations, each prefixed with the location in v. It knows
// the keywords of the Sigma rule schema: type, required, properties,
// additionalProperties, items, anyOf, oneOf, const, minLength, maxLength,
// pattern, format: uuid and uniqueItems; $schema, title and description are
// annotations.
func schemaCheck(s map[string]any, v any, at string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	loc := func(k string) string { return at + "/" + k }
	for kw := range s {
		switch kw {
		case "$schema", "title", "description", "type", "required", "properties", "additionalProperties",
			"items", "anyOf", "oneOf", "const", "minLength", "maxLength", "pattern", "format", "uniqueItems":
		default:
			bad("schema keyword %q is not supported by this checker", kw)
		}
	}
	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		bad("is %T, want %s", v, typ)
		return errs
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		bad("is %v, want %v", v, c)
	}
	if str, ok := v.(string); ok {
		n := len([]rune(str))
		if max, ok := s["maxLength"].(float64); ok && n > int(max) {
			bad("longer than %v characters", max)
		}
		if min, ok := s["minLength"].(float64); ok && n < int(min) {
			bad("shorter than %v characters", min)
		}
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				bad("schema pattern %q: %v", p, err)
			} else if !re.MatchString(str) {
				bad("%q does not match %s", str, p)
			}
		}
		if f, ok := s["format"].(string); ok && f == "uuid" && !uuidFormat.MatchString(str) {
			bad("%q is not a UUID", str)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		req, _ := s["required"].([]any)
		for _, k := range req {
			if _, ok := obj[k.(string)]; !ok {
				bad("required key %q missing", k)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, schemaCheck(ps, val, loc(k))...)
			} else if as, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, schemaCheck(as, val, loc(k))...)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if is, ok := s["items"].(map[string]any); ok {
			for i, item := range arr {
				errs = append(errs, schemaCheck(is, item, loc(fmt.Sprint(i)))...)
			}
		}
		if u, _ := s["uniqueItems"].(bool); u {
			seen := map[string]bool{}
			for _, item := range arr {
				k := fmt.Sprintf("%T:%v", item, item)
				if seen[k] {
					bad("item %v repeated", item)
				}
				seen[k] = true
			}
		}
	}
	if alts, ok := s["anyOf"].([]any); ok {
		ok := false
		for _, a := range alts {
			if len(schemaCheck(a.(map[string]any), v, at)) == 0 {
				ok = true
				break
			}
		}
		if !ok {
			bad("matches none of the anyOf alternatives")
		}
	}
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, a := range alts {
			if len(schemaCheck(a.(map[string]any), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			bad("matches %d of the oneOf alternatives, want exactly 1", n)
		}
	}
	return errs
}

// hasType reports whether a YAML-decoded value has the JSON-schema type typ.
func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		switch v.(type) {
		case int, int64, uint64:
			return true
		}
		return false
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

// TestSigmaHQOverlap replays the pack's samples through SigmaHQ's Windows
// rules and logs which of them also fire (go test -run
// TestSigmaHQOverlap -v); docs/rules.md records the result. The overlap itself
// is information, not a requirement; the test fails only when the SigmaHQ
// corpus cannot be used for the comparison.
func TestSigmaHQOverlap(t *testing.T) {
	hq, errs := sigma.LoadPaths([]string{testutil.Dataset(t, sigmaHQDir)}, sigma.Options{})
	if hq == nil || len(hq.Rules()) < 2000 {
		t.Fatalf("SigmaHQ %s: too few rules loaded to compare with (%d load errors)", sigmaHQDir, len(errs))
	}
	t.Logf("SigmaHQ %s: %d rules loaded, %d did not load", sigmaHQDir, len(hq.Rules()), len(errs))
	m := hq.NewMatcher()
	for _, r := range loadPack(t).Rules() {
		for _, kind := range []string{"positive", "negative"} {
			hits := map[string]string{}
			for _, s := range readSamples(t, filepath.Join(samplesDir, base(r), kind+".xml")) {
				m.Match(s.ev, func(h *sigma.Rule) { hits[h.ID] = h.Title })
			}
			var list []string
			for id, title := range hits {
				list = append(list, id+" "+title)
			}
			sort.Strings(list)
			t.Logf("%s: %d SigmaHQ rules fire on its %s samples: %s", base(r), len(list), kind, strings.Join(list, "; "))
		}
	}
}

// recordings are OTRF Security-Datasets recordings of attack simulations on
// real Windows hosts (JSON lines, zipped), with the pack's hits each must
// produce: rule file name → number of events. The counts come from reading
// the recordings (the commands run, the events logged), not from running the
// pack; every other event of the recordings (Sysmon, Security, PowerShell and
// WMI background activity of ordinary hosts) must fire nothing.
var recordings = map[string]map[string]int{
	// 6 auditpol commands that switch auditing off, each as Sysmon 1 and Security 4688; the 63 resulting
	// 4719 events; the System log clear (104) that starts the recording.
	"defense_evasion/host/auditpol_system_user_auditpolicy_modification.zip": {
		"kizuki_auditpol_disable_or_clear": 12, "kizuki_audit_policy_changed": 63, "kizuki_system_log_cleared": 1},
	// ntdsutil "ac i ntds" "ifm" "create full ..." (Sysmon 1 + 4688) and the ntds.dit it wrote (Sysmon 11).
	"credential_access/host/cmd_dumping_ntds_dit_file_ntdsutil.zip": {
		"kizuki_ntdsutil_ifm_creation": 2, "kizuki_ntds_dit_written_outside_ntds_folder": 1, "kizuki_system_log_cleared": 1},
	// vssadmin create shadow and reg save HKLM\SYSTEM (each Sysmon 1 + 4688); ntds.dit copied out of the
	// shadow copy by an interactive cmd.exe "copy" (only Sysmon 11 sees it).
	"credential_access/host/cmd_dumping_ntds_dit_file_volume_shadow_copy.zip": {
		"kizuki_vssadmin_create_shadow": 2, "kizuki_reg_save_credential_hive": 2,
		"kizuki_ntds_dit_written_outside_ntds_folder": 1, "kizuki_system_log_cleared": 2},
	// rundll32 comsvcs.dll MiniDump of LSASS (Sysmon 1 + 4688) and its two LSASS accesses (Sysmon 10).
	"credential_access/host/psh_lsass_memory_dump_comsvcs.zip": {
		"kizuki_lsass_dump_comsvcs": 2, "kizuki_lsass_memory_access": 2, "kizuki_security_log_cleared": 1},
	// esentutl /y /vss ...\config/SAM (Sysmon 1 + 4688).
	"credential_access/host/cmd_sam_copy_esentutl.zip": {
		"kizuki_ntds_dit_copy_from_shadow": 2, "kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 1},
	// Empire launchers: powershell -enc (Sysmon 1 + 4688 each).
	"execution/host/empire_launcher_vbs.zip":                      {"kizuki_powershell_encoded_command": 2},
	"lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl.zip":   {"kizuki_powershell_encoded_command": 2},
	"privilege_escalation/host/empire_uac_shellapi_fodhelper.zip": {"kizuki_powershell_encoded_command": 4},
	// Techniques outside the pack: only the log clears the recordings start with.
	"defense_evasion/host/cmd_bitsadmin_download_psh_script.zip":  {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 2},
	"defense_evasion/host/cmd_mshta_javascript_getobject_sct.zip": {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 2},
	"defense_evasion/host/cmd_mshta_vbscript_execute_psh.zip":     {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 2},
	"defense_evasion/host/cmd_netsh_fw_mod_open_ports.zip":        {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 1},
	"persistence/host/cmd_userinitmprlogonscript_batch.zip":       {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 1},
	"defense_evasion/host/psh_mavinject_dll_notepad.zip":          {"kizuki_security_log_cleared": 1, "kizuki_system_log_cleared": 1},
	"defense_evasion/host/wmic_remote_xsl_jscript.zip":            {"kizuki_security_log_cleared": 1},
	"defense_evasion/host/covenant_installutil.zip":               {},
	"discovery/host/empire_shell_net_local_users.zip":             {},
	"lateral_movement/host/schtask_create.zip":                    {},
	"other/aptsimulator_cobaltstrike.zip":                         {},
}

// maxMember caps one decompressed recording (the largest is about 35 MB).
const maxMember = 128 << 20

func TestRealRecordings(t *testing.T) {
	root := testutil.Dataset(t, "windows/mordor/atomic/windows")
	m := loadPack(t).NewMatcher()
	pc := parse.NewContext(time.UTC, time.Time{})
	for rel, want := range recordings {
		got := map[string]int{}
		events := 0
		zr, err := zip.OpenReader(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("recording %s: %v", rel, err)
			continue
		}
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, ".json") {
				continue
			}
			if f.UncompressedSize64 > maxMember {
				t.Errorf("%s/%s: %d bytes, more than %d", rel, f.Name, f.UncompressedSize64, maxMember)
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Errorf("%s/%s: %v", rel, f.Name, err)
				continue
			}
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
			for sc.Scan() {
				ev := &event.Event{Source: "winjson"}
				if (winjson.Parser{}).Parse(sc.Bytes(), ev, pc) != nil {
					continue // a malformed line is the parser's concern, not the pack's
				}
				events++
				m.Match(ev, func(r *sigma.Rule) { got[base(r)]++ })
			}
			if err := sc.Err(); err != nil {
				t.Errorf("%s/%s: %v", rel, f.Name, err)
			}
			rc.Close()
		}
		zr.Close()
		if events < 100 {
			t.Errorf("%s: only %d events read", rel, events)
		}
		for name, n := range want {
			if got[name] != n {
				t.Errorf("%s: rule %s fired on %d events, want %d", rel, name, got[name], n)
			}
		}
		for name, n := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: rule %s fired on %d events of ordinary activity (false positives)", rel, name, n)
			}
		}
	}
}

// BenchmarkPackMatch measures the pack's matching cost per event on the
// sample events (a mix of Sysmon, Security, PowerShell and Defender events).
func BenchmarkPackMatch(b *testing.B) {
	rs, errs := sigma.LoadFS(rules.FS(), sigma.Options{})
	if len(errs) > 0 {
		b.Fatalf("pack: %v", errs[0])
	}
	var evs []*event.Event
	for _, r := range rs.Rules() {
		for _, kind := range []string{"positive.xml", "negative.xml"} {
			for _, s := range readSamples(b, filepath.Join(samplesDir, base(r), kind)) {
				evs = append(evs, s.ev)
			}
		}
	}
	m := rs.NewMatcher()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(evs[i%len(evs)], func(*sigma.Rule) {})
	}
	b.ReportMetric(float64(len(evs)), "sample_events")
}
