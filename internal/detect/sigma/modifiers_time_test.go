package sigma

import "testing"

func TestTimeParts(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"UtcTime|hour", `3`, "UtcTime", "2019-03-02 03:51:00.008", true},
		{"UtcTime|hour", `4`, "UtcTime", "2019-03-02 03:51:00.008", false},
		{"UtcTime|minute", `51`, "UtcTime", "2019-03-02 03:51:00.008", true},
		{"UtcTime|day", `2`, "UtcTime", "2019-03-02 03:51:00.008", true},
		{"UtcTime|month", `3`, "UtcTime", "2019-03-02T03:51:00Z", true},
		{"UtcTime|year", `2019`, "UtcTime", "2019-03-02T03:51:00.123456789Z", true},
		{"UtcTime|week", `9`, "UtcTime", "2019-03-02", true}, // ISO week 9
		{"UtcTime|hour", `[22, 23, 0, 1]`, "UtcTime", "2024-01-01T23:10:00Z", true},
		{"UtcTime|hour", `3`, "UtcTime", "yesterday", false},
	})
}
