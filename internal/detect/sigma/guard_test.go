package sigma

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// describeGuards renders an instance's guards for comparison:
// "veto Image contains \\", "need CommandLine contains abc".
func describeGuards(c *compiled, in *inst) []string {
	var out []string
	for _, g := range in.guards {
		kind := "need"
		if g.veto {
			kind = "veto"
		}
		what := ""
		switch {
		case g.cidr:
			what = "cidr " + g.net.String()
		default:
			what = fmt.Sprintf("%s %s", [...]string{"equal", "prefix", "suffix", "contains", "any", "glob"}[g.pat.kind], g.pat.lit)
		}
		out = append(out, kind+" "+c.fieldName[g.fid]+" "+what)
	}
	return out
}

func TestGuards(t *testing.T) {
	for _, tc := range []struct {
		name, detection string
		guards          []string
		fires, silent   [][]string // events (field, value pairs) the rule fires / does not fire on
	}{
		{
			name: "veto from a filter",
			detection: `sel: {CommandLine|contains: run}
filter: {Image|contains: '\'}
condition: sel and not filter`,
			guards: []string{`veto Image contains \`, "need CommandLine contains run"},
			fires:  [][]string{{"CommandLine", "run it", "Image", "x.exe"}, {"CommandLine", "RUN"}},
			silent: [][]string{{"CommandLine", "run it", "Image", `C:\x.exe`}, {"CommandLine", "walk", "Image", "x.exe"}},
		},
		{
			name: "vetoes of 1 of filter_*, cidr",
			detection: `sel: {CommandLine|contains: run}
filter_ip: {DestinationIp|cidr: ['10.0.0.0/8', '127.0.0.0/8']}
filter_img: {Image|endswith: ['.exe', '.com']}
condition: sel and not 1 of filter_*`,
			guards: []string{"veto DestinationIp cidr 10.0.0.0/8", "veto DestinationIp cidr 127.0.0.0/8", "veto Image suffix .exe", "veto Image suffix .com", "need CommandLine contains run"},
			fires:  [][]string{{"CommandLine", "run", "DestinationIp", "8.8.8.8", "Image", "x.bat"}, {"CommandLine", "run", "DestinationIp", "not an address"}},
			silent: [][]string{{"CommandLine", "run", "DestinationIp", "10.1.2.3"}, {"CommandLine", "run", "Image", `C:\X.EXE`}},
		},
		{
			name: "no guard from what is not plain: neq, cased, all, regex, an AND under the NOT",
			detection: `sel: {CommandLine|contains|all: [a, b]}
filter_neq: {Image|neq: 'x.exe'}
filter_cased: {Image|cased: 'X.exe'}
filter_and: {Image: 'y.exe', User: 'root'}
filter_re: {Image|re: 'z'}
condition: sel and not 1 of filter_*`,
			guards: nil,
			fires:  [][]string{{"CommandLine", "a b", "Image", "x.exe", "User", "u"}},
			silent: [][]string{{"CommandLine", "a b", "Image", "X.exe"}, {"CommandLine", "a b", "Image", "y.exe", "User", "root"}, {"CommandLine", "a"}},
		},
		{
			name: "requirements of a one-alternative selection, none from a list of maps",
			detection: `sel: {Image|endswith: '\x.exe', CommandLine|contains: [a, b], ParentImage: 'p.exe'}
alt:
  - User: u1
  - User: u2
condition: sel and alt`,
			guards: []string{`need Image suffix \x.exe`, "need ParentImage equal p.exe"},
			fires:  [][]string{{"Image", `C:\X.EXE`, "CommandLine", "b", "ParentImage", "P.exe", "User", "u2"}},
			silent: [][]string{{"Image", `C:\y.exe`, "CommandLine", "b", "ParentImage", "p.exe", "User", "u2"}, {"Image", `C:\x.exe`, "CommandLine", "b", "User", "u1"}},
		},
		{
			name:      "an OR at the top gives no guard",
			detection: "a: {Image|endswith: 'x.exe'}\nb: {CommandLine|contains: run}\ncondition: a or not b",
			guards:    nil,
			fires:     [][]string{{"Image", "x.exe", "CommandLine", "run"}, {"Image", "y.exe"}},
			silent:    [][]string{{"Image", "y.exe", "CommandLine", "run"}},
		},
	} {
		rs := mustLoad(t, procRule(tc.detection))
		c := rs.compile()
		var got []string
		for _, in := range c.insts {
			if in.rule.det != nil && strings.Contains(in.rule.Logsource.Category, "process_creation") {
				got = describeGuards(c, in)
				break
			}
		}
		if !slices.Equal(got, tc.guards) {
			t.Errorf("%s: guards\n  %q\nwant\n  %q", tc.name, got, tc.guards)
		}
		for _, kv := range tc.fires {
			if len(fired(rs, sysmonEvent(kv...))) != 1 {
				t.Errorf("%s: does not fire on %q", tc.name, kv)
			}
		}
		for _, kv := range tc.silent {
			if len(fired(rs, sysmonEvent(kv...))) != 0 {
				t.Errorf("%s: fires on %q", tc.name, kv)
			}
		}
	}
}
