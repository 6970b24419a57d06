package aveva

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/event"
)

// FuzzDecodeRecords checks the streaming response decoder, and what the
// source and normalizers make of its records, on any body. Invariants:
//   - nothing panics;
//   - a body that is not valid JSON (and not blank) fails;
//   - on a body without duplicate member names, DecodeRecords fails exactly
//     when a whole-body reference decoder (json.Unmarshal, then the shape
//     rules applied to the tree) finds no records array or two, or a scalar
//     body; otherwise both find the same records, in order;
//   - every record is valid JSON and a copy: clearing the body afterwards
//     does not change it;
//   - stopping after k records gives the first k records of the full
//     decode, and stopped is set exactly when there were at least k;
//   - parseFields finds in every object record the members, and the value
//     bytes, that json.Unmarshal into a map[string]json.RawMessage finds;
//   - DecodeEntry gives a time only in UTC at millisecond precision, an
//     error exactly for a record that is not an object, and an identity
//     always;
//   - both normalizers fail exactly when the entry has an error, and their
//     events hold no NaN or infinity (they marshal to JSON).
//
// go test runs it on the seed corpus (testdata/responses, and every
// testdata/normalize input wrapped in each shape); go test
// -fuzz=FuzzDecodeRecords explores further.
func FuzzDecodeRecords(f *testing.F) {
	responses, _ := filepath.Glob(filepath.Join("testdata", "responses", "*.json"))
	for _, name := range responses {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "normalize", "*.json"))
	for _, name := range inputs {
		if strings.HasSuffix(name, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		rec := string(bytes.TrimSpace(b))
		f.Add([]byte("[" + rec + "]"))
		f.Add([]byte(`{"value":[` + rec + `],"count":1}`))
	}
	for _, s := range []string{``, `null`, `{}`, `[`, `{"data":`, `{"data":{"data":{"data":{"data":[1]}}}}`, `[1e400,-1e-400,0.1e999999999]`,
		`{"DATA":[{"timestamp":"2024-02-30T25:61:61"}]}`, `{"data":[1],"data":[2]}`, "[\"\xff\xfe\"]", `[{"dateTime":"/Date(-99999999999999999999)/"}]`} {
		f.Add([]byte(s))
	}
	usage := NewNormalizer("acme", mustReportF(f, ReportServiceUsage))
	audit := NewNormalizer("acme", mustReportF(f, ReportAudit))
	w := Window{From: t0, To: t0.Add(time.Hour)}
	parser := NewTimeParser("en-US")

	f.Fuzz(func(t *testing.T, body []byte) {
		var recs []json.RawMessage
		n, stopped, err := DecodeRecords(bytes.NewReader(body), func(raw json.RawMessage) bool {
			recs = append(recs, raw)
			return true
		})
		if stopped || n != len(recs) {
			t.Fatalf("n=%d stopped=%v with %d records", n, stopped, len(recs))
		}
		blank := len(bytes.Trim(body, jsonSpace)) == 0
		if !blank && !json.Valid(body) && err == nil {
			t.Fatalf("invalid JSON decoded without error: %d records", len(recs))
		}
		if want, ok, sure := referenceRecords(body); sure {
			if ok != (err == nil) {
				t.Fatalf("DecodeRecords error %v, reference ok=%v", err, ok)
			}
			if ok {
				if len(want) != len(recs) {
					t.Fatalf("%d records, reference %d", len(recs), len(want))
				}
				for i := range recs {
					if got := asValue(t, recs[i]); !reflect.DeepEqual(got, want[i]) {
						t.Fatalf("record %d = %#v, reference %#v", i, got, want[i])
					}
				}
			}
		}
		if err != nil {
			return
		}

		// Stopping early gives a prefix.
		k := 1 + len(body)%3
		var prefix []json.RawMessage
		_, stopped, perr := DecodeRecords(bytes.NewReader(body), func(raw json.RawMessage) bool {
			prefix = append(prefix, raw)
			return len(prefix) < k
		})
		if perr != nil || stopped != (len(recs) >= k) || len(prefix) != min(k, len(recs)) {
			t.Fatalf("stop after %d: %d records, stopped=%v, err %v; full decode %d", k, len(prefix), stopped, perr, len(recs))
		}
		for i := range prefix {
			if !bytes.Equal(prefix[i], recs[i]) {
				t.Fatalf("stop after %d: record %d differs", k, i)
			}
		}

		copies := make([][]byte, len(recs))
		for i, r := range recs {
			copies[i] = bytes.Clone(r)
		}
		clear(body)
		for i, raw := range recs {
			if !bytes.Equal(raw, copies[i]) {
				t.Fatalf("record %d shares the body's memory", i)
			}
			if !json.Valid(raw) {
				t.Fatalf("record %d %q is not valid JSON", i, raw)
			}
			checkFields(t, raw)
			e := DecodeEntry(raw, ReportServiceUsage, w, parser)
			if (e.Err != nil) != !isObject(raw) || e.Identity == "" {
				t.Fatalf("record %d %q: Err %v, identity %q", i, raw, e.Err, e.Identity)
			}
			if !e.Time.IsZero() && (e.Time.Location() != time.UTC || e.Time.Nanosecond()%int(time.Millisecond) != 0) {
				t.Fatalf("record %d: time %v", i, e.Time)
			}
			for _, norm := range []struct {
				name string
				fn   func() (event.Event, error)
			}{
				{"usage", func() (event.Event, error) { return usage(e.Record(), t0) }},
				{"audit", func() (event.Event, error) { return audit(e.Record(), t0) }},
			} {
				ev, nerr := norm.fn()
				if (nerr == nil) != (e.Err == nil) || (ev == nil) == (nerr == nil) {
					t.Fatalf("record %d: %s normalize gave %v, %v for entry error %v", i, norm.name, ev, nerr, e.Err)
				}
				if ev == nil {
					continue
				}
				if u, ok := ev.(*event.UsageEvent); ok && u.Value != nil && (math.IsNaN(*u.Value) || math.IsInf(*u.Value, 0)) {
					t.Fatalf("record %d: value %v", i, *u.Value)
				}
				if _, err := json.Marshal(ev); err != nil {
					t.Fatalf("record %d: %s event does not marshal: %v", i, norm.name, err)
				}
			}
		}
	})
}

// jsonSpace is the white space JSON allows (not form feed or vertical tab).
const jsonSpace = " \t\r\n"

// checkFields fails unless parseFields splits an object record as
// json.Unmarshal does.
func checkFields(t *testing.T, raw []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	werr := json.Unmarshal(raw, &want)
	f, err := parseFields(raw)
	if !isObject(raw) {
		if err == nil {
			t.Fatalf("parseFields accepted %q", raw)
		}
		return
	}
	if (err == nil) != (werr == nil) {
		t.Fatalf("parseFields error %v, json.Unmarshal error %v", err, werr)
	}
	if err != nil {
		return
	}
	if len(f.ms) != len(want) {
		t.Fatalf("%d members, json.Unmarshal finds %d", len(f.ms), len(want))
	}
	for i, m := range f.ms {
		if i > 0 && f.ms[i-1].key >= m.key {
			t.Fatalf("members not sorted and unique: %q then %q", f.ms[i-1].key, m.key)
		}
		if !bytes.Equal(m.val, want[m.key]) {
			t.Fatalf("member %q = %q, json.Unmarshal %q", m.key, m.val, want[m.key])
		}
	}
}

func mustReportF(f *testing.F, name string) Report {
	r, ok := LookupReport(name)
	if !ok {
		f.Fatalf("no report %s", name)
	}
	return r
}

// asValue decodes raw with numbers kept as text.
func asValue(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("record %q does not decode: %v", raw, err)
	}
	return v
}

// referenceRecords decodes body whole and applies the shape rules to the
// tree: the records of a top-level array; none for a blank body, null or a
// null records member; those of the one records array found through
// records members at most three objects deep. sure is false when the body
// has duplicate member names (a map keeps only one of them, the stream
// sees both), so no comparison is made.
func referenceRecords(body []byte) (recs []any, ok, sure bool) {
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		return nil, true, true
	}
	if !json.Valid(body) {
		return nil, false, true
	}
	if hasDuplicateKeys(body) {
		return nil, false, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, true
	}
	switch v := v.(type) {
	case nil:
		return nil, true, true
	case []any:
		return v, true, true
	case map[string]any:
		var arrays [][]any
		null := false
		var walk func(m map[string]any, depth int)
		walk = func(m map[string]any, depth int) {
			for k, val := range m {
				if !isRecordKey(k) {
					continue
				}
				switch val := val.(type) {
				case []any:
					arrays = append(arrays, val)
				case map[string]any:
					if depth+1 < maxEnvelopeDepth {
						walk(val, depth+1)
					}
				case nil:
					null = true
				}
			}
		}
		walk(v, 0)
		switch {
		case len(arrays) == 1:
			return arrays[0], true, true
		case len(arrays) == 0 && null:
			return nil, true, true
		}
		return nil, false, true
	}
	return nil, false, true // a scalar
}

// hasDuplicateKeys reports whether some object of the valid JSON body has
// two members of the same name.
func hasDuplicateKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // the next token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: an object's next token is a key again.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true
		}
	}
}
