// Package jsontree parses JSON text in one pass into a light, read-only tree
// whose values point back into the text, so that a document can be
// inspected, re-encoded canonically and hashed without decoding it again.
//
// Parsing validates the text exactly as encoding/json does: Parse accepts
// what json.Valid accepts, nesting included (MaxDepth). String values and
// object keys read the way encoding/json.Unmarshal decodes them: invalid
// UTF-8 and lone surrogate escapes become U+FFFD.
//
// A tree is an array of nodes in document order (a "tape") over the
// document's text; a Value is a handle on one node. Nodes hold offsets,
// not pointers: the array is one allocation the garbage collector does not
// scan. A tree is read-only and safe for concurrent use.
package jsontree

import (
	"iter"
	"slices"
	"strings"
	"unsafe"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of JSON values. Invalid is the kind of the zero Value.
const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// String returns the kind's name, e.g. "object".
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	default:
		return "invalid"
	}
}

// MaxDepth is the deepest nesting of arrays and objects a document may
// have: the limit of encoding/json, so both accept the same documents.
const MaxDepth = 10000

// Node flags.
const (
	// flagEsc marks a string value that needs unquoting: it holds an
	// escape sequence or invalid UTF-8.
	flagEsc uint8 = 1 << iota
	// flagRecode marks a string value whose canonical form is not its
	// text: it needs unquoting or holds characters json.Marshal escapes.
	flagRecode
	// flagKeyEsc and flagKeyRecode are flagEsc and flagRecode of an object
	// member's key.
	flagKeyEsc
	flagKeyRecode
	// flagSpace marks an array or object whose text holds insignificant
	// white space (its own or its descendants').
	flagSpace
	// flagTrue marks the literal true.
	flagTrue
)

// keyShift turns the flags of a string into the flags of a key.
const keyShift = 2

// node is one value of a document. Offsets index the document's text.
type node struct {
	// start and end delimit the value's text.
	start, end uint32
	// keyStart and keyEnd delimit the quoted key of an object member; both
	// zero for other values.
	keyStart, keyEnd uint32
	// next is the index of the node that follows this value's subtree.
	next uint32
	// n is the number of elements or members of an array or object.
	n     uint32
	kind  Kind
	flags uint8
}

// doc is a parsed JSON document: its text and its nodes.
type doc struct {
	// src is the text. For a document parsed from bytes it aliases them
	// and only serves reads inside this package: strings handed out are
	// copies unless owned is set.
	src string
	// buf is the text a document was parsed from as bytes; nil for
	// ParseString.
	buf []byte
	// owned reports that src is an immutable string, so substrings of it
	// may be returned.
	owned bool
	nodes []node
}

// Value is one value of a parsed document. The zero Value is Invalid. A
// Value stays usable as long as the text it was parsed from is not
// modified.
type Value struct {
	d *doc
	i uint32
}

// Member is an object member: its unescaped key and its value.
type Member struct {
	Key   string
	Value Value
}

// Parse parses the JSON document b, which must hold exactly one value with
// optional white space around it (what json.Valid accepts). The tree
// refers to b: b must not be modified while the tree is in use. Strings
// the tree returns are copies.
func Parse(b []byte) (Value, error) {
	d := &doc{src: bytesString(b), buf: b}
	if _, err := d.parse(false); err != nil {
		return Value{}, err
	}
	return Value{d: d}, nil
}

// ParseString parses the JSON document s like Parse. Strings the tree
// returns are substrings of s when they need no unescaping, so reading
// them does not allocate.
func ParseString(s string) (Value, error) {
	d := &doc{src: s, owned: true}
	if _, err := d.parse(false); err != nil {
		return Value{}, err
	}
	return Value{d: d}, nil
}

// ParsePrefix parses the first JSON value of b, after optional white
// space, and ignores whatever follows it, as json.Decoder.Decode reads one
// value of a stream: "1x" and "[] junk" parse, "01" parses as 0. It
// returns the value and the number of bytes of b it read. The tree refers
// to b as with Parse.
func ParsePrefix(b []byte) (v Value, n int, err error) {
	d := &doc{src: bytesString(b), buf: b}
	n, err = d.parse(true)
	if err != nil {
		return Value{}, 0, err
	}
	return Value{d: d}, n, nil
}

// bytesString returns a string that shares b's memory. Only this package
// reads it, and only while the caller keeps b unchanged (Parse's
// contract); strings returned to callers are copied from it.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// n returns the value's node.
func (v Value) n() *node { return &v.d.nodes[v.i] }

// Kind returns the value's JSON type, Invalid for the zero Value.
func (v Value) Kind() Kind {
	if v.d == nil {
		return Invalid
	}
	return v.n().kind
}

// Span returns the offsets in the parsed text of the value's first byte
// and of the byte after its last one.
func (v Value) Span() (start, end int) {
	if v.d == nil {
		return 0, 0
	}
	n := v.n()
	return int(n.start), int(n.end)
}

// Raw returns the value's exact text, without surrounding white space. For
// a tree from Parse it is a sub-slice of the parsed bytes, not a copy; for
// a tree from ParseString it is a copy (RawString does not copy). Nil for
// the zero Value.
func (v Value) Raw() []byte {
	if v.d == nil {
		return nil
	}
	n := v.n()
	if v.d.buf != nil {
		return v.d.buf[n.start:n.end:n.end]
	}
	return []byte(v.d.src[n.start:n.end])
}

// RawString returns the value's exact text as a string. It does not
// allocate for ParseString trees.
func (v Value) RawString() string {
	if v.d == nil {
		return ""
	}
	n := v.n()
	return v.d.str(v.d.src[n.start:n.end])
}

// str returns s, a substring of the text, as a string the caller may keep.
func (d *doc) str(s string) string {
	if d.owned {
		return s
	}
	return strings.Clone(s)
}

// IsNull reports whether the value is the literal null.
func (v Value) IsNull() bool { return v.Kind() == Null }

// Bool returns the value of a boolean; false for any other kind.
func (v Value) Bool() bool {
	return v.Kind() == Bool && v.n().flags&flagTrue != 0
}

// Str returns the unescaped value of a string the way encoding/json
// decodes it; "" for any other kind. It allocates only when the string
// holds escapes or invalid UTF-8, or the tree was parsed from bytes.
func (v Value) Str() string {
	if v.Kind() != String {
		return ""
	}
	n := v.n()
	body := v.d.src[n.start+1 : n.end-1]
	if n.flags&flagEsc == 0 {
		return v.d.str(body)
	}
	return string(appendUnquote(make([]byte, 0, len(body)), body))
}

// Len returns the number of elements of an array or members of an object
// (duplicate keys included); 0 for any other kind.
func (v Value) Len() int {
	if v.d == nil {
		return 0
	}
	return int(v.n().n)
}

// Elems returns the elements of an array in order; nothing for any other
// kind.
func (v Value) Elems() iter.Seq[Value] {
	return func(yield func(Value) bool) {
		if v.Kind() != Array {
			return
		}
		c := v.i + 1
		for range v.n().n {
			if !yield(Value{d: v.d, i: c}) {
				return
			}
			c = v.d.nodes[c].next
		}
	}
}

// Members returns the members of an object in document order, duplicate
// keys included, with their unescaped keys; nothing for any other kind.
func (v Value) Members() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if v.Kind() != Object {
			return
		}
		c := v.i + 1
		for range v.n().n {
			if !yield(v.d.str(v.d.key(c)), Value{d: v.d, i: c}) {
				return
			}
			c = v.d.nodes[c].next
		}
	}
}

// Get returns the value of the member key of an object and whether there
// is one. With duplicate keys it returns the last, as encoding/json
// keeps when decoding into a map.
func (v Value) Get(key string) (Value, bool) {
	if v.Kind() != Object {
		return Value{}, false
	}
	var out Value
	found := false
	c := v.i + 1
	for range v.n().n {
		if v.d.keyIs(c, key) {
			out, found = Value{d: v.d, i: c}, true
		}
		c = v.d.nodes[c].next
	}
	return out, found
}

// SortedMembers appends to dst the members of an object sorted by key,
// with one member per key: the last one, as decoding into a Go map keeps
// it. It appends nothing for any other kind.
func (v Value) SortedMembers(dst []Member) []Member {
	if v.Kind() != Object {
		return dst
	}
	base := len(dst)
	dst = v.d.sortedMembers(v, dst)
	if !v.d.owned {
		for i := base; i < len(dst); i++ {
			dst[i].Key = strings.Clone(dst[i].Key)
		}
	}
	return dst
}

// sortedMembers is SortedMembers with keys that may alias the text.
func (d *doc) sortedMembers(v Value, dst []Member) []Member {
	if v.Kind() != Object {
		return dst
	}
	base := len(dst)
	c := v.i + 1
	for range v.n().n {
		dst = append(dst, Member{Key: d.key(c), Value: Value{d: d, i: c}})
		c = d.nodes[c].next
	}
	ms := dst[base:]
	if len(ms) < 2 {
		return dst
	}
	// Members in document order have increasing node indices: ordering
	// equal keys by index puts the one that wins last.
	if len(ms) <= 12 {
		// Insertion sort: objects are mostly small, and stable order keeps
		// equal keys in document order.
		for i := 1; i < len(ms); i++ {
			m := ms[i]
			j := i
			for ; j > 0 && keyLess(m.Key, ms[j-1].Key); j-- {
				ms[j] = ms[j-1]
			}
			ms[j] = m
		}
	} else {
		slices.SortFunc(ms, func(a, b Member) int {
			if c := strings.Compare(a.Key, b.Key); c != 0 {
				return c
			}
			return int(a.Value.i) - int(b.Value.i)
		})
	}
	w := 0
	for r := range ms {
		if r+1 < len(ms) && ms[r+1].Key == ms[r].Key {
			continue
		}
		ms[w] = ms[r]
		w++
	}
	clear(ms[w:])
	return dst[:base+w]
}

// keyLess reports whether a sorts before b, deciding on the first byte
// without a call when it can: keys mostly differ there.
func keyLess(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// key returns the unescaped key of member node c, aliasing the text when
// it needs no unescaping.
func (d *doc) key(c uint32) string {
	n := &d.nodes[c]
	body := d.src[n.keyStart+1 : n.keyEnd-1]
	if n.flags&flagKeyEsc == 0 {
		return body
	}
	return string(appendUnquote(make([]byte, 0, len(body)), body))
}

// keyIs reports whether the unescaped key of member node c is key.
func (d *doc) keyIs(c uint32, key string) bool {
	n := &d.nodes[c]
	body := d.src[n.keyStart+1 : n.keyEnd-1]
	if n.flags&flagKeyEsc == 0 {
		return body == key
	}
	return string(appendUnquote(make([]byte, 0, len(body)), body)) == key
}

// Compact returns the value's text without insignificant white space, as
// json.Compact writes it: member order, string escapes and number text
// are kept. It does not allocate for ParseString trees when the text has
// no such white space.
func (v Value) Compact() string {
	if v.d == nil {
		return ""
	}
	n := v.n()
	if n.flags&flagSpace == 0 {
		return v.RawString()
	}
	return string(v.AppendCompact(make([]byte, 0, n.end-n.start)))
}

// AppendCompact appends the value's text without insignificant white
// space to dst.
func (v Value) AppendCompact(dst []byte) []byte {
	if v.d == nil {
		return dst
	}
	n := v.n()
	s := v.d.src[n.start:n.end]
	if n.flags&flagSpace == 0 {
		return append(dst, s...)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			dst = append(dst, s[start:i]...)
			start = i + 1
		case '"':
			// Skip the string: white space in it is significant.
			for i++; s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		}
	}
	return append(dst, s[start:]...)
}
