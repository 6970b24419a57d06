package plmsim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestGenerateIsDeterministic(t *testing.T) {
	gen := func(seed int64) []Record {
		sim := New(Config{Seed: seed})
		sim.Generate(testNow.Add(-30*24*time.Hour), testNow, map[string]int{TypeItem: 300, TypeSystem: 200})
		return sim.Records("")
	}
	a, b, c := gen(7), gen(7), gen(8)
	sameRaws(t, raws(a), raws(b))
	if len(a) != 500 {
		t.Fatalf("%d records, want 500", len(a))
	}
	if bytes.Equal(a[0].Raw, c[0].Raw) && bytes.Equal(a[1].Raw, c[1].Raw) {
		t.Error("seeds 7 and 8 generate the same records")
	}
}

func TestGeneratedHistory(t *testing.T) {
	sim := New(Config{Seed: 1})
	from, to := testNow.Add(-365*24*time.Hour), testNow
	sim.Generate(from, to, map[string]int{TypeItem: 3000, TypeSystem: 3000})

	actions := map[string]int{}
	offsets := map[string]int{}
	bursts := 0
	for _, typ := range []string{TypeItem, TypeSystem} {
		recs := sim.Records(typ)
		if len(recs) != 3000 {
			t.Fatalf("%s: %d records, want 3000", typ, len(recs))
		}
		for i, r := range recs {
			var rec recordJSON
			if err := json.Unmarshal(r.Raw, &rec); err != nil {
				t.Fatalf("record %s: %v", r.Raw, err)
			}
			if r.Time.Before(from) || !r.Time.Before(to) {
				t.Fatalf("record at %v outside [%v, %v)", r.Time, from, to)
			}
			if rec.Timestamp != r.Time.Format(timestampLayout) || r.Time.Location().String() != "America/New_York" {
				t.Fatalf("timestamp %s, Record.Time %v", rec.Timestamp, r.Time)
			}
			if rec.Action != r.Action || r.Type != typ {
				t.Fatalf("record %s has Action %q Type %q", r.Raw, r.Action, r.Type)
			}
			if rec.Details == nil || rec.Description == "" || rec.User.Email == "" || !strings.HasPrefix(rec.User.URN, "urn:adsk.plm:tenant.user:DEMO.") {
				t.Fatalf("incomplete record %s", r.Raw)
			}
			if (rec.Action == "Log In") != (rec.Description == "Log in successful") || (rec.Action == "Log In" && len(rec.Details) != 0) {
				t.Fatalf("log-in record %s", r.Raw)
			}
			if (rec.Action == "Item Edited" || rec.Action == "Workflow Transition") && len(rec.Details) == 0 {
				t.Fatalf("change without details: %s", r.Raw)
			}
			if (typ == TypeItem) != (rec.Item != nil) {
				t.Fatalf("%s record with item %v: %s", typ, rec.Item, r.Raw)
			}
			if i > 0 && r.Time.Equal(recs[i-1].Time) {
				bursts++
			}
			actions[rec.Action]++
			offsets[rec.Timestamp[len(rec.Timestamp)-6:]]++
		}
	}
	for typ, mix := range actionMix {
		for _, w := range mix {
			if actions[w.action] == 0 {
				t.Errorf("no %s record %q in 3000", typ, w.action)
			}
		}
	}
	if offsets["-05:00"] == 0 || offsets["-04:00"] == 0 || len(offsets) != 2 {
		t.Errorf("offsets %v, want -05:00 and -04:00", offsets)
	}
	if bursts < 100 {
		t.Errorf("%d records share the millisecond of their predecessor, want bursts", bursts)
	}
}

func TestAltLocations(t *testing.T) {
	sim := New(Config{Seed: 2, AltLocations: []*time.Location{mustLoad("Asia/Kolkata")}, AltLocationRate: 0.5})
	sim.Generate(testNow.Add(-24*time.Hour), testNow, map[string]int{TypeSystem: 200})
	offsets := map[string]int{}
	for _, r := range sim.Records(TypeSystem) {
		offsets[decode(t, r.Raw).Timestamp[23:]]++
	}
	if offsets["+05:30"] < 50 || offsets["-05:00"] < 50 {
		t.Errorf("offsets %v, want about half +05:30", offsets)
	}
}

// TestGoldenPages pins the exact shape of served pages. Run with -update to
// rewrite testdata/*.golden.json after an intended change.
func TestGoldenPages(t *testing.T) {
	e := newEnv(t, Config{Seed: 42, AltLocations: []*time.Location{mustLoad("Asia/Kolkata")}, AltLocationRate: 0.2})
	e.sim.Generate(time.Date(2024, 10, 1, 0, 0, 0, 0, newYork), testNow, map[string]int{TypeItem: 40, TypeSystem: 40})
	tests := []struct{ name, query string }{
		{"page_item", "type=item&limit=3&sort=timestamp%20asc"},
		{"page_system", "type=system&limit=4&sort=timestamp%20asc&filter[from.date]=2024-11-03&filter[to.date]=2024-11-30"},
		{"page_mixed", "limit=3"},
		{"page_filtered", "filter[user.title]=john&filter[description]=log&limit=1&offset=0&type=system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.get(tt.query)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", tt.query, path, got.Bytes())
			}
		})
	}
}
