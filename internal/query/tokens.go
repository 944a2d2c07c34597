package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokens, and how free text is matched against them.
//
// A token is a maximal run of Unicode letters, digits and combining marks;
// everything else separates tokens, '_' included. Marks belong to tokens so
// that decomposed accents ("e" + U+0301) and Indic or Thai vowel signs do
// not cut words apart; they also keep the token class closed under case
// folding (U+0345, a mark, folds together with the letter ι), which the
// prefilter relies on. '_' separates so that the parts of snake_case and
// SCREAMING_CASE identifiers (Invoke_Mimikatz, TCP_DENIED, lsass_dump.dmp)
// can be searched on their own; a query word that contains '_' is matched
// as the sequence of its tokens, so it still finds the whole identifier.
//
// Han, Hiragana and Katakana characters are tokens by themselves: Japanese
// and Chinese write words without spaces, so a run of them is a sentence
// rather than a word. A query word in these scripts is then the sequence
// of its characters and is found anywhere in a value ("ログオン" in
// "アカウントがログオンに失敗しました"), and the index keeps one token per
// character.

// asciiToken reports whether ASCII byte c is part of a token: a letter
// or a digit.
func asciiToken(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 26
}

// isTokenRune reports whether r is part of a token. It is the same for all
// the runes of one case-folding orbit (a test checks every rune), so that
// two strings equal under strings.EqualFold have the same token
// boundaries.
func isTokenRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiToken(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isCJK reports whether r is a token by itself (Han, Hiragana, Katakana).
// No such rune has a case partner, so this too is the same for all the
// runes of a case-folding orbit.
func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// lowerASCII lower-cases an ASCII letter and returns any other byte as is.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// canonRune maps r to one representative of its simple case-folding orbit
// (the set of runes strings.EqualFold treats as equal to r): the lower
// case of the orbit's smallest member. Any function constant on orbits
// would do for the prefilter (fold-equal tokens must give the same index
// token); lower-casing the smallest member gives the lower-case letter
// users expect ("K", "k" and the Kelvin sign all give "k"; "S", "s" and
// "ſ" give "s").
func canonRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lowerASCII(byte(r)))
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return unicode.ToLower(least)
}

// Tokens calls fn for each token of s, in order: maximal runs of Unicode
// letters, digits and combining marks ('_' and all punctuation separate
// tokens), except that each Han, Hiragana or Katakana character is a
// token of its own; case-folded to lower case with the same folding Match
// uses, so that two strings equal under strings.EqualFold give the same
// tokens. Invalid UTF-8 bytes separate tokens. fn may keep tok.
//
// The index builds its token filters with Tokens and Pairs over every
// value a Row's Each yields, and Prefilter only asks for tokens Tokens
// produces and pairs Pairs produces.
func Tokens(s string, fn func(tok string)) {
	for i := 0; i < len(s); {
		start, end, plain := nextToken(s, i)
		if start < 0 {
			return
		}
		if plain {
			fn(s[start:end])
		} else {
			fn(canonToken(s[start:end]))
		}
		i = end
	}
}

// pairSep joins the two tokens of a pair: no token contains it, so a pair
// is never mistaken for a token, and its halves are found again.
const pairSep = "\x00"

// Pair returns the prefilter entry for token a immediately followed by
// token b in one value (tokens as Tokens gives them): a, a zero byte, b.
// The index records, besides the tokens of each value, the pairs Pairs
// gives, and looks up an entry IsPair reports as a pair by its halves.
func Pair(a, b string) string { return a + pairSep + b }

// IsPair splits a prefilter entry made by Pair into its tokens; ok is
// false for a plain token.
func IsPair(s string) (a, b string, ok bool) {
	return strings.Cut(s, pairSep)
}

// Pairs calls fn for each pair of consecutive tokens of s, in order: the
// tokens Tokens gives, each with the one after it. A value of n tokens has
// n-1 pairs. fn may keep a and b.
func Pairs(s string, fn func(a, b string)) {
	prev, have := "", false
	Tokens(s, func(tok string) {
		if have {
			fn(prev, tok)
		}
		prev, have = tok, true
	})
}

// nextToken finds the first token of s at or after byte i. plain reports
// that the token is already canonical (lower-case ASCII), so it can be
// handed on without a copy. start is -1 when there is none.
func nextToken(s string, i int) (start, end int, plain bool) {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiToken(c) {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isTokenRune(r) {
			if isCJK(r) {
				return i, i + n, false
			}
			break
		}
		i += n
	}
	if i >= len(s) {
		return -1, -1, false
	}
	start, plain = i, true
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiToken(c) {
				break
			}
			if 'A' <= c && c <= 'Z' {
				plain = false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isTokenRune(r) || isCJK(r) {
			break
		}
		plain = false
		i += n
	}
	return start, i, plain
}

// tokenEnd returns the end of the token that starts at byte i of s, a
// token character.
func tokenEnd(s string, i int) int {
	if s[i] >= utf8.RuneSelf {
		if r, n := utf8.DecodeRuneInString(s[i:]); isCJK(r) {
			return i + n
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiToken(c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isTokenRune(r) || isCJK(r) {
			return i
		}
		i += n
	}
	return i
}

// tokenBefore reports whether a token that starts with the ASCII byte at
// i of s would in fact go on to the left: whether the rune before i is a
// token character that joins it (not the start of s, not CJK).
func tokenBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return asciiToken(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isTokenRune(r) && !isCJK(r)
}

// canonToken folds every rune of a token with canonRune.
func canonToken(tok string) string {
	b := make([]byte, 0, len(tok))
	for _, r := range tok {
		b = utf8.AppendRune(b, canonRune(r))
	}
	return string(b)
}

// tokenList returns the tokens of s as Tokens gives them.
func tokenList(s string) []string {
	var out []string
	Tokens(s, func(tok string) { out = append(out, tok) })
	return out
}

// tokenSpans returns the tokens of s as written, ASCII letters lower-cased:
// what Match compares value tokens with (strings.EqualFold is exact on
// them, where the canonical form of Tokens may join distinct orbits, as
// ToLower joins "İ" and "i").
func tokenSpans(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		start, end, _ := nextToken(s, i)
		if start < 0 {
			break
		}
		out = append(out, lowerASCIIString(s[start:end]))
		i = end
	}
	return out
}

// lowerASCIIString lower-cases the ASCII letters of s and leaves every
// other byte as it is, which keeps every rune in its case-folding orbit.
func lowerASCIIString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}
