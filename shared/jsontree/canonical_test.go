package jsontree

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// referenceCanonical is the canonical form as event.CanonicalJSON first
// defined it, with encoding/json: the first value of raw decoded with
// UseNumber into an any, then marshalled. AppendCanonical must give the
// same bytes.
func referenceCanonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// prefixCanonical is the canonical form of the first value of raw, the
// way referenceCanonical reads it.
func prefixCanonical(raw []byte) ([]byte, error) {
	v, _, err := ParsePrefix(raw)
	if err != nil {
		return nil, err
	}
	return v.AppendCanonical(nil), nil
}

// canonicalCases are inputs whose canonical form is tricky to get right.
var canonicalCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `-0.0`, `1e400`, `-1E-400`, `1.5e+10`, `123456789012345678901234567890`,
	`0.1000000000000000055511151231257827`, `true`, `false`, `null`,
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":{"x":1},"a":[1]}`, `{"a":1,"b":2,"a":3}`,
	`{"é":1,"e":2,"z":3,"E":4,"":5}`, `{"\u0061":1,"a":2}`, `{"a":1,"\u0061":2}`,
	`{"\ud800":1,"\ufffd":2}`, "{\"\xff\":1,\"\ufffd\":2}", "{\"\xff\":1,\"\xfe\":2}",
	"  \t\r\n{ \"a\" : [ 1 , 2 , { \"b\" : null } ] , \"c\" : \"x y\" }  \n",
	`"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u007f\u0080"`, `"<>&"`, `"\u003c\u003e\u0026"`,
	"\"\u2028\u2029\"", `"\u2028\u2029"`, `"\ud83d\ude00"`, `"😀"`, `"\ud83d"`, `"\ude00"`,
	`"\ud83d\u0041"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\ud83d\ude00"`, `"\uDBFF\uDFFF"`,
	"\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
	"\"\x7f\"", `"\u00e9"`, `"é"`, `"\uFFFD"`,
	`{"<":1,"a&b":2,">":3}`, "{\"\u2028\":1,\"\u2029x\":2}", `{"a\u003cb":1,"a<b":2}`, `{"\/":1,"/":2}`,
	`{"b":{"d":1,"c":2},"a":[{"z":1,"y":2}]}`, `{"k":"v","k":"w","k":"x"}`,
	`{"p":1,"o":2,"n":3,"m":4,"l":5,"k":6,"j":7,"i":8,"h":9,"g":10,"f":11,"e":12,"d":13,"c":14,"b":15,"a":16,"k":17,"a":18,"":19}`,
	`[1,"a",{"z":[],"y":{}},[[]],true,false,null,-1.5e-3]`,
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100),
	// Text after the first value is ignored, as json.Decoder.Decode does.
	`1x`, `01`, `-01`, `1.5.3`, `{}x`, `[1]]`, `"a"b`, `truex`, `nullnull`, `1 2`, `{"a":1} {"b":2}`,
	// Invalid documents.
	``, ` `, `x`, `-`, `1.`, `1e`, `1e+`, `.5`, `+1`, `tru`, `nul`, `[`, `[1,]`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, `{,}`, `{1:2}`, `{'a':1}`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"\t\"",
	"\ufeff{}", `[1 2]`, `{"a":1 "b":2}`, `[-]`, `[--1]`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
}

// TestCanonical checks AppendCanonical against the reference on the tricky
// cases: same bytes, same inputs rejected.
func TestCanonical(t *testing.T) {
	for _, in := range canonicalCases {
		checkCanonical(t, []byte(in))
	}
}

// TestCanonicalExamples pins a few canonical forms.
func TestCanonicalExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{ "b" : 1.50, "a" : [ true, null ] }`, `{"a":[true,null],"b":1.50}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`"<a href='x'>&</a>"`, `"\u003ca href='x'\u003e\u0026\u003c/a\u003e"`},
		{`"\ud83d\ude00 \ud83d \u00e9"`, "\"😀 \ufffd é\""},
		{"\"\xff\"", "\"\ufffd\""},
		{"\"\u2028\"", `"\u2028"`},
		{`"\u0001\b"`, `"\u0001\b"`},
		{`1e400`, `1e400`},
		{`-0`, `-0`},
	}
	for _, tt := range tests {
		got, err := prefixCanonical([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("canonical(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// checkCanonical compares the canonical form of in with the reference's,
// and Parse's verdict with json.Valid's.
func checkCanonical(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := referenceCanonical(in)
	got, err := prefixCanonical(in)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("canonical(%q): error %v, reference error %v", in, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical(%q) = %q, reference %q", in, got, want)
	}
	v, err := Parse(in)
	if (err == nil) != json.Valid(in) {
		t.Fatalf("Parse(%q) error %v, json.Valid %v", in, err, json.Valid(in))
	}
	if err == nil && !bytes.Equal(v.AppendCanonical(nil), want) {
		t.Fatalf("Parse(%q).AppendCanonical = %q, reference %q", in, v.AppendCanonical(nil), want)
	}
	// A ParseString tree gives the same form.
	if sv, err := ParseString(string(in)); err == nil && !bytes.Equal(sv.AppendCanonical(nil), want) {
		t.Fatalf("ParseString(%q).AppendCanonical = %q, reference %q", in, sv.AppendCanonical(nil), want)
	}
}

// FuzzCanonical checks that AppendCanonical writes byte for byte what the
// encoding/json reference writes, that both reject the same inputs, and
// that Parse accepts exactly what json.Valid accepts.
func FuzzCanonical(f *testing.F) {
	for _, in := range canonicalCases {
		if len(in) < 1000 {
			f.Add([]byte(in))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCanonical(t, in)
	})
}

func BenchmarkCanonical(b *testing.B) {
	v, err := Parse([]byte(benchRow))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRow)))
	var buf []byte
	for range b.N {
		buf = v.AppendCanonical(buf[:0])
	}
}

// BenchmarkCanonicalReference measures the encoding/json reference, for
// comparison.
func BenchmarkCanonicalReference(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRow)))
	for range b.N {
		if _, err := referenceCanonical([]byte(benchRow)); err != nil {
			b.Fatal(err)
		}
	}
}
