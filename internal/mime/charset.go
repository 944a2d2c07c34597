// Package mime decodes what mail headers carry in a log: RFC 2047 encoded
// words ("=?Shift_JIS?B?...?="), RFC 2231 parameters
// ("filename*=UTF-8”%E3%81%82"), attachment file names from Content-Type /
// Content-Disposition values, and the display name / address of a From
// header.
//
// Everything here is tolerant: logs hold what real mailers sent, truncated
// and mangled by the logger. What cannot be decoded is kept as it was, never
// dropped, and nothing panics on any input.
package mime

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

// charsetEncoding returns the decoder family for a charset name (any case),
// nil for UTF-8 / US-ASCII (no conversion needed) and ok=false for charsets
// this package does not know.
func charsetEncoding(name string) (enc encoding.Encoding, ok bool) {
	var buf [24]byte
	if len(name) > len(buf) {
		return nil, false
	}
	// Lower-case into a stack buffer; the switch on string(b) does not
	// allocate.
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b) {
	case "utf-8", "utf8", "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso-646-us", "cp367":
		return nil, true
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819":
		return charmap.ISO8859_1, true
	case "iso-8859-2", "iso8859-2", "iso_8859-2", "latin2", "latin-2", "l2":
		return charmap.ISO8859_2, true
	case "iso-8859-15", "iso8859-15", "iso_8859-15", "latin-9", "latin9":
		return charmap.ISO8859_15, true
	case "windows-1252", "cp1252", "x-cp1252":
		return charmap.Windows1252, true
	case "shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j", "cp932", "ms932", "ms_kanji", "csshiftjis", "cswindows31j":
		// x/text's ShiftJIS follows the WHATWG Encoding Standard, where
		// Shift_JIS is decoded as Windows-31J (CP932): the vendor extensions
		// Japanese mailers send under the name "Shift_JIS" decode too.
		return japanese.ShiftJIS, true
	case "iso-2022-jp", "csiso2022jp", "iso2022jp":
		return japanese.ISO2022JP, true
	case "euc-jp", "eucjp", "x-euc-jp", "cseucpkdfmtjapanese":
		return japanese.EUCJP, true
	}
	return nil, false
}

// KnownCharset reports whether DecodeCharset can convert charset.
func KnownCharset(charset string) bool {
	_, ok := charsetEncoding(charset)
	return ok
}

// DecodeCharset converts b from charset to UTF-8. ok is false when the
// charset is unknown (then b is returned unchanged as a string). Bytes that
// are invalid in the charset become U+FFFD; for UTF-8 and US-ASCII the bytes
// are returned as they are.
func DecodeCharset(charset string, b []byte) (s string, ok bool) {
	enc, ok := charsetEncoding(charset)
	if !ok {
		return string(b), false
	}
	if enc == nil {
		return string(b), true
	}
	if isASCII(b) && enc != japanese.ISO2022JP {
		// Pure ASCII reads the same in every charset here except
		// ISO-2022-JP, whose escape sequences are ASCII bytes too.
		return string(b), true
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(b), false
	}
	return string(out), true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
