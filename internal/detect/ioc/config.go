package ioc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kizuki-dev/kizuki/internal/org"
)

// ConfigList is the name of the list made of the organization
// configuration's indicators.
const ConfigList = "config"

// FromConfig makes one list of the indicators of the organization
// configuration (the `indicators:` key J5 reads): the inline domains, ips
// and urls, and every file of indicators.files (relative to baseDir, the
// configuration's folder), read in any format Parse knows. So `kizuki
// serve --config` matches, and retro-hunts, the same indicators `kizuki
// analyze --config` searches for.
func FromConfig(ic org.IndicatorConfig, baseDir string, lim Limits) (*List, Report, error) {
	lim = lim.withDefaults()
	b := newBuilder(ConfigList, "config", lim)
	var digest bytes.Buffer
	inline := func(key string, kind Kind, values []string) error {
		for i, v := range values {
			ref := "indicators." + key + "[" + strconv.Itoa(i) + "]"
			digest.WriteString(ref + "=" + v + "\n")
			in, err := NewIndicator(kind, v)
			if err != nil {
				b.rep.problem(ref, v, err.Error())
				continue
			}
			in.Ref = ref
			if err := b.add(in); err != nil {
				return err
			}
		}
		return nil
	}
	if err := inline("domains", Domain, ic.Domains); err != nil {
		return nil, Report{}, err
	}
	if err := inline("ips", IP, ic.IPs); err != nil {
		return nil, Report{}, err
	}
	if err := inline("urls", URL, ic.URLs); err != nil {
		return nil, Report{}, err
	}
	for _, f := range ic.Files {
		p := f
		if !filepath.IsAbs(p) && baseDir != "" {
			p = filepath.Join(baseDir, p)
		}
		fh, err := os.Open(p)
		if err != nil {
			return nil, Report{}, fmt.Errorf("indicators.files: %w", err)
		}
		l, rep, err := Parse(filepath.Base(p), fh, lim)
		fh.Close()
		if err != nil {
			return nil, Report{}, fmt.Errorf("indicators.files: %w", err)
		}
		digest.WriteString(p + "=" + l.Digest + "\n")
		for _, pr := range rep.Problems {
			b.rep.problem(filepath.Base(p)+" "+pr.Ref, pr.Value, pr.Reason)
		}
		b.rep.ProblemCount += rep.ProblemCount - len(rep.Problems)
		for _, in := range l.Indicators {
			in.Ref = filepath.Base(p) + " " + in.Ref
			if err := b.add(in); err != nil {
				return nil, Report{}, err
			}
		}
	}
	l, rep := b.done(digest.Bytes())
	return l, rep, nil
}
