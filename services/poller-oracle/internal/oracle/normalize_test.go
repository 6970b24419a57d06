package oracle

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// observedAt is the observed time of every golden event.
var observedAt = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// goldenCase is a normalizer input: a CSV row with its header and line,
// or an item of the User Login Report.
type goldenCase struct {
	Header []string        `json:"header"`
	Fields []string        `json:"fields"`
	Line   int             `json:"line"`
	Item   json.RawMessage `json:"item"`
}

// caseRow decodes a case as the Source would hand it to the normalizer.
func caseRow(t testing.TB, raw []byte) pipeline.Record {
	t.Helper()
	var c goldenCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var row Row
	if c.Item != nil {
		row = DecodeLoginItem(c.Item, 0)
	} else {
		cols, err := NewColumns(c.Header)
		if err != nil {
			t.Fatal(err)
		}
		zr := zipcsv.Row{Fields: c.Fields, Index: c.Line - 2, Line: c.Line}
		if len(c.Fields) != len(c.Header) {
			zr.Err = fmt.Errorf("line %d has %d fields, the header %d", c.Line, len(c.Fields), len(c.Header))
		}
		row = cols.DecodeRow(zr)
	}
	return pipeline.Record{Raw: row.Raw(), Value: &row}
}

// TestNormalizeGolden normalizes every testdata/normalize/<kind>_<case>.json
// and compares the event, as indented JSON, or the error with its
// .golden.json. Cases named err_ must fail, and name the row's line or
// item in the error; the others must be successful logins.
func TestNormalizeGolden(t *testing.T) {
	inputs := testkit.GoldenInputs(t, filepath.Join("testdata", "normalize"))
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := testkit.NormalizedJSON(t, NewNormalizer(testTenant), caseRow(t, bytes.TrimSpace(raw)), observedAt)
			if strings.HasPrefix(name, "err_") {
				if !bytes.HasPrefix(got, []byte("{\n  \"error\"")) || !(bytes.Contains(got, []byte("line ")) || bytes.Contains(got, []byte("item "))) {
					t.Errorf("case %s must fail naming its line or item; got\n%s", name, got)
				}
			} else {
				var ev struct {
					Category string `json:"category"`
					Outcome  string `json:"outcome"`
					Action   string `json:"action"`
				}
				if json.Unmarshal(got, &ev) != nil || ev.Category != "AUTHENTICATION" || ev.Outcome != "SUCCESS" || ev.Action != "login" {
					t.Errorf("case %s is not a successful login:\n%s", name, got)
				}
			}
			testkit.CheckGolden(t, in, got, *update)
		})
	}
	if len(inputs) < 20 {
		t.Fatalf("found %d cases, want at least 20", len(inputs))
	}
}

// TestSameIdentityThroughBothAPIs checks that a CSV row and the User Login
// Report's item of the same login have the same event id, whatever the
// header's style or the time's spelling.
func TestSameIdentityThroughBothAPIs(t *testing.T) {
	norm := NewNormalizer(testTenant)
	var ids []string
	for _, c := range []string{
		`{"header": ["User Login","User Name","IP Address","Access Date and Time"], "fields": ["jdoe@example.com","John","10.0.0.1","July 8, 2022 08:03:01 UTC"], "line": 3}`,
		`{"header": ["User ID","IP Address","Access Time"], "fields": ["jdoe@example.com","10.0.0.1","July 08, 2022 08:03:01"], "line": 9}`,
		`{"item": {"userLogin":"jdoe@example.com","userName":"John","ipAddress":"10.0.0.1","accessTime":"July 8, 2022 08:03:01 UTC"}}`,
		`{"item": {"userLogin":"jdoe@example.com","ipAddress":"10.0.0.1","accessTime":"2022-07-08T08:03:01Z"}}`,
	} {
		ev, err := norm(caseRow(t, []byte(c)), observedAt)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.Key())
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("event ids differ: %q", ids)
		}
	}
	if want := EventID(testTenant, "jdoe@example.com", "10.0.0.1", time.Date(2022, 7, 8, 8, 3, 1, 0, time.UTC)); ids[0] != want {
		t.Fatalf("event id %s, want EventID's %s", ids[0], want)
	}
}
