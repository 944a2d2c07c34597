package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/query"
)

// tokenHashes returns the distinct token and pair hashes the encoder
// gives v.
func tokenHashes(e *blockEncoder, v string) []uint64 {
	e.tokens = tokenSet{}
	e.tokenize(v)
	return e.tokens.appendHashes(nil)
}

// queryHashes returns the same from query.Tokens and query.Pairs
// themselves, hashed as a search hashes prefilter entries.
func queryHashes(v string) []uint64 {
	var s tokenSet
	query.Tokens(v, func(tok string) { s.add(hashEntry(tok)) })
	query.Pairs(v, func(a, b string) { s.add(hashEntry(query.Pair(a, b))) })
	return s.appendHashes(nil)
}

func sameHashes(a, b []uint64) bool {
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The encoder folds ASCII case before calling query.Tokens; the tokens
// must be exactly query.Tokens', or Prefilter would skip blocks that
// match.
func TestTokenizeAgreesWithQuery(t *testing.T) {
	e := newBlockEncoder(nil)
	f := func(v string) {
		t.Helper()
		if got, want := tokenHashes(e, v), queryHashes(v); !sameHashes(got, want) {
			t.Errorf("tokens of %q differ from query.Tokens' and Pairs'", v)
		}
	}
	f("")
	f("Hello WORLD")
	f("K\u212aelvin \u212a") // Kelvin sign folds with k
	f("ſtraße STRASSE")
	f("İstanbul ISTANBUL ı")
	f("Invoke_Mimikatz TCP_DENIED/403")
	f("\xff\xfeAB\xc3")
	f("ÀÉÎõü ΣΑΣ σας")
	f("A\u0301B") // a combining mark inside a token
	f("198.51.100.237 ::ffff:198.51.100.237")
	f("ab ab ab")       // a pair of a token with itself
	f("ab é cd ログオン x") // pairs across the switch to query.Tokens
	seen := map[string]bool{}
	g := func(v string) {
		if !seen[v] {
			seen[v] = true
			f(v)
		}
	}
	for _, ev := range loadReal(t) {
		g(ev.Raw)
		g(ev.Host)
		ev.Fields(func(_, v string) { g(v) })
	}
}

func FuzzTokenize(f *testing.F) {
	e := newBlockEncoder(nil)
	for _, s := range []string{"Hello WORLD", "K\u212a", "ſS", "a\u0301B_c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !sameHashes(tokenHashes(e, v), queryHashes(v)) {
			t.Fatalf("tokens of %q differ from query.Tokens'", v)
		}
	})
}

// TestFilter checks the filter has no false negatives and few false
// positives at its sizing.
func TestFilter(t *testing.T) {
	var hs []uint64
	for i := 0; i < 20000; i++ {
		hs = append(hs, hashToken(fmt.Sprint("tok", i)))
	}
	f := appendFilter(nil, hs)
	for i, h := range hs {
		if !filterHas(f, h) {
			t.Fatalf("token %d missing", i)
		}
	}
	fp := 0
	for i := 0; i < 100000; i++ {
		if filterHas(f, hashToken(fmt.Sprint("absent", i))) {
			fp++
		}
	}
	t.Logf("%d bytes for %d tokens: %.2f%% false positives", len(f), len(hs), float64(fp)/1000)
	if fp > 2000 {
		t.Errorf("%d false positives in 100000", fp)
	}
}
