package query

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestTokens(t *testing.T) {
	f := func(s string, want ...string) {
		t.Helper()
		if got := tokenList(s); !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %q, want %q", s, got, want)
		}
	}
	f(``)
	f(`--- ...`)
	f(`Failed password for root from 10.0.0.1 port 22 ssh2`, "failed", "password", "for", "root", "from", "10", "0", "0", "1", "port", "22", "ssh2")
	f(`C:\Windows\System32\cmd.exe`, "c", "windows", "system32", "cmd", "exe")
	f(`Invoke_Mimikatz TCP_DENIED/403`, "invoke", "mimikatz", "tcp", "denied", "403")
	f(`JÜRGEN ſtraße 300K ΣΊΣΥΦΟΣ`, "jürgen", "straße", "300k", "σίσυφοσ")
	f("cafe\u0301 naïve", "cafe\u0301", "naïve") // a combining mark stays in its token
	f(`ログオンに失敗 ユーザー名`, "ロ", "グ", "オ", "ン", "に", "失", "敗", "ユ", "ー", "ザ", "ー", "名")
	f("a\xffb", "a", "b") // invalid UTF-8 separates
	f(`%%1937 0x4a5af0`, "1937", "0x4a5af0")
}

// The token class and the canonical fold are the same for every rune of
// a case-folding orbit: two strings equal under strings.EqualFold then
// have the same tokens, which the prefilter's soundness rests on.
func TestFoldOrbits(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if isTokenRune(f) != isTokenRune(r) || isCJK(f) != isCJK(r) || canonRune(f) != canonRune(r) {
				t.Fatalf("%U and %U fold together but tokenize differently", r, f)
			}
			if !foldEq(r, f) {
				t.Fatalf("foldEq(%U, %U) is false", r, f)
			}
		}
	}
	for _, p := range [][2]string{{"k", "\u212a"}, {"s", "ſ"}, {"ß", "ẞ"}, {"σ", "ς"}, {"İ", "i"}} {
		a, b := tokenList(p[0]), tokenList(p[1])
		if strings.EqualFold(p[0], p[1]) && !slices.Equal(a, b) {
			t.Errorf("%q and %q are equal ignoring case but give tokens %q and %q", p[0], p[1], a, b)
		}
	}
}

// randString draws up to n characters from an alphabet that mixes ASCII,
// the non-ASCII fold partners of ASCII letters, other cased letters,
// separators, CJK and (when invalid) a byte that is not UTF-8.
func randString(r *rand.Rand, n int, invalid bool) string {
	alphabet := []string{"a", "b", "k", "K", "\u212a", "s", "S", "ſ", "ß", "ẞ", "é", "É", ".", "-", " ", "ロ", "\\", "1", "_"}
	var b strings.Builder
	for range r.IntN(n + 1) {
		if invalid && r.IntN(15) == 0 {
			b.WriteByte(0xff)
			continue
		}
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// The wildcard matcher against regexp, which folds case the same way
// ((?i) is simple folding) and reads invalid UTF-8 the same way (one
// U+FFFD per byte).
func TestGlobReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var p pattern
		var b patternBuilder
		var re strings.Builder
		re.WriteString(`(?is)^`)
		for range 1 + r.IntN(5) {
			switch r.IntN(4) {
			case 0:
				b.addWild('*')
				re.WriteString(`.*`)
			case 1:
				b.addWild('?')
				re.WriteString(`.`)
			default:
				lit := randString(r, 3, false)
				b.addLit(lit)
				re.WriteString(regexp.QuoteMeta(lit))
			}
		}
		re.WriteString(`$`)
		p = b.pattern()
		if !p.hasWild() {
			continue
		}
		g := compileGlob(p)
		rx := regexp.MustCompile(re.String())
		for range 20 {
			s := randString(r, 8, true)
			if got, want := g.match(s), rx.MatchString(s); got != want {
				t.Fatalf("pattern %q on %q: glob %v, regexp %v (%s)", p, s, got, want, re.String())
			}
		}
	}
}

// indexFold (a case-insensitive search) against strings.EqualFold.
func TestIndexFold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		s, lit := randString(r, 10, true), randString(r, 3, false)
		want := false
		for i := 0; i <= len(s) && !want; i++ {
			for j := i; j <= len(s); j++ {
				if strings.EqualFold(s[i:j], lit) {
					want = true
					break
				}
			}
		}
		low := lowerASCIIString(lit)
		if _, _, got := indexFold(s, low, rareAnchor(low), 0); got != want {
			t.Fatalf("indexFold(%q, %q) = %v, want %v", s, lit, got, want)
		}
	}
}
