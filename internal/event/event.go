// Package event defines the one normalized event that every parser produces and
// every detector consumes (requirement C3).
//
// The common fields (addresses, ports, user, URL, ...) live in a fixed array
// indexed by Key so that detectors read them without a map lookup or an
// allocation; everything else a format carries goes into Extra, in the order
// the format wrote it. For common fields an empty string means "absent". An
// extra may hold an empty value where the format tells "present but empty"
// apart from "absent" (Windows EventData, which Sigma's null and ” tell apart
// too): see SetExtraValue and LookupOK.
package event

import (
	"net/netip"
	"strconv"
	"time"
)

// Key names one of the common fields shared across formats.
type Key uint8

// The common fields. Their JSON names (Key.String) are stable: later issues,
// the search language and external evaluations refer to them.
const (
	SrcIP       Key = iota // client / source address (IPv4 or IPv6)
	SrcPort                // source port
	DstIP                  // destination address
	DstPort                // destination port
	SrcZone                // firewall source zone as logged
	DstZone                // firewall destination zone as logged
	Proto                  // transport protocol: tcp, udp, icmp or a number
	Action                 // normalized outcome: allow, deny, reject, drop, close...
	User                   // account name
	Domain                 // destination host name (URL host, CONNECT host, DNS query name)
	URL                    // full URL as logged
	Method                 // HTTP method
	Status                 // HTTP status / result code
	BytesIn                // bytes received by the source (response, rcvd)
	BytesOut               // bytes sent by the source (request, upload, sent)
	UserAgent              // HTTP User-Agent
	ContentType            // MIME type of a response or attachment header
	Query                  // DNS query name
	QType                  // DNS query type (A, AAAA, TXT...)
	EventID                // Windows event id, firewall message id
	Channel                // Windows channel
	Process                // process image / program name
	CommandLine            // executed command
	MailFrom               // envelope sender
	MailTo                 // envelope recipient(s)
	HeaderFrom             // decoded header From: as a whole
	Attachment             // decoded attachment file name
	QueueID                // mail queue id, session id: links lines of one transaction
	LogonType              // Windows logon type
	Service                // firewall service name / Kerberos service
	Duration               // duration in milliseconds
	numKeys
)

var keyNames = [numKeys]string{
	"src_ip", "src_port", "dst_ip", "dst_port", "src_zone", "dst_zone", "proto", "action",
	"user", "domain", "url", "method", "status", "bytes_in", "bytes_out", "user_agent",
	"content_type", "query", "qtype", "event_id", "channel", "process", "command_line",
	"mail_from", "mail_to", "header_from", "attachment", "queue_id", "logon_type", "service",
	"duration_ms",
}

// String returns the field's JSON name.
func (k Key) String() string {
	if k < numKeys {
		return keyNames[k]
	}
	return "key(" + strconv.Itoa(int(k)) + ")"
}

// NumKeys is the number of common fields.
const NumKeys = int(numKeys)

// KeyByName returns the Key whose JSON name is name.
func KeyByName(name string) (Key, bool) {
	// Every common name has an underscore or is one of a few short words:
	// most Windows field names (CamelCase) are told apart at once.
	if len(name) < 3 || len(name) > 12 || name[0] < 'a' || name[0] > 'z' {
		return 0, false
	}
	for i, n := range keyNames {
		if n == name {
			return Key(i), true
		}
	}
	return 0, false
}

// Field is one format-specific key-value pair.
type Field struct {
	Key   string
	Value string
}

// Origin says where an event was read: a file and 1-based line number, or a
// listener and peer. It is what an analyst needs to find the evidence again.
type Origin struct {
	File string // path as given on the command line, or "-" for stdin
	Line int64  // 1-based line number of a text record
	// Record is the record number of a binary container's event (an EVTX
	// EventRecordID), when the event has no line.
	Record int64
}

// String renders the origin as file:line, or file#record for a record of a
// binary container.
func (o Origin) String() string {
	switch {
	case o.Line != 0:
		return o.File + ":" + strconv.FormatInt(o.Line, 10)
	case o.Record != 0:
		return o.File + "#" + strconv.FormatInt(o.Record, 10)
	}
	return o.File
}

// Event is one normalized log record.
type Event struct {
	Time   time.Time // UTC, truncated to the millisecond on output
	Source string    // format name, e.g. "squid", "postfix", "netscreen"
	Host   string    // reporting device (syslog host, device_id, Computer)
	Origin Origin
	Raw    string // the original record, byte-exact

	common [numKeys]string
	extra  []Field
}

// Set stores a common field; an empty value clears it.
func (e *Event) Set(k Key, v string) { e.common[k] = v }

// Get returns a common field, "" when absent.
func (e *Event) Get(k Key) string { return e.common[k] }

// Has reports whether a common field is present.
func (e *Event) Has(k Key) bool { return e.common[k] != "" }

// Int returns a common field parsed as a base-10 integer.
func (e *Event) Int(k Key) (int64, bool) {
	s := e.common[k]
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Addr returns a common field parsed as an IP address (zero Addr when absent
// or not an address).
func (e *Event) Addr(k Key) netip.Addr {
	s := e.common[k]
	if s == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// SetExtra appends a format-specific field. Empty values are dropped.
func (e *Event) SetExtra(key, value string) {
	if value == "" {
		return
	}
	for i := range e.extra {
		if e.extra[i].Key == key {
			e.extra[i].Value = value
			return
		}
	}
	e.extra = append(e.extra, Field{key, value})
}

// SetExtraValue is SetExtra that also stores an empty value, for formats where
// an empty field differs from a missing one.
func (e *Event) SetExtraValue(key, value string) {
	for i := range e.extra {
		if e.extra[i].Key == key {
			e.extra[i].Value = value
			return
		}
	}
	e.extra = append(e.extra, Field{key, value})
}

// AppendExtra adds a field without looking for an earlier one of the same
// name (SetExtra and SetExtraValue do): for copying fields that are known
// to be unique, such as those of another event. An empty value is kept.
func (e *Event) AppendExtra(key, value string) {
	e.extra = append(e.extra, Field{key, value})
}

// Extra returns a format-specific field, "" when absent.
func (e *Event) Extra(key string) string {
	for i := range e.extra {
		if e.extra[i].Key == key {
			return e.extra[i].Value
		}
	}
	return ""
}

// Lookup returns any field by its JSON name: a common one or an extra one.
func (e *Event) Lookup(name string) string {
	if k, ok := KeyByName(name); ok {
		return e.common[k]
	}
	return e.Extra(name)
}

// LookupOK is Lookup that also reports whether the field is present, so a
// stored empty extra can be told from a missing one.
func (e *Event) LookupOK(name string) (string, bool) {
	if k, ok := KeyByName(name); ok {
		return e.common[k], e.common[k] != ""
	}
	for i := range e.extra {
		if e.extra[i].Key == name {
			return e.extra[i].Value, true
		}
	}
	return "", false
}

// Fields calls fn for every present field, common ones first in Key order,
// then the extras in the order they were set.
func (e *Event) Fields(fn func(key, value string)) {
	for i, v := range e.common {
		if v != "" {
			fn(keyNames[i], v)
		}
	}
	for _, f := range e.extra {
		fn(f.Key, f.Value)
	}
}

// EachExtra calls fn for every format-specific field, in the order they
// were set (Fields without the common ones).
func (e *Event) EachExtra(fn func(key, value string)) {
	for _, f := range e.extra {
		fn(f.Key, f.Value)
	}
}

// NumFields returns the number of present fields.
func (e *Event) NumFields() int {
	n := len(e.extra)
	for _, v := range e.common {
		if v != "" {
			n++
		}
	}
	return n
}

// Reset clears the event for reuse, keeping the extra slice's capacity.
func (e *Event) Reset() {
	extra := e.extra[:0]
	*e = Event{}
	e.extra = extra
}

// CopyFrom makes e a copy of src, reusing e's extra slice: for consumers
// that keep events a reader reuses.
func (e *Event) CopyFrom(src *Event) {
	extra := append(e.extra[:0], src.extra...)
	*e = *src
	e.extra = extra
}

// Clone returns a deep-enough copy: strings are immutable, only the extra
// slice is duplicated.
func (e *Event) Clone() *Event {
	c := *e
	c.extra = append([]Field(nil), e.extra...)
	return &c
}

// TimeFormat is ISO 8601 in UTC with millisecond precision, as ASD asks.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime renders t as TimeFormat in UTC.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}
