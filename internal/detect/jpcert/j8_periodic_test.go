package jpcert

import (
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// JPCERT figure 4-9: the same POST to http://apt.example.com/blog/ on
// 2015-02-18, 02-19 and 02-21 (one working day, Friday 20th, missing) is a
// chain of 3 days.
func TestJ8DocExample(t *testing.T) {
	d := NewJ8(bModel(t, nil))
	var evs []*event.Event
	for _, ts := range []string{"1424227775.972", "1424314175.972", "1424486975.972"} {
		evs = append(evs, bProxy(bUnix(ts), "192.168.100.10", "POST", "http://apt.example.com/blog/", bIn(553)))
	}
	got := bRun(d, evs...)
	bWant(t, got, 1)
	a := got[0]
	// Two intervals (1 and 2 days) are too few and too different for a
	// beacon-like rating: the daily rule alone makes it medium.
	bCheck(t, a, "J8", "192.168.100.10", alert.Medium, bStages67,
		"192.168.100.10 contacted apt.example.com on 3 days (daily counts 1,1,1), somewhat regular intervals, typically ~129600 s (score 0.67)")
	f := a.Fields
	if f["domain"] != "apt.example.com" || f["days"] != "3" || f["daily_counts"] != "1,1,1" || f["run_days"] != "3" ||
		f["first_day"] != "2015-02-18" || f["last_day"] != "2015-02-21" || f["score"] == "" || f["interval_s"] == "" {
		t.Errorf("fields %v", f)
	}
	if !reflect.DeepEqual(bOrigins(a), []int64{1, 2, 3}) || a.Count != 3 {
		t.Errorf("evidence %v count %d", bOrigins(a), a.Count)
	}
}

// A daily beacon on 4 consecutive days: high, summary in the documented
// shape.
func TestJ8DailyBeacon(t *testing.T) {
	d := NewJ8(bModel(t, nil))
	start := bJST(t, "2015-02-16 09:00:00")
	var evs []*event.Event
	for i, jitter := range []int{0, 40, -25, 10} {
		tm := start.Add(time.Duration(i)*24*time.Hour + time.Duration(jitter)*time.Second)
		evs = append(evs, bProxy(tm, "192.168.100.5", "POST", "http://apt.example.com/blog/"))
	}
	got := bRun(d, evs...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J8", "192.168.100.5", alert.High, bStages67,
		"192.168.100.5 contacted apt.example.com on 4 days (daily counts 1,1,1,1), regular interval ~86403 s (score 1.00)")
}

// A 60-second beacon during office hours over three days: the nights'
// long gaps do not hide the regularity.
func TestJ8WorkingHoursBeacon(t *testing.T) {
	d := NewJ8(bModel(t, nil))
	var evs []*event.Event
	for day := 0; day < 3; day++ {
		tm := bJST(t, "2015-02-16 09:00:00").Add(time.Duration(day) * 24 * time.Hour)
		for i := 0; i < 540; i++ {
			evs = append(evs, bProxy(tm, "192.168.100.7", "GET", "http://cdn-update.example.net/check?id=42"))
			tm = tm.Add(time.Duration(58+i%5) * time.Second) // 58..62 s
		}
	}
	got := bRun(d, evs...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J8", "192.168.100.7", alert.High, bStages67, "on 3 days (daily counts 540,540,540)", "regular interval ~60 s")
	if got[0].Count != 1620 || len(got[0].Evidence) != 4 {
		t.Errorf("count %d evidence %d (want first of each day + latest)", got[0].Count, len(got[0].Evidence))
	}
}

// Benign look-alikes: an allowlisted search site every day, a site seen on
// two days only, a maintenance domain, an internal server.
func TestJ8BenignQuiet(t *testing.T) {
	cfg := bCfg()
	cfg.Allowlists.Domains = []string{"*.google.com"}
	cfg.Allowlists.MaintenanceDomains = []string{"windowsupdate.com"}
	d := NewJ8(bModel(t, cfg))
	var evs []*event.Event
	for day := 0; day < 5; day++ {
		tm := bJST(t, "2015-02-16 09:00:00").Add(time.Duration(day) * 24 * time.Hour)
		evs = append(evs,
			bProxy(tm, "192.168.1.5", "GET", "http://www.google.com/search?q=x"),
			bProxy(tm, "192.168.1.5", "GET", "http://download.windowsupdate.com/x.cab"),
			bProxy(tm, "192.168.1.5", "GET", "http://10.0.0.8/intranet/"),
		)
		if day < 2 {
			evs = append(evs, bProxy(tm, "192.168.1.5", "GET", "http://shop.example.com/"))
		}
	}
	bWant(t, bRun(d, evs...), 0)
	bNoNote(t, d.Notes(), "allowlists.domains")
}

// Human browsing to a news site on five days is reported as the document's
// method demands, but honestly: medium, "irregular intervals".
func TestJ8HumanBrowsingMedium(t *testing.T) {
	d := NewJ8(bModel(t, nil))
	var evs []*event.Event
	visits := []string{"09:12:05", "11:47:31", "13:05:10", "17:58:44"}
	gaps := []time.Duration{300, 1700, 4200, 900, 22000, 650, 12000, 2500} // ms between page requests
	for day := 0; day < 5; day++ {
		for vi, v := range visits[:2+day%3] {
			tm := bJST(t, "2015-02-16 "+v).Add(time.Duration(day)*24*time.Hour + time.Duration(day*vi*397)*time.Second)
			for i := 0; i < 3+(day+vi)%5; i++ {
				evs = append(evs, bProxy(tm, "192.168.1.9", "GET", "http://news.example.jp/article"))
				tm = tm.Add(gaps[(day+vi+i)%len(gaps)] * time.Millisecond)
			}
		}
	}
	got := bRun(d, evs...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J8", "192.168.1.9", alert.Medium, bStages67, "contacted news.example.jp on 5 days", "irregular intervals (score 0.")
	bNote(t, d.Notes(), detect.Degraded, "allowlists.domains")
}

// Days separated by more than one missing working day do not chain; a
// weekend does not break a chain.
func TestJ8DayChains(t *testing.T) {
	m := bModel(t, nil)
	once := func(client string, days ...string) []*event.Event {
		var out []*event.Event
		for _, day := range days {
			out = append(out, bProxy(bJST(t, day+" 10:00:00"), client, "GET", "http://c2.example.org/p"))
		}
		return out
	}
	// Mon 16, Thu 19 (Tue/Wed missing), Mon 23: best chain 19→23 = 2 days.
	bWant(t, bRun(NewJ8(m), once("192.168.1.20", "2015-02-16", "2015-02-19", "2015-02-23")...), 0)
	// Thu 19, Fri 20, Mon 23: a chain of 3 across the weekend.
	got := bRun(NewJ8(m), once("192.168.1.21", "2015-02-19", "2015-02-20", "2015-02-23")...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J8", "192.168.1.21", alert.Medium, bStages67, "on 3 days (daily counts 1,1,1)")
	// Holidays do not break a chain: Mon 9, Thu 12, Fri 13 with Tue 10
	// missing and Wed 11 (建国記念の日) a configured holiday.
	days := []string{"2015-02-09", "2015-02-12", "2015-02-13"}
	bWant(t, bRun(NewJ8(m), once("192.168.1.22", days...)...), 0)
	cfg := bCfg()
	cfg.BusinessHours = &org.HoursConfig{Start: "09:00", End: "18:00", Holidays: []string{"2015-02-11"}}
	got = bRun(NewJ8(bModel(t, cfg)), once("192.168.1.22", days...)...)
	bWant(t, got, 1)
	if got[0].Fields["run_days"] != "3" {
		t.Errorf("fields %v", got[0].Fields)
	}
}

// A regular beacon within a single day: medium, beacon-like; fewer than 20
// connections is not enough.
func TestJ8BeaconOnly(t *testing.T) {
	m := bModel(t, nil)
	series := func(n int) []*event.Event {
		var out []*event.Event
		tm := bJST(t, "2015-02-16 20:00:00")
		for i := 0; i < n; i++ {
			out = append(out, bProxy(tm, "192.168.1.30", "POST", "http://beacon.example.net/gate.php"))
			tm = tm.Add(time.Duration(59+i%3) * time.Second)
		}
		return out
	}
	got := bRun(NewJ8(m), series(30)...)
	bWant(t, got, 1)
	bCheck(t, got[0], "J8", "192.168.1.30", alert.Medium, bStages67,
		"192.168.1.30 contacted beacon.example.net 30 times on 1 day at a regular interval ~60 s", "beacon-like")
	bWant(t, bRun(NewJ8(m), series(19)...), 0)
}

func TestJ8Score(t *testing.T) {
	var beacon, human j8Pair
	for i := 0; i < 50; i++ {
		beacon.interval(float64(300 + i%7))
	}
	for _, s := range []float64{1, 2, 5, 40, 3, 1800, 7, 1, 12000, 65, 2, 400, 9, 30000, 3, 150} {
		human.interval(s)
	}
	bs, period, ok := beacon.score()
	if !ok || bs < 0.95 || period < 300 || period > 306 {
		t.Errorf("beacon score %.2f period %.1f", bs, period)
	}
	hs, _, _ := human.score()
	if hs > 0.6 {
		t.Errorf("human score %.2f", hs)
	}
	// Random (Poisson) arrivals, mean one hour: exponential gaps.
	var random j8Pair
	x := uint64(88172645463325252)
	for i := 0; i < 40; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		u := (float64(x>>11) + 0.5) / (1 << 53)
		random.interval(1 + 3600*-math.Log(u))
	}
	if rs, _, _ := random.score(); rs > 0.6 {
		t.Errorf("random arrivals score %.2f", rs)
	}
	var two j8Pair
	two.interval(10)
	if _, _, ok := two.score(); ok {
		t.Errorf("one interval scored")
	}
}

// Out-of-order input does not corrupt the daily counts.
func TestJ8OutOfOrder(t *testing.T) {
	d := NewJ8(bModel(t, nil))
	got := bRun(d,
		bProxy(bJST(t, "2015-02-18 10:00:00"), "192.168.1.40", "GET", "http://x.example.com/"),
		bProxy(bJST(t, "2015-02-16 10:00:00"), "192.168.1.40", "GET", "http://x.example.com/"),
		bProxy(bJST(t, "2015-02-17 10:00:00"), "192.168.1.40", "GET", "http://x.example.com/"),
		bProxy(bJST(t, "2015-02-17 11:00:00"), "192.168.1.40", "GET", "http://x.example.com/"),
	)
	bWant(t, got, 1)
	if f := got[0].Fields; f["daily_counts"] != "1,2,1" || f["first_day"] != "2015-02-16" {
		t.Errorf("fields %v", f)
	}
	bNote(t, d.Notes(), detect.Degraded, "")
}

func BenchmarkJ8Observe(b *testing.B) {
	cfg := bCfg()
	cfg.Allowlists.Domains = []string{"*.google.com"}
	m := bModel(b, cfg)
	tm := bJST(b, "2015-02-16 10:00:00")
	b.Run("allowlisted", func(b *testing.B) {
		d := NewJ8(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://www.google.com/search")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("internal", func(b *testing.B) {
		d := NewJ8(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://10.1.1.1/")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("tracked-pair", func(b *testing.B) {
		d := NewJ8(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://apt.example.com/blog/")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ev.Time = ev.Time.Add(time.Minute)
			d.Observe(ev)
		}
	})
}

// The per-day cache agrees with the direct computation, forwards and
// backwards, across daylight-saving transitions.
func TestJ8DayCache(t *testing.T) {
	for _, tz := range []string{"Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"} {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		var c wpDayCache
		start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 365*24*60/7; i++ {
			tm := start.Add(time.Duration(i) * 7 * time.Minute)
			if got, want := c.of(tm, loc), wpLocalDay(tm, loc); got != want {
				t.Fatalf("%s %v: day %d, want %d", tz, tm, got, want)
			}
		}
		for i := 365 * 24 * 60 / 13; i > 0; i-- {
			tm := start.Add(time.Duration(i) * 13 * time.Minute)
			if got, want := c.of(tm, loc), wpLocalDay(tm, loc); got != want {
				t.Fatalf("%s %v: day %d, want %d", tz, tm, got, want)
			}
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	if d := wpDayString(wpLocalDay(time.Date(2015, 3, 8, 4, 30, 0, 0, time.UTC), ny)); d != "2015-03-07" {
		t.Errorf("day %s", d)
	}
}

// A news site that 30 PCs read every day at irregular times is popular: its
// daily findings are folded into one note naming it, while one PC's daily
// contact with a rare site, and a beacon that several PCs send to the same
// server, are still reported. With folding off, every PC is listed.
func TestJ8PopularFolded(t *testing.T) {
	build := func() []*event.Event {
		var evs []*event.Event
		for day := 0; day < 4; day++ {
			base := bJST(t, "2015-02-16 09:00:00").Add(time.Duration(day) * 24 * time.Hour)
			for c := 0; c < 30; c++ {
				client := "192.168.10." + strconv.Itoa(c+1)
				// Human-like: a few visits at uneven times (a small
				// linear congruential sequence spreads them over the day).
				x := uint32(c*7919 + day*104729 + 1)
				for v := 0; v < 2+(c+day)%3; v++ {
					x = x*1664525 + 1013904223
					tm := base.Add(time.Duration(x%36000) * time.Second)
					evs = append(evs, bProxy(tm, client, "GET", "http://news.example.jp/top"))
				}
			}
			evs = append(evs, bProxy(base.Add(3*time.Hour+time.Duration(day*1234)*time.Second), "192.168.10.7", "GET", "http://rare.example.org/x"))
			for c := 0; c < 12; c++ {
				evs = append(evs, bProxy(base.Add(time.Duration(c)*time.Minute), "192.168.20."+strconv.Itoa(c+1), "POST", "http://c2.example.net/poll"))
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
		return evs
	}
	d := NewJ8(bModel(t, nil))
	got := bRun(d, build()...)
	var rare, c2, news int
	for _, a := range got {
		switch a.Fields["domain"] {
		case "rare.example.org":
			rare++
		case "c2.example.net":
			c2++
		case "news.example.jp":
			news++
		}
	}
	if rare != 1 || c2 != 12 || news != 0 {
		t.Errorf("rare %d c2 %d news %d alerts, want 1, 12, 0", rare, c2, news)
	}
	n := bNote(t, d.Notes(), detect.Folded, "allowlists.domains")
	if !strings.Contains(n.Message, "30 daily, irregular") || !strings.Contains(n.Message, "on 1 destination used by 10 or more PCs") ||
		!strings.Contains(n.Message, "news.example.jp (30 PCs)") {
		t.Errorf("note %q", n.Message)
	}

	cfg := bCfg()
	cfg.Thresholds.PeriodicPopularClients = -1
	d = NewJ8(bModel(t, cfg))
	got = bRun(d, build()...)
	news = 0
	for _, a := range got {
		if a.Fields["domain"] == "news.example.jp" {
			news++
		}
	}
	if news != 30 {
		t.Errorf("folding off: %d news alerts, want 30", news)
	}
}
