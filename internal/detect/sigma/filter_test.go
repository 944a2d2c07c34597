package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// The Sigma filters specification's examples.

// Two rules the spec's filter names, by the ids it lists.
const filterTargets = `title: Data Compressed - rar.exe
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\rar.exe'
    condition: selection
---
title: Login on jump host
id: df0841c0-9846-4e9f-ad8a-7df91571771b
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\mstsc.exe'
    condition: selection
---
title: Not named by the filter
id: 11111111-2222-3333-4444-555555555555
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\rar.exe'
    condition: selection
`

func TestFilterSpecExample(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join(testutil.Dataset(t, "sigma-specification/tests/schema/filter"), "filter_1.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rs := mustLoad(t, filterTargets+"---\n"+string(spec))
	if len(rs.Filters()) != 1 || len(rs.Filters()[0].Rules) != 2 {
		t.Fatalf("filters: %+v", rs.Filters())
	}
	admin := sysmonEvent("Image", `C:\Program Files\WinRAR\rar.exe`, "User", "adm_bob")
	user := sysmonEvent("Image", `C:\Program Files\WinRAR\rar.exe`, "User", "bob")
	if got := fired(rs, admin); len(got) != 1 || got[0] != "Not named by the filter" {
		t.Errorf("adm_ user: fired %v, want only the rule the filter does not name", got)
	}
	if got := fired(rs, user); len(got) != 2 {
		t.Errorf("other user: fired %v, want both rar rules", got)
	}
	if got := fired(rs, sysmonEvent("Image", `C:\mstsc.exe`, "User", "ADM_alice")); len(got) != 0 {
		t.Errorf("jump host by adm_ user: fired %v", got)
	}
	// The filter goes through the logsource's field mapping like the rule:
	// on Security 4688, Image is NewProcessName.
	if got := fired(rs, winEv("Security", "4688", "NewProcessName", `C:\rar.exe`, "User", "adm_x")); len(got) != 1 {
		t.Errorf("4688 adm_: fired %v", got)
	}
}

func TestFilterLogsourceAndAny(t *testing.T) {
	// A filter applies only to rules of its logsource; rules: any applies to
	// all of them.
	rs := mustLoad(t, filterTargets+`---
title: Drop the build server
logsource:
    category: process_creation
    product: windows
filter:
    rules: any
    selection:
        Computer: 'build01'
    condition: selection
---
title: A DNS filter
logsource:
    category: dns
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
    selection:
        query: 'x'
    condition: not selection
`)
	ev := sysmonEvent("Image", `C:\rar.exe`)
	if got := fired(rs, ev); len(got) != 2 {
		t.Errorf("not build01: fired %v (the DNS filter must not apply)", got)
	}
	ev = sysmonEvent("Image", `C:\rar.exe`)
	ev.SetExtra("Computer", "BUILD01")
	if got := fired(rs, ev); len(got) != 0 {
		t.Errorf("build01: fired %v", got)
	}
}

func TestFilterErrors(t *testing.T) {
	for _, c := range []struct{ doc, msg string }{
		{"title: f\nlogsource: {product: windows}\nfilter:\n    selection: {a: b}\n    condition: selection\n", "rules"},
		{"title: f\nfilter:\n    rules: any\n    selection: {a: b}\n    condition: selection\n", "logsource"},
		{"title: f\nlogsource: {product: windows}\nfilter:\n    rules: any\n    selection: {a: b}\n", "condition"},
		{"title: f\nlogsource: {product: windows}\nfilter:\n    rules: any\n    selection: {a|nope: b}\n    condition: selection\n", "unknown modifier"},
	} {
		if err := loadErr(t, c.doc); !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.msg)
		}
	}
}
