package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
)

// Run is everything one analysis produced.
type Run struct {
	Files    []*pipeline.FileReport
	Alerts   []*alert.Alert
	Notes    []detect.Note
	Seen     map[string]int64 // events per source category
	Elapsed  time.Duration
	Location *time.Location // zone for times shown to people
	Lang     string         // "en" or "ja" for guidance
}

// Storyline is one internal entity's findings in kill-chain order (I2).
type Storyline struct {
	Host     string
	Alerts   []*alert.Alert
	MaxStage alert.Stage
	Stages   map[alert.Stage]bool
	First    time.Time
}

// Storylines groups alerts per host, hosts that went furthest first.
func Storylines(alerts []*alert.Alert) []*Storyline {
	by := map[string]*Storyline{}
	var out []*Storyline
	for _, a := range alerts {
		s := by[a.Host]
		if s == nil {
			s = &Storyline{Host: a.Host, Stages: map[alert.Stage]bool{}}
			by[a.Host] = s
			out = append(out, s)
		}
		s.Alerts = append(s.Alerts, a)
		for _, st := range a.Stages {
			s.Stages[st] = true
		}
		if m := a.MaxStage(); m > s.MaxStage {
			s.MaxStage = m
		}
		if s.First.IsZero() || a.Time.Before(s.First) {
			s.First = a.Time
		}
	}
	for _, s := range out {
		sort.SliceStable(s.Alerts, func(i, j int) bool {
			a, b := s.Alerts[i], s.Alerts[j]
			if a.MinStage() != b.MinStage() {
				return a.MinStage() < b.MinStage()
			}
			return a.Time.Before(b.Time)
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.MaxStage != b.MaxStage {
			return a.MaxStage > b.MaxStage
		}
		if ta, tb := topSeverity(a.Alerts), topSeverity(b.Alerts); ta != tb {
			return ta > tb
		}
		if len(a.Alerts) != len(b.Alerts) {
			return len(a.Alerts) > len(b.Alerts)
		}
		return a.Host < b.Host
	})
	return out
}

func topSeverity(as []*alert.Alert) alert.Severity {
	m := alert.Info
	for _, a := range as {
		if a.Severity > m {
			m = a.Severity
		}
	}
	return m
}

// WriteTable writes the human report: per-host storylines, then what was
// skipped, then the inputs with their malformed lines.
func WriteTable(w io.Writer, r *Run) error {
	bw := bufio.NewWriter(w)
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	ja := r.Lang == "ja"
	var events, malformed int64
	for _, f := range r.Files {
		events += f.Events
		malformed += f.Malformed
	}
	stories := Storylines(r.Alerts)
	high := 0
	for _, a := range r.Alerts {
		if a.Severity >= alert.High {
			high++
		}
	}
	fmt.Fprintf(bw, "kizuki analyze: %d findings on %d hosts (%d high or critical) from %s events in %d files, %.1fs\n",
		len(r.Alerts), len(stories), high, thousands(events), len(r.Files), r.Elapsed.Seconds())
	fmt.Fprintf(bw, "Times are %s. Kill chain (JPCERT table 2-1): 3 Delivery, 4 Exploitation, 5 Installation, 6 C&C, 7 Actions on objectives.\n", loc)

	for _, s := range stories {
		fmt.Fprintf(bw, "\n== %s: %d findings, reached stage %d %s\n", orDash(s.Host), len(s.Alerts), s.MaxStage, s.MaxStage)
		fmt.Fprintf(bw, "   kill chain: %s\n", chainBar(s.Stages))
		if s.MaxStage >= alert.CommandAndControl && !s.Stages[alert.Delivery] {
			if ja {
				fmt.Fprintf(bw, "   ! 第6段階以降の痕跡があるため、第3〜5段階も既に進行したと考えられます。%s より前のメール・プロキシ・DNS ログも調べてください (JPCERT 2.1)。\n", s.First.In(loc).Format("2006-01-02"))
			} else {
				fmt.Fprintf(bw, "   ! Stage 6+ without a delivery trace: stages 3-5 happened unseen. Widen the search to mail, proxy and DNS logs before %s (JPCERT 2.1).\n", s.First.In(loc).Format("2006-01-02"))
			}
		}
		for _, a := range s.Alerts {
			fmt.Fprintf(bw, "   [%s] %-8s %s  %s %s\n", stageList(a.Stages), strings.ToUpper(a.Severity.String()),
				a.Time.In(loc).Format("2006-01-02 15:04:05"), a.Rule, a.Title)
			fmt.Fprintf(bw, "        %s\n", a.Summary)
			if !a.LastTime.IsZero() && !a.LastTime.Equal(a.Time) {
				fmt.Fprintf(bw, "        until %s, %d records\n", a.LastTime.In(loc).Format("2006-01-02 15:04:05"), a.EvidenceTotal)
			}
			for i, e := range a.Evidence {
				if i == 3 {
					fmt.Fprintf(bw, "        … %d more records (see --format json)\n", a.EvidenceTotal-3)
					break
				}
				note := ""
				if e.Note != "" {
					note = "  (" + e.Note + ")"
				}
				fmt.Fprintf(bw, "        evidence %s: %s%s\n", e.Origin, clip(e.Raw, 160), note)
			}
			steps := a.NextSteps.EN
			if ja && len(a.NextSteps.JA) > 0 {
				steps = a.NextSteps.JA
			}
			if len(steps) > 0 {
				fmt.Fprintf(bw, "        next: %s\n", steps[0])
			}
		}
	}
	if len(r.Alerts) == 0 {
		fmt.Fprintln(bw, "\nNo attack traces found by the analyses that could run.")
	}

	if len(r.Notes) > 0 {
		fmt.Fprintln(bw, "\nAnalyses skipped or degraded:")
		for _, n := range r.Notes {
			line := fmt.Sprintf("  %-4s %-8s %s", n.Rule, n.Level, n.Message)
			if n.Enable != "" {
				line += " (enable: " + n.Enable + ")"
			}
			fmt.Fprintln(bw, line)
		}
	}

	fmt.Fprintln(bw, "\nInputs:")
	for _, f := range r.Files {
		if f.Error != "" {
			fmt.Fprintf(bw, "  %s: not read: %s\n", f.Path, f.Error)
			continue
		}
		comp := ""
		if f.Compression != "" {
			comp = ", " + f.Compression
		}
		span := ""
		if !f.First.IsZero() {
			span = fmt.Sprintf(", %s to %s", f.First.In(loc).Format("2006-01-02 15:04"), f.Last.In(loc).Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(bw, "  %s: %s%s, %s events, %d skipped, %d malformed%s\n", f.Path, f.Format, comp, thousands(f.Events), f.Skipped, f.Malformed, span)
		if f.OutOfRange > 0 {
			fmt.Fprintf(bw, "      %d events outside --since/--until\n", f.OutOfRange)
		}
		for _, e := range f.Errors {
			fmt.Fprintf(bw, "      malformed %s: %s\n", e.Where(f.Path), e.Err)
		}
	}
	if malformed > 0 {
		fmt.Fprintf(bw, "  %d malformed lines in all; they were counted and skipped.\n", malformed)
	}
	return bw.Flush()
}

// WriteSummary writes a short account of the run (for stderr when stdout
// carries JSON).
func WriteSummary(w io.Writer, r *Run) error {
	var events, malformed int64
	for _, f := range r.Files {
		events += f.Events
		malformed += f.Malformed
	}
	fmt.Fprintf(w, "kizuki: %d findings from %d events in %d files (%d malformed lines), %.1fs\n",
		len(r.Alerts), events, len(r.Files), malformed, r.Elapsed.Seconds())
	for _, f := range r.Files {
		if f.Error != "" {
			fmt.Fprintf(w, "kizuki: %s not read: %s\n", f.Path, f.Error)
		}
		for _, e := range f.Errors {
			fmt.Fprintf(w, "kizuki: malformed %s: %s\n", e.Where(f.Path), e.Err)
		}
	}
	for _, n := range r.Notes {
		msg := fmt.Sprintf("kizuki: %s %s: %s", n.Rule, n.Level, n.Message)
		if n.Enable != "" {
			msg += " (enable: " + n.Enable + ")"
		}
		fmt.Fprintln(w, msg)
	}
	return nil
}

func chainBar(st map[alert.Stage]bool) string {
	var b strings.Builder
	for s := alert.Delivery; s <= alert.ActionsOnObjectives; s++ {
		if b.Len() > 0 {
			b.WriteString(" > ")
		}
		mark := " "
		if st[s] {
			mark = "x"
		}
		fmt.Fprintf(&b, "[%s] %d %s", mark, s, s)
	}
	return b.String()
}

func stageList(ss []alert.Stage) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprint(int(s))
	}
	return strings.Join(parts, ",")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func orDash(s string) string {
	if s == "" {
		return "(unknown host)"
	}
	return s
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
