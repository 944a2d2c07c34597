package hunt

import (
	"strings"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// detailFields are the fields that tell an analyst what happened, in the
// order they are shown, when the rule does not list its own (fields:).
var detailFields = [...]string{
	"CommandLine", "Image", "ParentImage", "ParentCommandLine", "TargetFilename", "TargetObject", "Details",
	"ScriptBlockText", "Payload", "ServiceName", "ImagePath", "TaskName", "TargetImage", "GrantedAccess",
	"QueryName", "DestinationIp", "DestinationPort", "DestinationHostname", "SourceIp",
	"TargetUserName", "TargetDomainName", "SubjectUserName", "MemberName", "MemberSid", "GroupName",
	"IpAddress", "WorkstationName", "LogonType", "AuthenticationPackageName", "Status", "FailureReason",
	"ObjectName", "ShareName", "RelativeTargetName", "AuditPolicyChanges", "SubcategoryGuid", "User",
	"url", "domain", "src_ip", "dst_ip", "dst_port", "user", "query", "user_agent", "action",
}

// detailIndex gives each detail field's position, for the one pass over
// an event's fields that finds them (a lookup per name would scan the
// fields forty times per match); detailCommon says which are kizuki's
// common fields (url, user…), read as such. Built once, never modified.
var detailIndex, detailCommon = func() (map[string]int, [len(detailFields)]int) {
	m := make(map[string]int, len(detailFields))
	var common [len(detailFields)]int
	for i, n := range detailFields {
		common[i] = -1
		if k, ok := event.KeyByName(n); ok {
			common[i] = int(k)
			continue
		}
		m[n] = i
	}
	return m, common
}()

// details renders the key fields of a match's event as "key: value" joined
// by sep; values longer than max runes (0: no limit) are cut with "…". For a
// correlation it describes the group and count instead.
func details(m *Match, max int, sep string) string {
	return string(appendDetails(nil, m, max, sep))
}

// appendDetails is details appending to b.
func appendDetails(b []byte, m *Match, max int, sep string) []byte {
	if c := m.Correlation; c != nil {
		return append(b, correlationDetails(c, sep)...)
	}
	ev := m.Event
	start := len(b)
	add := func(n, v string) {
		if v == "" || v == "-" {
			return
		}
		if len(b) > start {
			b = append(b, sep...)
		}
		b = append(b, n...)
		b = append(b, ": "...)
		b = append(b, clip(oneLine(v), max)...)
	}
	// The rule's own fields first, as it lists them.
	var seen map[string]bool
	if len(m.Rule.Fields) > 0 {
		seen = make(map[string]bool, len(m.Rule.Fields))
		for _, n := range m.Rule.Fields {
			if seen[n] {
				continue
			}
			seen[n] = true
			if v, ok := ev.LookupOK(n); ok {
				add(n, v)
			}
		}
	}
	// Then the usual ones, found in one pass: a Windows field by the
	// first extra of its name, a common one (url, user…) only as the
	// common field, as Event.LookupOK finds them.
	var vals [len(detailFields)]string
	var found [len(detailFields)]bool
	ev.EachExtra(func(k, v string) {
		if i, ok := detailIndex[k]; ok && !found[i] {
			vals[i], found[i] = v, true
		}
	})
	for i, n := range detailFields {
		if seen[n] {
			continue
		}
		v := vals[i]
		if k := detailCommon[i]; k >= 0 {
			v = ev.Get(event.Key(k))
		}
		add(n, v)
	}
	return b
}

// oneLine folds line breaks and tabs so that one match stays one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}
