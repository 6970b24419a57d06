package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// benchRow is a PLM system log row as the vendor sends it.
const benchRow = `{"description":"Item 'PRT-000001 - Bracket, Steel, 40 mm' edited","timestamp":"2024-03-04T10:05:00.250-05:00","action":"Item Edited","details":[{"fieldName":"COST","oldValue":"12.50","newValue":"13.10"},{"fieldName":"DESCRIPTION","oldValue":"Initial release","newValue":"Customer request: \"quiet\" variant"},{"fieldName":"REVISION_NOTES","oldValue":"","newValue":"Tolerance ±0.05 mm"}],"user": {"link": "/api/v3/users/jdoe", "urn": "urn:adsk.plm:tenant.user:ACME.jdoe", "title": "John Doe", "status": "Active", "email": "john.doe@example.com", "image": {"small": "https://images.example.com/u20.png", "medium": "https://images.example.com/u50.png", "large": "https://images.example.com/u120.png"}},"item":{"link":"/api/v3/workspaces/8/items/1001","urn":"urn:adsk.plm:tenant.workspace.item:ACME.8.1001","title":"PRT-000001 - Bracket, Steel, 40 mm"},"workspace":{"link":"/api/v3/workspaces/8","urn":"urn:adsk.plm:tenant.workspace:ACME.8","title":"Items"}}`

func TestParseKinds(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		raw  string
		len  int
	}{
		{` null `, Null, `null`, 0},
		{`true`, Bool, `true`, 0},
		{"\tfalse\n", Bool, `false`, 0},
		{`-1.5e3`, Number, `-1.5e3`, 0},
		{` "a\nb" `, String, `"a\nb"`, 0},
		{`[1, [2], {}]`, Array, `[1, [2], {}]`, 3},
		{`{"a":1,"a":2,"b":{}}`, Object, `{"a":1,"a":2,"b":{}}`, 3},
	}
	for _, tt := range tests {
		v, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if v.Kind() != tt.kind || string(v.Raw()) != tt.raw || v.RawString() != tt.raw || v.Len() != tt.len {
			t.Errorf("Parse(%q) = kind %v raw %q len %d; want %v %q %d", tt.in, v.Kind(), v.Raw(), v.Len(), tt.kind, tt.raw, tt.len)
		}
		start, end := v.Span()
		if tt.in[start:end] != tt.raw {
			t.Errorf("Parse(%q).Span() = %d, %d", tt.in, start, end)
		}
	}
	v, _ := Parse([]byte(`[true,false,1]`))
	var bools []bool
	for e := range v.Elems() {
		bools = append(bools, e.Bool())
	}
	if !slices.Equal(bools, []bool{true, false, false}) {
		t.Errorf("Bool of [true,false,1] = %v", bools)
	}
	var zero Value
	if zero.Kind() != Invalid || zero.Raw() != nil || zero.Str() != "" || zero.Len() != 0 || zero.Compact() != "" ||
		zero.AppendCanonical(nil) != nil || len(zero.SortedMembers(nil)) != 0 {
		t.Error("zero Value is not empty")
	}
	if _, ok := zero.Get("a"); ok {
		t.Error("zero Value has a member")
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[1,]`, `{"a":1}x`, `"\q"`, `01`, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)} {
		_, err := Parse([]byte(in))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) || !strings.HasPrefix(err.Error(), "jsontree: ") {
			t.Errorf("Parse(%q) error = %v, want a *SyntaxError", in, err)
		}
	}
	if _, n, err := ParsePrefix([]byte(` [1] [2]`)); err != nil || n != 4 {
		t.Errorf("ParsePrefix read %d bytes, %v; want 4", n, err)
	}
}

// TestParseValid checks that Parse accepts exactly what json.Valid accepts.
func TestParseValid(t *testing.T) {
	for _, in := range append(slices.Clone(canonicalCases), benchRow, `[1,2`, `{"a":[}`, `{"a":1]`, `[1}`, "[\x00]") {
		_, err := Parse([]byte(in))
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("Parse(%q) error %v, json.Valid %v", in, err, json.Valid([]byte(in)))
		}
	}
}

// TestStr checks string values and keys against encoding/json decoding.
func TestStr(t *testing.T) {
	for _, in := range []string{
		`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u0000"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`,
		`"\ud83d\ud83d\ude00"`, `"\ud83dx"`, "\"\xff\xfe\"", "\"\xed\xa0\x80\"", `"é😀"`, "\"\u2028\"",
	} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		for _, parse := range []func(string) (Value, error){
			func(s string) (Value, error) { return Parse([]byte(s)) },
			ParseString,
		} {
			v, err := parse(in)
			if err != nil || v.Str() != want {
				t.Errorf("Str of %q = %q, %v; want %q", in, v.Str(), err, want)
			}
			obj, err := parse(`{` + in + `:1}`)
			for k := range obj.Members() {
				if err != nil || k != want {
					t.Errorf("key %q = %q, %v; want %q", in, k, err, want)
				}
			}
			if _, ok := obj.Get(want); !ok {
				t.Errorf("Get(%q) of {%s:1} found nothing", want, in)
			}
		}
	}
}

// TestStrCopies checks that strings of a tree parsed from bytes do not
// change with the bytes.
func TestStrCopies(t *testing.T) {
	b := []byte(`{"key":"value"}`)
	v, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	val, _ := v.Get("key")
	s := val.Str()
	members := v.SortedMembers(nil)
	var keys []string
	for k := range v.Members() {
		keys = append(keys, k)
	}
	raw := val.RawString()
	clear(b)
	if s != "value" || members[0].Key != "key" || keys[0] != "key" || raw != `"value"` {
		t.Errorf("strings changed with the bytes: %q %q %q %q", s, members[0].Key, keys[0], raw)
	}
}

func TestGetAndMembers(t *testing.T) {
	v, err := Parse([]byte(`{"b":1, "a":{"x":[]}, "b":"two", "\u0063":3}`))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for k, m := range v.Members() {
		order = append(order, k+"="+m.RawString())
	}
	if want := []string{"b=1", `a={"x":[]}`, `b="two"`, "c=3"}; !slices.Equal(order, want) {
		t.Errorf("Members = %q, want %q", order, want)
	}
	if b, ok := v.Get("b"); !ok || b.Str() != "two" {
		t.Errorf(`Get("b") = %s, %v; want the last "two"`, b.Raw(), ok)
	}
	if _, ok := v.Get("x"); ok {
		t.Error(`Get("x") found a member`)
	}
	var sorted []string
	for _, m := range v.SortedMembers(nil) {
		sorted = append(sorted, m.Key+"="+m.Value.RawString())
	}
	if want := []string{`a={"x":[]}`, `b="two"`, "c=3"}; !slices.Equal(sorted, want) {
		t.Errorf("SortedMembers = %q, want %q", sorted, want)
	}
	arr, _ := Parse([]byte(`[1]`))
	if _, ok := arr.Get("0"); ok || len(arr.SortedMembers(nil)) != 0 {
		t.Error("an array has members")
	}
}

func TestCompact(t *testing.T) {
	for _, in := range []string{
		`[]`, `[1,2]`, ` [ 1 , { "a b" : " c\t" } ] `, "{\n\t\"a\": [\r\n]\n}", `"  "`, `{"x":"\" ]"}`, `[ "\\", 1 ]`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatal(err)
		}
		v, err := ParseString(in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Compact() != want.String() || string(v.AppendCompact([]byte("x"))) != "x"+want.String() {
			t.Errorf("Compact(%q) = %q, want %q", in, v.Compact(), want.String())
		}
	}
}

// FuzzParse checks Parse against encoding/json on any input: the same
// verdict, and for a valid document the same members, raw values, strings
// and compact forms, all the way down.
func FuzzParse(f *testing.F) {
	for _, in := range canonicalCases {
		if len(in) < 1000 {
			f.Add([]byte(in))
		}
	}
	f.Add([]byte(benchRow))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Parse(in)
		if (err == nil) != json.Valid(in) {
			t.Fatalf("Parse(%q) error %v, json.Valid %v", in, err, json.Valid(in))
		}
		if err != nil {
			return
		}
		checkTree(t, v)
		sv, err := ParseString(string(in))
		if err != nil {
			t.Fatalf("ParseString(%q): %v", in, err)
		}
		checkTree(t, sv)
	})
}

// checkTree compares v and its descendants with encoding/json's view of
// its text.
func checkTree(t *testing.T, v Value) {
	t.Helper()
	raw := v.Raw()
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil || v.Compact() != compact.String() {
		t.Fatalf("Compact(%q) = %q, json.Compact %q (%v)", raw, v.Compact(), compact.String(), err)
	}
	switch v.Kind() {
	case String:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != v.Str() {
			t.Fatalf("Str(%q) = %q, encoding/json %q (%v)", raw, v.Str(), s, err)
		}
	case Array:
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil || len(elems) != v.Len() {
			t.Fatalf("array %q: %d elements, encoding/json %d (%v)", raw, v.Len(), len(elems), err)
		}
		k := 0
		for e := range v.Elems() {
			if !bytes.Equal(e.Raw(), elems[k]) {
				t.Fatalf("array %q element %d = %q, encoding/json %q", raw, k, e.Raw(), elems[k])
			}
			checkTree(t, e)
			k++
		}
	case Object:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("object %q: %v", raw, err)
		}
		members := v.SortedMembers(nil)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(members) != len(keys) {
			t.Fatalf("object %q: %d sorted members, encoding/json %d", raw, len(members), len(keys))
		}
		for k, mem := range members {
			got, ok := v.Get(mem.Key)
			if mem.Key != keys[k] || !bytes.Equal(mem.Value.Raw(), m[keys[k]]) || !ok || got != mem.Value {
				t.Fatalf("object %q member %d = %q: %q, encoding/json %q: %q", raw, k, mem.Key, mem.Value.Raw(), keys[k], m[keys[k]])
			}
		}
		n := 0
		for _, mv := range v.Members() {
			checkTree(t, mv)
			n++
		}
		if n != v.Len() {
			t.Fatalf("object %q: Members yields %d, Len %d", raw, n, v.Len())
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		name string
		in   string
	}{
		{"row", benchRow},
		{"page", `{"items":[` + strings.Repeat(benchRow+",", 999) + benchRow + `]}`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			in := []byte(bm.in)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for range b.N {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValid measures json.Valid on the same input, for comparison.
func BenchmarkValid(b *testing.B) {
	in := []byte(benchRow)
	b.SetBytes(int64(len(in)))
	for range b.N {
		if !json.Valid(in) {
			b.Fatal("invalid")
		}
	}
}
