package hunt

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// WriteTable writes a readable timeline, one match per entry (time,
// level, computer, channel and event id, rule title with its author, then
// the event's key fields and where it was read), followed by a summary of
// matches per level and per rule, the inputs and the rules.
func WriteTable(w io.Writer, res *Result) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	fmt.Fprintf(bw, "%-23s  %-13s  %-18s  %-14s  %s\n", "TIME (UTC)", "LEVEL", "COMPUTER", "EVENT", "RULE")
	err := res.write(bw, "table", appendTableMatch)
	if err != nil {
		return err
	}
	writeSummary(bw, res)
	return bw.Flush()
}

// appendTableMatch renders one match as an entry of the timeline.
func appendTableMatch(b []byte, m *Match) []byte {
	ev := m.Event
	t := event.FormatTime(ev.Time)
	t = strings.Replace(strings.TrimSuffix(t, "Z"), "T", " ", 1)
	evDesc := shortChannel(field(ev, "Channel"))
	if id := field(ev, "EventID"); id != "" {
		evDesc += " " + id
	}
	if evDesc == "" {
		evDesc = ev.Source
	}
	title := m.Rule.Title
	if m.Correlation != nil {
		title = "[correlation] " + title
	}
	b = appendPadded(b, t, 23)
	b = appendPadded(b, m.Rule.Level, 13)
	b = appendPadded(b, clip(ev.Host, 18), 18)
	b = appendPadded(b, clip(evDesc, 14), 14)
	b = append(b, title...)
	b = append(b, "  (author: "...)
	b = append(b, m.Rule.Author...)
	b = append(b, ")\n"...)
	b = append(b, indent...)
	n := len(b)
	if b = appendDetails(b, m, 160, " ¦ "); len(b) > n {
		b = append(b, '\n')
		b = append(b, indent...)
	}
	b = append(b, ev.Origin.File...)
	switch o := ev.Origin; {
	case o.Line != 0:
		b = append(b, ':')
		b = strconv.AppendInt(b, o.Line, 10)
	case o.Record != 0:
		b = append(b, '#')
		b = strconv.AppendInt(b, o.Record, 10)
	}
	return append(b, '\n')
}

// indent lines up a match's detail lines under its rule.
const indent = "                         "

// appendPadded appends s and spaces up to width runes, and two more: a
// column of the timeline (what %-Ns does, without fmt's cost per match).
func appendPadded(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		b = append(b, ' ')
	}
	return append(b, ' ', ' ')
}

// maxListedFiles is how many inputs the summary lists one by one.
const maxListedFiles = 20

// shortChannel names a Windows channel the way analysts say it:
// "Microsoft-Windows-Sysmon/Operational" → "Sysmon".
func shortChannel(ch string) string {
	s := strings.TrimSuffix(ch, "/Operational")
	s = strings.TrimPrefix(s, "Microsoft-Windows-")
	return s
}

func writeSummary(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nSummary: %d matches", res.Matches)
	var parts []string
	for i := len(levels) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%s %d", levels[i], res.ByLevel[levels[i]]))
	}
	fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	if res.Dropped > 0 {
		fmt.Fprintf(w, "; %d more not kept (over the limit of kept matches; counted below)", res.Dropped)
	}
	if res.Suppressed > 0 {
		fmt.Fprintf(w, "; %d matches of rules used only by correlations not shown", res.Suppressed)
	}
	fmt.Fprintln(w)
	if len(res.Counts) > 0 {
		fmt.Fprintln(w, "\nRules that fired (level, matches, rule, author):")
		for _, c := range res.Counts {
			fmt.Fprintf(w, "  %-13s %8d  %s  [%s]  (author: %s)\n", c.Rule.Level, c.Matches, c.Rule.Title, c.Rule.ID, c.Rule.Author)
		}
	}
	fmt.Fprintf(w, "\nInputs: %d events", res.Events)
	if sec := res.Elapsed.Seconds(); sec > 0 {
		fmt.Fprintf(w, " in %.2f s (%.0f events/s)", sec, float64(res.Events)/sec)
	}
	fmt.Fprintln(w)
	// Every file when there are few; with many, the count per format and
	// only the files that were not read or had damage.
	many := len(res.Files) > maxListedFiles
	if many {
		type agg struct{ files, events int64 }
		per := map[string]*agg{}
		var names []string
		for _, f := range res.Files {
			if f.Error != "" {
				continue
			}
			a := per[f.Format]
			if a == nil {
				a = &agg{}
				per[f.Format] = a
				names = append(names, f.Format)
			}
			a.files++
			a.events += f.Events
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %d %s files, %d events\n", per[n].files, n, per[n].events)
		}
	}
	unread := 0
	for _, f := range res.Files {
		switch {
		case f.Error != "":
			if unread++; unread > maxListedFiles/4 {
				continue
			}
			fmt.Fprintf(w, "  %s: not read: %s\n", f.Path, f.Error)
		case !many || f.Malformed > 0:
			fmt.Fprintf(w, "  %s: %s, %d events", f.Path, f.Format, f.Events)
			if f.Malformed > 0 {
				fmt.Fprintf(w, ", %d damaged or malformed", f.Malformed)
			}
			fmt.Fprintln(w)
			for _, e := range f.Errors {
				fmt.Fprintf(w, "      %s: %s\n", e.Where(f.Path), e.Err)
			}
		}
	}
	if n := unread - maxListedFiles/4; n > 0 {
		fmt.Fprintf(w, "  … and %d more files not read (--format json lists them all on stderr)\n", n)
	}
	writeRuleLine(w, res)
}

// writeRuleLine says how many rules ran and why the others did not.
func writeRuleLine(w io.Writer, res *Result) {
	var noSource, degraded int
	for _, r := range res.Rules.Rules() {
		switch {
		case r.Degraded != "":
			degraded++
		case r.NoSource != "":
			noSource++
		}
	}
	total := len(res.Rules.Rules())
	fmt.Fprintf(w, "Rules: %d loaded from %s (%d run, %d for log sources kizuki does not read, %d degraded)",
		total, strings.Join(res.RuleSources, ", "), total-noSource-degraded, noSource, degraded)
	if n := len(res.LoadErrors); n > 0 {
		fmt.Fprintf(w, "; %d did not load (kizuki rules check PATH lists them)", n)
	}
	fmt.Fprintln(w)
}
