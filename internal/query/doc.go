// Package query is the search language of `kizuki search` and
// `GET /api/v1/search`: parsing, matching stored or incoming events, the
// token prefilter the index uses to skip blocks, and the aggregations
// after the filter (stats, timeline).
//
// A query is a filter, optionally followed by a pipe command:
//
//	src_ip:10.0.0.0/8 AND url:*evil.com* | stats count by src_ip,domain
//
// The time range is not part of the query: the caller passes from and to.
//
// # Terms
//
// Free text looks at every value of an event: host, source, raw (the
// original record) and every field. It never looks at origin (file:line).
//
//	mimikatz           the word, as a whole token, in any value
//	"failed password"  the phrase: these tokens one after the other
//	cmd.exe            a word with punctuation is a phrase of its tokens:
//	                   "cmd" then "exe", as in C:\Windows\cmd.exe
//	mimi*  adm?n       a wildcard word of letters and digits only is
//	                   matched against each token (mimikatz, Mimidrv)
//	*evil.com*         a wildcard word with other characters is matched
//	                   against each whole value (here: any value containing
//	                   evil.com)
//	"->"               text without any letter or digit is looked for as
//	                   a substring of any value
//
// A token is a maximal run of Unicode letters, digits and combining marks.
// Everything else separates tokens, including '_' (so `mimikatz` finds
// Invoke_Mimikatz, and `TCP_DENIED` finds the phrase tcp denied). Each
// Han, Hiragana or Katakana character is a token of its own, because
// Japanese and Chinese do not put spaces between words: `ログオン` is the
// sequence of its four characters and is found inside
// アカウントがログオンに失敗しました.
//
// Field terms look at one attribute. The names host, source, origin and
// raw address the event's own attributes; any other name is a field: a
// common one (src_ip, dst_ip, user, domain, url, status, bytes_out,
// event_id, command_line...) or a format-specific one (Image,
// CommandLine, TargetUserName...). Field names are case-sensitive, with a
// fallback: when the event has no attribute of exactly that name, any
// attribute whose name is equal ignoring case is used (commandline:
// finds CommandLine). A name starts with a letter, '_' or '@' and goes on
// with letters, digits, '_', '.', '-' and '@'; a field whose name has other
// characters can only be found by free text. After the colon a value may
// start with '-' (TargetUserName:- is the value "-").
//
//	user:admin                    equal, ignoring case
//	user:"John Smith"             a quoted value (spaces, parentheses...)
//	url:*evil.com*  user:adm*     wildcards: * any run, ? one character,
//	Image:"C:\Program Files\\*"   also inside quotes; matched against the
//	                              whole value
//	src_ip:10.0.0.0/8             the value is an IP address in the prefix
//	src_ip:2001:db8::/32          (IPv6 too)
//	src_ip:10.1.2.3               an address is compared as an address:
//	                              ::ffff:10.1.2.3 (IPv4-mapped, as Windows
//	                              logs it) and other IPv6 spellings of the
//	                              same address are equal
//	bytes_out:>1000000            numeric comparison: > >= < <=, also
//	status>=500                   without the colon; the value must be a
//	                              decimal number (integer or fraction);
//	                              anything else never matches
//	CommandLine:*                 the field is present and not empty
//	CommandLine:""                the field is present and empty (Windows
//	                              EventData tells it from absent)
//
// Case is ignored everywhere values are compared: ASCII and Unicode simple
// case folding, as strings.EqualFold. An absent field never matches a
// value, a pattern or a comparison; to find events without a field, use
// -field:*.
//
// Two spellings are read as pasted free text, not as field terms: a URL
// (http://evil.com/x, since no value starts with "//") and a Windows path
// after a drive letter (C:\Windows\Temp\x.exe). To search other text that
// has a colon after a name-like prefix (evil.com:443, a:b), quote it or
// escape the colon: "evil.com:443", evil.com\:443.
//
// # Operators
//
//	a b        AND (juxtaposition)     a AND b
//	a OR b     OR
//	NOT a      NOT                     -a
//	( ... )    grouping
//	*          every event (as does an empty query)
//
// Precedence: NOT binds tightest, then AND, then OR: `a b OR c` is
// `(a b) OR c`. The keywords are upper case only, as in Lucene: lower-case
// and, or, not are search words. A '-' starts a NOT only at the start of a
// term (a-b is one word); a lone "-" is an error (quote it to search for
// it).
//
// # Escapes
//
// A backslash escapes the next character when it is one of
//
//	\  "  *  ?  :  (  )  |  <  >  -
//
// and stands for itself before any other character, so Windows paths are
// written as they are: Image:C:\Windows\System32\cmd.exe. Write \\ for a
// backslash before one of those characters: Image:C:\Windows\\* is every
// path under C:\Windows (C:\Windows\* would be a literal '*'), and a
// quoted value that ends with a backslash ends with \\". The same rules
// apply inside quotes, where only \ and " need escaping (and * and ? in a
// field value, where they are wildcards).
//
// # Pipe commands
//
//	| stats count                 one row: the number of events
//	| stats count by f1,f2        one row per distinct (f1, f2), with its
//	                              count, highest first, then by values;
//	                              a missing field groups as ""
//	| timeline                    events per time bucket, about 60 buckets
//	                              over the search range (1s 2s 5s 10s 15s
//	                              30s 1m 2m 5m 10m 15m 30m 1h 2h 3h 6h 12h 1d
//	                              2d 7d ...)
//	| timeline span=5m            buckets of 5 minutes (s, m, h or d)
//
// Command words (stats, count, by, timeline, span) are case-insensitive. A
// query may be a pipe alone: `| stats count by source` counts every event.
//
// Stats keeps at most MaxGroups groups and returns the MaxRows with the
// highest counts; when it has to leave groups out it says "capped" and
// counts their events in "other". Timeline buckets start at multiples of
// the span since 1970-01-01 UTC (so days start at 00:00 UTC), run from the
// first event's bucket to the last one's with empty buckets included, and
// a span that would give more than MaxBuckets buckets is made coarser.
// Only one command is supported after the filter.
//
// # Limits and errors
//
// A query is at most MaxLength (4096) bytes, MaxDepth (64) levels of
// parentheses and NOT, and MaxTerms (256) terms. An error says where it is
// (a 1-based column, in characters) and what was expected:
//
//	query: column 12: expected ")" to close "(" at column 3
//
// # Grammar
//
//	query    = [ filter ] [ "|" command ]
//	filter   = or
//	or       = and { "OR" and }
//	and      = unary { [ "AND" ] unary }
//	unary    = ( "NOT" | "-" ) unary | primary
//	primary  = "(" or ")" | term
//	term     = "*" | word | phrase | name ":" value | name ":" cmp number
//	         | name cmp number
//	value    = word | phrase                   (wildcards allowed in both)
//	cmp      = ">" | ">=" | "<" | "<="
//	command  = "stats" "count" [ "by" name { "," name } ]
//	         | "timeline" [ "span" "=" digits ( "s" | "m" | "h" | "d" ) ]
//
// A word is a run of characters other than white space, parentheses, '|'
// and '"' (escapes aside); a phrase is a double-quoted string.
package query
