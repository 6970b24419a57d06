package revenera

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenInput is one normalizer case of testdata/normalize: a file row
// (kind, file, line, header, fields, occurrence, malformed) or a report
// value (stream, value).
type goldenInput struct {
	Kind       string       `json:"kind"`
	File       string       `json:"file"`
	Line       int          `json:"line"`
	Header     []string     `json:"header"`
	Fields     []string     `json:"fields"`
	Occurrence int          `json:"occurrence"`
	Malformed  string       `json:"malformed"`
	Stream     string       `json:"stream"`
	Value      *ReportValue `json:"value"`
}

// goldenRecord returns the record and normalizer of a case, as the
// sources build them.
func goldenRecord(t *testing.T, in goldenInput) (pipeline.Record, pipeline.Normalizer) {
	t.Helper()
	const product = "2876543210"
	if in.Value != nil {
		return in.Value.Record(), NewReportNormalizer(testTenant, product, in.Stream)
	}
	kind := CustomEvents
	if in.Kind == StreamExceptions {
		kind = Exceptions
	}
	tc := zipcsv.NewColumns(in.Header).Index(kind.TimeColumns...)
	text := zipcsv.Field(in.Fields, tc)
	tm, _ := ParseCSVTime(text)
	row := &FileRow{File: in.File, Line: in.Line, Header: in.Header, Fields: in.Fields, Time: tm, TimeText: text, Occurrence: in.Occurrence}
	if in.Malformed != "" {
		row.Err = errors.New(in.Malformed)
	}
	return pipeline.Record{Raw: zipcsv.AppendObject(nil, in.Header, in.Fields), Value: row}, NewFileNormalizer(testTenant, product, kind)
}

func TestNormalizeGolden(t *testing.T) {
	observed := time.Date(2026, 12, 3, 14, 5, 9, 0, time.UTC)
	inputs := testkit.GoldenInputs(t, filepath.Join("testdata", "normalize"))
	if len(inputs) < 9 {
		t.Fatalf("%d golden inputs", len(inputs))
	}
	for _, path := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var in goldenInput
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatal(err)
			}
			rec, norm := goldenRecord(t, in)
			testkit.CheckGolden(t, path, testkit.NormalizedJSON(t, norm, rec, observed), *update)
		})
	}
}

// TestFileIdentity: an occurrence changes the id, and the id does not
// depend on the column order (canonical JSON).
func TestFileIdentity(t *testing.T) {
	a := zipcsv.AppendObject(nil, []string{"A", "B"}, []string{"1", "2"})
	b := zipcsv.AppendObject(nil, []string{"B", "A"}, []string{"2", "1"})
	ia, _ := FileIdentity(a, 0)
	ib, _ := FileIdentity(b, 0)
	i1, _ := FileIdentity(a, 1)
	if ia != ib || ia == i1 || !strings.HasSuffix(i1, "#1") {
		t.Fatalf("identities %s %s %s", ia, ib, i1)
	}
}
