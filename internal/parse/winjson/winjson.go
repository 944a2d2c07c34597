// Package winjson parses Windows events written as JSON, in the three shapes
// found in practice, into the same field names as winxml (see
// winxml/common.go):
//
//   - flat objects, one per line: NXLog im_msvistalog (EventTime, Hostname,
//     SourceName, every EventData field at the top level), the OTRF Security
//     Datasets ("mordor") recordings, old Winlogbeat (event_id,
//     computer_name, event_data);
//   - Winlogbeat / Elastic Agent ECS documents ({"@timestamp":…,
//     "winlog":{"channel":…,"event_id":…,"event_data":{…}}, "event":{…},
//     "host":{…}});
//   - evtx_dump (omerbenamram/evtx) documents, one JSON rendering of the event
//     XML each ({"Event":{"System":{"Provider":{"#attributes":{…}},…},
//     "EventData":{…}}}), usually pretty-printed and concatenated.
//
// Split frames records that span lines; a JSON-lines file is the case of one
// record per line.
package winjson

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Parser parses Windows events as JSON. It is stateless.
type Parser struct{}

// New returns the winjson parser. It also implements parse.Framer.
func New() parse.Parser { return Parser{} }

// Name implements parse.Parser.
func (Parser) Name() string { return "winjson" }

// Describe implements parse.Parser.
func (Parser) Describe() string {
	return "Windows events as JSON (NXLog, Winlogbeat, OTRF/mordor datasets, evtx_dump)"
}

// Parse implements parse.Parser: rec is one JSON object (as Split delivers
// it). evtx_dump's "Record N" header lines and lone array punctuation are
// skipped.
func (Parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	b := trimSpace(rec)
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = trimSpace(b[3:])
	}
	if len(b) == 0 || isPunct(b) || isRecordHeader(b) {
		return parse.ErrSkip
	}
	if b[0] != '{' {
		return fmt.Errorf("winjson: not a JSON object: %q", clip(b))
	}
	t := treePool.Get().(*tree)
	defer func() {
		if cap(t.nodes) <= 1<<14 {
			treePool.Put(t)
		}
	}()
	if err := t.parseDoc(string(b)); err != nil {
		return fmt.Errorf("winjson: %w", err)
	}
	loc := time.UTC
	if pc != nil && pc.Location != nil {
		loc = pc.Location
	}
	s := state{t: t, ev: ev, loc: loc}
	var err error
	if e := t.child(0, "Event"); e >= 0 && t.child(e, "System") >= 0 {
		err = s.evtxDump(e)
	} else if w := t.child(0, "winlog"); w >= 0 && t.nodes[w].kind == kObj {
		err = s.winlogbeat()
	} else {
		err = s.flat()
	}
	if err != nil {
		return err
	}
	if ev.Extra("EventID") == "" {
		return errors.New("winjson: no EventID")
	}
	winxml.Normalize(ev)
	if s.sysChan != "" {
		ev.Set(event.Channel, s.sysChan)
	}
	return nil
}

type state struct {
	t   *tree
	ev  *event.Event
	loc *time.Location
	// sysChan is System/Channel: the event's own log, used for routing.
	// A UserData leaf named Channel (event 104 names the log that was
	// cleared) replaces the Channel field but not it.
	sysChan string
}

func (s *state) set(name, value string) { winxml.SetField(s.ev, name, value) }

// setData stores an EventData value, keeping an empty one (see
// winxml.SetDataField).
func (s *state) setData(name, value string) { winxml.SetDataField(s.ev, name, value) }

// attrs calls fn for each attribute of evtx_dump element i: the members of
// its "#attributes" object, and members whose name starts with '@' (other
// XML-to-JSON converters). xmlns declarations are left out.
func (s *state) attrs(i int32, fn func(name string, v int32)) {
	t := s.t
	if i < 0 || t.nodes[i].kind != kObj {
		return
	}
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		k := t.nodes[c].key
		switch {
		case k == "#attributes" && t.nodes[c].kind == kObj:
			for a := t.nodes[c].first; a >= 0; a = t.nodes[a].next {
				if n := t.nodes[a].key; n != "xmlns" && !hasPrefix(n, "xmlns:") {
					fn(n, a)
				}
			}
		case len(k) > 1 && k[0] == '@' && k != "@xmlns" && !hasPrefix(k, "@xmlns:"):
			fn(k[1:], c)
		}
	}
}

// --- evtx_dump -------------------------------------------------------------

func (s *state) evtxDump(e int32) error {
	t := s.t
	haveTime := false
	sys := t.child(e, "System")
	for c := t.nodes[sys].first; c >= 0; c = t.nodes[c].next {
		key := t.nodes[c].key
		if key == "#attributes" {
			continue
		}
		if key != "Provider" && key != "TimeCreated" && key != "Security" {
			s.set(key, t.text(c))
			if key == "Channel" {
				s.sysChan = t.text(c)
			}
		}
		var err error
		s.attrs(c, func(name string, a int32) {
			v := t.text(a)
			switch key {
			case "Provider":
				s.set("Provider_"+name, v)
			case "TimeCreated":
				if name != "SystemTime" {
					s.set("TimeCreated_"+name, v)
					return
				}
				tm, ok := winxml.ParseTime(v, time.UTC)
				if !ok {
					err = fmt.Errorf("winjson: bad TimeCreated SystemTime %q", v)
					return
				}
				winxml.SetTime(s.ev, tm)
				haveTime = true
			case "Security":
				if name == "UserID" {
					name = "SecurityUserID"
				}
				s.set(name, v)
			case "EventID", "Correlation", "Execution":
				s.set(name, v)
			default:
				s.set(key+"_"+name, v)
			}
		})
		if err != nil {
			return err
		}
	}
	if !haveTime {
		return errors.New("winjson: no Event.System.TimeCreated.SystemTime")
	}
	for c := t.nodes[e].first; c >= 0; c = t.nodes[c].next {
		switch t.nodes[c].key {
		case "#attributes", "System":
		case "EventData":
			s.eventData(c)
		case "RenderingInfo":
			s.rendering(c)
		default: // UserData, ProcessingErrorData, DebugData...
			s.leaves(c)
		}
	}
	return nil
}

// eventData stores the members of an EventData object: named fields under
// their names, <Data> without a Name (evtx_dump's "Data": {"#text": […]})
// as Data, Data1..DataN.
func (s *state) eventData(i int32) {
	t := s.t
	if t.nodes[i].kind != kObj {
		s.set(t.nodes[i].key, t.text(i))
		return
	}
	var unnamed []string
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		n := &t.nodes[c]
		switch {
		case n.key == "#attributes":
			if n.kind == kObj {
				for a := n.first; a >= 0; a = t.nodes[a].next {
					if k := t.nodes[a].key; k != "xmlns" && !hasPrefix(k, "xmlns:") {
						s.set("EventData_"+k, t.text(a))
					}
				}
			}
		case n.key == "Data":
			unnamed = s.data(c, unnamed)
		case t.isScalar(c) || n.kind == kArr || t.hasText(c):
			s.setData(n.key, t.text(c))
		default:
			s.flatten(n.key, c)
		}
	}
	winxml.SetData(s.ev, unnamed)
}

// data handles the value of a "Data" member: an element with a Name
// attribute is a named field; anything else is an unnamed value.
func (s *state) data(i int32, unnamed []string) []string {
	t := s.t
	switch n := &t.nodes[i]; n.kind {
	case kArr:
		for c := n.first; c >= 0; c = t.nodes[c].next {
			unnamed = s.data(c, unnamed)
		}
	case kObj:
		if name := s.attrName(i); name != "" {
			s.setData(name, t.text(i))
		} else if x := t.child(i, "#text"); x >= 0 && t.nodes[x].kind == kArr {
			for c := t.nodes[x].first; c >= 0; c = t.nodes[c].next {
				unnamed = append(unnamed, t.text(c))
			}
		} else if x >= 0 {
			unnamed = append(unnamed, t.text(x))
		} else {
			s.flatten("Data", i)
		}
	default:
		unnamed = append(unnamed, t.text(i))
	}
	return unnamed
}

// attrName returns the Name attribute of element i ("#attributes":{"Name":…},
// "@Name", or a plain "Name" member next to "#text").
func (s *state) attrName(i int32) string {
	var name string
	s.attrs(i, func(k string, a int32) {
		if k == "Name" {
			name = s.t.text(a)
		}
	})
	if name == "" && s.t.child(i, "#text") >= 0 {
		name = s.t.text(s.t.child(i, "Name"))
	}
	return name
}

// leaves stores every leaf under i under its own name (UserData and other
// sections).
func (s *state) leaves(i int32) {
	t := s.t
	n := &t.nodes[i]
	if n.kind != kObj {
		s.set(n.key, t.text(i))
		return
	}
	if t.hasText(i) {
		s.set(n.key, t.text(i))
		return
	}
	for c := n.first; c >= 0; c = t.nodes[c].next {
		k := t.nodes[c].key
		if k == "#attributes" || k == "xml_name" || (len(k) > 0 && k[0] == '@') {
			continue
		}
		s.leaves(c)
	}
}

func (s *state) rendering(i int32) {
	t := s.t
	if t.nodes[i].kind != kObj {
		return
	}
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		switch k := t.nodes[c].key; k {
		case "#attributes":
		case "Message":
			s.set("Message", t.text(c))
		case "Keywords":
			v := t.text(c)
			if kw := t.child(c, "Keyword"); kw >= 0 {
				v = t.text(kw)
			}
			s.set("KeywordsText", v)
		default:
			if k != "" && k[0] != '@' {
				s.set(k+"Text", t.text(c))
			}
		}
	}
}

// flatten stores the members of object or array i as prefix_member, joining
// arrays of scalars with ",".
func (s *state) flatten(prefix string, i int32) {
	t := s.t
	n := &t.nodes[i]
	switch {
	case t.isScalar(i) || t.hasText(i):
		s.set(prefix, t.text(i))
	case n.kind == kArr:
		all := true
		for c := n.first; c >= 0; c = t.nodes[c].next {
			if !t.isScalar(c) && !t.hasText(c) {
				all = false
				break
			}
		}
		if all {
			s.set(prefix, t.text(i))
			return
		}
		idx := 0
		for c := n.first; c >= 0; c = t.nodes[c].next {
			s.flatten(prefix+"_"+strconv.Itoa(idx), c)
			idx++
		}
	default:
		for c := n.first; c >= 0; c = t.nodes[c].next {
			s.flatten(prefix+"_"+t.nodes[c].key, c)
		}
	}
}

// --- Winlogbeat (ECS) ------------------------------------------------------

var winlogNames = map[string]string{
	"channel":             "Channel",
	"event_id":            "EventID",
	"computer_name":       "Computer",
	"provider_name":       "Provider_Name",
	"provider_guid":       "Provider_Guid",
	"record_id":           "EventRecordID",
	"activity_id":         "ActivityID",
	"related_activity_id": "RelatedActivityID",
	"version":             "Version",
	"opcode":              "OpcodeText",
	"task":                "TaskText",
	"keywords":            "KeywordsText",
	"level":               "LevelText",
}

func (s *state) winlogbeat() error {
	t := s.t
	var ts, code, hostName string
	for c := t.nodes[0].first; c >= 0; c = t.nodes[c].next {
		key := t.nodes[c].key
		switch key {
		case "@timestamp":
			ts = t.text(c)
		case "winlog":
			s.winlog(c)
		case "message":
			s.set("Message", t.text(c))
		case "event":
			code = t.text(t.child(c, "code"))
			s.flattenExcept(key, c, "code")
		case "host":
			if t.nodes[c].kind == kObj {
				hostName = t.text(t.child(c, "name"))
			}
			s.flatten(key, c)
		case "log":
			s.set("LevelText", t.text(t.child(c, "level")))
			s.flattenExcept(key, c, "level")
		default:
			s.flatten(key, c)
		}
	}
	if s.ev.Extra("EventID") == "" {
		s.set("EventID", code)
	}
	if s.ev.Extra("Computer") == "" && hostName != "" {
		s.ev.Host = hostName
	}
	tm, ok := winxml.ParseTime(ts, s.loc)
	if !ok {
		return fmt.Errorf("winjson: bad or missing @timestamp %q", ts)
	}
	winxml.SetTime(s.ev, tm)
	return nil
}

func (s *state) winlog(w int32) {
	t := s.t
	for c := t.nodes[w].first; c >= 0; c = t.nodes[c].next {
		key := t.nodes[c].key
		if name, ok := winlogNames[key]; ok {
			s.set(name, t.text(c))
			continue
		}
		switch key {
		case "event_data":
			s.eventData(c)
		case "user_data":
			s.leaves(c)
		case "process":
			s.set("ProcessID", t.text(t.child(c, "pid")))
			s.set("ThreadID", t.text(t.child(t.child(c, "thread"), "id")))
			s.flattenExcept("winlog_process", c, "pid", "thread")
		case "user":
			s.set("SecurityUserID", t.text(t.child(c, "identifier")))
			s.flattenExcept("winlog_user", c, "identifier")
		default:
			s.flatten("winlog_"+key, c)
		}
	}
}

// flattenExcept flattens object i as prefix_member, leaving out the members
// named in skip (handled by the caller).
func (s *state) flattenExcept(prefix string, i int32, skip ...string) {
	t := s.t
	if t.nodes[i].kind != kObj {
		s.flatten(prefix, i)
		return
	}
next:
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		k := t.nodes[c].key
		for _, x := range skip {
			if k == x {
				continue next
			}
		}
		s.flatten(prefix+"_"+k, c)
	}
}

// --- flat (NXLog, mordor, old Winlogbeat) ----------------------------------

// flatNames renames the System fields of the flat shapes to the winxml names.
var flatNames = map[string]string{
	"SourceName":         "Provider_Name",
	"ProviderName":       "Provider_Name",
	"source_name":        "Provider_Name",
	"ProviderGuid":       "Provider_Guid",
	"provider_guid":      "Provider_Guid",
	"Hostname":           "Computer",
	"computer_name":      "Computer",
	"RecordNumber":       "EventRecordID",
	"record_number":      "EventRecordID",
	"ExecutionProcessID": "ProcessID",
	"process_id":         "ProcessID",
	"ExecutionThreadID":  "ThreadID",
	"thread_id":          "ThreadID",
	"UserID":             "SecurityUserID",
	"log_name":           "Channel",
	"event_id":           "EventID",
	"Category":           "TaskText",
	"task":               "TaskText",
	"level":              "LevelText",
	"message":            "Message",
	"keywords":           "KeywordsText",
	"activity_id":        "ActivityID",
}

// targetBit gives each name flat() renames to, and OpcodeValue, a bit.
var targetBit = func() map[string]uint32 {
	m := map[string]uint32{"OpcodeValue": 1}
	for _, v := range flatNames {
		if _, ok := m[v]; !ok {
			m[v] = 1 << len(m)
		}
	}
	return m
}()

func (s *state) flat() error {
	t := s.t
	if t.nodes[0].kind != kObj {
		return errors.New("winjson: not a JSON object")
	}
	// A field of the event's own data wins over a renamed System field of
	// the same name (5156's ProcessID over NXLog's ExecutionProcessID). One
	// pass notes which of the renaming targets the record has.
	var have uint32
	for c := t.nodes[0].first; c >= 0; c = t.nodes[c].next {
		if bit, ok := targetBit[t.nodes[c].key]; ok {
			have |= bit
		}
	}
	present := func(name string) bool { return have&targetBit[name] != 0 }
	var times [4]string // EventTime, TimeCreated, @timestamp, UtcTime
	for c := t.nodes[0].first; c >= 0; c = t.nodes[c].next {
		key := t.nodes[c].key
		v := ""
		if t.isScalar(c) || t.hasText(c) {
			v = t.text(c)
		}
		switch key {
		case "EventTime":
			times[0] = v
		case "TimeCreated":
			times[1] = v
			if tm, ok := winxml.ParseTime(v, s.loc); ok {
				v = tm.Format(time.RFC3339Nano)
			}
		case "@timestamp":
			times[2] = v
		case "UtcTime":
			times[3] = v
		}
		switch {
		case key == "event_data" || key == "EventData":
			s.eventData(c)
			continue
		case key == "user_data" || key == "UserData":
			s.leaves(c)
			continue
		case key == "Keywords":
			v = keywordsHex(v)
		case key == "OpcodeValue":
			key = "Opcode"
		case key == "Opcode" || key == "opcode":
			if v != "" && !isDigits(v) {
				key = "OpcodeText"
			} else if present("OpcodeValue") {
				continue
			} else {
				key = "Opcode"
			}
		case key == "user" && t.nodes[c].kind == kObj: // old Winlogbeat
			s.set("SecurityUserID", t.text(t.child(c, "identifier")))
			s.flattenExcept("user", c, "identifier")
			continue
		}
		if name, ok := flatNames[key]; ok && !present(name) {
			key = name
		}
		if v == "" && !t.isScalar(c) && !t.hasText(c) {
			s.flatten(key, c)
			continue
		}
		s.set(key, v)
	}
	for i, v := range times {
		if v == "" {
			continue
		}
		loc := s.loc
		if i == 3 {
			loc = time.UTC // Sysmon's UtcTime has no zone but is UTC
		}
		if tm, ok := winxml.ParseTime(v, loc); ok {
			s.ev.Time = tm
			if s.ev.Extra("TimeCreated") == "" {
				s.ev.SetExtra("TimeCreated", tm.Format(time.RFC3339Nano))
			}
			return nil
		}
	}
	return errors.New("winjson: no time stamp (EventTime, TimeCreated, @timestamp or UtcTime)")
}

// keywordsHex renders NXLog's signed decimal Keywords (-9223372036854775808)
// the way the event XML does (0x8000000000000000).
func keywordsHex(v string) string {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "0x" + strconv.FormatUint(uint64(n), 16)
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return "0x" + strconv.FormatUint(n, 16)
	}
	return v
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func isPunct(b []byte) bool {
	for _, c := range b {
		if c != '[' && c != ']' && c != ',' && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// isRecordHeader matches evtx_dump's "Record 12" line.
func isRecordHeader(b []byte) bool {
	const p = "Record "
	if len(b) <= len(p) || string(b[:len(p)]) != p {
		return false
	}
	return isDigits(string(b[len(p):]))
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func clip(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
