// Package winxml parses Windows event log records rendered as XML: the output
// of `wevtutil qe LOG /f:xml` (one <Event> per line, or all on one line), the
// same with `/e:Events` (a root <Events> element), PowerShell's
// `Get-WinEvent | % { $_.ToXml() }` and Event Viewer's "Save as XML",
// pretty-printed over many lines and possibly UTF-16.
//
// A record is one <Event>...</Event> element (see Split). System fields,
// EventData, UserData and RenderingInfo become extras under the names listed
// in common.go, shared with winjson and the EVTX reader; Normalize derives the
// common fields (EventID, Channel, User, SrcIP, LogonType, Process...).
package winxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// Parser parses Windows event XML. It is stateless.
type Parser struct{}

// New returns the winxml parser. It also implements parse.Framer.
func New() parse.Parser { return Parser{} }

// Name implements parse.Parser.
func (Parser) Name() string { return "winxml" }

// Describe implements parse.Parser.
func (Parser) Describe() string {
	return "Windows event XML (wevtutil qe /f:xml, Get-WinEvent ToXml(), Event Viewer \"Save as XML\")"
}

// sniffPrefixes are the starts of lines that only Windows event XML has,
// including the element lines of its pretty-printed form.
var sniffPrefixes = [][]byte{
	[]byte("<Event xmlns="), []byte("<Event>"), []byte("<Events>"), []byte("</Events>"),
	[]byte("</Event>"), []byte("<System>"), []byte("</System>"),
	[]byte("<Provider Name="), []byte("<EventID>"), []byte("<EventID "), []byte("<EventRecordID>"),
	[]byte("<TimeCreated SystemTime="), []byte("<Execution "), []byte("<Correlation"),
	[]byte("<Channel>"), []byte("<Computer>"), []byte("<Security"), []byte("<EventData"),
	[]byte("</EventData>"), []byte("<Data Name="), []byte("<UserData>"), []byte("</UserData>"),
	[]byte("<RenderingInfo"), []byte("</RenderingInfo>"), []byte("<Keywords>"), []byte("<Keyword>"),
	[]byte("<Version>"), []byte("<Level>"), []byte("<Task>"), []byte("<Opcode>"),
}

// Sniff implements parse.Parser: a line holding an <Event xmlns=...> element,
// an <Events> root, an XML declaration followed by event content, or (for the
// pretty-printed form) one of the element lines of a Windows event.
func (Parser) Sniff(rec []byte) bool {
	var buf [1024]byte
	b := trimSpace(SniffText(rec, buf[:]))
	if len(b) < 6 || b[0] != '<' {
		return false
	}
	if bytes.HasPrefix(b, []byte("<?xml")) {
		return bytes.Contains(b, []byte("<Event xmlns=")) || bytes.Contains(b, []byte("<Events>"))
	}
	if bytes.Contains(b, []byte("<Event xmlns=")) {
		return true
	}
	for _, p := range sniffPrefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

// Parse implements parse.Parser. rec is one <Event> element (as Split
// delivers it), or a line holding one. An XML declaration, comment or the
// <Events> wrapper alone is skipped.
func (Parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	b := trimSpace(rec)
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if len(b) == 0 {
		return parse.ErrSkip
	}
	i := findEvent(b)
	if i < 0 {
		if isWrapper(b) {
			return parse.ErrSkip
		}
		return fmt.Errorf("winxml: no <Event> element in %q", clip(b))
	}
	return parseEvent(b[i:], ev)
}

// findEvent returns the offset of the first "<Event" start tag (not
// "<Events"), or -1.
func findEvent(b []byte) int {
	off := 0
	for {
		j := bytes.Index(b[off:], []byte("<Event"))
		if j < 0 {
			return -1
		}
		j += off
		if k := j + 6; k == len(b) || isTagEnd(b[k]) {
			return j
		}
		off = j + 6
	}
}

func isTagEnd(c byte) bool {
	return c == ' ' || c == '>' || c == '/' || c == '\t' || c == '\n' || c == '\r'
}

// isWrapper reports whether b is only XML prolog, comments and the <Events>
// wrapper tags.
func isWrapper(b []byte) bool {
	for {
		b = trimSpace(b)
		if len(b) == 0 {
			return true
		}
		var end []byte
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			end = []byte("?>")
		case bytes.HasPrefix(b, []byte("<!--")):
			end = []byte("-->")
		case bytes.HasPrefix(b, []byte("<Events")), bytes.HasPrefix(b, []byte("</Events")),
			bytes.HasPrefix(b, []byte("<!")):
			end = []byte(">")
		default:
			return false
		}
		i := bytes.Index(b, end)
		if i < 0 {
			return false
		}
		b = b[i+len(end):]
	}
}

// parseEvent reads the <Event> element at the start of b.
func parseEvent(b []byte, ev *event.Event) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	var (
		stack    []string // local names, stack[0] == "Event"
		text     []byte   // character data of the innermost element so far
		hasChild []bool
		dataName string
		unnamed  []string
		keywords []string
		haveTime bool
		haveID   bool
		// sysChan is System/Channel: the event's own log, used for
		// routing. A UserData leaf named Channel (event 104 names the log
		// that was cleared) replaces the Channel field but not it.
		sysChan string
	)
	for {
		tok, err := d.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(stack) == 0 {
					return errors.New("winxml: empty record")
				}
				return errors.New("winxml: <Event> element is not closed (truncated record?)")
			}
			return fmt.Errorf("winxml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if len(stack) == 0 {
				if name != "Event" {
					return fmt.Errorf("winxml: root element is <%s>, not <Event>", name)
				}
			} else {
				hasChild[len(hasChild)-1] = true
			}
			if len(stack) >= 64 {
				return errors.New("winxml: elements nested too deeply")
			}
			stack = append(stack, name)
			hasChild = append(hasChild, false)
			text = text[:0]
			switch {
			case len(stack) == 3 && stack[1] == "System":
				if err := systemAttrs(ev, name, t.Attr, &haveTime); err != nil {
					return err
				}
			case len(stack) == 3 && stack[1] == "EventData" && name == "Data":
				dataName = ""
				for _, a := range t.Attr {
					if a.Name.Local == "Name" {
						dataName = a.Value
					}
				}
			case len(stack) == 2 && name == "EventData":
				for _, a := range t.Attr {
					if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
						SetField(ev, "EventData_"+a.Name.Local, a.Value)
					}
				}
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			n := len(stack)
			if n == 0 || stack[n-1] != t.Name.Local {
				return fmt.Errorf("winxml: unexpected </%s>", t.Name.Local)
			}
			leaf := !hasChild[n-1]
			if n == 1 {
				if !haveID {
					return errors.New("winxml: no System/EventID")
				}
				if !haveTime {
					return errors.New("winxml: no System/TimeCreated/@SystemTime")
				}
				SetData(ev, unnamed)
				SetField(ev, "KeywordsText", strings.Join(keywords, ","))
				Normalize(ev)
				if sysChan != "" {
					ev.Set(event.Channel, sysChan)
				}
				return nil
			}
			if leaf {
				name := stack[n-1]
				switch stack[1] {
				case "System":
					if n == 3 {
						v := string(bytes.TrimSpace(text))
						if name == "EventID" {
							haveID = v != ""
						}
						if name == "Channel" {
							sysChan = v
						}
						SetField(ev, name, v)
					}
				case "EventData":
					if n == 2 {
						break // an empty <EventData/>: no field
					}
					if n == 3 && name == "Data" {
						if dataName != "" {
							SetDataField(ev, dataName, string(text))
						} else {
							unnamed = append(unnamed, string(text))
						}
					} else {
						SetDataField(ev, name, string(text))
					}
				case "RenderingInfo":
					switch {
					case n == 4 && stack[2] == "Keywords":
						if v := string(bytes.TrimSpace(text)); v != "" {
							keywords = append(keywords, v)
						}
					case n == 3 && name == "Message":
						SetField(ev, "Message", string(text))
					case n == 3 && name != "Keywords":
						SetField(ev, name+"Text", string(bytes.TrimSpace(text)))
					}
				default:
					// UserData's leaves, and any other section's
					// (ProcessingErrorData, DebugData...); an empty
					// <UserData/> is no field.
					if n > 2 {
						SetDataField(ev, name, string(text))
					}
				}
			}
			stack = stack[:n-1]
			hasChild = hasChild[:n-1]
			text = text[:0]
		}
	}
}

// systemAttrs handles the attributes of a System child element.
func systemAttrs(ev *event.Event, elem string, attrs []xml.Attr, haveTime *bool) error {
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		name := a.Name.Local
		switch elem {
		case "Provider":
			name = "Provider_" + name
		case "TimeCreated":
			if name == "SystemTime" {
				t, ok := ParseTime(a.Value, time.UTC)
				if !ok {
					return fmt.Errorf("winxml: bad TimeCreated SystemTime %q", a.Value)
				}
				SetTime(ev, t)
				*haveTime = true
				continue
			}
			name = "TimeCreated_" + name
		case "Security":
			if name == "UserID" {
				name = "SecurityUserID"
			}
		case "EventID", "Correlation", "Execution":
			// Qualifiers, ActivityID, RelatedActivityID, ProcessID, ThreadID...
		default:
			name = elem + "_" + name
		}
		SetField(ev, name, a.Value)
	}
	return nil
}

// SetData stores the unnamed <Data> values of an EventData: "Data" holds them
// all joined with ",", and Data1..DataN each one when there is more than one.
func SetData(ev *event.Event, vals []string) {
	switch len(vals) {
	case 0:
		return
	case 1:
		SetField(ev, "Data", vals[0])
		return
	}
	var sb strings.Builder
	for _, v := range vals {
		if v == "" || v == "-" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(v)
	}
	SetField(ev, "Data", sb.String())
	for i, v := range vals {
		SetField(ev, "Data"+strconv.Itoa(i+1), v)
	}
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
