package kv

// The pair scanner is written once for string (Parse) and []byte (Sniff, which
// must not allocate).

type text interface{ ~string | ~[]byte }

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// keyStart returns where the key ending at the '=' at eq starts, or -1 when
// that '=' does not end a key: a key is a run of key characters at the start
// of the text or after a space, tab, '[' or ','.
func keyStart[T text](s T, eq int) int {
	i := eq
	for i > 0 && isKeyChar(s[i-1]) {
		i--
	}
	if i == eq {
		return -1
	}
	if i > 0 {
		switch s[i-1] {
		case ' ', '\t', '[', ',':
		default:
			return -1
		}
	}
	// A key starts with a letter or '_' ("1=2" is no pair).
	if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return -1
	}
	return i
}

// nextKey finds the first '=' at or after from that ends a key.
func nextKey[T text](s T, from int) (eq, start int) {
	for i := from; i < len(s); i++ {
		if s[i] == '=' {
			if st := keyStart(s, i); st >= from {
				return i, st
			}
		}
	}
	return -1, len(s)
}

// closing returns the index of the quote q closing a value that starts at
// s[i] (just after the opening quote), honouring backslash escapes, or -1.
func closing[T text](s T, i int, q byte) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// scanPairs calls fn for each key=value pair of s, in order, and returns the
// number of pairs. A quoted value ('"' or '\”) ends at its closing quote
// (text between it and the next key is ignored); an unquoted one runs up to
// the next key, trailing blanks removed, so that values with spaces written
// without quotes (CEF style) stay whole. Text before the first key is
// ignored.
func scanPairs[T text](s T, fn func(key, val T)) int {
	n := 0
	eq, ks := nextKey(s, 0)
	for eq >= 0 {
		key := s[ks:eq]
		vs := eq + 1
		var val T
		var nEq, nStart int
		if vs < len(s) && (s[vs] == '"' || s[vs] == '\'') {
			e := closing(s, vs+1, s[vs])
			next := len(s)
			if e < 0 {
				val = s[vs+1:]
			} else {
				val = s[vs+1 : e]
				next = e + 1
			}
			nEq, nStart = nextKey(s, next)
		} else {
			nEq, nStart = nextKey(s, vs)
			end := nStart
			for vs < end && isSpace(s[vs]) {
				vs++
			}
			for end > vs && isSpace(s[end-1]) {
				end--
			}
			val = s[vs:end]
		}
		n++
		if fn != nil {
			fn(key, val)
		}
		eq, ks = nEq, nStart
	}
	return n
}
