package org

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Holidays match the local date, whatever the instant's own zone, and only
// that date.
func TestHolidays(t *testing.T) {
	holidays := []string{"2015-02-11", "0001-01-01", "9999-12-31", "2016-02-29"}
	cfg, err := Parse([]byte(`timezone: Asia/Tokyo
business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "19:00", holidays: [2015-02-11, 0001-01-01, 9999-12-31, 2016-02-29]}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	jst := time.FixedZone("JST", 9*3600)
	for _, c := range []struct {
		t       time.Time
		holiday bool
	}{
		{time.Date(2015, 2, 11, 12, 0, 0, 0, jst), true},
		{time.Date(2015, 2, 10, 14, 59, 0, 0, time.UTC), false}, // Tue 23:59 JST
		{time.Date(2015, 2, 10, 15, 0, 0, 0, time.UTC), true},   // Wed 00:00 JST
		{time.Date(2015, 2, 11, 14, 59, 59, 0, time.UTC), true}, // Wed 23:59 JST
		{time.Date(2015, 2, 11, 15, 0, 0, 0, time.UTC), false},  // Thu 00:00 JST
		{time.Date(2015, 2, 11, 12, 0, 0, 0, time.FixedZone("X", -12*3600)), false},
		{time.Date(2015, 12, 11, 12, 0, 0, 0, jst), false},
		{time.Date(2016, 2, 11, 12, 0, 0, 0, jst), false},
		{time.Date(2016, 2, 29, 12, 0, 0, 0, jst), true},
		{time.Date(9999, 12, 31, 12, 0, 0, 0, jst), true},
		{time.Date(10000, 12, 31, 12, 0, 0, 0, jst), false},
		{time.Date(-9999, 12, 31, 12, 0, 0, 0, jst), false},
	} {
		if got := m.IsHoliday(c.t); got != c.holiday {
			t.Errorf("IsHoliday(%v) = %v", c.t, got)
		}
	}
	// OffHours agrees with the rule written out with formatted dates.
	isHoliday := map[string]bool{}
	for _, h := range holidays {
		isHoliday[h] = true
	}
	tokyo := m.Location
	ref := func(tm time.Time) bool {
		lt := tm.In(tokyo)
		if lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday || isHoliday[lt.Format("2006-01-02")] {
			return true
		}
		min := lt.Hour()*60 + lt.Minute()
		return min < 8*60 || min >= 19*60
	}
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2015, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 200000; i++ {
		var tm time.Time
		switch i % 4 {
		case 0, 1:
			tm = base.Add(time.Duration(r.Int64N(int64(60 * 24 * time.Hour))))
		case 2:
			tm = time.Date(1+r.IntN(9999), 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(366 * 24 * time.Hour))))
		default:
			tm = time.Unix(r.Int64N(1<<40)-1<<39, 0)
		}
		if got, want := m.OffHours(tm), ref(tm); got != want {
			t.Fatalf("OffHours(%v) = %v, want %v", tm, got, want)
		}
	}
}
