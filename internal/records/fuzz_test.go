package records

import (
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Any bytes from any sender make an event without a panic: the raw text
// (without its PRI) kept, a time, and the record's origin.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<13>Feb  2 06:40:00 web01 cron[123]: (root) CMD (run-parts /etc/cron.hourly)",
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] msg`,
		"<22>2015-02-02T06:39:15.466251+09:00 mail-server postfix/smtpd[16466]: connect from smtp.seminar-info.jp[202.214.86.35]",
		`192.168.100.37 - - [02/Feb/2015:03:07:36 +0900] "CONNECT fe2.update.microsoft.com:443 HTTP/1.1" 200 30127 "-" "-" TCP_TUNNEL:HIER_DIRECT`,
		"<1>", "<999>1 - - - - - -", "",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("<Event><System><EventID>1102</EventID></System></Event>"), "winxml")
	p := NewParser(formats.Registry(), nil)
	received := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, source string) {
		var ev event.Event
		p.Parse(journal.Record{Seq: 3, Received: received, Origin: "syslog-udp :5514 <- 10.0.0.1:1", Source: source, Raw: raw}, &ev)
		if ev.Raw != string(StripPRI(raw)) || ev.Time.IsZero() || ev.Origin.Record != 3 {
			t.Fatalf("event %q: raw %q time %v origin %v", raw, ev.Raw, ev.Time, ev.Origin)
		}
	})
}
