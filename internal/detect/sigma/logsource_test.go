package sigma

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// TestRouteTableMatchesThor checks the routing table against SigmaHQ's
// tests/thor.yml, the configuration their regression runner uses: every
// Windows category it maps to EventIDs must route to the same EventIDs, and
// every service it maps to channels ("WinEventLog:<channel>") to those
// channels.
func TestRouteTableMatchesThor(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.Dataset(t, "sigma/tests"), "thor.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var thor struct {
		Logsources map[string]struct {
			Category   string         `yaml:"category"`
			Product    string         `yaml:"product"`
			Service    string         `yaml:"service"`
			Conditions map[string]any `yaml:"conditions"`
			Rewrite    struct {
				Service string `yaml:"service"`
			} `yaml:"rewrite"`
			Sources       []string          `yaml:"sources"`
			FieldMappings map[string]string `yaml:"fieldmappings"`
		} `yaml:"logsources"`
	}
	if err := yaml.Unmarshal(data, &thor); err != nil {
		t.Fatal(err)
	}
	tbl, err := routeTableOnce()
	if err != nil {
		t.Fatal(err)
	}
	// Collect thor's EventIDs (and extra conditions) per category.
	type want struct {
		eids    map[string]bool
		mapping map[string]string
	}
	byCat := map[string]*want{}
	checked := 0
	for name, ls := range thor.Logsources {
		switch {
		case ls.Category != "" && ls.Conditions != nil:
			w := byCat[ls.Category]
			if w == nil {
				w = &want{eids: map[string]bool{}, mapping: map[string]string{}}
				byCat[ls.Category] = w
			}
			switch v := ls.Conditions["EventID"].(type) {
			case []any:
				for _, e := range v {
					w.eids[fmt.Sprint(e)] = true
				}
			default:
				w.eids[fmt.Sprint(v)] = true
			}
			for k, v := range ls.FieldMappings {
				w.mapping[k] = v
			}
		case ls.Product == "windows" && ls.Service != "":
			routes := tbl.routesFor(Logsource{Product: "windows", Service: ls.Service})
			if routes == nil {
				t.Errorf("thor %s: windows service %s has no route", name, ls.Service)
				continue
			}
			var chans []string
			for _, r := range routes {
				chans = append(chans, r.Channel...)
			}
			for _, src := range ls.Sources {
				ch := strings.TrimPrefix(src, "WinEventLog:")
				if !contains(chans, ch) {
					t.Errorf("thor %s: channel %q missing from service %s (have %v)", name, ch, ls.Service, chans)
				}
			}
			checked++
		}
	}
	for cat, w := range byCat {
		ls := Logsource{Product: "windows", Category: cat}
		routes := tbl.routesFor(ls)
		if routes == nil {
			routes = tbl.routesFor(Logsource{Category: cat})
		}
		got := map[string]bool{}
		gotMap := map[string]string{}
		for _, r := range routes {
			for _, e := range r.EventID {
				got[e] = true
			}
			for k, v := range r.FieldMap {
				gotMap[k] = v
			}
		}
		if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(w.eids)) {
			t.Errorf("category %s: EventIDs %v, thor.yml says %v", cat, sortedKeys(got), sortedKeys(w.eids))
		}
		for k, v := range w.mapping {
			if gotMap[k] != v {
				t.Errorf("category %s: %s maps to %q, thor.yml says %q", cat, k, gotMap[k], v)
			}
		}
		checked++
	}
	t.Logf("%d thor.yml logsources checked", checked)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestRouting(t *testing.T) {
	rs := mustLoad(t, `title: proc
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: '\whoami.exe'}, condition: sel}
---
title: security
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625, TargetUserName: 'bob'}, condition: sel}
---
title: system
logsource: {product: windows, service: system}
detection: {sel: {TargetUserName: 'bob'}, condition: sel}
---
title: ps
logsource: {product: windows, category: ps_script}
detection: {sel: {ScriptBlockText|contains: 'whoami'}, condition: sel}
---
title: regadd
logsource: {product: windows, category: registry_add}
detection: {sel: {TargetObject|contains: '\Run\'}, condition: sel}
---
title: aws
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: x}, condition: sel}
`)
	f := func(name string, ev *event.Event, want ...string) {
		t.Helper()
		if got := strings.Join(fired(rs, ev), ","); got != strings.Join(want, ",") {
			t.Errorf("%s: fired %q, want %q", name, got, strings.Join(want, ","))
		}
	}
	f("sysmon 1", sysmonEvent("Image", `C:\whoami.exe`), "proc")
	f("sysmon 3 (not process creation)", winEv(sysmonChannel, "3", "Image", `C:\whoami.exe`))
	f("security 4688, Image mapped from NewProcessName", winEv("Security", "4688", "NewProcessName", `C:\whoami.exe`), "proc")
	f("security 4688 with an Image field", winEv("Security", "4688", "Image", `C:\whoami.exe`))
	f("security 4625", winEv("Security", "4625", "TargetUserName", "bob"), "security")
	f("security 4624", winEv("Security", "4624", "TargetUserName", "bob"))
	f("system channel", winEv("System", "7045", "TargetUserName", "bob"), "system")
	f("channel case", winEv("security", "4625", "TargetUserName", "bob"), "security")
	f("powershell 4104", winEv("Microsoft-Windows-PowerShell/Operational", "4104", "ScriptBlockText", "whoami"), "ps")
	f("powershell core 4104", winEv("PowerShellCore/Operational", "4104", "ScriptBlockText", "whoami"), "ps")
	f("powershell 4103", winEv("Microsoft-Windows-PowerShell/Operational", "4103", "ScriptBlockText", "whoami"))
	f("registry add", winEv(sysmonChannel, "12", "EventType", "CreateKey", "TargetObject", `HKLM\Run\x`), "regadd")
	f("registry delete", winEv(sysmonChannel, "12", "EventType", "DeleteKey", "TargetObject", `HKLM\Run\x`))
	ev := sysmonEvent("Image", `C:\whoami.exe`)
	ev.Source = "squid"
	f("not a Windows source", ev)
	st := rs.Stats()
	aws := rs.Rules()[len(rs.Rules())-1]
	if st.NoSource != 1 || aws.Title != "aws" || !strings.Contains(aws.NoSource, "aws/-/cloudtrail") {
		t.Errorf("stats %+v, aws rule %q: %q", st, aws.Title, aws.NoSource)
	}
}

func TestProxyRouting(t *testing.T) {
	rs := mustLoad(t, `title: ua
logsource: {category: proxy}
detection:
    sel:
        c-useragent|contains: 'sqlmap'
        cs-method: GET
    condition: sel
---
title: ext
logsource: {category: proxy}
detection:
    sel:
        c-uri-extension: 'hta'
        c-uri-query|contains: 'id='
        cs-host|endswith: '.example.org'
    condition: sel
---
title: kw
logsource: {category: proxy}
detection:
    keywords: ['TCP_DENIED/407']
    condition: keywords
`)
	ev := &event.Event{Source: "squid", Raw: `1 2 10.0.0.1 TCP_DENIED/407 3 GET http://a.example.org/x.hta?id=1 - HIER_NONE/- -`}
	ev.Set(event.URL, "http://a.example.org/x.hta?id=1")
	ev.Set(event.Domain, "a.example.org")
	ev.Set(event.Method, "GET")
	ev.Set(event.UserAgent, "sqlmap/1.5")
	if got := strings.Join(fired(rs, ev), ","); got != "ua,ext,kw" {
		t.Errorf("squid event: fired %q", got)
	}
	ev.Source = "bind"
	if got := fired(rs, ev); len(got) != 0 {
		t.Errorf("bind event: fired %q", got)
	}
}

func TestURLParts(t *testing.T) {
	for _, c := range []struct{ url, query, path, ext string }{
		{"http://h/a/b.php?x=1#f", "x=1", "/a/b.php", "php"},
		{"http://h", "", "/", ""},
		{"/a.b/c", "", "/a.b/c", ""},
		{"h:443", "", "h:443", ""},
		{"http://h/dir.d/file", "", "/dir.d/file", ""},
	} {
		if q, p, e := urlQuery(c.url), urlPath(c.url), urlExtension(c.url); q != c.query || p != c.path || e != c.ext {
			t.Errorf("%s: %q %q %q", c.url, q, p, e)
		}
	}
}

func TestKnownLogsources(t *testing.T) {
	known, err := KnownLogsources()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"windows/process_creation/-", "windows/-/security", "-/proxy/-", "-/antivirus/-", "linux/-/sshd"} {
		if !contains(known, want) {
			t.Errorf("%s not in %v", want, known)
		}
	}
	if !sort.StringsAreSorted(known) {
		t.Error("not sorted")
	}
}
