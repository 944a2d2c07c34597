package sigma

import (
	"strings"
	"testing"
)

// The encoding modifiers. Expected encodings were computed independently
// (Python's base64 and codecs, with pySigma's base64offset cut-off table).

func TestBase64(t *testing.T) {
	runMatchCases(t, []matchCase{
		// base64 of the value, then contains.
		{"CommandLine|base64|contains", `'cmd.exe /c whoami'`, "CommandLine", "x Y21kLmV4ZSAvYyB3aG9hbWk= y", true},
		{"CommandLine|base64|contains", `'cmd.exe /c whoami'`, "CommandLine", "cmd.exe /c whoami", false},
		{"CommandLine|base64", `'cmd.exe /c whoami'`, "CommandLine", "Y21kLmV4ZSAvYyB3aG9hbWk=", true},
	})
	// The three offsets of "http://" are aHR0cDovL, h0dHA6Ly, odHRwOi8v.
	for _, enc := range []string{"aHR0cDovLw", "IGh0dHA6Ly8", "ICBodHRwOi8v"} {
		runMatchCases(t, []matchCase{
			{"CommandLine|base64offset|contains", `'http://'`, "CommandLine", "powershell -e " + enc + "ZXZpbA==", true},
		})
	}
	runMatchCases(t, []matchCase{
		{"CommandLine|base64offset|contains", `'http://'`, "CommandLine", "powershell -e aHR0cHM6Ly9", false},
		// /bin/bash at offsets 0-2: L2Jpbi9iYXNo, 9iaW4vYmFza, vYmluL2Jhc2.
		{"CommandLine|base64offset|contains", `'/bin/bash'`, "CommandLine", "echo IC9iaW4vYmFzaA== | base64 -d", true},
		{"CommandLine|base64offset|contains", `'/bin/bash'`, "CommandLine", "echo ICAvYmluL2Jhc2g= | base64 -d", true},
		{"CommandLine|base64offset|contains", `'/bin/bash'`, "CommandLine", "echo L2Jpbi9iYXNo | base64 -d", true},
	})
	if err := loadErr(t, itemRule("CommandLine|base64", `'a*b'`)); !strings.Contains(err.Error(), "wildcard") {
		t.Errorf("base64 of a wildcard: %v", err)
	}
}

func TestUTF16(t *testing.T) {
	runMatchCases(t, []matchCase{
		// wide (utf16le) then base64offset: PowerShell -EncodedCommand.
		// "Invoke-Mimikatz" in UTF-16LE at offset 0 is
		// SQBuAHYAbwBrAGUALQBNAGkAbQBpAGsAYQB0AHoA.
		{"CommandLine|wide|base64offset|contains", `'Invoke-Mimikatz'`, "CommandLine", "powershell -enc SQBuAHYAbwBrAGUALQBNAGkAbQBpAGsAYQB0AHoAIAA=", true},
		{"CommandLine|utf16le|base64offset|contains", `'Invoke-Mimikatz'`, "CommandLine", "powershell -enc SQBuAHYAbwBrAGUALQBNAGkAbQBpAGsAYQB0AHoAIAA=", true},
		{"CommandLine|wide|base64offset|contains", `'Invoke-Mimikatz'`, "CommandLine", "powershell -enc SW52b2tlLU1pbWlrYXR6", false},
		// utf16be: "cmd" is 00 63 00 6d 00 64 → base64 AGMAbQBk.
		{"Payload|utf16be|base64", `'cmd'`, "Payload", "AGMAbQBk", true},
		// utf16: BOM FF FE then LE: FF FE 63 00 6D 00 64 00 → //5jAG0AZAA=.
		{"Payload|utf16|base64", `'cmd'`, "Payload", "//5jAG0AZAA=", true},
		// utf16le without base64 compares the raw bytes.
		{"Payload|utf16le", `'cmd'`, "Payload", "c\x00m\x00d\x00", true},
		{"Payload|utf16le", `'cmd'`, "Payload", "cmd", false},
	})
}
