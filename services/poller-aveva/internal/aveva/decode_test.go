package aveva

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeAll decodes body and returns the records as strings.
func decodeAll(body string, limit int) (recs []string, stopped bool, err error) {
	_, stopped, err = DecodeRecords(strings.NewReader(body), func(raw json.RawMessage) bool {
		recs = append(recs, string(raw))
		return limit <= 0 || len(recs) < limit
	})
	return recs, stopped, err
}

func TestDecodeRecords(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // records; nil with err set
		err  string   // substring of the error
	}{
		{"array", `[{"a":1},{"b":2}]`, []string{`{"a":1}`, `{"b":2}`}, ""},
		{"empty array", ` [ ] `, nil, ""},
		{"data", `{"data":[{"a":1}],"count":1}`, []string{`{"a":1}`}, ""},
		{"items after another member", `{"count":2,"items":[{"a":1},{"a":2}]}`, []string{`{"a":1}`, `{"a":2}`}, ""},
		{"records", `{"records":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"odata value", `{"@odata.context":"x","value":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"result", `{"status":"OK","result":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"key case", `{"Items":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"nested", `{"data":{"total":3,"items":[{"a":1}]}}`, []string{`{"a":1}`}, ""},
		{"nested three deep", `{"data":{"data":{"data":[1]}}}`, []string{`1`}, ""},
		{"nested too deep", `{"data":{"data":{"data":{"data":[1]}}}}`, nil, "no records array"},
		{"scalar records member skipped", `{"value":5,"items":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"huge scalar records member", `{"value":1e400,"data":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"null records member", `{"data":null}`, nil, ""},
		{"null body", `null`, nil, ""},
		{"empty body", ``, nil, ""},
		{"blank body", " \r\n\t", nil, ""},
		{"odd elements kept", `[1,"x",null,[2],{"a":{"b":[3]}}]`, []string{`1`, `"x"`, `null`, `[2]`, `{"a":{"b":[3]}}`}, ""},
		{"huge numbers kept as text", `[{"credits":1e400,"n":123456789012345678901234567890}]`, []string{`{"credits":1e400,"n":123456789012345678901234567890}`}, ""},
		{"white space kept", "[ {\n \"a\" : 1 } ]", []string{"{\n \"a\" : 1 }"}, ""},
		{"unknown members skipped", `{"meta":{"items":[9]},"list":[8],"data":[{"a":1}]}`, []string{`{"a":1}`}, ""},
		{"two arrays", `{"data":[1],"items":[2]}`, nil, "two records arrays"},
		{"no records member", `{"message":"Query too large","code":7}`, nil, `no records array`},
		{"empty object", `{}`, nil, "no records array"},
		{"string body", `"hello"`, nil, "is a JSON string"},
		{"number body", `42`, nil, "is a JSON number"},
		{"bool body", `true`, nil, "is a JSON boolean"},
		{"trailing value", `[1] [2]`, nil, "data after"},
		{"trailing garbage", `[1] x`, nil, "invalid character"},
		{"truncated array", `[{"a":1},{"b"`, nil, "unexpected EOF"},
		{"truncated envelope", `{"data":[{"a":1}]`, nil, "EOF"},
		{"invalid element", `[{"a":1},{a}]`, nil, "invalid character"},
		{"invalid skipped member", `{"meta":{x},"data":[]}`, nil, "invalid character"},
		{"html", `<html><body>502 Bad Gateway</body></html>`, nil, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stopped, err := decodeAll(tt.body, 0)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q (records %q)", err, tt.err, got)
				}
				if !strings.HasPrefix(err.Error(), "decode report response: ") {
					t.Errorf("error %q lacks its context", err)
				}
				return
			}
			if err != nil || stopped {
				t.Fatalf("err = %v, stopped = %v", err, stopped)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("records\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestDecodeRecordsNoRecordsMembersListed(t *testing.T) {
	body := `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`
	_, _, err := decodeAll(body, 0)
	if err == nil || !strings.Contains(err.Error(), `"a", "b"`) || !strings.Contains(err.Error(), "and 2 more") {
		t.Fatalf("err = %v, want the first member names and a count", err)
	}
}

// failAfter is a reader that serves data and then fails with err.
func failAfter(data string, err error) io.Reader {
	return io.MultiReader(strings.NewReader(data), iotest.ErrReader(err))
}

func TestDecodeRecordsStopsEarly(t *testing.T) {
	// The body fails past its third record: stopping after two must not
	// read that far.
	errBroken := errors.New("connection reset")
	body := `{"count":5,"items":[{"n":1},{"n":2},{"n":3},` + strings.Repeat(" ", 8192)
	var got []string
	n, stopped, err := DecodeRecords(failAfter(body, errBroken), func(raw json.RawMessage) bool {
		got = append(got, string(raw))
		return len(got) < 2
	})
	if err != nil || !stopped || n != 2 || len(got) != 2 {
		t.Fatalf("n=%d stopped=%v err=%v records=%q; want 2 records, stopped", n, stopped, err, got)
	}

	// Reading on meets the failure, which stays visible to errors.Is (the
	// HTTP client retries a body that breaks off).
	_, _, err = DecodeRecords(failAfter(body, errBroken), func(json.RawMessage) bool { return true })
	if !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want it to wrap %v", err, errBroken)
	}
}

func TestDecodeRecordsCopies(t *testing.T) {
	body := []byte(`[{"a":"first"},{"a":"second"}]`)
	var got []json.RawMessage
	if _, _, err := DecodeRecords(bytes.NewReader(body), func(raw json.RawMessage) bool {
		got = append(got, raw)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	clear(body)
	if string(got[0]) != `{"a":"first"}` || string(got[1]) != `{"a":"second"}` {
		t.Fatalf("records share the body's memory: %q", got)
	}
}

// TestDecodeRecordsOneByteReads feeds the body one byte at a time, as a
// slow network would.
func TestDecodeRecordsOneByteReads(t *testing.T) {
	body := `{"meta":{"x":[1,{"y":2}]},"data":{"items":[{"a":1},{"b":[2,3]},{"c":"]}"}]}}`
	var got []string
	_, _, err := DecodeRecords(iotest.OneByteReader(strings.NewReader(body)), func(raw json.RawMessage) bool {
		got = append(got, string(raw))
		return true
	})
	if err != nil || strings.Join(got, " ") != `{"a":1} {"b":[2,3]} {"c":"]}"}` {
		t.Fatalf("records %q, err %v", got, err)
	}
}
