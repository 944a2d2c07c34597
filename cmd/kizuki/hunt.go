package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/hunt"
)

func newHunt() *cobra.Command {
	var c commonFlags
	var rulePaths, placeholders []string
	var minLevel, format, since, until, tz, cpuprofile string
	var stats bool
	cmd := &cobra.Command{
		Use:   "hunt [flags] PATH...",
		Short: "Run Sigma rules over .evtx files and every other format kizuki reads",
		Long: `Runs Sigma rules (SigmaHQ's, your own, or kizuki's built-in pack when --rules
is not given) over Windows event logs (.evtx, wevtutil XML, JSON lines) and
every log format kizuki reads, and prints a timeline of every rule that fired,
with the matched event's fields and the rule's author and ATT&CK tags.
Correlation rules are evaluated over the time-ordered matches.
Exit status is 0 whatever was found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" && format != "csv" {
				return fmt.Errorf("--format must be table, json or csv, not %q", format)
			}
			if _, ok := hunt.LevelRank(minLevel); !ok {
				return fmt.Errorf("--min-level must be informational, low, medium, high or critical, not %q", minLevel)
			}
			loc := time.UTC
			if tz != "" {
				l, err := time.LoadLocation(tz)
				if err != nil {
					return fmt.Errorf("--timezone: %w", err)
				}
				loc = l
			}
			opt := hunt.Options{RulePaths: rulePaths, MinLevel: minLevel, Type: c.typ, Location: loc,
				Workers: c.workers, Stdin: cmd.InOrStdin(), Profile: stats,
				// Each match is rendered when found, on all cores, and
				// only its output bytes are kept for the timeline.
				Format: format}
			var err error
			if opt.Placeholders, err = parsePlaceholders(placeholders); err != nil {
				return err
			}
			if opt.Since, err = parseTimeFlag("--since", since, loc); err != nil {
				return err
			}
			if opt.Until, err = parseTimeFlag("--until", until, loc); err != nil {
				return err
			}
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			// Memory stays under 1 GB whatever the input: matches go to
			// disk past a budget, and the collector works harder as the
			// heap nears this limit (GOMEMLIMIT overrides it).
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(768 << 20)
			}
			res, err := hunt.Run(cmd.Context(), args, opt)
			if err != nil {
				return err
			}
			if c.explain {
				explain(cmd.ErrOrStderr(), res.Files)
			}
			switch format {
			case "json":
				err = hunt.WriteJSON(cmd.OutOrStdout(), res)
			case "csv":
				err = hunt.WriteCSV(cmd.OutOrStdout(), res)
			default:
				err = hunt.WriteTable(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			if format != "table" {
				for _, f := range res.Files {
					for _, e := range f.Errors {
						fmt.Fprintf(cmd.ErrOrStderr(), "kizuki: damaged or malformed %s: %s\n", e.Where(f.Path), e.Err)
					}
					if f.Error != "" {
						fmt.Fprintf(cmd.ErrOrStderr(), "kizuki: %s not read: %s\n", f.Path, f.Error)
					}
				}
			}
			if stats {
				writeHuntStats(cmd.ErrOrStderr(), res)
			}
			return nil
		},
	}
	c.register(cmd)
	cmd.Flags().StringArrayVar(&rulePaths, "rules", nil, "Sigma rule file or folder (repeatable; default: kizuki's built-in rule pack)")
	cmd.Flags().StringVar(&minLevel, "min-level", "informational", "show matches of rules at this level or above: informational, low, medium, high, critical")
	cmd.Flags().StringVar(&format, "format", "table", "output: table (timeline and summary), json (one match per line) or csv")
	cmd.Flags().BoolVar(&stats, "stats", false, "print events/s, rules loaded and skipped with the reasons, and the rules that fired most, on stderr")
	cmd.Flags().StringArrayVar(&placeholders, "placeholder", nil, "value of a Sigma |expand placeholder, NAME=VALUE (repeatable)")
	cmd.Flags().StringVar(&since, "since", "", "ignore events before this time (RFC 3339, or YYYY-MM-DD[ HH:MM])")
	cmd.Flags().StringVar(&until, "until", "", "ignore events at or after this time")
	cmd.Flags().StringVar(&tz, "timezone", "", "zone of time stamps that carry none, and of --since/--until (default UTC)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a Go CPU profile of the hunt to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func parsePlaceholders(kvs []string) (map[string][]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--placeholder %q: want NAME=VALUE", kv)
		}
		out[strings.Trim(k, "%")] = append(out[strings.Trim(k, "%")], v)
	}
	return out, nil
}

// writeHuntStats prints the --stats report: throughput, the rules loaded
// and the reasons others were skipped.
func writeHuntStats(w io.Writer, res *hunt.Result) {
	sec := res.Elapsed.Seconds()
	fmt.Fprintf(w, "stats: %d events in %.2f s: %.0f events/s\n", res.Events, sec, float64(res.Events)/max(sec, 1e-9))
	rules := res.Rules.Rules()
	reasons := map[string]int{}
	run := 0
	for _, r := range rules {
		switch {
		case r.Degraded != "":
			reasons["degraded: "+r.Degraded]++
		case r.NoSource != "":
			reasons[r.NoSource]++
		default:
			run++
		}
	}
	fmt.Fprintf(w, "stats: rules loaded %d (%d run), not loaded %d\n", len(rules), run, len(res.LoadErrors))
	type kv struct {
		k string
		n int
	}
	var rs []kv
	for k, n := range reasons {
		rs = append(rs, kv{k, n})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n || rs[i].n == rs[j].n && rs[i].k < rs[j].k })
	for _, r := range rs {
		fmt.Fprintf(w, "stats:   %5d skipped: %s\n", r.n, r.k)
	}
	for _, e := range res.LoadErrors {
		fmt.Fprintf(w, "stats:   not loaded: %v\n", e)
	}
	writeSlowest(w, res)
}

// newRules is `kizuki rules`, with `check`.
func newRules() *cobra.Command {
	root := &cobra.Command{Use: "rules", Short: "Work with Sigma rules"}
	var placeholders []string
	check := &cobra.Command{
		Use:   "check PATH...",
		Short: "Load Sigma rules and report each one that does not load, and why",
		Long: `Loads every Sigma rule (and correlation and filter) under the given files and
folders, as kizuki hunt would, and lists each one that does not load with the
reason, and each that loads but cannot run (a missing |expand placeholder, a
log source no kizuki input provides). Exit status 1 when a rule does not load.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ph, err := parsePlaceholders(placeholders)
			if err != nil {
				return err
			}
			rs, errs := sigma.LoadPaths(args, sigma.Options{Placeholders: ph})
			out := cmd.OutOrStdout()
			n := 0
			if rs != nil {
				n = len(rs.Rules())
				for _, r := range rs.Rules() {
					switch {
					case r.Degraded != "":
						fmt.Fprintf(out, "degraded  %s: %q (%s): %s\n", r.Path, r.Title, r.ID, r.Degraded)
					case r.NoSource != "":
						fmt.Fprintf(out, "no-source %s: %q (%s): %s\n", r.Path, r.Title, r.ID, r.NoSource)
					}
				}
			}
			for _, e := range errs {
				fmt.Fprintf(out, "error     %v\n", e)
			}
			fmt.Fprintf(out, "%d rules loaded, %d did not load\n", n, len(errs))
			if len(errs) > 0 {
				return errRulesFailed
			}
			return nil
		},
	}
	check.Flags().StringArrayVar(&placeholders, "placeholder", nil, "value of a Sigma |expand placeholder, NAME=VALUE (repeatable)")
	root.AddCommand(check)
	return root
}

// writeSlowest lists the rules whose conditions took the most time, and
// the time of the prefilter scan all rules share.
func writeSlowest(w io.Writer, res *hunt.Result) {
	fmt.Fprintf(w, "stats: prefilter (scanning event fields for the rules' literals): %.2f s\n", res.PrefilterTime.Seconds())
	for i, c := range res.Costs {
		if i == 10 {
			break
		}
		avg := time.Duration(0)
		if c.Evals > 0 {
			avg = c.Time / time.Duration(c.Evals)
		}
		fmt.Fprintf(w, "stats: slowest %2d: %7.3f s, %9d evaluations (%v each)  %s [%s]\n", i+1, c.Time.Seconds(), c.Evals, avg, c.Rule.Title, c.Rule.ID)
	}
}
