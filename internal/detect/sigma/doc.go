// Package sigma runs Sigma detection rules (specification 2.1.0) on kizuki
// events: it loads rule files (rules, correlation rules, filters), routes
// each rule to the events its logsource can produce, and matches compiled
// rules against streaming events without a query language in between.
//
// The pieces, one file each:
//
//	rule.go, load.go, yaml.go   the rule model, loading files / folders /
//	                            fs.FS, YAML with positions and limits
//	detection.go, value.go      search identifiers, Sigma strings
//	modifiers*.go               value modifiers, one file per category
//	condition.go                the condition language
//	filter.go                   Sigma filters
//	logsource.go, .yaml         logsource routing and field mapping
//	compile.go, prefilter.go    compilation, indexing, literal prefilters
//	ahocorasick.go, strset.go   multi-literal scanners and value sets
//	sampling.go                 scanning long literals a few bytes in n
//	match.go, check.go          the per-event matcher
//	guard.go                    checks that rule a candidate out at once
//	regexfilter.go              what is checked before a regular expression
//	correlation*.go             correlation rules (stateful, over matches)
//
// A Ruleset is immutable once loaded (Merge aside) and shared; each
// goroutine matches with its own Matcher, which holds the per-event scratch
// space and allocates nothing per event. docs/sigma.md describes what is
// supported, how logsources route, the deviations from the specification
// and the figures.
package sigma
