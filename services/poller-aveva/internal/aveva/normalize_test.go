package aveva

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testTenant is the tenant of the normalizer tests.
const testTenant = "acme"

// observedAt is the observed time of every golden event.
var observedAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// goldenWindow is the window every golden record was fetched in.
var goldenWindow = Window{From: time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 4, 11, 0, 0, 0, time.UTC)}

// goldenLocales are the locales of the cases whose audit report was asked
// for with one.
var goldenLocales = map[string]string{
	"audit_locale_en_us": "en-US",
	"audit_locale_de":    "de-DE",
}

// goldenRecord decodes an input as the Source would: in goldenWindow, with
// the case's locale. It returns the report and the record.
func goldenRecord(t *testing.T, in string) (Report, pipeline.Record) {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(in), ".json")
	reportName, _, _ := strings.Cut(name, "_")
	report, ok := LookupReport(reportName)
	if !ok {
		t.Fatalf("%s: no report %q", in, reportName)
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.TrimSpace(raw)
	e := DecodeEntry(raw, reportName, goldenWindow, NewTimeParser(goldenLocales[name]))
	return report, e.Record()
}

// TestNormalizeGolden normalizes every testdata/normalize/<report>_<case>.json
// with the normalizer of <report> and compares the event, as indented JSON,
// or the error with <report>_<case>.golden.json. Error cases are named
// *_err_*.
func TestNormalizeGolden(t *testing.T) {
	inputs := testkit.GoldenInputs(t, filepath.Join("testdata", "normalize"))
	perReport := map[string]int{}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			report, rec := goldenRecord(t, in)
			perReport[report.Name]++
			got := normalizeToJSON(t, NewNormalizer(testTenant, report), rec)
			if strings.Contains(name, "_err_") != bytes.HasPrefix(got, []byte("{\n  \"error\"")) {
				t.Errorf("case %s: error cases are named *_err_*; got\n%s", name, got)
			}
			testkit.CheckGolden(t, in, got, *update)
		})
	}
	for _, r := range Reports {
		if perReport[r.Name] < 3 {
			t.Errorf("report %s has %d golden cases, want at least 3", r.Name, perReport[r.Name])
		}
	}
}

// normalizeToJSON returns the indented JSON of the event of rec, or of
// {"error": message} (testkit.NormalizedJSON at observedAt).
func normalizeToJSON(t *testing.T, norm pipeline.Normalizer, rec pipeline.Record) []byte {
	t.Helper()
	return testkit.NormalizedJSON(t, norm, rec, observedAt)
}

// recognised lists every member name a normalizer maps to an event field.
func recognised() []string {
	var all []string
	for _, l := range [][]string{TimeFields, QuantityFields, UnitFields, UserFields, FolderFields, ServiceFields,
		PeriodStartFields, PeriodEndFields, ActionFields, MessageFields, OutcomeFields, IPFields, ActorEmailFields,
		ActorNameFields, ActorIDFields, TargetNameFields, TargetTypeFields, TargetIDFields} {
		for _, n := range l {
			all = append(all, strings.ToLower(n))
		}
	}
	return all
}

// TestNormalizeInvariants checks properties every event of the golden
// inputs must have, independent of the golden files: raw is the record
// unchanged, times are UTC milliseconds, and every member of the record is
// either in dimensions/attributes (under its own name, or dotted below it)
// or one the normalizer recognises.
func TestNormalizeInvariants(t *testing.T) {
	known := recognised()
	for _, in := range testkit.GoldenInputs(t, filepath.Join("testdata", "normalize")) {
		if strings.Contains(in, "_err_") {
			continue
		}
		report, rec := goldenRecord(t, in)
		ev, err := NewNormalizer(testTenant, report)(rec, observedAt)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var raw *string
		var extra map[string]string
		var when time.Time
		switch e := ev.(type) {
		case *event.UsageEvent:
			raw, extra, when = e.Raw, e.Dimensions, e.EventTime
			if report.Audit || e.Metric != report.Name || e.Stream != "aveva/acme/"+report.Name {
				t.Errorf("%s: usage event of report %s, metric %q, stream %q", in, report.Name, e.Metric, e.Stream)
			}
		case *event.AuditEvent:
			raw, extra, when = e.Raw, e.Attributes, e.EventTime
			if !report.Audit || e.ClassUID != e.Category.ClassUID() {
				t.Errorf("%s: audit event of report %s, class %d category %s", in, report.Name, e.ClassUID, e.Category)
			}
		}
		if raw == nil || *raw != string(rec.Raw) {
			t.Errorf("%s: raw is not the record unchanged", in)
		}
		if when.Location() != time.UTC || when.Nanosecond()%int(time.Millisecond) != 0 || when.IsZero() {
			t.Errorf("%s: event_time %v is not UTC milliseconds", in, when)
		}
		entry := rec.Value.(*Entry)
		if entry.Time.IsZero() != (extra[KeyTimeSource] == TimeSourceWindowStart) || (entry.Time.IsZero() && !when.Equal(goldenWindow.From)) {
			t.Errorf("%s: time %v, time source %q, event_time %v", in, entry.Time, extra[KeyTimeSource], when)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(rec.Raw, &members); err != nil {
			t.Fatal(err)
		}
		for k := range members {
			if _, ok := extra[k]; ok {
				continue
			}
			if slices.ContainsFunc(mapsKeys(extra), func(x string) bool { return strings.HasPrefix(x, k+".") }) {
				continue
			}
			if !slices.Contains(known, strings.ToLower(k)) {
				t.Errorf("%s: member %q is neither kept nor recognised", in, k)
			}
		}
	}
}

func mapsKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestNormalizeRawOnly normalizes records with only Raw set, as a replay
// tool would: ISO times work, a record without time fails rather than
// inventing one.
func TestNormalizeRawOnly(t *testing.T) {
	report, _ := LookupReport(ReportServiceUsage)
	norm := NewNormalizer(testTenant, report)
	ev, err := norm(pipeline.Record{Raw: []byte(`{"usageDate":"2024-03-04T10:00:00Z","quantity":1}`)}, observedAt)
	if err != nil || !ev.OccurredAt().Equal(time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("normalize = %v, %v", ev, err)
	}
	if _, err := norm(pipeline.Record{Raw: []byte(`{"quantity":1}`)}, observedAt); err == nil {
		t.Fatal("a record without time outside a window normalized")
	}
}

// TestEventIDs checks that the event id depends on the identity only: the
// vendor id when there is one (not the rest of the content), else the
// content, not its member order or white space; and on tenant and stream.
func TestEventIDs(t *testing.T) {
	credits, _ := LookupReport(ReportCreditsTransaction)
	service, _ := LookupReport(ReportServiceUsage)
	id := func(tenant string, r Report, raw string) string {
		t.Helper()
		e := DecodeEntry(json.RawMessage(raw), r.Name, goldenWindow, NewTimeParser(""))
		ev, err := NewNormalizer(tenant, r)(e.Record(), observedAt)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key()
	}
	a := `{"transactionId":"CT-1","transactionDate":"2024-03-04T10:00:00","credits":1}`
	if id("acme", credits, a) != id("acme", credits, `{"transactionId":"CT-1","transactionDate":"2024-03-04T10:00:00","credits":2}`) {
		t.Error("a changed record with the same transactionId has another event id")
	}
	if id("acme", credits, a) == id("acme", credits, `{"transactionId":"CT-2","transactionDate":"2024-03-04T10:00:00","credits":1}`) {
		t.Error("another transactionId has the same event id")
	}
	b := `{"usageDate":"2024-03-04T10:00:00Z","quantity":1.50,"folder":"F"}`
	reordered := "{\n \"folder\": \"F\",\n \"quantity\": 1.50, \"usageDate\": \"2024-03-04T10:00:00Z\"}"
	if id("acme", service, b) != id("acme", service, reordered) {
		t.Error("member order or white space changes the event id")
	}
	for name, other := range map[string]string{
		"content": id("acme", service, `{"usageDate":"2024-03-04T10:00:00Z","quantity":1.5,"folder":"F"}`),
		"tenant":  id("other", service, b),
		"stream":  id("acme", credits, b),
	} {
		if other == id("acme", service, b) {
			t.Errorf("changing the %s keeps the event id", name)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		operation, function string
		want                event.Category
	}{
		{"login", "authn", event.CategoryAuthentication},
		{"Sign In", "", event.CategoryAuthentication},
		{"logout", "", event.CategoryAuthentication},
		{"assign", "authm", event.CategoryAccountChange},
		{"add", "authm", event.CategoryAccountChange},
		{"delete", "userm", event.CategoryAccountChange},
		{"Update Role", "", event.CategoryAccountChange},
		{"update", "settings", event.CategoryConfigChange},
		{"add", "folderm", event.CategoryEntityManagement},
		{"delete", "Folder", event.CategoryEntityManagement},
		{"update", "servicem", event.CategoryEntityManagement},
		{"export", "rptx", event.CategoryAPIActivity},
		{"add", "", event.CategoryAPIActivity},
		{"", "", event.CategoryUnknown},
		{"--", "", event.CategoryUnknown},
	}
	for _, tt := range tests {
		if got := classify(tt.operation, tt.function); got != tt.want {
			t.Errorf("classify(%q, %q) = %s, want %s", tt.operation, tt.function, got, tt.want)
		}
	}
}
