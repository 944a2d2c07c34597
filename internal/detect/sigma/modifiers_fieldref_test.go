package sigma

import (
	"strings"
	"testing"
)

func TestFieldRef(t *testing.T) {
	rs := mustLoad(t, itemRule("User|fieldref", "ParentUser"))
	for _, c := range []struct {
		kv   []string
		want bool
	}{
		{[]string{"User", `CORP\bob`, "ParentUser", `corp\BOB`}, true},
		{[]string{"User", `CORP\bob`, "ParentUser", `CORP\alice`}, false},
		{[]string{"User", `CORP\bob`}, false},
		{[]string{"ParentUser", `CORP\bob`}, false},
		{[]string{"User", "", "ParentUser", ""}, true},
	} {
		if got := len(fired(rs, sysmonEvent(c.kv...))) == 1; got != c.want {
			t.Errorf("fieldref %v: fired %v, want %v", c.kv, got, c.want)
		}
	}
	// With contains / startswith / endswith after it.
	rs = mustLoad(t, itemRule("CommandLine|fieldref|contains", "Image"))
	if len(fired(rs, sysmonEvent("Image", `C:\a.exe`, "CommandLine", `"C:\A.exe" /x`))) != 1 {
		t.Error("fieldref|contains: no match")
	}
	rs = mustLoad(t, itemRule("CommandLine|fieldref|endswith", "Image"))
	if len(fired(rs, sysmonEvent("Image", `C:\a.exe`, "CommandLine", `"C:\A.exe" /x`))) != 0 {
		t.Error("fieldref|endswith: matched")
	}
	// A cross-user spawn (the SigmaHQ rule with fieldref and neq-style
	// filters) on 4688: the reference goes through the field mapping too.
	rs = mustLoad(t, procRule(`
selection:
    Image|endswith: '\notepad.exe'
filter:
    Image|fieldref: ParentImage
condition: selection and not filter`))
	if len(fired(rs, winEv("Security", "4688", "NewProcessName", `C:\notepad.exe`, "ParentProcessName", `C:\notepad.exe`))) != 0 {
		t.Error("4688: Image fieldref ParentImage through the mapping: should be filtered")
	}
	if len(fired(rs, winEv("Security", "4688", "NewProcessName", `C:\notepad.exe`, "ParentProcessName", `C:\cmd.exe`))) != 1 {
		t.Error("4688: different parent: should fire")
	}
	if err := loadErr(t, itemRule("User|fieldref", `'Parent*'`)); !strings.Contains(err.Error(), "fieldref") {
		t.Errorf("fieldref with wildcard: %v", err)
	}
}
