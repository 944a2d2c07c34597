// Package analyze runs parse → detect over files: the offline analysis of
// `kizuki analyze`, in memory and streaming, with no journal.
package analyze

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/detect/jpcert"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/org"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
	"github.com/kizuki-dev/kizuki/internal/report"
)

// Options configures an analysis.
type Options struct {
	Config  string // path of the organization YAML; "" = defaults
	Type    string // force one format for every input
	Since   time.Time
	Until   time.Time
	Workers int
	Stdin   io.Reader
	Lang    string
}

// LoadModel reads the configuration at path ("" gives the defaults).
func LoadModel(path string) (*org.Model, error) {
	if path == "" {
		return org.New(nil, "")
	}
	cfg, err := org.Load(path)
	if err != nil {
		return nil, err
	}
	m, err := org.New(cfg, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return m, nil
}

// Run analyzes paths with the model m and returns the findings.
func Run(ctx context.Context, m *org.Model, paths []string, opt Options) (*report.Run, error) {
	start := time.Now()
	files, err := input.Expand(paths)
	if err != nil {
		return nil, err
	}
	eng := detect.NewEngine(jpcert.All(m)...)
	reps, err := pipeline.Run(ctx, files, pipeline.Options{
		Registry: formats.Registry(),
		Type:     opt.Type,
		Location: m.Location,
		Since:    opt.Since,
		Until:    opt.Until,
		Workers:  opt.Workers,
		Stdin:    opt.Stdin,
	}, func(ev *event.Event) { eng.Observe(ev) })
	if err != nil {
		return nil, err
	}
	res := eng.Finish(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &report.Run{
		Files:    reps,
		Alerts:   res.Alerts,
		Notes:    res.Notes,
		Seen:     eng.Seen(),
		Elapsed:  time.Since(start),
		Location: m.Location,
		Lang:     opt.Lang,
	}, nil
}
