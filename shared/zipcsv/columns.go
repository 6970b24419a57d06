package zipcsv

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Columns finds columns of a header by name, ignoring case and
// surrounding spaces.
type Columns struct {
	header []string
	index  map[string]int
}

// NewColumns indexes header. When a name occurs twice, the first wins.
func NewColumns(header []string) Columns {
	c := Columns{header: header, index: make(map[string]int, len(header))}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, ok := c.index[k]; !ok {
			c.index[k] = i
		}
	}
	return c
}

// Index returns the position of the first of names (aliases, in order of
// preference) the header has, or -1.
func (c Columns) Index(names ...string) int {
	for _, n := range names {
		if i, ok := c.index[strings.ToLower(strings.TrimSpace(n))]; ok {
			return i
		}
	}
	return -1
}

// Has reports whether the header has any of names.
func (c Columns) Has(names ...string) bool { return c.Index(names...) >= 0 }

// Header returns the header.
func (c Columns) Header() []string { return c.header }

// Field returns fields[i], or "" when i is -1 or past the row's end.
func Field(fields []string, i int) string {
	if i < 0 || i >= len(fields) {
		return ""
	}
	return fields[i]
}

// AppendObject appends to dst the row as a JSON object keyed by the
// header's names, in header order: {"User Login":"jdoe",...}. Fields past
// the header are keyed "column N" (from 1); missing fields are left out.
// Invalid UTF-8 is replaced, so the result is always valid JSON.
func AppendObject(dst []byte, header, fields []string) []byte {
	dst = append(dst, '{')
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if i < len(header) {
			dst = appendString(dst, header[i])
		} else {
			dst = appendString(dst, "column "+strconv.Itoa(i+1))
		}
		dst = append(dst, ':')
		dst = appendString(dst, f)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\':
				dst = append(dst, '\\', b)
			case b == '\n':
				dst = append(dst, '\\', 'n')
			case b == '\r':
				dst = append(dst, '\\', 'r')
			case b == '\t':
				dst = append(dst, '\\', 't')
			case b < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			default:
				dst = append(dst, b)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
