package jsontree

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// SyntaxError says why a text is not valid JSON and where.
type SyntaxError struct {
	// Offset is the offset of the byte where the text stopped being
	// valid JSON (its length when it ends too early).
	Offset int
	msg    string
}

// Error returns the reason and the offset.
func (e *SyntaxError) Error() string {
	return "jsontree: " + e.msg + " at offset " + strconv.Itoa(e.Offset)
}

// syntaxError returns the error of the unexpected byte at offset i of s,
// or of s ending there.
func syntaxError(s string, i int, context string) *SyntaxError {
	if i >= len(s) {
		return &SyntaxError{Offset: len(s), msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{Offset: i, msg: "invalid character " + quoteChar(s[i]) + " " + context}
}

// quoteChar formats c the way encoding/json's errors do.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// parse parses d.src into d.nodes. With prefix, it stops after the first
// value; else only white space may follow it. It returns the offset after
// the first value.
func (d *doc) parse(prefix bool) (int, error) {
	s := d.src
	if uint64(len(s)) >= math.MaxUint32 {
		return 0, &SyntaxError{msg: "text too large"}
	}
	nodes := make([]node, 0, len(s)/20+8)
	var stackBuf [32]uint32
	stack := stackBuf[:0]
	var (
		i                = skipSpace(s, 0)
		keyStart, keyEnd uint32
		keyFlags         uint8
		top              uint32
		j                int
		err              error
	)

value:
	if i >= len(s) {
		return 0, syntaxError(s, i, "")
	}
	{
		idx := uint32(len(nodes))
		nodes = append(nodes, node{start: uint32(i), keyStart: keyStart, keyEnd: keyEnd, flags: keyFlags, next: idx + 1})
		keyStart, keyEnd, keyFlags = 0, 0, 0
		n := &nodes[idx]
		switch c := s[i]; c {
		case '"':
			var f uint8
			if i, f, err = scanString(s, i); err != nil {
				return 0, err
			}
			n.kind = String
			n.flags |= f
		case '{', '[':
			if len(stack) == MaxDepth {
				return 0, &SyntaxError{Offset: i, msg: "exceeded max depth"}
			}
			stack = append(stack, idx)
			n.kind = Array
			if c == '{' {
				n.kind = Object
			}
			j = skipSpace(s, i+1)
			if j != i+1 {
				n.flags |= flagSpace
			}
			i = j
			if i < len(s) && s[i] == c+2 { // '}' or ']'
				i++
				goto close
			}
			if c == '[' {
				goto value
			}
			goto key
		case 't':
			if i, err = scanLiteral(s, i, "true"); err != nil {
				return 0, err
			}
			n.kind = Bool
			n.flags |= flagTrue
		case 'f':
			if i, err = scanLiteral(s, i, "false"); err != nil {
				return 0, err
			}
			n.kind = Bool
		case 'n':
			if i, err = scanLiteral(s, i, "null"); err != nil {
				return 0, err
			}
			n.kind = Null
		default:
			if i, err = scanNumber(s, i); err != nil {
				return 0, err
			}
			n.kind = Number
		}
		n.end = uint32(i)
	}

	// A value ended at i: the next is a separator or the end of its
	// container.
after:
	if len(stack) == 0 {
		if !prefix {
			if j = skipSpace(s, i); j < len(s) {
				return 0, syntaxError(s, j, "after top-level value")
			}
		}
		d.nodes = nodes
		return i, nil
	}
	top = stack[len(stack)-1]
	nodes[top].n++
	if j = skipSpace(s, i); j != i {
		nodes[top].flags |= flagSpace
	}
	i = j
	if i >= len(s) {
		return 0, syntaxError(s, i, "")
	}
	switch c := s[i]; {
	case c == ',':
		if j = skipSpace(s, i+1); j != i+1 {
			nodes[top].flags |= flagSpace
		}
		i = j
		if nodes[top].kind == Array {
			goto value
		}
		goto key
	case c == '}' && nodes[top].kind == Object, c == ']' && nodes[top].kind == Array:
		i++
		goto close
	case nodes[top].kind == Object:
		return 0, syntaxError(s, i, "after object key:value pair")
	default:
		return 0, syntaxError(s, i, "after array element")
	}

	// The container on top of the stack ends before i.
close:
	top = stack[len(stack)-1]
	stack = stack[:len(stack)-1]
	nodes[top].end = uint32(i)
	nodes[top].next = uint32(len(nodes))
	if len(stack) > 0 && nodes[top].flags&flagSpace != 0 {
		nodes[stack[len(stack)-1]].flags |= flagSpace
	}
	goto after

	// An object member's key starts at i.
key:
	if i >= len(s) || s[i] != '"' {
		return 0, syntaxError(s, i, "looking for beginning of object key string")
	}
	{
		var f uint8
		start := i
		if i, f, err = scanString(s, i); err != nil {
			return 0, err
		}
		keyStart, keyEnd = uint32(start), uint32(i)
		keyFlags = f << keyShift
		top = stack[len(stack)-1]
		if j = skipSpace(s, i); j != i {
			nodes[top].flags |= flagSpace
		}
		i = j
		if i >= len(s) || s[i] != ':' {
			return 0, syntaxError(s, i, "after object key")
		}
		if j = skipSpace(s, i+1); j != i+1 {
			nodes[top].flags |= flagSpace
		}
		i = j
	}
	goto value
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanLiteral checks that lit starts at offset i of s and returns the
// offset after it.
func scanLiteral(s string, i int, lit string) (int, error) {
	for k := 1; k < len(lit); k++ {
		if i+k >= len(s) || s[i+k] != lit[k] {
			return 0, syntaxError(s, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// scanNumber checks the number starting at offset i of s and returns the
// offset after it. Like encoding/json it takes the longest valid number:
// what follows is for the caller to judge.
func scanNumber(s string, i int) (int, error) {
	if s[i] == '-' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, syntaxError(s, i, "in numeric literal")
		}
	}
	switch c := s[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = digits(s, i+1)
	default:
		return 0, syntaxError(s, i, "looking for beginning of value")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, syntaxError(s, i, "after decimal point in numeric literal")
		}
		i = digits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, syntaxError(s, i, "in exponent of numeric literal")
		}
		i = digits(s, i+1)
	}
	return i, nil
}

// digits returns the offset of the first byte at or after i that is not a
// decimal digit.
func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// plain marks the bytes a string holds as themselves and json.Marshal
// writes as themselves: printable ASCII but the quote, the backslash, <, >
// and &.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// scanString checks the string starting at offset i of s (its opening
// quote) and returns the offset after it and its flags: flagEsc when it
// needs unquoting (it holds escapes or invalid UTF-8), flagRecode when its
// canonical form is not its text.
func scanString(s string, i int) (end int, flags uint8, err error) {
	i++
	for i < len(s) {
		// Eight bytes at a time while they are all plain.
		for i+8 <= len(s) && plain[s[i]] && plain[s[i+1]] && plain[s[i+2]] && plain[s[i+3]] &&
			plain[s[i+4]] && plain[s[i+5]] && plain[s[i+6]] && plain[s[i+7]] {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case plain[c]:
			i++
		case c == '"':
			return i + 1, flags, nil
		case c == '<' || c == '>' || c == '&':
			flags |= flagRecode
			i++
		case c == '\\':
			flags |= flagEsc | flagRecode
			if i+1 >= len(s) {
				return 0, 0, syntaxError(s, i+1, "")
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(s) {
						return 0, 0, syntaxError(s, k, "")
					}
					if !isHex(s[k]) {
						return 0, 0, syntaxError(s, k, "in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return 0, 0, syntaxError(s, i+1, "in string escape code")
			}
		case c < 0x20:
			return 0, 0, syntaxError(s, i, "in string literal")
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				flags |= flagEsc | flagRecode
			} else if r == '\u2028' || r == '\u2029' {
				flags |= flagRecode
			}
			i += size
		}
	}
	return 0, 0, syntaxError(s, i, "")
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
