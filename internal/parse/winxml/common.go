package winxml

import (
	"bufio"
	"io"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// This file holds what every Windows event reader shares (winxml, winjson and
// the EVTX reader to come): the field naming, the derivation of the common
// fields from the Windows field names, and the input decoding.
//
// Field naming, as extras:
//
//	System:        EventID Qualifiers Version Level Task Opcode Keywords
//	               TimeCreated (ISO 8601 UTC) EventRecordID ActivityID
//	               RelatedActivityID ProcessID ThreadID (Execution) Channel
//	               Computer SecurityUserID (Security/@UserID)
//	               Provider_Name Provider_Guid Provider_EventSourceName
//	EventData:     <Data Name="X">v</Data> → X; unnamed <Data> → Data (all
//	               unnamed values joined with ","), and Data1..DataN when there
//	               is more than one
//	UserData:      every leaf element under UserData's child → its own name
//	RenderingInfo: Message LevelText TaskText OpcodeText ChannelText
//	               ProviderText KeywordsText

// MaxFields caps the fields of one event: real events have tens, at most a
// few hundred; the cap keeps a hostile record (a JSON array of a million
// members, each flattened to its own field) from costing quadratic time.
const MaxFields = 1000

// SetField stores a Windows field as an extra. "-" (Windows' own "no value")
// is kept as written, because Sigma rules match on it; the common fields that
// Normalize derives treat it as absent. An empty value is not stored: System
// elements without text (<Correlation/>, <Execution .../>) carry attributes,
// not a value. Fields past MaxFields are dropped.
func SetField(ev *event.Event, name, value string) {
	if value == "" || name == "" || ev.NumFields() >= MaxFields {
		return
	}
	ev.SetExtra(name, value)
}

// SetDataField stores an EventData or UserData value, keeping an empty one:
// <Data Name="X"/> says X is present and empty, which Sigma's ” tells apart
// from a missing X (null).
func SetDataField(ev *event.Event, name, value string) {
	if name == "" || ev.NumFields() >= MaxFields {
		return
	}
	ev.SetExtraValue(name, value)
}

// SetTime sets ev.Time from t and stores the TimeCreated extra (ISO 8601, UTC,
// full precision).
func SetTime(ev *event.Event, t time.Time) {
	ev.Time = t.UTC()
	ev.SetExtra("TimeCreated", ev.Time.Format(time.RFC3339Nano))
}

// ParseTime reads the time stamps Windows tools write: RFC 3339 / ISO 8601
// with or without fraction and zone ("2015-11-12T00:24:35.079785200Z",
// "2020-09-19 21:17:03", "2020-10-21 12:19:01.088", "...+09:00"). A time
// without a zone is read in loc.
func ParseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 19 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Go accepts a fractional second after the seconds even when the layout has
// none, so these cover the fractions too.
var timeLayouts = []string{
	time.RFC3339,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
}

// Normalize derives the common fields from the Windows fields already stored
// as extras (by SetField), and ev.Host from Computer when it is not set:
//
//	EventID → EventID, Channel → Channel, Computer → Host
//	User:        TargetUserName, else SubjectUserName, else User / UserName /
//	             AccountName / user_name (the part after "DOMAIN\")
//	SrcIP:       IpAddress, else SourceIp (Sysmon), SourceAddress (WFP),
//	             Address (when it is an IP address)
//	SrcPort:     IpPort, else SourcePort (never "0")
//	DstIP/Port:  DestinationIp / DestAddress, DestinationPort / DestPort
//	Proto:       Protocol (6 → tcp, 17 → udp, 1 → icmp)
//	LogonType → LogonType
//	Process:     NewProcessName, else Image, else ProcessName
//	CommandLine → CommandLine, ServiceName → Service, Status → Status
//	Query:       QueryName (Sysmon 22), also Domain; DestinationHostname → Domain
func Normalize(ev *event.Event) {
	var c struct {
		eventID, channel, computer                    string
		targetUser, subjectUser, user                 string
		ip, sourceIP, sourceAddr, address             string
		ipPort, sourcePort                            string
		dstIP, dstAddr, dstPort, destPort, proto      string
		logonType, newProc, image, procName, cmd, svc string
		status, query, dstHost                        string
	}
	ev.Fields(func(k, v string) {
		switch k {
		case "EventID":
			c.eventID = v
		case "Channel":
			c.channel = v
		case "Computer":
			c.computer = v
		case "TargetUserName":
			c.targetUser = v
		case "SubjectUserName":
			c.subjectUser = v
		case "User", "UserName", "AccountName", "user_name":
			if c.user == "" {
				c.user = v
			}
		case "IpAddress":
			c.ip = v
		case "SourceIp":
			c.sourceIP = v
		case "SourceAddress":
			c.sourceAddr = v
		case "Address":
			c.address = v
		case "IpPort":
			c.ipPort = v
		case "SourcePort":
			c.sourcePort = v
		case "DestinationIp":
			c.dstIP = v
		case "DestAddress":
			c.dstAddr = v
		case "DestinationPort":
			c.dstPort = v
		case "DestPort":
			c.destPort = v
		case "Protocol":
			c.proto = v
		case "LogonType":
			c.logonType = v
		case "NewProcessName":
			c.newProc = v
		case "Image":
			c.image = v
		case "ProcessName":
			c.procName = v
		case "CommandLine":
			c.cmd = v
		case "ServiceName":
			c.svc = v
		case "Status":
			c.status = v
		case "QueryName":
			c.query = v
		case "DestinationHostname":
			c.dstHost = v
		}
	})
	set := func(k event.Key, vs ...string) {
		for _, v := range vs {
			if v != "" && v != "-" {
				ev.Set(k, v)
				return
			}
		}
	}
	set(event.EventID, strings.TrimSpace(c.eventID))
	set(event.Channel, c.channel)
	if ev.Host == "" && c.computer != "" && c.computer != "-" {
		ev.Host = c.computer
	}
	set(event.User, c.targetUser, c.subjectUser, stripDomain(c.user))
	if !isIP(c.address) {
		c.address = ""
	}
	set(event.SrcIP, c.ip, c.sourceIP, c.sourceAddr, c.address)
	set(event.SrcPort, port(c.ipPort), port(c.sourcePort))
	set(event.DstIP, c.dstIP, c.dstAddr)
	set(event.DstPort, port(c.dstPort), port(c.destPort))
	set(event.Proto, proto(c.proto))
	set(event.LogonType, c.logonType)
	set(event.Process, c.newProc, c.image, c.procName)
	set(event.CommandLine, c.cmd)
	set(event.Service, c.svc)
	set(event.Status, c.status)
	set(event.Query, c.query)
	set(event.Domain, c.dstHost, c.query)
}

func stripDomain(s string) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func port(s string) string {
	if s == "0" || s == "-" {
		return ""
	}
	return s
}

func proto(s string) string {
	switch s {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	}
	return s
}

func isIP(s string) bool {
	if s == "" {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// UTF8Reader returns r decoded to UTF-8. Windows tools often write UTF-16:
// Windows PowerShell's `>` and Out-File, Event Viewer's "Save as XML". A
// UTF-16 byte-order mark (or, without one, a first character followed by a
// zero byte) selects UTF-16 decoding; a UTF-8 BOM is dropped; anything else is
// passed through unchanged.
func UTF8Reader(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	b, _ := br.Peek(4)
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		_, _ = br.Discard(3)
		return br
	case len(b) == 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder())
	case len(b) == 4 && b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0:
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder())
	}
	return br
}

// SniffText returns a line as text to sniff: without a byte-order mark, and,
// when the line looks like UTF-16 (a zero byte among its first two, as in a
// file written by Windows PowerShell's `>`), with its zero bytes removed
// (enough for the ASCII markup sniffing looks for) into buf, at most
// len(buf) bytes of it.
func SniffText(rec, buf []byte) []byte {
	if len(rec) >= 3 && rec[0] == 0xEF && rec[1] == 0xBB && rec[2] == 0xBF {
		return rec[3:]
	}
	if len(rec) < 2 {
		return rec
	}
	if (rec[0] == 0xFF && rec[1] == 0xFE) || (rec[0] == 0xFE && rec[1] == 0xFF) {
		rec = rec[2:]
	} else if rec[0] != 0 && rec[1] != 0 {
		return rec
	}
	n := 0
	for _, c := range rec {
		if c == 0 {
			continue
		}
		if n == len(buf) {
			break
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}
