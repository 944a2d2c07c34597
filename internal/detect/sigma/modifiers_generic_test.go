package sigma

import (
	"strings"
	"testing"
)

// Special field values (null, '') and the generic modifiers all, neq,
// exists, as the rules specification and the modifiers appendix define them.

func TestNullEmptyMissing(t *testing.T) {
	runMatchCases(t, []matchCase{
		// null: the field is absent.
		{"PasswordLastSet", `null`, "", "", true},
		{"PasswordLastSet", `null`, "PasswordLastSet", "", false},
		{"PasswordLastSet", `null`, "PasswordLastSet", "-", false},
		{"PasswordLastSet", `null`, "PasswordLastSet", "x", false},
		{"PasswordLastSet", `~`, "", "", true},
		// '': present and empty.
		{"PasswordLastSet", `''`, "PasswordLastSet", "", true},
		{"PasswordLastSet", `''`, "", "", false},
		{"PasswordLastSet", `''`, "PasswordLastSet", "-", false},
		// '-' is Windows' own "no value", a plain string.
		{"PasswordLastSet", `'-'`, "PasswordLastSet", "-", true},
		{"PasswordLastSet", `'-'`, "PasswordLastSet", "", false},
		// Any other value needs the field.
		{"PasswordLastSet|contains", `'x'`, "", "", false},
		{"PasswordLastSet|startswith", `''`, "PasswordLastSet", "abc", true},
	})
	// The specification's valid example: null and '' in separate selections.
	rs := mustLoad(t, procRule(`
selection_main:
    FieldA: 'something'
selection_empty1:
    FieldB: ''
selection_empty2:
    FieldB: null
condition: selection_main and 1 of selection_empty*`))
	for _, c := range []struct {
		kv   []string
		want bool
	}{
		{[]string{"FieldA", "something", "FieldB", ""}, true},
		{[]string{"FieldA", "something"}, true},
		{[]string{"FieldA", "something", "FieldB", "x"}, false},
		{[]string{"FieldB", ""}, false},
	} {
		if got := len(fired(rs, sysmonEvent(c.kv...))) == 1; got != c.want {
			t.Errorf("%v: fired %v, want %v", c.kv, got, c.want)
		}
	}
	// "not null" is a negated selection (the specification's example).
	rs = mustLoad(t, `title: t
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4738
    filter:
        PasswordLastSet: null
    condition: selection and not filter
`)
	if got := fired(rs, winEv("Security", "4738", "PasswordLastSet", "%%1794")); len(got) != 1 {
		t.Errorf("4738 with PasswordLastSet: fired %v", got)
	}
	if got := fired(rs, winEv("Security", "4738")); len(got) != 0 {
		t.Errorf("4738 without PasswordLastSet: fired %v", got)
	}
}

func TestExists(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"PasswordLastSet|exists", `true`, "PasswordLastSet", "x", true},
		{"PasswordLastSet|exists", `true`, "PasswordLastSet", "", true}, // empty is present
		{"PasswordLastSet|exists", `true`, "", "", false},
		{"PasswordLastSet|exists", `false`, "", "", true},
		{"PasswordLastSet|exists", `false`, "PasswordLastSet", "", false},
		{"PasswordLastSet|exists", `'true'`, "PasswordLastSet", "x", true},
	})
	for _, bad := range []string{`'maybe'`, `1`} {
		if err := loadErr(t, itemRule("F|exists", bad)); !strings.Contains(err.Error(), "exists") {
			t.Errorf("F|exists: %s: %v", bad, err)
		}
	}
	if err := loadErr(t, itemRule("F|contains|exists", "true")); !strings.Contains(err.Error(), "exists") {
		t.Errorf("contains|exists: %v", err)
	}
}

func TestAll(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"CommandLine|contains|all", `['net', 'user', '/add']`, "CommandLine", "net user bob /add", true},
		{"CommandLine|contains|all", `['net', 'user', '/add']`, "CommandLine", "net user bob", false},
		{"CommandLine|all|contains", `['net', 'user']`, "CommandLine", "user net", true},
		{"CommandLine|contains|all", `['net']`, "CommandLine", "net", true},
		{"CommandLine|contains|all", `['net', 'user']`, "", "", false},
	})
	// Keywords with |all (the specification's example).
	rs := mustLoad(t, `title: t
logsource: {product: windows, service: msexchange-management}
detection:
    keywords_cmdlet:
        '|all':
            - 'OabVirtualDirectory'
            - ' -ExternalUrl '
    condition: keywords_cmdlet
`)
	ex := func(payload string) int {
		return len(fired(rs, winEv("MSExchange Management", "1", "Data", payload)))
	}
	if ex("Set-OabVirtualDirectory -Identity x -ExternalUrl 'http://evil'") != 1 {
		t.Error("|all keywords: both present, no match")
	}
	if ex("Set-OabVirtualDirectory -Identity x") != 0 {
		t.Error("|all keywords: one missing, matched")
	}
}

func TestNeq(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"LogonType|neq", `3`, "LogonType", "2", true},
		{"LogonType|neq", `3`, "LogonType", "3", false},
		{"LogonType|neq", `[3, 10]`, "LogonType", "10", false},
		{"LogonType|neq", `[3, 10]`, "LogonType", "2", true},
		// pySigma negates the whole item: an absent field is "different".
		{"LogonType|neq", `3`, "", "", true},
		{"User|neq|contains", `'admin'`, "User", "bob", true},
		{"User|neq|contains", `'admin'`, "User", "xadminx", false},
	})
}

func TestKeywords(t *testing.T) {
	// A list of plain values searches every field of the event.
	rs := mustLoad(t, `title: t
logsource: {product: windows}
detection:
    mimikatz_keywords:
        - 'event::clear'
        - 'event::drop'
    condition: mimikatz_keywords
`)
	if got := fired(rs, winEv("Microsoft-Windows-PowerShell/Operational", "4104", "ScriptBlockText", "Invoke-Mimikatz -Command 'EVENT::Clear'")); len(got) != 1 {
		t.Errorf("keyword in ScriptBlockText: fired %v", got)
	}
	if got := fired(rs, winEv("Application", "1000", "Data", "nothing")); len(got) != 0 {
		t.Errorf("no keyword: fired %v", got)
	}
	// Keyword values take wildcards; a keyword value is found inside a
	// field value.
	rs = mustLoad(t, `title: t
logsource: {product: windows, service: system}
detection:
    keywords:
        - 'svc*evil'
    condition: keywords
`)
	if got := fired(rs, winEv("System", "7045", "ImagePath", `C:\svc\x\evil.exe`)); len(got) != 1 {
		t.Errorf("wildcard keyword: fired %v", got)
	}
	if got := fired(rs, winEv("System", "7045", "ServiceName", "svc", "ImagePath", "evil")); len(got) != 0 {
		t.Errorf("a keyword must lie in one field, not across two: fired %v", got)
	}
}

func TestListsAndMaps(t *testing.T) {
	// Lists of maps are OR; a map's pairs are AND.
	rs := mustLoad(t, procRule(`
selection:
    - Image|endswith: '\example.exe'
    - Description|contains: 'Test executable'
condition: selection`))
	for _, c := range []struct {
		kv   []string
		want bool
	}{
		{[]string{"Image", `C:\example.exe`}, true},
		{[]string{"Description", "A Test executable"}, true},
		{[]string{"Image", `C:\other.exe`, "Description", "other"}, false},
	} {
		if got := len(fired(rs, sysmonEvent(c.kv...))) == 1; got != c.want {
			t.Errorf("%v: fired %v, want %v", c.kv, got, c.want)
		}
	}
	rs = mustLoad(t, `title: t
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4769
        TicketOptions: '0x40810000'
        TicketEncryption: '0x17'
    condition: selection
`)
	if len(fired(rs, winEv("Security", "4769", "TicketOptions", "0x40810000", "TicketEncryption", "0x17"))) != 1 {
		t.Error("all pairs present: no match")
	}
	if len(fired(rs, winEv("Security", "4769", "TicketOptions", "0x40810000", "TicketEncryption", "0x12"))) != 0 {
		t.Error("one pair differs: matched")
	}
}
