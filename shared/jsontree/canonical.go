package jsontree

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendCanonical appends the canonical form of the value to dst: what
// json.Marshal writes for the value decoded into an any with UseNumber.
// Object members are sorted by unescaped key (Go string order), a
// duplicate key keeping its last value; there is no white space; numbers
// keep their text; strings are re-encoded as json.Marshal encodes them
// (<, >, &, U+2028 and U+2029 escaped, invalid UTF-8 and lone surrogates
// as U+FFFD).
func (v Value) AppendCanonical(dst []byte) []byte {
	if v.d == nil {
		return dst
	}
	var buf [32]Member
	dst, _ = v.d.canonical(dst, v.i, buf[:0])
	return dst
}

// canonical appends the canonical form of node i to dst. sc is a stack of
// the members of the objects being written; canonical returns it grown.
func (d *doc) canonical(dst []byte, i uint32, sc []Member) ([]byte, []Member) {
	n := &d.nodes[i]
	switch n.kind {
	case String:
		switch {
		case n.flags&flagRecode == 0:
			return append(dst, d.src[n.start:n.end]...), sc
		case n.flags&flagEsc == 0:
			return appendString(dst, d.src[n.start+1:n.end-1]), sc
		}
		var buf [64]byte
		return appendString(dst, appendUnquote(buf[:0], d.src[n.start+1:n.end-1])), sc
	case Array:
		dst = append(dst, '[')
		c := i + 1
		for k := range n.n {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst, sc = d.canonical(dst, c, sc)
			c = d.nodes[c].next
		}
		return append(dst, ']'), sc
	case Object:
		base := len(sc)
		sc = d.sortedMembers(Value{d: d, i: i}, sc)
		dst = append(dst, '{')
		for k := base; k < len(sc); k++ {
			if k > base {
				dst = append(dst, ',')
			}
			m := sc[k]
			if mn := &d.nodes[m.Value.i]; mn.flags&flagKeyRecode == 0 {
				dst = append(dst, d.src[mn.keyStart:mn.keyEnd]...)
			} else {
				dst = appendString(dst, m.Key)
			}
			dst = append(dst, ':')
			dst, sc = d.canonical(dst, m.Value.i, sc)
		}
		return append(dst, '}'), sc[:base]
	default:
		// Numbers keep their text; literals are their text.
		return append(dst, d.src[n.start:n.end]...), sc
	}
}

// appendUnquote appends the value of the string body s (between its
// quotes, already checked) as encoding/json decodes it: escapes resolved,
// invalid UTF-8 and surrogates that do not pair up replaced by U+FFFD.
func appendUnquote[Bytes []byte | string](dst []byte, s Bytes) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != utf8.RuneError {
						r += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			n := min(len(s)-r, utf8.UTFMax)
			rr, size := utf8.DecodeRuneInString(string(s[r : r+n]))
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// getu4 returns the code unit of the \uXXXX escape at the start of s, or
// -1 when s does not start with one.
func getu4[Bytes []byte | string](s Bytes) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for k := 2; k < 6; k++ {
		c := s[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

const hex = "0123456789abcdef"

// htmlSafe marks the ASCII bytes json.Marshal writes as themselves when
// it escapes HTML: printable ASCII but the quote, the backslash, <, > and
// &.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = true
		}
	}
	return t
}()

// appendString appends s quoted as json.Marshal quotes a string.
func appendString[Bytes []byte | string](dst []byte, s Bytes) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
