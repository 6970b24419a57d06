package epm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/testkit"
)

func TestDecodeAuditPage(t *testing.T) {
	tests := []struct {
		file   string
		err    string // substring of the error; "" for success
		items  int
		badRec int // items with Err set
		total  int
	}{
		{file: "seed_example.json", items: 3, total: 246},
		{file: "empty.json", items: 0, total: 0},
		{file: "no_audits_member.json", items: 0, total: 1500},
		{file: "null_audits.json", items: 0, total: 3},
		{file: "odd_records.json", items: 10, badRec: 8, total: 15},
		{file: "missing_total.json", err: "TotalCount is missing"},
		{file: "negative_total.json", err: "negative TotalCount"},
		{file: "audits_not_array.json", err: "decode admin audit page"},
		{file: "total_not_number.json", err: "decode admin audit page"},
		{file: "not_object.json", err: "not a JSON object"},
		{file: "truncated.json", err: "decode admin audit page"},
		{file: "html.json", err: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "pages", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodeAuditPage(body)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || p != nil {
					t.Fatalf("DecodeAuditPage = %v, %v; want an error containing %q", p, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, e := range p.Items {
				if e.Err != nil {
					bad++
				}
			}
			if len(p.Items) != tt.items || bad != tt.badRec || p.TotalCount != tt.total {
				t.Errorf("items=%d bad=%d total=%d, want %d, %d, %d", len(p.Items), bad, p.TotalCount, tt.items, tt.badRec, tt.total)
			}
		})
	}
}

func TestDecodeEntrySeedExample(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "pages", "seed_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodeAuditPage(body)
	if err != nil {
		t.Fatal(err)
	}
	e := p.Items[0]
	a := e.Audit
	want := time.Date(2023, 12, 12, 7, 45, 27, 140e6, time.UTC)
	if e.Err != nil || !e.Time.Equal(want) || a.Feature != "Public API" || a.InternalSessionID != "235816" ||
		!slices.Equal(a.Roles, []string{"SetUser"}) || a.LoggedFrom != "199.203.162.213" || a.SetName != "PANW Production(palo alto networks inc.)" {
		t.Errorf("record decoded as %+v (time %v, err %v)", a, e.Time, e.Err)
	}
	if !json.Valid(e.Raw) || !bytes.Contains(e.Raw, []byte(`"InternalSessionId": 235816`)) {
		t.Errorf("raw is not the record's bytes: %s", e.Raw)
	}
}

func TestParseEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2024-11-25T05:37:33.3Z", time.Date(2024, 11, 25, 5, 37, 33, 300e6, time.UTC), false},
		{"2024-11-25T05:37:30.29Z", time.Date(2024, 11, 25, 5, 37, 30, 290e6, time.UTC), false},
		{"2024-11-25T05:37:28Z", time.Date(2024, 11, 25, 5, 37, 28, 0, time.UTC), false},
		{"2024-11-25T05:37:28.1234567Z", time.Date(2024, 11, 25, 5, 37, 28, 123e6, time.UTC), false},
		{"2024-11-25T06:37:28.5+01:00", time.Date(2024, 11, 25, 5, 37, 28, 500e6, time.UTC), false},
		{"2024-11-25T05:37:28.373", time.Date(2024, 11, 25, 5, 37, 28, 373e6, time.UTC), false},
		{"", time.Time{}, true},
		{"2024-11-25 05:37:28", time.Time{}, true},
		{"25/11/2024", time.Time{}, true},
		{"1732513053300", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseEventTime(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) || (err == nil && got.Location() != time.UTC) {
			t.Errorf("ParseEventTime(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "EventTime ") {
			t.Errorf("ParseEventTime(%q) error %q does not start with \"EventTime\"", tt.in, err)
		}
	}
}

func TestDecodeSets(t *testing.T) {
	tests := []struct {
		body  string
		err   bool
		sets  []Set
		count int
	}{
		{`{"Sets":[{"Id":"a-1","Name":"Production","Description":"x","IsNPVDI":false},{"Id":"b-2","Name":"Lab"}],"SetsCount":2}`, false,
			[]Set{{"a-1", "Production"}, {"b-2", "Lab"}}, 2},
		{`{"Sets":[]}`, false, []Set{}, 0},
		{`{"Sets":[{"Name":"no id"}],"SetsCount":1}`, true, nil, 0},
		{`{"Sets":[{"Id":""}]}`, true, nil, 0},
		{`{"Sets":[{"Id":7}]}`, true, nil, 0},
		{`{"Sets":{"Id":"a"}}`, true, nil, 0},
		{`{"Sets":[],"SetsCount":-1}`, true, nil, 0},
		{`[{"ErrorCode":"EPM000003E"}]`, true, nil, 0},
		{``, true, nil, 0},
	}
	for _, tt := range tests {
		p, err := DecodeSets([]byte(tt.body))
		if (err != nil) != tt.err {
			t.Errorf("DecodeSets(%s): error %v, want error %v", tt.body, err, tt.err)
			continue
		}
		if err == nil && (!slices.Equal(p.Sets, tt.sets) || p.SetsCount != tt.count) {
			t.Errorf("DecodeSets(%s) = %+v", tt.body, p)
		}
	}
}

func TestDecodeLogon(t *testing.T) {
	tests := []struct {
		body string
		want *LogonResult
	}{
		{`{"IsPasswordExpired":false,"EPMAuthenticationResult":"tok-1","ManagerURL":"https://na123.epm.cyberark.com"}`,
			&LogonResult{Token: "tok-1", ManagerURL: "https://na123.epm.cyberark.com"}},
		{`{"EPMAuthenticationResult":"tok-1","ManagerURL":"https://m","IsPasswordExpired":true}`,
			&LogonResult{Token: "tok-1", ManagerURL: "https://m", PasswordExpired: true}},
		{`{"EPMAuthenticationResult":"","ManagerURL":"https://m"}`, nil},
		{`{"EPMAuthenticationResult":"tok-secret"}`, nil},
		{`{"EPMAuthenticationResult":5,"ManagerURL":"https://m"}`, nil},
		{`"tok-secret"`, nil},
	}
	for _, tt := range tests {
		got, err := DecodeLogon([]byte(tt.body))
		if tt.want == nil {
			if err == nil || strings.Contains(err.Error(), "tok-") {
				t.Errorf("DecodeLogon(%s): error %v, want one that does not quote the token", tt.body, err)
			}
			continue
		}
		if err != nil || *got != *tt.want {
			t.Errorf("DecodeLogon(%s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
		}
	}
}

// FuzzDecodePage checks DecodeAuditPage on any body. Invariants:
//   - it never panics;
//   - it returns a page or an error, never both or neither;
//   - on success, TotalCount is not negative, and there is one item per
//     element of the body's AdminAudits array;
//   - every item's Raw is valid JSON, is a copy (changing the body later
//     does not change it), and decodes again with DecodeEntry to an entry
//     with the same time and the same error state;
//   - an item has a time exactly when its EventTime parses, the time is UTC
//     at millisecond precision, and an item without error has a time;
//   - a Source's scan of a page never panics, and Normalize, given the
//     item with a set id, never panics and fails exactly when the item has
//     an error; an event keeps every member of the record, mapped or as an
//     attribute.
//
// go test runs it on the seed corpus (testdata/pages and every
// testdata/normalize input wrapped in a page); go test -fuzz=FuzzDecodePage
// explores further.
func FuzzDecodePage(f *testing.F) {
	pages, _ := filepath.Glob(filepath.Join("testdata", "pages", "*.json"))
	for _, name := range pages {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range testkit.GoldenInputs(f, filepath.Join("testdata", "normalize")) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(`{"TotalCount":1,"AdminAudits":[` + string(bytes.TrimSpace(b)) + `]}`))
	}
	norm := NewNormalizer("ACME", "s")
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeAuditPage(body)
		if (p == nil) == (err == nil) {
			t.Fatalf("DecodeAuditPage returned page %v and error %v", p, err)
		}
		if err != nil {
			return
		}
		if p.TotalCount < 0 {
			t.Fatalf("negative TotalCount %d", p.TotalCount)
		}
		var env struct {
			AdminAudits []json.RawMessage `json:"AdminAudits"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("body decoded as a page but not as an envelope: %v", err)
		}
		if len(env.AdminAudits) != len(p.Items) {
			t.Fatalf("%d items, body has %d", len(p.Items), len(env.AdminAudits))
		}
		raws := make([][]byte, len(p.Items))
		for i, e := range p.Items {
			raws[i] = bytes.Clone(e.Raw)
		}
		clear(body)
		sc := &scan{src: NewSource(nil, SourceConfig{Tenant: "ACME", SetID: "s", Logger: discardLogger()}), setID: "s",
			end: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), last: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
		for i, e := range p.Items {
			if !bytes.Equal(e.Raw, raws[i]) {
				t.Fatalf("item %d: Raw shares the body's memory", i)
			}
			if !json.Valid(e.Raw) {
				t.Fatalf("item %d: Raw %q is not valid JSON", i, e.Raw)
			}
			again := DecodeEntry(e.Raw)
			if !again.Time.Equal(e.Time) || (again.Err == nil) != (e.Err == nil) {
				t.Fatalf("item %d decodes again to time %v err %v, first %v err %v", i, again.Time, again.Err, e.Time, e.Err)
			}
			if e.Err == nil && e.Time.IsZero() {
				t.Fatalf("item %d: no error and no time", i)
			}
			if !e.Time.IsZero() {
				pt, perr := ParseEventTime(e.Audit.EventTime)
				if perr != nil || !pt.Equal(e.Time) || e.Time.Location() != time.UTC || e.Time.Nanosecond()%1e6 != 0 {
					t.Fatalf("item %d: time %v does not match EventTime %q", i, e.Time, e.Audit.EventTime)
				}
			}
			sc.consume(i, e)
			ev, nerr := norm(e.Record(), time.Unix(0, 0))
			if (nerr == nil) != (e.Err == nil) || (ev == nil) == (nerr == nil) {
				t.Fatalf("item %d: normalize gave %v, %v for entry error %v", i, ev, nerr, e.Err)
			}
			if nerr == nil {
				checkKept(t, e, ev)
			}
		}
	})
}

// TestStringValueMatchesEncodingJSON checks the fast path of stringValue
// against encoding/json on strings with and without escapes, invalid
// UTF-8 and control characters, and on other values (null, which
// encoding/json leaves a string unchanged for, is not a string here).
func TestStringValueMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`"plain"`, `""`, `"zoë"`, `"with \"quote\""`, `"tab\there"`, `"\u00e9"`, "\"raw\ttab\"", "\"bad \xff utf8\"",
		`"back\\slash"`, ` "padded" `, `"unterminated`, `12`, `true`, `["a"]`, `{"a":1}`, `"`, ``,
	} {
		got, ok := stringValue([]byte(in))
		var want string
		werr := json.Unmarshal([]byte(in), &want)
		if ok != (werr == nil) || got != want {
			t.Errorf("stringValue(%q) = %q, %v; encoding/json gives %q, %v", in, got, ok, want, werr)
		}
	}
}
