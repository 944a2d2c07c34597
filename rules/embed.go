// Package rules is kizuki's own Sigma rule pack (requirements R1, A1, A9,
// A11–A14, J12), embedded in the binary so that `kizuki hunt` has detections
// without any rule folder on disk.
//
// The rules are plain Sigma 2.x files with standard fields and logsources so
// that other Sigma tools (pySigma backends, Hayabusa, Chainsaw) can use them
// as they are; the one custom attribute, kizuki_requirements, names the
// requirement ids a rule covers. Every rule has a positive and a negative
// sample event under testdata/ (not embedded), which rules_test.go replays
// through the Sigma engine; docs/rules.md lists the pack.
package rules

import (
	"embed"
	"io/fs"
)

// pack is written only by the compiler (go:embed); FS hands it out read-only.
//
//go:embed windows
var pack embed.FS

// FS returns the rule pack: the rule files under windows/<category>/, with
// paths such as "windows/security/kizuki_security_log_cleared.yml". Load it
// with sigma.LoadFS.
func FS() fs.FS { return pack }
