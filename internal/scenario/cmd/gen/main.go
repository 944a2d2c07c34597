// Command gen writes the kizuki scenario: two weeks of mail, firewall, proxy,
// DNS and Active Directory logs of a small organization with one targeted
// attack planted in them, plus org.yaml, iocs.txt and manifest.json (the
// ground truth).
//
//	go run ./internal/scenario/cmd/gen -out examples/logs -seed 1
//
// writes the logs under examples/logs and org.yaml, iocs.txt and
// manifest.json in examples (the parent of -out) unless -org says otherwise.
// The default -scale 0.05 keeps the sample under 2 MB; -scale 1 gives the
// test-size set (about 45,000 lines).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kizuki-dev/kizuki/internal/scenario"
)

func main() {
	out := flag.String("out", "", "output directory for the logs and manifest.json (required)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed and scale give byte-identical files")
	scale := flag.Float64("scale", 0.05, "background volume (1 = about 45,000 lines)")
	orgDir := flag.String("org", "", "directory for org.yaml, iocs.txt and manifest.json (default: the parent of -out)")
	rfc3339 := flag.Bool("mail-rfc3339", true, "mail log with RFC 3339 time stamps (false: RFC 3164, whose year comes from the file's mtime, which git does not keep)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-seed N] [-scale F] [-org DIR]")
		os.Exit(2)
	}
	od := *orgDir
	if od == "" {
		od = filepath.Dir(filepath.Clean(*out))
	}
	m, err := scenario.Generate(*out, scenario.Options{Seed: *seed, Scale: *scale, OrgDir: od, ManifestDir: od, MailRFC3339: *rfc3339})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	total := 0
	for _, f := range m.Files {
		fmt.Printf("%-28s %7d lines %9d bytes\n", f.Path, f.Lines, f.Bytes)
		total += f.Lines
	}
	fmt.Printf("%-28s %7d lines; %d planted findings, %d look-alikes; org: %s\n", "total", total, len(m.Findings), len(m.LookAlikes), filepath.Join(od, "org.yaml"))
}
