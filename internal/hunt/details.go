package hunt

import (
	"strings"
	"unicode/utf8"
)

// detailFields are the fields that tell an analyst what happened, in the
// order they are shown, when the rule does not list its own (fields:).
var detailFields = []string{
	"CommandLine", "Image", "ParentImage", "ParentCommandLine", "TargetFilename", "TargetObject", "Details",
	"ScriptBlockText", "Payload", "ServiceName", "ImagePath", "TaskName", "TargetImage", "GrantedAccess",
	"QueryName", "DestinationIp", "DestinationPort", "DestinationHostname", "SourceIp",
	"TargetUserName", "TargetDomainName", "SubjectUserName", "MemberName", "MemberSid", "GroupName",
	"IpAddress", "WorkstationName", "LogonType", "AuthenticationPackageName", "Status", "FailureReason",
	"ObjectName", "ShareName", "RelativeTargetName", "AuditPolicyChanges", "SubcategoryGuid", "User",
	"url", "domain", "src_ip", "dst_ip", "dst_port", "user", "query", "user_agent", "action",
}

// details renders the key fields of a match's event as "key: value" joined
// by sep; values longer than max runes (0: no limit) are cut with "…". For a
// correlation it describes the group and count instead.
func details(m *Match, max int, sep string) string {
	if c := m.Correlation; c != nil {
		return correlationDetails(c, sep)
	}
	ev := m.Event
	names := detailFields
	var seen map[string]bool // only the rule's own fields can repeat a name
	if len(m.Rule.Fields) > 0 {
		names = append(append([]string(nil), m.Rule.Fields...), detailFields...)
		seen = map[string]bool{}
	}
	var b strings.Builder
	for _, n := range names {
		if seen != nil {
			if seen[n] {
				continue
			}
			seen[n] = true
		}
		v, ok := ev.LookupOK(n)
		if !ok || v == "" || v == "-" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(n)
		b.WriteString(": ")
		b.WriteString(clip(oneLine(v), max))
	}
	return b.String()
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
