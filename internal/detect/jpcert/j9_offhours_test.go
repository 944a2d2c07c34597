package jpcert

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// bOffice is a configured working week with the 2015-02-11 holiday
// (建国記念の日) and a maintenance site.
func bOffice() *org.Config {
	cfg := bCfg()
	cfg.BusinessHours = &org.HoursConfig{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "08:30", End: "18:00",
		Holidays: []string{"2015-02-11"}}
	cfg.Allowlists.MaintenanceDomains = []string{"*.windowsupdate.com"}
	cfg.Allowlists.Domains = []string{"*.google.com"}
	return cfg
}

// JPCERT figure 4-10's POST to http://apt.example.com/blog/ at
// 1424221299.090 (Wed 2015-02-18 10:01 JST) is inside business hours; the
// same request at night, on a Saturday afternoon and on the 2015-02-11
// holiday at midday is off-hours.
func TestJ9DocExample(t *testing.T) {
	m := bModel(t, bOffice())
	doc := bProxy(bUnix("1424221299.090"), "192.168.100.10", "POST", "http://apt.example.com/blog/", bIn(553))
	bWant(t, bRun(NewJ9(m), doc), 0)

	d := NewJ9(m)
	got := bRun(d,
		doc,
		bProxy(bJST(t, "2015-02-11 12:10:00"), "192.168.100.10", "POST", "http://apt.example.com/blog/", bLine(11)),
		bProxy(bJST(t, "2015-02-18 22:30:00"), "192.168.100.10", "POST", "http://apt.example.com/blog/", bLine(12)),
		bProxy(bJST(t, "2015-02-21 14:00:00"), "192.168.100.10", "POST", "http://apt.example.com/blog/", bLine(13)),
	)
	bWant(t, got, 1)
	a := got[0]
	bCheck(t, a, "J9", "192.168.100.10", alert.Medium, bStages3567,
		"192.168.100.10 accessed apt.example.com 3 times outside business hours on 3 days (2015-02-11 12:10 JST – 2015-02-21 14:00 JST), 1 on holidays")
	if !reflect.DeepEqual(bOrigins(a), []int64{11, 12, 13}) {
		t.Errorf("evidence %v", bOrigins(a))
	}
	if f := a.Fields; f["domain"] != "apt.example.com" || f["requests"] != "3" || f["holiday_requests"] != "1" || f["days"] != "3" {
		t.Errorf("fields %v", f)
	}
	if n := d.Notes(); len(n) != 0 {
		t.Errorf("notes %+v", n)
	}
}

// Off-hours traffic to a maintenance site stays quiet; allowlists.domains
// is NOT an exclusion (the document excludes maintenance sites only);
// business-hours traffic and internal destinations stay quiet.
func TestJ9MaintenanceAndBusinessHours(t *testing.T) {
	m := bModel(t, bOffice())
	night := bJST(t, "2015-02-17 02:00:00")
	got := bRun(NewJ9(m),
		bProxy(night, "192.168.1.5", "GET", "http://download.windowsupdate.com/msdownload/update.cab"),
		bProxy(night, "192.168.1.5", "CONNECT", "fe2.update.windowsupdate.com:443"),
		bProxy(night, "192.168.1.5", "GET", "http://10.0.0.8/backup"),
		bProxy(bJST(t, "2015-02-17 10:00:00"), "192.168.1.5", "GET", "http://news.example.jp/"),
		bProxy(night, "192.168.1.5", "GET", "http://www.google.com/search?q=x"),
	)
	bWant(t, got, 1)
	bCheck(t, got[0], "J9", "192.168.1.5", alert.Medium, bStages3567, "www.google.com 1 time outside business hours on 1 day (2015-02-17 02:00 JST)")
}

// Ten or more off-hours accesses on two or more dates: high; the same
// count in one night: medium.
func TestJ9Severity(t *testing.T) {
	m := bModel(t, bOffice())
	var evs []*event.Event
	for i := 0; i < 12; i++ {
		tm := bJST(t, "2015-02-16 23:00:00").Add(time.Duration(i) * 5 * time.Minute)
		evs = append(evs, bProxy(tm, "192.168.1.50", "POST", "http://one-night.example.com/p"))
		tm = bJST(t, "2015-02-16 21:00:00").Add(time.Duration(i%2)*24*time.Hour + time.Duration(i)*time.Minute)
		evs = append(evs, bProxy(tm, "192.168.1.51", "POST", "http://c2.example.net/gate"))
	}
	got := bRun(NewJ9(m), evs...)
	bWant(t, got, 2)
	// Ordered by domain: c2.example.net, one-night.example.com.
	bCheck(t, got[0], "J9", "192.168.1.51", alert.High, bStages3567, "12 times", "on 2 days")
	bCheck(t, got[1], "J9", "192.168.1.50", alert.Medium, bStages3567, "12 times", "on 1 day")
	if a := got[1]; a.EvidenceTotal != 12 || a.Count != 12 || len(a.Evidence) != j9Keep+1 || a.Evidence[j9Keep].Origin.Line != 23 {
		t.Errorf("evidence %v of %d", bOrigins(a), a.EvidenceTotal)
	}
}

// Without business_hours, maintenance domains or a time zone the analysis
// runs on defaults (Mon–Fri 08:00–19:00) and says so.
func TestJ9Notes(t *testing.T) {
	m := bModel(t, &org.Config{})
	d := NewJ9(m)
	bRun(d, bProxy(time.Date(2015, 2, 21, 3, 0, 0, 0, time.UTC), "192.168.1.5", "GET", "http://x.example.com/"))
	notes := d.Notes()
	n := bNote(t, notes, detect.Degraded, "business_hours")
	if !strings.Contains(n.Message, "Mon–Fri 08:00–19:00") {
		t.Errorf("note %q", n.Message)
	}
	bNote(t, notes, detect.Degraded, "allowlists.maintenance_domains")
	bNote(t, notes, detect.Degraded, "timezone")
}

func BenchmarkJ9Observe(b *testing.B) {
	m := bModel(b, bOffice())
	b.Run("business-hours", func(b *testing.B) {
		d := NewJ9(m)
		ev := bProxy(bJST(b, "2015-02-17 10:00:00"), "192.168.1.5", "GET", "http://news.example.jp/")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("off-hours-maintenance", func(b *testing.B) {
		d := NewJ9(m)
		ev := bProxy(bJST(b, "2015-02-17 02:00:00"), "192.168.1.5", "GET", "http://download.windowsupdate.com/x.cab")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("off-hours-pair", func(b *testing.B) {
		d := NewJ9(m)
		ev := bProxy(bJST(b, "2015-02-17 02:00:00"), "192.168.1.5", "GET", "http://c2.example.net/")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("new-minute-every-event", func(b *testing.B) {
		d := NewJ9(m)
		evs := make([]*event.Event, 1440)
		for i := range evs {
			evs[i] = bProxy(bJST(b, "2015-02-17 00:00:00").Add(time.Duration(i)*time.Minute), "192.168.1.5", "GET",
				fmt.Sprintf("http://site%d.example.com/", i%3))
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(evs[i%len(evs)])
		}
	})
}
