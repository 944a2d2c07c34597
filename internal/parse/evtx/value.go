package evtx

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// BinXml value types (MS-EVEN6 2.2.12, winevt.h EVT_VARIANT_TYPE). A type
// with the 0x80 bit is an array of the base type.
const (
	typeNull      = 0x00
	typeString    = 0x01
	typeAnsi      = 0x02
	typeInt8      = 0x03
	typeUint8     = 0x04
	typeInt16     = 0x05
	typeUint16    = 0x06
	typeInt32     = 0x07
	typeUint32    = 0x08
	typeInt64     = 0x09
	typeUint64    = 0x0a
	typeReal32    = 0x0b
	typeReal64    = 0x0c
	typeBool      = 0x0d
	typeBinary    = 0x0e
	typeGUID      = 0x0f
	typeSizeT     = 0x10
	typeFileTime  = 0x11
	typeSysTime   = 0x12
	typeSID       = 0x13
	typeHexInt32  = 0x14
	typeHexInt64  = 0x15
	typeEvtHandle = 0x20
	typeBinXML    = 0x21
	typeEvtXML    = 0x23
	typeArray     = 0x80
)

// fixedSize is the size of one value of a fixed-size type, 0 for the
// variable-size ones.
func fixedSize(t byte) int {
	switch t {
	case typeInt8, typeUint8:
		return 1
	case typeInt16, typeUint16:
		return 2
	case typeInt32, typeUint32, typeReal32, typeBool, typeHexInt32:
		return 4
	case typeInt64, typeUint64, typeReal64, typeFileTime, typeHexInt64:
		return 8
	case typeGUID, typeSysTime:
		return 16
	}
	return 0
}

// appendScalar appends the text Windows renders for one value of type t (no
// array bit, not BinXml) held in d. A fixed-size value whose data has the
// wrong size is rendered as hex bytes rather than guessed at.
func appendScalar(dst []byte, t byte, d []byte) []byte {
	if n := fixedSize(t); n != 0 && len(d) != n {
		return appendHexUpper(dst, d)
	}
	switch t {
	case typeNull:
		return dst
	case typeString, typeEvtXML:
		return appendUTF16(dst, d)
	case typeAnsi:
		return appendAnsi(dst, d)
	case typeInt8:
		return strconv.AppendInt(dst, int64(int8(d[0])), 10)
	case typeUint8:
		return strconv.AppendUint(dst, uint64(d[0]), 10)
	case typeInt16:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(d))), 10)
	case typeUint16:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(d)), 10)
	case typeInt32:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(d))), 10)
	case typeUint32:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(d)), 10)
	case typeInt64:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(d)), 10)
	case typeUint64:
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(d), 10)
	case typeReal32:
		return appendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(d))), 32)
	case typeReal64:
		return appendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(d)), 64)
	case typeBool:
		if binary.LittleEndian.Uint32(d) != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case typeBinary:
		return appendHexUpper(dst, d)
	case typeGUID:
		return appendGUID(dst, d)
	case typeSizeT, typeEvtHandle:
		switch len(d) {
		case 4:
			return appendHex(dst, uint64(binary.LittleEndian.Uint32(d)))
		case 8:
			return appendHex(dst, binary.LittleEndian.Uint64(d))
		}
		return appendHexUpper(dst, d)
	case typeFileTime:
		return appendTime(dst, fileTime(binary.LittleEndian.Uint64(d)))
	case typeSysTime:
		return appendSysTime(dst, d)
	case typeSID:
		return appendSID(dst, d)
	case typeHexInt32:
		return appendHex(dst, uint64(binary.LittleEndian.Uint32(d)))
	case typeHexInt64:
		return appendHex(dst, binary.LittleEndian.Uint64(d))
	}
	// Unknown or unsupported type (binary arrays, BinXml arrays...): its
	// bytes, as hex.
	return appendHexUpper(dst, d)
}

// appendUTF16 appends UTF-16LE text d as UTF-8, up to the first NUL (Windows
// strings are NUL-terminated; some writers count the terminator in the
// size). Unpaired surrogates become U+FFFD.
func appendUTF16(dst []byte, d []byte) []byte {
	n := len(d) &^ 1
	i := 0
	// Fast path: four ASCII characters at a time.
	for ; i+8 <= n; i += 8 {
		v := binary.LittleEndian.Uint64(d[i:])
		if v&0xff80ff80ff80ff80 != 0 || v&0xffff == 0 || v&0xffff0000 == 0 || v&0xffff00000000 == 0 || v&0xffff000000000000 == 0 {
			break
		}
		dst = append(dst, byte(v), byte(v>>16), byte(v>>32), byte(v>>48))
	}
	for ; i < n; i += 2 {
		c := uint16(d[i]) | uint16(d[i+1])<<8
		switch {
		case c == 0:
			return dst
		case c < utf8.RuneSelf:
			dst = append(dst, byte(c))
		case utf16.IsSurrogate(rune(c)):
			r := utf8.RuneError
			if c < 0xdc00 && i+3 < n {
				c2 := uint16(d[i+2]) | uint16(d[i+3])<<8
				if r2 := utf16.DecodeRune(rune(c), rune(c2)); r2 != utf8.RuneError {
					r = r2
					i += 2
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// cp1252 maps the bytes 0x80..0x9F of Windows-1252 (the ANSI code page of
// western Windows installations, the only one the file does not name) to
// Unicode; the other bytes are Latin-1. Undefined positions map to U+FFFD.
var cp1252 = [32]rune{
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
}

// appendAnsi appends an ANSI string up to its first NUL, decoded as
// Windows-1252.
func appendAnsi(dst []byte, d []byte) []byte {
	for _, c := range d {
		switch {
		case c == 0:
			return dst
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		case c < 0xa0:
			dst = utf8.AppendRune(dst, cp1252[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

const hexUpper = "0123456789ABCDEF"

func appendHexUpper(dst []byte, d []byte) []byte {
	for _, c := range d {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendHex renders v as Windows renders HexInt32/HexInt64: "0x", lower
// case, no padding ("0x3e7", "0x8020000000000000").
func appendHex(dst []byte, v uint64) []byte {
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// appendFloat renders a real as the shortest decimal that reads back to the
// same value ("0.5", "1e+21").
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "1.#INF"...)
	case math.IsInf(f, -1):
		return append(dst, "-1.#INF"...)
	case math.IsNaN(f):
		return append(dst, "-1.#IND"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendGUID renders a GUID as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}, upper
// case (StringFromGUID2, as Windows Vista..10 render it; newer builds use
// lower case, which Sigma's case-insensitive matching does not tell apart).
func appendGUID(dst []byte, d []byte) []byte {
	dst = append(dst, '{')
	for i, idx := range [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexUpper[d[idx]>>4], hexUpper[d[idx]&15])
	}
	return append(dst, '}')
}

// fileTime converts a FILETIME (100 ns ticks since 1601-01-01 UTC).
func fileTime(ft uint64) time.Time {
	const epochDiff = 11644473600 // seconds from 1601 to 1970
	sec := int64(ft/10_000_000) - epochDiff
	nsec := int64(ft%10_000_000) * 100
	return time.Unix(sec, nsec).UTC()
}

// timeLayout is how Windows renders FILETIME and SYSTEMTIME values: ISO 8601
// UTC with the 7 fractional digits of the 100 ns tick.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

func appendTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, timeLayout)
	}
	h, mi, s := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/100, 7)
	return append(dst, 'Z')
}

// appendDigits appends v (>= 0) in decimal with n digits, zero-padded.
func appendDigits(dst []byte, v, n int) []byte {
	var b [8]byte
	for i := n - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:n]...)
}

// sysTime decodes a SYSTEMTIME (year, month, weekday, day, hour, minute,
// second, milliseconds; 16-bit each). ok is false for impossible fields.
func sysTime(d []byte) (time.Time, bool) {
	u := func(i int) int { return int(binary.LittleEndian.Uint16(d[2*i:])) }
	y, mo, day, h, mi, s, ms := u(0), u(1), u(3), u(4), u(5), u(6), u(7)
	if mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 59 || ms > 999 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), day, h, mi, s, ms*1_000_000, time.UTC), true
}

func appendSysTime(dst []byte, d []byte) []byte {
	t, ok := sysTime(d)
	if !ok {
		return appendHexUpper(dst, d)
	}
	return appendTime(dst, t)
}

// sidSize returns the length of the SID at the start of d, or 0 when d does
// not hold a whole one.
func sidSize(d []byte) int {
	if len(d) < 8 {
		return 0
	}
	n := 8 + 4*int(d[1])
	if n > len(d) {
		return 0
	}
	return n
}

// appendSID renders a SID as S-R-A-S1-...-Sn, the authority in hex when it
// does not fit in 32 bits (as ConvertSidToStringSid does).
func appendSID(dst []byte, d []byte) []byte {
	n := sidSize(d)
	if n == 0 || n != len(d) {
		return appendHexUpper(dst, d)
	}
	var auth uint64
	for _, c := range d[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(d[0]), 10)
	dst = append(dst, '-')
	if auth >= 1<<32 {
		dst = append(dst, '0', 'x')
		for _, c := range d[2:8] {
			dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
		}
	} else {
		dst = strconv.AppendUint(dst, auth, 10)
	}
	for i := 8; i < n; i += 4 {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(d[i:])), 10)
	}
	return dst
}

// span is a byte range [off, end) of the chunk.
type span struct{ off, end int32 }

// splitArray appends to items the byte ranges of the members of an array
// value of base type t (the type without its 0x80 bit) held at d, which
// starts at chunk offset base. String arrays are NUL-terminated strings one
// after the other; SIDs carry their own length; the other members have a
// fixed size (size_t: 8 bytes when the size allows, else 4).
func splitArray(items []span, t byte, d []byte, base int32) []span {
	switch t {
	case typeString:
		start := 0
		for i := 0; i+1 < len(d); i += 2 {
			if d[i] == 0 && d[i+1] == 0 {
				items = append(items, span{base + int32(start), base + int32(i)})
				start = i + 2
			}
		}
		if start < len(d)&^1 {
			items = append(items, span{base + int32(start), base + int32(len(d)&^1)})
		}
		return items
	case typeAnsi:
		start := 0
		for i, c := range d {
			if c == 0 {
				items = append(items, span{base + int32(start), base + int32(i)})
				start = i + 1
			}
		}
		if start < len(d) {
			items = append(items, span{base + int32(start), base + int32(len(d))})
		}
		return items
	case typeSID:
		for off := 0; off < len(d); {
			n := sidSize(d[off:])
			if n == 0 {
				return append(items, span{base + int32(off), base + int32(len(d))})
			}
			items = append(items, span{base + int32(off), base + int32(off+n)})
			off += n
		}
		return items
	}
	n := fixedSize(t)
	if t == typeSizeT || t == typeEvtHandle {
		n = 4
		if len(d)%8 == 0 {
			n = 8
		}
	}
	if n == 0 {
		// Binary and BinXml arrays are not defined (MS-EVEN6): one member.
		if len(d) > 0 {
			items = append(items, span{base, base + int32(len(d))})
		}
		return items
	}
	for off := 0; off+n <= len(d); off += n {
		items = append(items, span{base + int32(off), base + int32(off+n)})
	}
	return items
}
