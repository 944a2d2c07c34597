package sigma

import (
	"strings"
	"testing"
)

func TestNumericComparisons(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"Size|lt", `10`, "Size", "9", true},
		{"Size|lt", `10`, "Size", "10", false},
		{"Size|lte", `10`, "Size", "10", true},
		{"Size|gt", `10`, "Size", "11", true},
		{"Size|gt", `10`, "Size", "10", false},
		{"Size|gte", `10`, "Size", "10", true},
		{"Size|gte", `10`, "Size", "9.5", false},
		{"Size|gt", `1.5`, "Size", "1.75", true},
		{"Size|lt", `0`, "Size", "-3", true},
		// Windows writes access masks and codes in hexadecimal.
		{"GrantedAccess|gte", `4096`, "GrantedAccess", "0x1010", true},
		{"GrantedAccess|lt", `4096`, "GrantedAccess", "0x1010", false},
		// Not a number, or absent: no match.
		{"Size|lt", `10`, "Size", "small", false},
		{"Size|lt", `10`, "Size", "", false},
		{"Size|lt", `10`, "", "", false},
		// A quoted number is accepted.
		{"Size|lt", `'10'`, "Size", "9", true},
		// neq negates: any value but 3.
		{"LogonType|neq", `3`, "LogonType", "2", true},
	})
	if err := loadErr(t, itemRule("Size|lt", `'ten'`)); !strings.Contains(err.Error(), "not a number") {
		t.Errorf("lt ten: %v", err)
	}
}
