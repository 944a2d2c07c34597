package sigma

import (
	"strings"
	"testing"
)

func TestCIDR(t *testing.T) {
	runMatchCases(t, []matchCase{
		// The modifiers appendix's example.
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "DestinationIp", "10.1.2.3", true},
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "DestinationIp", "11.1.2.3", false},
		{"DestinationIp|cidr", `['10.0.0.0/8', '192.168.0.0/16']`, "DestinationIp", "192.168.7.7", true},
		{"DestinationIp|cidr", `'172.16.0.0/12'`, "DestinationIp", "172.31.255.255", true},
		{"DestinationIp|cidr", `'172.16.0.0/12'`, "DestinationIp", "172.32.0.0", false},
		// IPv6.
		{"DestinationIp|cidr", `'fe80::/10'`, "DestinationIp", "fe80::1%eth0", true},
		{"DestinationIp|cidr", `'fe80::/10'`, "DestinationIp", "fec0::1", false},
		{"DestinationIp|cidr", `'::1/128'`, "DestinationIp", "::1", true},
		// An IPv4 address written as IPv6 (Sysmon does) is IPv4.
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "DestinationIp", "::ffff:10.1.2.3", true},
		// A host address, and a network written with host bits.
		{"DestinationIp|cidr", `'10.1.2.3'`, "DestinationIp", "10.1.2.3", true},
		{"DestinationIp|cidr", `'10.1.2.3/8'`, "DestinationIp", "10.200.0.1", true},
		// Not an address: no match.
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "DestinationIp", "10.example.com", false},
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "DestinationIp", "-", false},
		{"DestinationIp|cidr", `'10.0.0.0/8'`, "", "", false},
	})
	for _, bad := range []string{`'10.0.0.0/33'`, `'not-a-network'`, `'10.*'`} {
		if err := loadErr(t, itemRule("DestinationIp|cidr", bad)); !strings.Contains(err.Error(), "CIDR") && !strings.Contains(err.Error(), "cidr") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
