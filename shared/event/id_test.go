package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/auditstream/auditstream/shared/jsontree"
)

// referenceCanonicalJSON is CanonicalJSON as first written, on
// encoding/json. Event ids derive from the canonical form: the current
// implementation must give the same bytes and the same errors.
func referenceCanonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return out, nil
}

// referenceID is ID as first written, on uuid.NewSHA1.
func referenceID(vendor, tenant, stream, identity string) string {
	return uuid.NewSHA1(namespace, []byte(vendor+"\x00"+tenant+"\x00"+stream+"\x00"+identity)).String()
}

// canonicalInputs are documents whose canonical form is easy to get wrong.
var canonicalInputs = []string{
	`{"description":"Log in successful","timestamp":"2019-11-12T14:56:14.259-05:00","user":{"title":"John Doe","n":1.50}}`,
	" {\n\t\"b\" : [ 1 , 2.0 , -0 , 1e400 , 123456789012345678901234567890 ] ,\r\n \"a\" : { } } ",
	`{"a":1,"a":2}`, `{"a":{"x":1},"b":0,"a":[]}`, `{"\u0061":1,"a":2}`, `{"é":1,"e":2,"E":3,"":4}`,
	`"<script>&amp;</script>"`, "\"\u2028\u2029\"", `"\u2028"`, `"\u0000\u001f\u007f\b\f\n\r\t\"\\\/"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, "\"\xff\xfe\"", "{\"\xff\":1,\"\ufffd\":2}",
	"\"\xed\xa0\x80\"", `[true,false,null,"",[],{}]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`1x`, `01`, `{} trailing`, `"a""b"`,
	``, ` `, `{`, `{"a":}`, `[1,]`, `nul`, `-`, `1.`, `"\x"`, "\"\x01\"",
}

func TestCanonicalJSONMatchesReference(t *testing.T) {
	for _, in := range canonicalInputs {
		checkCanonicalJSON(t, []byte(in))
	}
}

func TestCanonicalJSON(t *testing.T) {
	got, err := CanonicalJSON([]byte(`{ "b" : 1.50, "a" : [ "<&>", null ] }`))
	if want := `{"a":["\u003c\u0026\u003e",null],"b":1.50}`; err != nil || string(got) != want {
		t.Errorf("CanonicalJSON = %s, %v; want %s", got, err, want)
	}
	if _, err := CanonicalJSON([]byte(`{"a":`)); err == nil || !strings.HasPrefix(err.Error(), "canonical json: ") {
		t.Errorf("CanonicalJSON of a truncated document: error %v", err)
	}
}

// checkCanonicalJSON compares CanonicalJSON, ContentIdentity and
// ContentIdentityOf with the reference on in.
func checkCanonicalJSON(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := referenceCanonicalJSON(in)
	got, err := CanonicalJSON(in)
	if !bytes.Equal(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("CanonicalJSON(%q) = %q, %v; reference %q, %v", in, got, err, want, wantErr)
	}
	id, err := ContentIdentity(in)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("ContentIdentity(%q) error %v, reference %v", in, err, wantErr)
	}
	if wantErr != nil {
		return
	}
	sum := sha256.Sum256(want)
	if wantID := hex.EncodeToString(sum[:]); id != wantID {
		t.Fatalf("ContentIdentity(%q) = %s, reference %s", in, id, wantID)
	}
	if v, err := jsontree.Parse(in); err == nil {
		if got := ContentIdentityOf(v); got != id {
			t.Fatalf("ContentIdentityOf(%q) = %s, ContentIdentity %s", in, got, id)
		}
	}
}

// FuzzCanonicalJSON checks CanonicalJSON and ContentIdentity against the
// encoding/json reference on any input: same bytes, same errors.
func FuzzCanonicalJSON(f *testing.F) {
	for _, in := range canonicalInputs {
		if len(in) < 1000 {
			f.Add([]byte(in))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCanonicalJSON(t, in)
	})
}

func TestID(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct{ vendor, tenant, stream, identity string }{
		{"plm", "ACME", "plm/ACME/system-logs/item", "0123456789abcdef"},
		{"plm", "ACME", "plm/ACME/system-logs/item", "0123456789abcdef#2"},
		{"", "", "", ""},
		{"a\x00b", "c", "d", "e"},
		{"plm", long, long, long},
	}
	for _, tt := range tests {
		got, want := ID(tt.vendor, tt.tenant, tt.stream, tt.identity), referenceID(tt.vendor, tt.tenant, tt.stream, tt.identity)
		if got != want {
			t.Errorf("ID(%q, %q, %q, %q) = %s, want %s", tt.vendor, tt.tenant, tt.stream, tt.identity, got, want)
		}
	}
	// A pinned id: changing it re-keys every event already published.
	if got := ID("plm", "acme", "plm.system-logs/item", "42"); got != "cfb24e03-ac48-595b-a92a-d24896bba7ad" {
		t.Errorf("ID changed: %s", got)
	}
}

func BenchmarkContentIdentity(b *testing.B) {
	raw := []byte(canonicalInputs[0])
	b.ReportAllocs()
	for range b.N {
		if _, err := ContentIdentity(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkID(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		ID("plm", "ACME", "plm/ACME/system-logs/item", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	}
}
