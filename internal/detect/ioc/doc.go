// Package ioc loads indicator-of-compromise lists and matches normalized
// events against them (requirement R2; the matching side of J5, JPCERT
// §4.2.3.1 and §4.1.2).
//
// Three list formats are read: plain text (one indicator per line, "#"
// comments, the kind inferred), CSV (a header naming the indicator column,
// optional type, description and source columns) and STIX 2.1 JSON bundles
// (indicator objects with simple comparison patterns). Whatever a list holds
// that cannot be matched is reported with its line or STIX id in a Report,
// never dropped silently: an analyst who imports a feed must know which
// part of it is not being looked for.
//
// A Matcher is compiled from lists once and is read-only afterwards, so the
// server swaps in a new one when a list changes while events are matched
// against the old one. Matching costs map lookups, never a scan over the
// indicators: domains go through org.DomainSet (the set J5 uses, a domain
// matching its subdomains), addresses through a PrefixIndex (one lookup per
// distinct prefix length), URLs, hashes and mail addresses through maps.
//
// The package knows event.Event and alert.Alert, never a file format or the
// journal: internal/live feeds it the stored events, live and in retro-hunts.
package ioc
