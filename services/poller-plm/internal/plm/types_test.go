package plm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDecodePage(t *testing.T) {
	tests := []struct {
		file    string
		err     string // substring of the error; "" for success
		items   int
		badRows int // items with Err set
		total   int
	}{
		{file: "seed_example.json", items: 1, total: 747},
		{file: "seed_filtered_truncated.json", err: "decode system logs page"},
		{file: "empty.json", items: 0, total: 0},
		{file: "no_items_member.json", items: 0, total: 1500},
		{file: "missing_total.json", err: "totalCount is missing"},
		{file: "negative_total.json", err: "negative totalCount"},
		{file: "not_object.json", err: "decode system logs page"},
		{file: "odd_rows.json", items: 10, badRows: 7, total: 15},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "pages", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodePage(body)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || p != nil {
					t.Fatalf("DecodePage = %v, %v; want an error containing %q", p, err, tt.err)
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
			if len(p.Items) != tt.items || bad != tt.badRows || p.TotalCount != tt.total {
				t.Errorf("items=%d bad=%d total=%d, want %d, %d, %d", len(p.Items), bad, p.TotalCount, tt.items, tt.badRows, tt.total)
			}
		})
	}
}

func TestDecodePageSeedExample(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "pages", "seed_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePage(body)
	if err != nil {
		t.Fatal(err)
	}
	if p.Self != "/api/v3/tenants/TENANTNAME/system-logs?offset=0&limit=100" || p.Limit != 100 ||
		p.Next == nil || p.Next.Link != "/api/v3/tenants/TENANTNAME/system-logs?offset=100&limit=100" || p.Last.Count != 47 {
		t.Errorf("envelope decoded as %+v", p)
	}
	e := p.Items[0]
	want := time.Date(2019, 11, 12, 19, 56, 14, 259e6, time.UTC)
	if e.Err != nil || !e.Time.Equal(want) || e.Log.Action != "Log In" || e.Log.User == nil ||
		e.Log.User.Email != "john.doe@autodesk.com" || e.Log.User.URN != "urn:adsk.plm:tenant.user:TENANTNAME.userId" {
		t.Errorf("item decoded as %+v (user %+v)", e, e.Log.User)
	}
	if !bytes.HasPrefix(e.Raw, []byte("{\n\"description\": \"Log in successful\",\n")) || !json.Valid(e.Raw) {
		t.Errorf("raw is not the item's bytes: %s", e.Raw)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2019-11-12T14:56:14.259-05:00", time.Date(2019, 11, 12, 19, 56, 14, 259e6, time.UTC), false},
		{"2024-03-04T19:45:00.123+05:30", time.Date(2024, 3, 4, 14, 15, 0, 123e6, time.UTC), false},
		{"2024-03-04T14:15:00Z", time.Date(2024, 3, 4, 14, 15, 0, 0, time.UTC), false},
		{"2024-03-04T14:15:00.123999Z", time.Date(2024, 3, 4, 14, 15, 0, 123e6, time.UTC), false},
		{"2024-03-05T03:00:00.000+14:00", time.Date(2024, 3, 4, 13, 0, 0, 0, time.UTC), false},
		{"", time.Time{}, true},
		{"2024-03-04 14:15:00", time.Time{}, true},
		{"2024-03-04T14:15:00", time.Time{}, true},
		{"1573588574259", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) || (err == nil && got.Location() != time.UTC) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "timestamp ") {
			t.Errorf("ParseTimestamp(%q) error %q does not start with \"timestamp\"", tt.in, err)
		}
	}
}

// FuzzDecodePage checks DecodePage on any body. Invariants:
//   - it never panics;
//   - it returns a page or an error, never both or neither;
//   - on success, totalCount and offset are not negative, and there is one
//     item per element of the body's items array;
//   - every item's Raw is valid JSON, is a copy (changing the body later
//     does not change it), and decodes again with DecodeEntry to an entry
//     with the same time and the same error state;
//   - an item has a time exactly when its timestamp parses, the time is UTC
//     at millisecond precision, and an item without error has a time;
//   - Normalize never panics on an item, and fails exactly when the item
//     has an error.
//
// go test runs it on the seed corpus (testdata/pages and every
// testdata/normalize input wrapped in a page); go test -fuzz=FuzzDecodePage
// explores further.
func FuzzDecodePage(f *testing.F) {
	pages, _ := filepath.Glob(filepath.Join("testdata", "pages", "*.json"))
	rows, _ := filepath.Glob(filepath.Join("testdata", "normalize", "*.json"))
	for _, name := range pages {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range rows {
		if strings.HasSuffix(name, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(`{"offset":0,"limit":1000,"totalCount":1,"items":[` + string(bytes.TrimSpace(b)) + `]}`))
	}
	norm := NewNormalizer("ACME", LogTypeItem)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodePage(body)
		if (p == nil) == (err == nil) {
			t.Fatalf("DecodePage returned page %v and error %v", p, err)
		}
		if err != nil {
			return
		}
		if p.TotalCount < 0 || p.Offset < 0 {
			t.Fatalf("negative totalCount %d or offset %d", p.TotalCount, p.Offset)
		}
		var env struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("body decoded as a page but not as an envelope: %v", err)
		}
		if len(env.Items) != len(p.Items) {
			t.Fatalf("%d items, body has %d", len(p.Items), len(env.Items))
		}
		raws := make([][]byte, len(p.Items))
		for i, e := range p.Items {
			raws[i] = bytes.Clone(e.Raw)
		}
		clear(body)
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
				pt, perr := ParseTimestamp(e.Log.Timestamp)
				if perr != nil || !pt.Equal(e.Time) || e.Time.Location() != time.UTC || e.Time.Nanosecond()%1e6 != 0 {
					t.Fatalf("item %d: time %v does not match timestamp %q", i, e.Time, e.Log.Timestamp)
				}
			}
			ev, nerr := norm(e.Record(), time.Unix(0, 0))
			if (nerr == nil) != (e.Err == nil) || (ev == nil) == (nerr == nil) {
				t.Fatalf("item %d: normalize gave %v, %v for entry error %v", i, ev, nerr, e.Err)
			}
		}
	})
}
