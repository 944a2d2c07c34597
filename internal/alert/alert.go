// Package alert defines what an analysis reports: a finding placed on the
// 7-stage cyber kill chain (JPCERT table 2-1) with the attack technique
// letters A–H (JPCERT table 2-2), MITRE ATT&CK ids, the evidence records and
// the document's guidance on what to check next (requirement I1).
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Stage is a kill-chain stage, 1–7 (JPCERT table 2-1).
type Stage int

// The stages.
const (
	Reconnaissance Stage = 1 + iota
	Weaponization
	Delivery
	Exploitation
	Installation
	CommandAndControl
	ActionsOnObjectives
)

var stageNames = [...]struct{ en, ja string }{
	{"", ""},
	{"Reconnaissance", "偵察"},
	{"Weaponization", "武器化"},
	{"Delivery", "デリバリ"},
	{"Exploitation", "エクスプロイト"},
	{"Installation", "インストール"},
	{"Command & Control", "C&C"},
	{"Actions on objectives", "目的の実行"},
}

// String returns the English stage name.
func (s Stage) String() string {
	if s < 1 || s > 7 {
		return "unknown"
	}
	return stageNames[s].en
}

// Japanese returns the stage name used by the JPCERT document.
func (s Stage) Japanese() string {
	if s < 1 || s > 7 {
		return ""
	}
	return stageNames[s].ja
}

// Techniques A–H of JPCERT table 2-2 (what the attacker does and which
// device can record it).
var Techniques = map[string]string{
	"A": "Targeted mail with a malware attachment (mail server)",
	"B": "Mail luring to a malware site, and the visit (mail, proxy, DNS)",
	"C": "Callback bypassing the web proxy (firewall, DNS)",
	"D": "Callback over HTTP/HTTPS through the proxy (proxy, DNS)",
	"E": "Spreading: probing vulnerable PCs and internal servers (firewall)",
	"F": "File server access and privilege theft (Active Directory)",
	"G": "Exfiltration bypassing the web proxy (firewall, DNS)",
	"H": "Exfiltration over HTTP/HTTPS through the proxy (proxy, DNS)",
}

// Severity of a finding.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity maps a name to a Severity.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if n == s {
			return Severity(i), true
		}
	}
	return 0, false
}

// Text is guidance in English and Japanese.
type Text struct {
	EN []string `json:"en"`
	JA []string `json:"ja"`
}

// Evidence is one record that supports a finding.
type Evidence struct {
	Source string       `json:"source"`
	Time   time.Time    `json:"-"`
	Origin event.Origin `json:"-"`
	Raw    string       `json:"raw"`
	// Note explains this record's part in the finding (e.g. the DNS name
	// the client resolved before this connection).
	Note string `json:"note,omitempty"`
}

// EvidenceOf captures what must outlive ev (events are reused).
func EvidenceOf(ev *event.Event) Evidence {
	return Evidence{Source: ev.Source, Time: ev.Time, Origin: ev.Origin, Raw: ev.Raw}
}

// Alert is one finding.
type Alert struct {
	ID            string
	Rule          string   // detector id, e.g. "J3"
	Requirements  []string // requirement ids, e.g. ["J3"]
	Title         string
	Severity      Severity
	Stages        []Stage
	Techniques    []string // A–H
	Attack        []string // ATT&CK technique ids
	Time          time.Time
	LastTime      time.Time
	Host          string // the internal entity: IP, host name, mailbox or account
	Summary       string
	Count         int64 // records that make up the finding
	Fields        map[string]string
	Evidence      []Evidence
	EvidenceTotal int64
	NextSteps     Text
	Caveats       Text
}

// MaxEvidence bounds the evidence kept per alert; EvidenceTotal says how
// many records there were.
const MaxEvidence = 10

// AddEvidence records one more supporting record, keeping the first
// MaxEvidence-1 and the latest one, and widening the time span.
func (a *Alert) AddEvidence(e Evidence) {
	a.EvidenceTotal++
	a.Count++
	if a.Time.IsZero() || (!e.Time.IsZero() && e.Time.Before(a.Time)) {
		a.Time = e.Time
	}
	if e.Time.After(a.LastTime) {
		a.LastTime = e.Time
	}
	switch {
	case len(a.Evidence) < MaxEvidence:
		a.Evidence = append(a.Evidence, e)
	default:
		// Keep the latest record in the last slot so both ends of the
		// activity are shown.
		if !e.Time.Before(a.Evidence[MaxEvidence-1].Time) {
			a.Evidence[MaxEvidence-1] = e
		}
	}
}

// FinalizeID derives a stable id from the rule, host and distinguishing
// fields, so the same finding over the same data gets the same id.
func (a *Alert) FinalizeID(key string) {
	h := sha256.Sum256([]byte(a.Rule + "\x00" + a.Host + "\x00" + key + "\x00" + event.FormatTime(a.Time)))
	a.ID = a.Rule + "-" + hex.EncodeToString(h[:6])
}

// MaxStage returns the furthest kill-chain stage of the alert.
func (a *Alert) MaxStage() Stage {
	m := Stage(0)
	for _, s := range a.Stages {
		if s > m {
			m = s
		}
	}
	return m
}

// MinStage returns the earliest kill-chain stage of the alert.
func (a *Alert) MinStage() Stage {
	m := Stage(8)
	for _, s := range a.Stages {
		if s < m {
			m = s
		}
	}
	if m == 8 {
		return 0
	}
	return m
}
