package winjson

import (
	"bytes"

	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Sniff implements parse.Parser: a JSON object line holding one of the keys
// "EventID", "event_id", "winlog" or "Event" (case-sensitive, so CloudTrail's
// "eventID" is not taken), or, for evtx_dump's pretty-printed output, a line
// of its System part ("#attributes", "EventRecordID", "SystemTime"...) or a
// line of braces alone ("{", "},"), which are a third of that output. Lines
// of other pretty-printed JSON match only by their braces, too few for
// detection to pick winjson.
func (Parser) Sniff(rec []byte) bool {
	var buf [1024]byte
	b := trimSpace(winxml.SniffText(rec, buf[:]))
	if len(b) > 0 && len(b) <= 3 && onlyBraces(b) {
		return true
	}
	if len(b) < 2 {
		return false
	}
	if b[0] == '{' || (b[0] == '[' && b[1] == '{') {
		for _, k := range objectKeys {
			if bytes.Contains(b, k) {
				return true
			}
		}
		return false
	}
	if b[0] != '"' {
		return false
	}
	for _, k := range evtxLines {
		if bytes.HasPrefix(b, k) {
			return true
		}
	}
	return false
}

var objectKeys = [][]byte{
	[]byte(`"EventID"`), []byte(`"event_id"`), []byte(`"winlog"`), []byte(`"Event":`), []byte(`"Event" :`),
}

// evtxLines start the member lines of an evtx_dump record that no other
// JSON log has.
var evtxLines = [][]byte{
	[]byte(`"#attributes":`), []byte(`"#text":`), []byte(`"Event": {`), []byte(`"System": {`),
	[]byte(`"EventData": {`), []byte(`"UserData": {`), []byte(`"EventID":`), []byte(`"EventRecordID":`),
	[]byte(`"TimeCreated": {`), []byte(`"SystemTime":`), []byte(`"Execution": {`), []byte(`"Correlation":`),
	[]byte(`"Provider": {`), []byte(`"Channel":`), []byte(`"Computer":`), []byte(`"ProcessID":`),
	[]byte(`"ThreadID":`), []byte(`"UserID":`), []byte(`"Security":`), []byte(`"Keywords": "0x`),
	[]byte(`"xmlns": "http://schemas.microsoft.com/win/`),
}

func onlyBraces(b []byte) bool {
	for _, c := range b {
		if c != '{' && c != '}' && c != '[' && c != ']' && c != ',' {
			return false
		}
	}
	return true
}
