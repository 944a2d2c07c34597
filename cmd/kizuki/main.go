// Command kizuki collects an organization's logs and finds the traces
// attackers leave in them. This file maps flags to the internal packages and
// holds no analysis logic.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kizuki-dev/kizuki/internal/analyze"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/org"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
	"github.com/kizuki-dev/kizuki/internal/report"
)

// errRulesFailed is returned by `rules check` when a rule does not load; it
// exits 1, like a linter, rather than 2 (an error of the run).
var errRulesFailed = errors.New("some rules did not load")

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdin, os.Stdout, os.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, errRulesFailed) || errors.Is(err, errVerifyFailed) {
			os.Exit(1) // rules that do not load, a journal that does not verify: already reported
		}
		fmt.Fprintln(os.Stderr, "kizuki:", err)
		os.Exit(2)
	}
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kizuki",
		Short:         "Find the traces attackers leave in mail, firewall, proxy, DNS and AD logs",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyze(), newHunt(), newRules(), newParse(), newInitConfig(), newFormats(),
		newServe(), newKeygen(), newVerify(), newToken(), newSearch(), newReindex())
	return root
}

type commonFlags struct {
	typ     string
	explain bool
	workers int
}

func (c *commonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.typ, "type", "", "read every input as this format (see `kizuki formats`) instead of detecting it")
	cmd.Flags().BoolVar(&c.explain, "explain", false, "say which format was detected for each file and why (on stderr)")
	cmd.Flags().IntVar(&c.workers, "workers", 0, "parser goroutines (default: all cores)")
}

func newAnalyze() *cobra.Command {
	var c commonFlags
	var config, format, since, until, lang, cpuprofile string
	cmd := &cobra.Command{
		Use:   "analyze [flags] PATH...",
		Short: "Run the JPCERT/CC analyses (J1–J13) over log files, folders, .gz/.zst or - for stdin",
		Long: `Reads log files (folders recursively, gzip and zstd by content, "-" for stdin),
detects each file's format, and runs the analyses of JPCERT/CC's "log analysis for
advanced cyber attacks" (chapter 4). Every finding is placed on the 7-stage kill chain
with its evidence lines and what to check next. Exit status is 0 whatever was found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format must be table or json, not %q", format)
			}
			if lang != "en" && lang != "ja" {
				return fmt.Errorf("--lang must be en or ja, not %q", lang)
			}
			m, err := analyze.LoadModel(config)
			if err != nil {
				return err
			}
			opt := analyze.Options{Config: config, Type: c.typ, Workers: c.workers, Stdin: cmd.InOrStdin(), Lang: lang}
			if opt.Since, err = parseTimeFlag("--since", since, m.Location); err != nil {
				return err
			}
			if opt.Until, err = parseTimeFlag("--until", until, m.Location); err != nil {
				return err
			}
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			run, err := analyze.Run(cmd.Context(), m, args, opt)
			if err != nil {
				return err
			}
			if c.explain {
				explain(cmd.ErrOrStderr(), run.Files)
			}
			if format == "json" {
				if err := report.WriteJSON(cmd.OutOrStdout(), run.Alerts); err != nil {
					return err
				}
				return report.WriteSummary(cmd.ErrOrStderr(), run)
			}
			return report.WriteTable(cmd.OutOrStdout(), run)
		},
	}
	c.register(cmd)
	cmd.Flags().StringVar(&config, "config", "", "organization configuration (YAML; `kizuki init-config` prints an example)")
	cmd.Flags().StringVar(&format, "format", "table", "output: table (per-host storyline) or json (one alert per line)")
	cmd.Flags().StringVar(&since, "since", "", "ignore events before this time (RFC 3339, or YYYY-MM-DD[ HH:MM] in the config's timezone)")
	cmd.Flags().StringVar(&until, "until", "", "ignore events at or after this time")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the guidance in the table: en or ja")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a Go CPU profile of the analysis to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func newParse() *cobra.Command {
	var c commonFlags
	var format, tz string
	cmd := &cobra.Command{
		Use:   "parse [flags] PATH...",
		Short: "Print the normalized events, one JSON object per line",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "text" {
				return fmt.Errorf("--format must be json or text, not %q", format)
			}
			loc := time.Local
			if tz != "" {
				l, err := time.LoadLocation(tz)
				if err != nil {
					return fmt.Errorf("--timezone: %w", err)
				}
				loc = l
			}
			files, err := input.Expand(args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			bw := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			var buf []byte
			var werr error
			reps, err := pipeline.Run(ctx, files, pipeline.Options{
				Registry: formats.RegistryWithRaw(), Type: c.typ, Location: loc, Workers: c.workers, Stdin: cmd.InOrStdin(),
			}, func(ev *event.Event) {
				if werr != nil {
					return
				}
				buf = buf[:0]
				if format == "json" {
					buf = ev.AppendJSON(buf)
				} else {
					buf = appendText(buf, ev)
				}
				buf = append(buf, '\n')
				if _, werr = bw.Write(buf); werr != nil {
					cancel()
				}
			})
			if werr == nil {
				werr = bw.Flush()
			}
			if c.explain {
				explain(cmd.ErrOrStderr(), reps)
			}
			for _, r := range reps {
				for _, e := range r.Errors {
					fmt.Fprintf(cmd.ErrOrStderr(), "kizuki: malformed %s: %s\n", e.Where(r.Path), e.Err)
				}
				if r.Malformed > int64(len(r.Errors)) {
					fmt.Fprintf(cmd.ErrOrStderr(), "kizuki: %s: %d malformed lines in all\n", r.Path, r.Malformed)
				}
				if r.Error != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "kizuki: %s not read: %s\n", r.Path, r.Error)
				}
			}
			if werr != nil && !errors.Is(werr, syscall.EPIPE) {
				return werr
			}
			if err != nil && !(werr != nil && errors.Is(err, context.Canceled)) {
				return err
			}
			return nil
		},
	}
	c.register(cmd)
	cmd.Flags().StringVar(&format, "format", "json", "output: json (one event per line) or text")
	cmd.Flags().StringVar(&tz, "timezone", "", "zone of time stamps that carry none (default: this machine's)")
	return cmd
}

func newInitConfig() *cobra.Command {
	return &cobra.Command{
		Use:   "init-config",
		Short: "Print a commented example organization configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), org.Example)
			return err
		},
	}
}

func newFormats() *cobra.Command {
	return &cobra.Command{
		Use:   "formats",
		Short: "List the log formats kizuki reads",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := formats.Registry()
			for _, c := range reg.Containers() {
				fmt.Fprintf(cmd.OutOrStdout(), "%-16s %s\n", c.Name(), c.Describe())
			}
			for _, p := range reg.Parsers() {
				fmt.Fprintf(cmd.OutOrStdout(), "%-16s %s\n", p.Name(), p.Describe())
			}
			return nil
		},
	}
}

func explain(w io.Writer, reps []*pipeline.FileReport) {
	for _, r := range reps {
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "%s: not read: %s\n", r.Path, r.Error)
		default:
			comp := ""
			if r.Compression != "" {
				comp = " (" + r.Compression + ")"
			}
			fmt.Fprintf(w, "%s%s: %s: %s\n", r.Path, comp, r.Format, r.Reason)
		}
	}
}

func appendText(dst []byte, ev *event.Event) []byte {
	dst = append(dst, event.FormatTime(ev.Time)...)
	dst = append(dst, ' ')
	dst = append(dst, ev.Source...)
	dst = append(dst, ' ')
	dst = append(dst, ev.Origin.String()...)
	ev.Fields(func(k, v string) {
		dst = append(dst, ' ')
		dst = append(dst, k...)
		dst = append(dst, '=')
		if strings.ContainsAny(v, " \"") {
			dst = append(dst, '"')
			dst = append(dst, strings.ReplaceAll(v, `"`, `\"`)...)
			dst = append(dst, '"')
		} else {
			dst = append(dst, v...)
		}
	})
	return dst
}

// startCPUProfile starts the hidden --cpuprofile of analyze, hunt and serve ("" does
// nothing); stop ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// parseTimeFlag accepts RFC 3339 or a local date / date and time.
func parseTimeFlag(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 (2015-02-12T13:53:00+09:00) or YYYY-MM-DD[ HH:MM[:SS]]", name, s)
}
