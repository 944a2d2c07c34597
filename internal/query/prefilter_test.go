package query

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// rowTokens is the token set the index would build for a row: Tokens and
// Pairs of every value Each yields.
func rowTokens(r Row) map[string]bool {
	set := map[string]bool{}
	r.Each(func(_, v string) bool {
		Tokens(v, func(tok string) { set[tok] = true })
		Pairs(v, func(a, b string) { set[Pair(a, b)] = true })
		return true
	})
	return set
}

// satisfies reports whether a token set meets a prefilter.
func satisfies(cnf [][]string, toks map[string]bool) bool {
	for _, clause := range cnf {
		if !slices.ContainsFunc(clause, func(t string) bool { return toks[t] }) {
			return false
		}
	}
	return true
}

func TestPrefilter(t *testing.T) {
	f := func(query string, want string) {
		t.Helper()
		// Pairs are shown as a+b.
		got := strings.ReplaceAll(fmt.Sprint(mustParse(t, query).Prefilter()), "\x00", "+")
		if got != want {
			t.Errorf("%q: Prefilter() = %s, want %s", query, got, want)
		}
	}
	f(``, `[]`)
	f(`*`, `[]`)
	f(`mimikatz`, `[[mimikatz]]`)
	f(`MimiKatz`, `[[mimikatz]]`)
	f(`"Failed password" sshd`, `[[failed] [failed+password] [password] [sshd]]`)
	f(`cmd.exe`, `[[cmd] [cmd+exe] [exe]]`)
	f(`198.51.100.237`, `[[100] [100+237] [198] [198+51] [237] [51] [51+100]]`)
	f(`user:"John Smith"`, `[[john] [john+smith] [smith]]`)
	f(`"a b" OR c`, `[[a c] [a+b c] [b c]]`)
	f(`user:Admin`, `[[admin]]`)
	f(`user:*`, `[]`)
	f(`-mimikatz`, `[]`)
	f(`mimikatz -cmd`, `[[mimikatz]]`)
	f(`a OR b`, `[[a b]]`)
	f(`a b OR c`, `[[a c] [b c]]`)
	f(`(a OR b) (c OR d)`, `[[a b] [c d]]`)
	f(`a OR -b`, `[]`)
	f(`a OR *`, `[]`)
	f(`mimi*`, `[]`)
	f(`*evil.com*`, `[]`)
	f(`url:*evil.com*`, `[]`)
	f(`url:*//evil.com/*`, `[[com] [evil] [evil+com]]`)
	f(`url:*evil.com/x*`, `[[com]]`)
	f(`url:*x.evil.com*`, `[[evil]]`)
	f(`url:http://*.evil.com/*`, `[[com] [evil] [evil+com] [http]]`)
	f(`url:*evil.com/*`, `[[com]]`)
	f(`Image:*\cmd.exe`, `[[cmd] [cmd+exe] [exe]]`)
	f(`Image:*x\cmd.exe`, `[[cmd] [cmd+exe] [exe]]`)
	f(`Image:C:\Windows\\*`, `[[c] [c+windows] [windows]]`)
	f(`user:adm?n`, `[]`)
	f(`bytes_out>5`, `[]`)
	f(`src_ip:10.1.2.3`, `[[1 ffff] [1+2 ffff] [10 ffff] [10+1 ffff] [2 ffff] [2+3 ffff] [3 ffff]]`)
	f(`src_ip:10.0.0.0/8`, `[[10 ffff]]`)
	f(`src_ip:192.168.0.0/16`, `[[168 ffff] [192 ffff]]`)
	f(`src_ip:2001:db8::1`, `[]`)
	f(`origin:*auth.log*`, `[]`)
	f(`Origin:"auth.log:3"`, `[]`)
	f(`"->"`, `[]`)
	f(`ログオン`, `[[オ] [オ+ン] [グ] [グ+オ] [ロ] [ロ+グ] [ン]]`)
	f(`message:*ログ*`, `[[グ] [ロ] [ロ+グ]]`)
	f(`a a a`, `[[a]]`)
	f(`a (a OR b)`, `[[a]]`) // [a b] is implied by [a]
}

// TestPrefilterConservative is the property the index relies on: for
// many generated queries and real events, Match implies that the event's
// tokens satisfy Prefilter.
func TestPrefilterConservative(t *testing.T) {
	evs := fixedEvents(t)
	if !testing.Short() {
		if ds := datasetSample(t, 2000); ds != nil {
			evs = append(evs, ds...)
		}
	}
	rows := make([]Row, len(evs))
	toks := make([]map[string]bool, len(evs))
	for i, ev := range evs {
		rows[i] = EventRow(ev)
		toks[i] = rowTokens(rows[i])
	}
	g := newQueryGen(evs, 1)
	n, matched, pruned, byPairs := 400, 0, 0, 0
	if testing.Short() {
		n = 100
	}
	for range n {
		s := g.query(3)
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("generated query %q: %v", s, err)
		}
		cnf := q.Prefilter()
		for i, r := range rows {
			m := q.Match(r)
			if m != q.Match(plainRow{r}) {
				t.Fatalf("%q: EventRow and generic Row disagree on %s", s, evs[i].Origin)
			}
			ok := satisfies(cnf, toks[i])
			if m {
				matched++
				if !ok {
					t.Fatalf("%q matches %s (%s) but the prefilter %v excludes it", s, evs[i].Origin, evs[i].Raw, cnf)
				}
			} else if !ok {
				pruned++
				if satisfies(tokensOnly(cnf), toks[i]) {
					byPairs++
				}
			}
		}
	}
	t.Logf("%d queries × %d events: %d matches, %d non-matches pruned by the prefilter (%d only by pairs)", n, len(rows), matched, pruned, byPairs)
	if matched == 0 || pruned == 0 || byPairs == 0 {
		t.Errorf("the generator is too weak: %d matches, %d pruned, %d by pairs", matched, pruned, byPairs)
	}
}

// tokensOnly drops the lists that hold a pair: what an index without pairs
// can check.
func tokensOnly(cnf [][]string) [][]string {
	var out [][]string
	for _, c := range cnf {
		if !slices.ContainsFunc(c, func(e string) bool { _, _, ok := IsPair(e); return ok }) {
			out = append(out, c)
		}
	}
	return out
}

// datasetSample returns up to n dataset events spread over the sources,
// or nil when the datasets are absent (the caller goes on with the fixed
// events).
func datasetSample(t *testing.T, n int) []*event.Event {
	var evs []*event.Event
	t.Run("datasets", func(t *testing.T) { evs = datasetEvents(t) })
	if len(evs) <= n {
		return evs
	}
	out := make([]*event.Event, 0, n)
	for i := range n {
		out = append(out, evs[i*len(evs)/n])
	}
	return out
}

// queryGen writes random queries from what real events hold: their field
// names (in other cases too), values, tokens and addresses, with wildcards,
// prefixes, comparisons, phrases, NOT, OR and parentheses.
type queryGen struct {
	r      *rand.Rand
	fields []string
	values map[string][]string
	words  []string
	addrs  []netip.Addr
	nums   []string
}

func newQueryGen(evs []*event.Event, seed uint64) *queryGen {
	g := &queryGen{r: rand.New(rand.NewPCG(seed, 7)), values: map[string][]string{}}
	seen := map[string]bool{}
	for _, ev := range evs {
		EventRow(ev).Each(func(name, v string) bool {
			if _, ok := g.values[name]; !ok {
				g.fields = append(g.fields, name)
			}
			if len(g.values[name]) < 50 && len(v) < 300 {
				g.values[name] = append(g.values[name], v)
			}
			Tokens(v, func(tok string) {
				if !seen[tok] && len(g.words) < 3000 {
					seen[tok] = true
					g.words = append(g.words, tok)
				}
			})
			if a, ok := parseAddr(v); ok && len(g.addrs) < 200 {
				g.addrs = append(g.addrs, a)
			}
			if _, ok := parseNumber(v); ok && len(g.nums) < 200 {
				g.nums = append(g.nums, v)
			}
			return true
		})
	}
	g.fields = append(g.fields, "origin", "nosuchfield")
	return g
}

func (g *queryGen) pick(s []string) string {
	if len(s) == 0 {
		return "x"
	}
	return s[g.r.IntN(len(s))]
}

// quoteLit quotes a literal value: every \ " * ? escaped.
func quoteLit(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == '"' || c == '*' || c == '?' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// recase changes the case of some letters.
func (g *queryGen) recase(s string) string {
	b := []rune(s)
	for i, r := range b {
		switch g.r.IntN(3) {
		case 0:
			b[i] = []rune(strings.ToUpper(string(r)))[0]
		case 1:
			b[i] = []rune(strings.ToLower(string(r)))[0]
		}
	}
	return string(b)
}

// bareLit escapes every character a backslash escapes, for a word
// without quotes.
func bareLit(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if isEscapable(v[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// wild makes a wildcard pattern from a value: a prefix, suffix or middle
// part with stars, or a character replaced by '?'. quoted says the
// pattern goes in quotes.
func (g *queryGen) wild(v string, quoted bool) string {
	rs := []rune(v)
	if len(rs) == 0 {
		return "*"
	}
	esc := func(rs []rune) string {
		if !quoted {
			return bareLit(string(rs))
		}
		s := quoteLit(string(rs))
		return s[1 : len(s)-1]
	}
	i := g.r.IntN(len(rs))
	j := i + g.r.IntN(len(rs)-i) + 1
	switch g.r.IntN(4) {
	case 0:
		return esc(rs[:j]) + "*"
	case 1:
		return "*" + esc(rs[i:])
	case 2:
		return "*" + esc(rs[i:j]) + "*"
	}
	return esc(rs[:i]) + "?" + esc(rs[i+1:])
}

func (g *queryGen) term() string {
	field := g.pick(g.fields)
	name := field
	if g.r.IntN(5) == 0 {
		name = g.recase(field)
	}
	if !validName(name) {
		name, field = "user", "user"
	}
	val := g.pick(g.values[field])
	switch g.r.IntN(18) {
	case 0:
		return name + ":" + quoteLit(val)
	case 1:
		return name + ":" + quoteLit(g.recase(val))
	case 2:
		return name + `:"` + g.wild(val, true) + `"`
	case 3:
		return name + ":*"
	case 4:
		if len(g.addrs) > 0 {
			a := g.addrs[g.r.IntN(len(g.addrs))]
			bits := []int{0, 8, 16, 24, 32}[g.r.IntN(5)]
			if a.Is6() {
				bits = []int{16, 32, 64, 112, 128}[g.r.IntN(5)]
			}
			p, _ := a.Prefix(bits)
			if g.r.IntN(4) == 0 && a.Is4() {
				// The same prefix, IPv4-mapped.
				return name + ":" + netip.PrefixFrom(netip.AddrFrom16(a.As16()), bits+96).Masked().String()
			}
			return name + ":" + p.String()
		}
	case 5:
		if len(g.addrs) > 0 {
			a := g.addrs[g.r.IntN(len(g.addrs))]
			if a.Is4() && g.r.IntN(2) == 0 {
				return name + ":" + netip.AddrFrom16(a.As16()).String()
			}
			return name + ":" + a.String()
		}
	case 6:
		if len(g.nums) > 0 {
			op := []string{">", ">=", "<", "<="}[g.r.IntN(4)]
			sep := []string{":", ""}[g.r.IntN(2)]
			return name + sep + op + g.pick(g.nums)
		}
	case 7:
		// A phrase of consecutive tokens of a value.
		toks := tokenList(val)
		if len(toks) > 0 {
			i := g.r.IntN(len(toks))
			j := min(len(toks), i+1+g.r.IntN(3))
			return quoteLit(g.recase(strings.Join(toks[i:j], " ")))
		}
	case 8:
		return g.wild(g.pick(g.words), false)
	case 9:
		// A wildcard word made from a chunk of a value.
		if f := strings.Fields(val); len(f) > 0 {
			return g.wild(g.pick(f), false)
		}
	case 10:
		if utf8.RuneCountInString(val) > 2 {
			return quoteLit(string([]rune(val)[1:3])) // a bit of text, maybe no token
		}
	case 11:
		// An address as free text: its tokens, and their pairs.
		if len(g.addrs) > 0 {
			return bareLit(g.addrs[g.r.IntN(len(g.addrs))].String())
		}
	case 12:
		// A punctuated chunk of a value as free text (a host name, a
		// path), recased.
		if f := strings.Fields(val); len(f) > 0 {
			if w := g.pick(f); w != "-" {
				return bareLit(g.recase(w))
			}
		}
	case 13:
		// A field value cut on both sides, recased: whole tokens inside,
		// a cut one at each end.
		return name + `:"*` + g.wild(g.recase(val), true) + `*"`
	case 14:
		// A whole value as free text.
		if val != "" {
			return quoteLit(g.recase(val))
		}
	}
	return quoteLit(g.recase(g.pick(g.words)))
}

// query writes a random filter of the given depth.
func (g *queryGen) query(depth int) string {
	if depth == 0 || g.r.IntN(3) == 0 {
		t := g.term()
		if g.r.IntN(5) == 0 {
			return "-" + t
		}
		return t
	}
	n := 2 + g.r.IntN(2)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.query(depth - 1)
	}
	switch g.r.IntN(4) {
	case 0:
		return "(" + strings.Join(parts, " OR ") + ")"
	case 1:
		return "NOT (" + strings.Join(parts, " ") + ")"
	case 2:
		return "(" + strings.Join(parts, " AND ") + ")"
	}
	return strings.Join(parts, " ")
}
