package query

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// checker returns f(query, want): the query must parse, and Match must
// give want on ev, through EventRow and through the generic Row path
// alike; a match must also satisfy the prefilter.
func checker(t *testing.T, ev *event.Event) func(query string, want bool) {
	toks := rowTokens(EventRow(ev))
	return func(query string, want bool) {
		t.Helper()
		q := mustParse(t, query)
		got := q.Match(EventRow(ev))
		if got != want {
			t.Errorf("%s: %q matched %v, want %v", ev.Source, query, got, want)
		}
		if g := q.Match(plainRow{EventRow(ev)}); g != got {
			t.Errorf("%s: %q matched %v on EventRow but %v on a generic Row", ev.Source, query, got, g)
		}
		if got && !satisfies(q.Prefilter(), toks) {
			t.Errorf("%s: %q matched but its prefilter %v is not satisfied", ev.Source, query, q.Prefilter())
		}
	}
}

func TestMatchSquid(t *testing.T) {
	f := checker(t, squidEvent(t))
	f(``, true)
	f(`*`, true)
	f(`NOT *`, false)
	// Addresses and prefixes.
	f(`src_ip:91.188.124.227`, true)
	f(`src_ip:91.188.124.22`, false)
	f(`src_ip:::ffff:91.188.124.227`, true) // IPv4-mapped literal
	f(`src_ip:91.188.124.0/24`, true)
	f(`src_ip:91.0.0.0/8`, true)
	f(`src_ip:91.188.124.227/32`, true)
	f(`src_ip:10.0.0.0/8`, false)
	f(`src_ip:::ffff:91.188.0.0/112`, true) // IPv4-mapped prefix
	f(`src_ip:2001:db8::/32`, false)
	f(`src_ip:91.188.124.*`, true)
	f(`91.188.124.227`, true) // free text: the address's tokens in sequence
	f(`91.188.124`, true)
	f(`188.124.227.1`, false)
	// Numbers.
	f(`status:403`, true)
	f(`status:>=400`, true)
	f(`status>=500`, false)
	f(`status:<404`, true)
	f(`status:<=403`, true)
	f(`status:>403`, false)
	f(`bytes_in:>4000`, true)
	f(`bytes_in>4099.5`, false)
	f(`bytes_in:>=4.099e3`, true)
	f(`duration_ms:<10`, true)
	f(`dst_port>=1 dst_port<=1023`, true)
	f(`method>0`, false) // not a number: never matches a comparison
	f(`-method>0`, true)
	// Wildcards and equality.
	f(`url:*proxy-listen*`, true)
	f(`url:*azenv.php`, true)
	f(`url:http://*`, true)
	f(`url:HTTP://WWW.PROXY-LISTEN.DE/AZENV.PHP`, true)
	f(`url:*evil.com*`, false)
	f(`url:http://www.proxy-listen.de`, false) // equality is the whole value
	f(`domain:www.proxy-listen.de`, true)
	f(`domain:*.de`, true)
	f(`domain:www.proxy-listen.d?`, true)
	f(`domain:www.proxy-listen.?`, false)
	f(`method:get`, true)
	f(`method:post`, false)
	f(`content_type:text/*`, true)
	f(`result_code:TCP_DENIED`, true)
	f(`hierarchy:hier_none`, true)
	f(`raw:*TCP_DENIED/403*`, true)
	f(`raw:tcp_denied`, false)
	// Free text.
	f(`azenv`, true)
	f(`AZENV`, true)
	f(`azen`, false) // not a whole token
	f(`azen*`, true)
	f(`*zenv*`, true)
	f(`a?env`, true)
	f(`tcp_denied`, true) // a phrase of its tokens
	f(`denied`, true)
	f(`deny`, true) // the action field
	f(`"TCP_DENIED/403 4099"`, true)
	f(`"403 tcp_denied"`, false)
	f(`proxy-listen.de`, true)
	f(`http://www.proxy-listen.de/azenv.php`, true) // a pasted URL is free text
	f(`"/-"`, true)                                 // no letters or digits: a substring
	f(`"->"`, false)
	// Attributes.
	f(`source:squid`, true)
	f(`source:postfix`, false)
	f(`squid`, true) // free text looks at source
	f(`host:*`, false)
	f(`-host:*`, true)
	f(`origin:*access.log*`, true)
	f(`origin:"/var/log/squid/access.log:7"`, true)
	f(`access`, false) // free text does not look at origin
	// Field name case fallback.
	f(`Status:403`, true)
	f(`STATUS:>400`, true)
	f(`SOURCE:squid`, true)
	f(`Origin:*squid*`, true)
	// Absent fields.
	f(`user:*`, false)
	f(`-user:*`, true)
	f(`user:""`, false)
	f(`user:x`, false)
	f(`-user:x`, true)
	// Boolean structure.
	f(`squid AND NOT postfix`, true)
	f(`squid -azenv`, false)
	f(`(postfix OR squid) status:403`, true)
	f(`postfix OR status:404`, false)
	f(`postfix OR status:404 OR azenv`, true)
	f(`postfix status:403 OR azenv`, true)
	f(`-(postfix OR status:404)`, true)
	f(`NOT NOT squid`, true)
	f(`--squid`, true)
	f(`squid AND (method:get AND (status:403 OR status:404))`, true)
}

func TestMatchPostfix(t *testing.T) {
	f := checker(t, postfixEvent(t))
	f(`"relay access denied"`, true)
	f(`"Relay  Access Denied"`, true)
	f(`"access relay"`, false)
	f(`"NOQUEUE: reject:"`, true)
	f(`noqueue`, true)
	f(`mail_from:*@evil.com`, true)
	f(`mail_from:spam@EVIL.com`, true)
	f(`mail_from:*@example.com`, false)
	f(`mail_to:x@example.com OR mail_to:y@example.com`, true)
	f(`NOT (mail_from:*@evil.com)`, false)
	f(`host:mail-server`, true)
	f(`host:MAIL*`, true)
	f(`host:mail`, false)
	f(`src_ip:192.168.0.0/16`, true)
	f(`src_ip:192.168.1.5`, true)
	f(`src_ip:192.168.1.50`, false)
	f(`reply_code>=500`, true)
	f(`dsn:5.7.*`, true)
	f(`dsn>5`, false) // 5.7.1 is not a number
	f(`reason:*relay*`, true)
	f(`reason:relay*`, false)
	f(`process:postfix/smtpd`, true)
	f(`postfix`, true)
	f(`smtpd`, true)
	f(`smtp`, false)
	f(`smtp*`, true)
	f(`evil`, true)
	f(`"evil.com"`, true)
	f(`action:reject -mail_to:*`, false)
	f(`pid:29597 pid>29596 pid<29598`, true)
	f(`helo:evil`, true)
	f(`helo:evi`, false)
	f(`helo:evi?`, true)
	f(`helo:?evil`, false)
	f(`queue_id:*`, false)
	f(`"<x@example.com>"`, true)
	f(`x@example.com`, true)
}

func TestMatchWindows4688(t *testing.T) {
	f := checker(t, win4688Event(t))
	f(`event_id:4688`, true)
	f(`event_id:4624`, false)
	f(`EventID:4688`, true)
	f(`eventid:4688`, true) // fallback to EventID
	f(`CommandLine:*sekurlsa*`, true)
	f(`commandline:*SEKURLSA*`, true)
	f(`command_line:*logonpasswords*`, true)
	f(`mimikatz`, true)
	f(`MIMIKATZ`, true)
	f(`mimi*`, true)
	f(`mimikatz.exe`, true)
	f(`"sekurlsa::logonpasswords"`, true)
	f(`sekurlsa\:\:logonpasswords`, true)
	f(`sekurlsa::logonpasswords`, false) // the field "sekurlsa", which no event has
	f(`logonpassword`, false)
	f(`"privilege::debug" exit`, true)
	// Windows paths: a backslash is itself unless before \ " * ? : ( ) | < > -
	f(`NewProcessName:C:\Users\Public\mimikatz.exe`, true)
	f(`NewProcessName:c:\users\public\MIMIKATZ.EXE`, true)
	f(`NewProcessName:*\mimikatz.exe`, true)
	f(`NewProcessName:*\\mimikatz.exe`, true)
	f(`NewProcessName:C:\Users\\*`, true)
	f(`NewProcessName:C:\Users\*`, false) // \* is a literal '*'
	f(`NewProcessName:"C:\Users\Public\\*"`, true)
	f(`ParentProcessName:*\cmd.exe`, true)
	f(`C:\Windows\System32\cmd.exe`, true) // a pasted path is free text
	f(`C:\Windows\System32\powershell.exe`, false)
	f(`Image:*`, false)
	f(`TargetUserName:-`, true)
	f(`TargetUserName:"-"`, true)
	f(`TargetUserName:*`, true)
	f(`SubjectUserName:jsmith user:jsmith`, true)
	f(`user:JSMITH`, true)
	f(`host:ws01*`, true)
	f(`host:WS01.corp.example`, true)
	f(`TokenElevationType:%%1937`, true)
	f(`1937`, true)
	f(`SubjectLogonId:0x4a5af0`, true)
	f(`SubjectLogonId>0`, false) // hex is not a number
	f(`ProcessID<10`, true)
	f(`processid:4`, true)     // ProcessID
	f(`processid:0xE74`, true) // ProcessId: any name equal ignoring case
	f(`processid:0x1b2c`, false)
	f(`channel:security`, true)
	f(`source:winxml`, true)
	f(`mimikatz -cmd.exe`, false)
	f(`mimikatz -"cmd.exe"`, false)
	f(`mimikatz -powershell`, true)
	f(`(event_id:4688 OR event_id:4624) AND CommandLine:*mimikatz*`, true)
	f(`event_id:4688 -CommandLine:*mimikatz*`, false)
	// Present and empty, as Windows EventData tells it apart.
	f(`CurrentDirectory:""`, true)
	f(`CurrentDirectory:*`, false)
	f(`-CurrentDirectory:*`, true)
	f(`currentdirectory:""`, true)
}

// Case folding beyond ASCII, and the tokens of scripts without spaces.
func TestMatchUnicode(t *testing.T) {
	ev := &event.Event{
		Source: "kv",
		Raw:    "Jürgen ſtraße 300K ΣΊΣΥΦΟΣ アカウントがログオンに失敗しました user=Jürgen",
	}
	ev.Set(event.User, "Jürgen")
	ev.SetExtra("message", "アカウントがログオンに失敗しました")
	ev.SetExtra("Größe", "4K")
	f := checker(t, ev)
	f(`user:jürgen`, true)
	f(`user:JÜRGEN`, true)
	f(`user:j?rgen`, true) // ? is one character, not one byte
	f(`user:j??rgen`, false)
	f(`jürgen`, true)
	f(`straße`, true)   // ſ folds with s
	f(`STRAẞE`, true)   // capital sharp s folds with ß
	f(`strasse`, false) // ß to ss is not simple folding
	f(`300k`, true)     // the Kelvin sign folds with k
	f(`σίσυφοσ`, true)  // Σ σ ς fold together, and Ί ί
	f(`σίσυφος`, true)
	f(`ログオン`, true) // each CJK character is a token: found inside a sentence
	f(`"ログオンに失敗"`, true)
	f(`ログイン`, false)
	f(`message:*ログオン*`, true)
	f(`message:ログオン`, false) // a field value is compared whole
	f(`größe:4k`, true)
	f(`GRÖSSE:4k`, false)
	f(`Größe:>3`, false) // "4K" is not a number
}

// Addresses compare as addresses, however they are spelled.
func TestMatchAddresses(t *testing.T) {
	ev := &event.Event{Source: "winxml"}
	ev.Set(event.SrcIP, "::ffff:10.0.0.12") // as Windows logs an IPv4 client
	ev.Set(event.DstIP, "2001:0DB8:0:0::1")
	ev.Set(event.SrcPort, "49273")
	f := checker(t, ev)
	f(`src_ip:10.0.0.12`, true)
	f(`src_ip:::ffff:10.0.0.12`, true)
	f(`src_ip:::FFFF:a00:c`, true)
	f(`src_ip:10.0.0.1`, false)
	f(`src_ip:10.0.0.0/8`, true)
	f(`src_ip:10.0.0.12/32`, true)
	f(`src_ip:11.0.0.0/8`, false)
	f(`src_ip:::ffff:0:0/96`, true) // every IPv4 address
	f(`src_ip:::/0`, false)         // an IPv6 prefix holds no IPv4 address
	f(`src_ip:0.0.0.0/0`, true)
	f(`dst_ip:2001:db8::1`, true)
	f(`dst_ip:2001:db8::/32`, true)
	f(`dst_ip:2001:db9::/32`, false)
	f(`dst_ip:2001:db8::2`, false)
	f(`src_port:10.0.0.0/8`, false) // not an address
	f(`10.0.0.12`, true)            // free text: the tokens 10 0 0 12 in sequence
}

// Fields lists what Match reads; all when it reads every value.
func TestFields(t *testing.T) {
	f := func(query string, want []string, wantAll bool) {
		t.Helper()
		names, all := mustParse(t, query).Fields()
		if !slices.Equal(names, want) || all != wantAll {
			t.Errorf("%q: Fields() = %q, %v; want %q, %v", query, names, all, want, wantAll)
		}
	}
	f(``, nil, false)
	f(`*`, nil, false)
	f(`user:x src_ip:10.0.0.0/8 OR -bytes_out>5 user:*`, []string{"bytes_out", "src_ip", "user"}, false)
	f(`host:a raw:*x* origin:y source:z`, []string{"host", "origin", "raw", "source"}, false)
	f(`user:x mimikatz`, []string{"user"}, true)
	f(`"failed password"`, nil, true)
	f(`*evil*`, nil, true)
	f(`user:x | stats count by domain,user`, []string{"domain", "user"}, false)
	f(`| timeline`, nil, false)
}

func TestMatchAll(t *testing.T) {
	for q, want := range map[string]bool{
		``: true, `*`: true, `* *`: true, `* OR x`: true, `(*)`: true, `| stats count`: true, `* | timeline`: true,
		`x`: false, `NOT *`: false, `* x`: false, `-x`: false, `user:*`: false, `-(* x)`: false,
	} {
		if got := mustParse(t, q).MatchAll(); got != want {
			t.Errorf("%q: MatchAll() = %v, want %v", q, got, want)
		}
	}
}

// Queries on the datasets' real events: how many events of each kind a
// query finds, and that the EventRow and generic paths agree on every
// event.
func TestMatchDatasets(t *testing.T) {
	evs := datasetEvents(t)
	bySource := map[string]int{}
	for _, ev := range evs {
		bySource[ev.Source]++
	}
	t.Logf("%d events: %v", len(evs), bySource)
	if bySource["squid"] < 5 || bySource["postfix"] < 1000 || bySource["evtx"] < 500 {
		t.Fatalf("too few events parsed from the datasets: %v", bySource)
	}
	count := func(query string) int {
		t.Helper()
		q := mustParse(t, query)
		n := 0
		for _, ev := range evs {
			m := q.Match(EventRow(ev))
			if m != q.Match(plainRow{EventRow(ev)}) {
				t.Errorf("%q: EventRow and generic Row disagree on %s", query, ev.Origin)
			}
			if m {
				n++
			}
		}
		return n
	}
	f := func(query string, want bool) {
		t.Helper()
		if got := count(query) > 0; got != want {
			t.Errorf("%q: found events: %v, want %v", query, got, want)
		}
	}
	// Every event has a source, and source:X counts the events of X.
	var all []string
	for src, n := range bySource {
		if got := count("source:" + src); got != n {
			t.Errorf("source:%s found %d events, want %d", src, got, n)
		}
		all = append(all, "source:"+src)
	}
	if n := count(strings.Join(all, " OR ")); n != len(evs) {
		t.Errorf("%d sources found %d of %d events", len(all), n, len(evs))
	}
	// Field terms against a direct reading of the events.
	oracle := func(query string, want func(ev *event.Event) bool) {
		t.Helper()
		n := 0
		for _, ev := range evs {
			if want(ev) {
				n++
			}
		}
		if got := count(query); got != n || n == 0 {
			t.Errorf("%q found %d events, want %d", query, got, n)
		}
	}
	oracle(`event_id:4688`, func(ev *event.Event) bool { return ev.Get(event.EventID) == "4688" })
	oracle(`CommandLine:*mimikatz*`, func(ev *event.Event) bool {
		return strings.Contains(strings.ToLower(ev.Extra("CommandLine")), "mimikatz")
	})
	oracle(`src_ip:10.0.0.0/8`, func(ev *event.Event) bool {
		return netip.MustParsePrefix("10.0.0.0/8").Contains(ev.Addr(event.SrcIP))
	})
	oracle(`status:>=400`, func(ev *event.Event) bool { n, ok := ev.Int(event.Status); return ok && n >= 400 })
	oracle(`-user:*`, func(ev *event.Event) bool { return !ev.Has(event.User) })
	oracle(`user:*$`, func(ev *event.Event) bool { return strings.HasSuffix(ev.Get(event.User), "$") })
	oracle(`host:*`, func(ev *event.Event) bool { return ev.Host != "" })
	// A term and its negation split the events.
	for _, q := range []string{`mimikatz`, `status:>=400`, `src_ip:10.0.0.0/8`, `user:*`, `url:*.php*`, `"relay access denied"`} {
		if a, b := count(q), count("-("+q+")"); a+b != len(evs) || a == 0 {
			t.Errorf("%q found %d, its negation %d, of %d events", q, a, b, len(evs))
		}
	}
	f(`source:squid status:403 TCP_DENIED`, true)
	f(`source:squid status:200 TCP_DENIED`, false)
	f(`source:postfix "relay access denied"`, true)
	f(`source:postfix mail_from:*@*`, true)
	f(`source:postfix reply_code>=500`, true)
	f(`source:postfix reply_code>=600`, false)
	f(`source:evtx event_id:4688 CommandLine:*`, true)
	f(`source:evtx mimikatz`, true)
	f(`source:evtx Image:*\\mimikatz.exe`, true)
	f(`source:evtx Image:*\\mimikatz.exe event_id:4688`, false)
	f(`source:evtx event_id:4624 logon_type:3`, true)
	f(`source:evtx src_ip:10.0.0.0/8 OR src_ip:172.16.0.0/12 OR src_ip:192.168.0.0/16`, true)
	f(`source:evtx commandline:*`, true)
	f(`source:squid event_id:*`, false)
}

// Free text against a regular expression that says the same: the tokens
// of a word or phrase, whole, in sequence with only separators between
// them, in some value. Words and phrases are taken from the events.
func TestFreeTextOracle(t *testing.T) {
	evs := fixedEvents(t)
	if !testing.Short() {
		evs = append(evs, datasetSample(t, 2000)...)
	}
	g := newQueryGen(evs, 2)
	const sep = `[^\pL\pN\pM]`
	for range 60 {
		words := tokenList(g.pick(g.values[g.pick(g.fields)]))
		if len(words) == 0 {
			continue
		}
		i := g.r.IntN(len(words))
		words = words[i:min(len(words), i+1+g.r.IntN(3))]
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, regexp.QuoteMeta(w))
		}
		re := regexp.MustCompile(`(?i)(^|` + sep + `)` + strings.Join(quoted, sep+`+`) + `($|` + sep + `)`)
		query := quoteLit(g.recase(strings.Join(words, " ")))
		q := mustParse(t, query)
		n := 0
		for _, ev := range evs {
			want := false
			EventRow(ev).Each(func(_, v string) bool {
				want = re.MatchString(v)
				return !want
			})
			if got := q.Match(EventRow(ev)); got != want {
				t.Fatalf("%s on %q: Match %v, regexp %v", query, ev.Raw, got, want)
			}
			if want {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s found nothing, though its words come from an event", query)
		}
	}
}
