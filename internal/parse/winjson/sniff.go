package winjson

import "bytes"

// Sniff implements parse.Parser: a JSON object line holding one of the keys
// "EventID", "event_id", "winlog" or "Event" (case-sensitive, so CloudTrail's
// "eventID" is not taken), or, for evtx_dump's pretty-printed output, a line
// of its System part ("#attributes", "EventRecordID", "SystemTime"...).
func (Parser) Sniff(rec []byte) bool {
	b := trimSpace(rec)
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = b[3:]
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
