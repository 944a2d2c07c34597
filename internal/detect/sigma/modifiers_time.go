package sigma

import (
	"fmt"
	"strings"
	"time"
)

// Time modifiers (Sigma 2.1): |minute |hour |day |week |month |year read the
// field as a time stamp and compare one of its parts with the rule's number
// (Field|hour: 3). No time-zone conversion is made, as the specification
// warns: the part is taken from the time as written (UTC for Windows events).
// A field that is not a time stamp does not match.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

type timePart uint8

const (
	tpMinute timePart = iota
	tpHour
	tpDay
	tpWeek
	tpMonth
	tpYear
)

func modTimePart(name string) valueMod {
	part := map[string]timePart{"minute": tpMinute, "hour": tpHour, "day": tpDay, "week": tpWeek, "month": tpMonth, "year": tpYear}[name]
	return func(_ *itemCtx, v mval) ([]mval, error) {
		var text string
		switch v.kind {
		case vNumber:
			text = v.text
		case vString:
			text, _ = v.s.plain()
		default:
			return nil, typeError(name, v)
		}
		n, ok := parseNumber(text)
		if !ok || n != float64(int(n)) {
			return nil, fmt.Errorf("%s needs a whole number, not %q", name, text)
		}
		v.kind, v.s, v.tpart, v.num, v.text = vTimePart, nil, part, n, text
		return []mval{v}, nil
	}
}

// timeLayouts are the time stamps fields carry: ISO 8601 / RFC 3339 with or
// without fraction and zone, Sysmon's UtcTime ("2019-03-02 08:51:00.008").
var timeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02",
}

// timeOf extracts part from the field value v.
func timeOf(part timePart, v string) (int, bool) {
	v = strings.TrimSpace(v)
	var t time.Time
	ok := false
	for _, l := range timeLayouts {
		if tt, err := time.Parse(l, v); err == nil {
			t, ok = tt, true
			break
		}
	}
	if !ok {
		return 0, false
	}
	switch part {
	case tpMinute:
		return t.Minute(), true
	case tpHour:
		return t.Hour(), true
	case tpDay:
		return t.Day(), true
	case tpWeek:
		_, w := t.ISOWeek()
		return w, true
	case tpMonth:
		return int(t.Month()), true
	}
	return t.Year(), true
}
