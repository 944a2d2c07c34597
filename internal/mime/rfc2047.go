package mime

import (
	"encoding/base64"
	"strings"
)

// word is one RFC 2047 encoded word found in a string.
type word struct {
	charset string // without an RFC 2231 "*lang" suffix
	data    []byte // the decoded octets, still in charset
	end     int    // index just past the closing "?="
}

// DecodeHeader decodes every RFC 2047 encoded word ("=?charset?B?text?=" or
// "=?charset?Q?text?=") in s and returns the text in UTF-8.
//
//   - Linear white space between two adjacent encoded words is dropped, as
//     RFC 2047 section 6.2 says; white space next to ordinary text is kept.
//   - Adjacent words in the same charset are joined before the charset is
//     converted, so a multibyte character split across two words (which
//     real mailers do) still decodes.
//   - A word in an unknown charset, or whose text does not decode, is kept
//     as it is, and so is anything that is not a complete encoded word.
//   - Tolerance for what loggers print: white space inside B-encoded text is
//     ignored and its "=" padding may be missing or excessive.
//
// Unlike RFC 2047 proper, words inside quoted strings are decoded too (the
// caller decides where to apply this; mailers put them in quoted file names).
func DecodeHeader(s string) string {
	first := strings.Index(s, "=?")
	if first < 0 {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	var (
		last      int    // start of the text not yet copied to out
		pend      []byte // octets of the current run of adjacent words
		pendCS    string // their charset
		pendStart int    // where the run starts in s
		havePend  bool
	)
	flush := func(end int) {
		if !havePend {
			return
		}
		dec, ok := DecodeCharset(pendCS, pend)
		if ok {
			out.WriteString(dec)
		} else {
			out.WriteString(s[pendStart:end])
		}
		havePend = false
		pend = pend[:0]
	}
	i := first
	for i < len(s) {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			break
		}
		j += i
		w, ok := parseWord(s, j)
		if !ok {
			i = j + 1
			continue
		}
		gap := s[last:j]
		if havePend && isLWSP(gap) && strings.EqualFold(w.charset, pendCS) {
			pend = append(pend, w.data...)
		} else {
			if havePend && isLWSP(gap) {
				// Adjacent, but a different charset: convert the run so
				// far and drop the white space between them.
				flush(last)
			} else {
				flush(last)
				out.WriteString(gap)
			}
			havePend = true
			pendCS = w.charset
			pendStart = j
			pend = append(pend, w.data...)
		}
		last = w.end
		i = w.end
	}
	flush(last)
	out.WriteString(s[last:])
	return out.String()
}

// DecodeWord decodes s when it is exactly one encoded word.
func DecodeWord(s string) (string, bool) {
	w, ok := parseWord(s, 0)
	if !ok || w.end != len(s) {
		return s, false
	}
	return DecodeCharset(w.charset, w.data)
}

// parseWord reads the encoded word that starts at s[i] ("=?").
func parseWord(s string, i int) (word, bool) {
	var w word
	if i+2 > len(s) || s[i] != '=' || s[i+1] != '?' {
		return w, false
	}
	p := i + 2
	q := strings.IndexByte(s[p:], '?')
	if q <= 0 || q > 64 {
		return w, false
	}
	cs := s[p : p+q]
	for k := 0; k < len(cs); k++ {
		if c := cs[k]; c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '<' || c == '>' || c == '"' || c == '=' {
			return w, false
		}
	}
	// RFC 2231 section 5: "=?US-ASCII*EN?Q?...?=".
	if star := strings.IndexByte(cs, '*'); star >= 0 {
		cs = cs[:star]
	}
	if cs == "" || !KnownCharset(cs) {
		return w, false
	}
	p += q + 1
	if p+2 > len(s) || s[p+1] != '?' {
		return w, false
	}
	enc := s[p] | 0x20
	if enc != 'b' && enc != 'q' {
		return w, false
	}
	p += 2
	e := strings.Index(s[p:], "?=")
	if e < 0 {
		return w, false
	}
	text := s[p : p+e]
	if strings.IndexByte(text, '?') >= 0 {
		return w, false
	}
	var ok bool
	if enc == 'b' {
		w.data, ok = decodeB(text)
	} else {
		w.data, ok = decodeQ(text)
	}
	if !ok {
		return w, false
	}
	w.charset = cs
	w.end = p + e + 2
	return w, true
}

// decodeB decodes base64 text, ignoring white space and padding (loggers
// and printed copies insert spaces; some mailers get the padding wrong).
func decodeB(text string) ([]byte, bool) {
	clean := make([]byte, 0, len(text))
	for k := 0; k < len(text); k++ {
		switch c := text[k]; c {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, c)
		}
	}
	for len(clean) > 0 && clean[len(clean)-1] == '=' {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// decodeQ decodes the "Q" encoding: "_" is a space, "=XX" an octet. A "="
// not followed by two hex digits is kept literally. White space is not
// allowed in Q text.
func decodeQ(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for k := 0; k < len(text); k++ {
		c := text[k]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && k+2 < len(text) && isHex(text[k+1]) && isHex(text[k+2]):
			out = append(out, unhex(text[k+1])<<4|unhex(text[k+2]))
			k += 2
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return nil, false
		default:
			out = append(out, c)
		}
	}
	return out, true
}

func isLWSP(s string) bool {
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
