package scenario

import (
	"fmt"
	"strings"
	"time"
)

const adFirstRecordID = 2841337

// adEvent is one Windows Security event, rendered as `wevtutil qe Security
// /f:xml` does (single quotes, no whitespace between elements), one event
// per line.
type adEvent struct {
	t        time.Time
	id       int
	version  int
	task     int
	keywords string
	data     [][2]string // EventData, in order
	// 1102 is written by the Eventlog provider with UserData instead
	cleared *[4]string // SubjectUserSid, SubjectUserName, SubjectDomainName, SubjectLogonId
	thread  int
}

const (
	kwSuccess = "0x8020000000000000"
	lsassPID  = 572
)

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\n", "&#10;", "\t", "&#9;")
	return r.Replace(s)
}

func (e *adEvent) render(recordID int) string {
	var b strings.Builder
	b.WriteString("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>")
	ts := e.t.UTC().Truncate(100 * time.Nanosecond).Format("2006-01-02T15:04:05.000000000Z")
	if e.cleared != nil {
		b.WriteString("<Provider Name='Microsoft-Windows-Eventlog' Guid='{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}'/>")
		fmt.Fprintf(&b, "<EventID>1102</EventID><Version>0</Version><Level>4</Level><Task>104</Task><Opcode>0</Opcode><Keywords>0x4020000000000000</Keywords>")
		fmt.Fprintf(&b, "<TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='%d' ThreadID='%d'/>", ts, recordID, 868, e.thread)
		fmt.Fprintf(&b, "<Channel>Security</Channel><Computer>%s</Computer><Security/></System>", dcComputer)
		c := e.cleared
		fmt.Fprintf(&b, "<UserData><LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'><SubjectUserSid>%s</SubjectUserSid><SubjectUserName>%s</SubjectUserName><SubjectDomainName>%s</SubjectDomainName><SubjectLogonId>%s</SubjectLogonId></LogFileCleared></UserData></Event>",
			c[0], c[1], c[2], c[3])
		return b.String()
	}
	b.WriteString("<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/>")
	fmt.Fprintf(&b, "<EventID>%d</EventID><Version>%d</Version><Level>0</Level><Task>%d</Task><Opcode>0</Opcode><Keywords>%s</Keywords>",
		e.id, e.version, e.task, e.keywords)
	fmt.Fprintf(&b, "<TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='%d' ThreadID='%d'/>",
		ts, recordID, lsassPID, e.thread)
	fmt.Fprintf(&b, "<Channel>Security</Channel><Computer>%s</Computer><Security/></System><EventData>", dcComputer)
	for _, kv := range e.data {
		if kv[1] == "" {
			fmt.Fprintf(&b, "<Data Name='%s'></Data>", kv[0])
			continue
		}
		fmt.Fprintf(&b, "<Data Name='%s'>%s</Data>", kv[0], xmlEscape(kv[1]))
	}
	b.WriteString("</EventData></Event>")
	return b.String()
}

func (g *gen) adAdd(e *adEvent, tags ...int) {
	if e.keywords == "" {
		e.keywords = kwSuccess
	}
	e.thread = pick(g, []int{612, 1664, 2840, 3116, 4020, 4412, 5096})
	g.seq++
	g.recs[FileAD] = append(g.recs[FileAD], &rec{t: e.t, seq: g.seq, ad: e, tags: tags})
}

// account is an AD principal.
type account struct {
	name   string // sAMAccountName (PC023$ for computers)
	sid    string
	domain string // NetBIOS domain
}

func userAcct(name string, rid int) account {
	return account{name: name, sid: fmt.Sprintf("%s-%d", domainSID, rid), domain: netbios}
}

var (
	acctAdministrator = userAcct("Administrator", 500)
	acctSystem        = account{name: "SYSTEM", sid: "S-1-5-18", domain: "NT AUTHORITY"}
	acctDC            = userAcct("DC01$", 1001)
)

func (h *host) machine() account { return userAcct(h.name+"$", h.machineRID) }
func (h *host) account() account { return userAcct(h.user, h.userRID) }

func (g *gen) newLogonID() string {
	g.logonID += uint64(g.between(3, 400))
	return fmt.Sprintf("0x%x", g.logonID)
}

// ---- event builders --------------------------------------------------------

// ev4768 is a Kerberos TGT request.
func (g *gen) ev4768(t time.Time, a account, ip string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 4768, version: 0, task: 14339, data: [][2]string{
		{"TargetUserName", a.name}, {"TargetDomainName", netbios}, {"TargetSid", a.sid},
		{"ServiceName", "krbtgt"}, {"ServiceSid", domainSID + "-502"}, {"TicketOptions", "0x40810010"},
		{"Status", "0x0"}, {"TicketEncryptionType", "0x12"}, {"PreAuthType", "2"},
		{"IpAddress", "::ffff:" + ip}, {"IpPort", fmt.Sprint(g.between(winPortLo, winPortHi))},
		{"CertIssuerName", ""}, {"CertSerialNumber", ""}, {"CertThumbprint", ""},
	}}, tags...)
}

// ev4769 is a Kerberos service ticket request.
func (g *gen) ev4769(t time.Time, a account, service account, ip string, enc string, tags ...int) {
	if enc == "" {
		enc = "0x12"
	}
	g.adAdd(&adEvent{t: t, id: 4769, version: 0, task: 14337, data: [][2]string{
		{"TargetUserName", a.name + "@" + realm}, {"TargetDomainName", realm},
		{"ServiceName", service.name}, {"ServiceSid", service.sid}, {"TicketOptions", "0x40810000"},
		{"TicketEncryptionType", enc}, {"IpAddress", "::ffff:" + ip},
		{"IpPort", fmt.Sprint(g.between(winPortLo, winPortHi))}, {"Status", "0x0"},
		{"LogonGuid", g.guid()}, {"TransmittedServices", "-"},
	}}, tags...)
}

// ev4624 is a successful logon (version 2 layout). ip "" means "-".
func (g *gen) ev4624(t time.Time, a account, logonType int, ip, workstation string, ntlm, elevated bool, tags ...int) string {
	lid := g.newLogonID()
	proc, auth, lm, keyLen, ws, lguid := "Kerberos", "Kerberos", "-", "0", "-", g.guid()
	if ntlm {
		proc, auth, lm, keyLen, ws, lguid = "NtLmSsp ", "NTLM", "NTLM V2", "128", workstation, "{00000000-0000-0000-0000-000000000000}"
	}
	subj := [4]string{"S-1-0-0", "-", "-", "0x0"}
	pid, pname := "0x0", "-"
	if logonType == 5 || logonType == 10 || logonType == 2 {
		subj = [4]string{"S-1-5-18", "DC01$", netbios, "0x3e7"}
		pid, pname = "0x244", `C:\Windows\System32\services.exe`
		if logonType != 5 {
			pid, pname = "0x1f8", `C:\Windows\System32\winlogon.exe`
			proc, auth = "User32 ", "Negotiate"
		} else {
			proc, auth = "Advapi  ", "Negotiate"
		}
	}
	ipAddr, ipPort := "-", "-"
	if ip != "" {
		ipAddr, ipPort = ip, fmt.Sprint(g.between(winPortLo, winPortHi))
	}
	if ip == "" && logonType == 3 {
		ipAddr, ipPort = "::1", "0"
	}
	elev := "%%1843"
	if elevated {
		elev = "%%1842"
	}
	g.adAdd(&adEvent{t: t, id: 4624, version: 2, task: 12544, data: [][2]string{
		{"SubjectUserSid", subj[0]}, {"SubjectUserName", subj[1]}, {"SubjectDomainName", subj[2]}, {"SubjectLogonId", subj[3]},
		{"TargetUserSid", a.sid}, {"TargetUserName", a.name}, {"TargetDomainName", a.domain}, {"TargetLogonId", lid},
		{"LogonType", fmt.Sprint(logonType)}, {"LogonProcessName", proc}, {"AuthenticationPackageName", auth},
		{"WorkstationName", ws}, {"LogonGuid", lguid}, {"TransmittedServices", "-"}, {"LmPackageName", lm},
		{"KeyLength", keyLen}, {"ProcessId", pid}, {"ProcessName", pname}, {"IpAddress", ipAddr}, {"IpPort", ipPort},
		{"ImpersonationLevel", "%%1833"}, {"RestrictedAdminMode", "-"}, {"TargetOutboundUserName", "-"},
		{"TargetOutboundDomainName", "-"}, {"VirtualAccount", "%%1843"}, {"TargetLinkedLogonId", "0x0"},
		{"ElevatedToken", elev},
	}}, tags...)
	return lid
}

var (
	privAdmin = "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\tSeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeEnableDelegationPrivilege"
	privSys   = "SeAssignPrimaryTokenPrivilege\n\t\t\tSeTcbPrivilege\n\t\t\tSeSecurityPrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeLoadDriverPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeAuditPrivilege\n\t\t\tSeImpersonatePrivilege"
	privDC    = "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeEnableDelegationPrivilege"
	privTheft = "SeDebugPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeImpersonatePrivilege"
)

// ev4672 is "special privileges assigned to new logon". PrivilegeList is
// separated by a line break and tabs as Windows writes it; in the one-line
// XML they are character references.
func (g *gen) ev4672(t time.Time, a account, logonID, privs string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 4672, version: 0, task: 12548, data: [][2]string{
		{"SubjectUserSid", a.sid}, {"SubjectUserName", a.name}, {"SubjectDomainName", a.domain},
		{"SubjectLogonId", logonID}, {"PrivilegeList", privs},
	}}, tags...)
}

// ev4776 is NTLM credential validation.
func (g *gen) ev4776(t time.Time, user, workstation string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 4776, version: 0, task: 14336, data: [][2]string{
		{"PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"}, {"TargetUserName", user},
		{"Workstation", workstation}, {"Status", "0x0"},
	}}, tags...)
}

// ev4688 is a process creation on the DC (version 1 layout, Server 2012 R2).
func (g *gen) ev4688(t time.Time, a account, logonID, image, cmdline string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 4688, version: 1, task: 13312, data: [][2]string{
		{"SubjectUserSid", a.sid}, {"SubjectUserName", a.name}, {"SubjectDomainName", a.domain},
		{"SubjectLogonId", logonID}, {"NewProcessId", fmt.Sprintf("0x%x", g.between(0x200, 0x1ffc)&^3)},
		{"NewProcessName", image}, {"TokenElevationType", "%%1936"},
		{"ProcessId", fmt.Sprintf("0x%x", g.between(0x200, 0x1ffc)&^3)}, {"CommandLine", cmdline},
	}}, tags...)
}

// ev4719 is "system audit policy was changed".
func (g *gen) ev4719(t time.Time, categoryID, subcategoryID, guid, changes string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 4719, version: 0, task: 13568, data: [][2]string{
		{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "DC01$"}, {"SubjectDomainName", netbios},
		{"SubjectLogonId", "0x3e7"}, {"CategoryId", categoryID}, {"SubcategoryId", subcategoryID},
		{"SubcategoryGuid", guid}, {"AuditPolicyChanges", changes},
	}}, tags...)
}

// ev1102 is "the audit log was cleared".
func (g *gen) ev1102(t time.Time, a account, logonID string, tags ...int) {
	g.adAdd(&adEvent{t: t, id: 1102, cleared: &[4]string{a.sid, a.name, a.domain, logonID}}, tags...)
}
