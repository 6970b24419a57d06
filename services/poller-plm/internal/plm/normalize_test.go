package plm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testTenant is the tenant of the normalizer tests.
const testTenant = "ACME"

// observedAt is the observed time of every golden event.
var observedAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// TestNormalizeGolden normalizes every testdata/normalize/<type>_<case>.json
// with the normalizer of log type <type> and compares the event, as
// indented JSON, or the error with testdata/normalize/<case>.golden.json.
func TestNormalizeGolden(t *testing.T) {
	inputs := testkit.GoldenInputs(t, filepath.Join("testdata", "normalize"))
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			logType, _, _ := strings.Cut(name, "_")
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			raw = bytes.TrimSpace(raw)
			got := normalizeToJSON(t, NewNormalizer(testTenant, logType), pipeline.Record{Raw: raw, Value: DecodeEntry(raw)})
			// The normalizer must give the same result without the decoded value.
			if again := normalizeToJSON(t, NewNormalizer(testTenant, logType), pipeline.Record{Raw: raw}); !bytes.Equal(got, again) {
				t.Errorf("Raw-only record normalizes differently:\n%s\nwant\n%s", again, got)
			}
			if strings.Contains(name, "_err_") != bytes.HasPrefix(got, []byte(`{
  "error"`)) {
				t.Errorf("case %s: error cases are named *_err_*; got\n%s", name, got)
			}
			testkit.CheckGolden(t, in, got, *update)
		})
	}
	if n := len(inputs); n < 20 {
		t.Fatalf("found %d cases, want at least 20", n)
	}
}

// normalizeToJSON returns the indented JSON of the event of rec, or of
// {"error": message} (testkit.NormalizedJSON at observedAt).
func normalizeToJSON(t *testing.T, norm pipeline.Normalizer, rec pipeline.Record) []byte {
	t.Helper()
	return testkit.NormalizedJSON(t, norm, rec, observedAt)
}

// TestNormalizeInvariants checks properties every event of the golden
// inputs must have, independent of the golden files.
func TestNormalizeInvariants(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "normalize", "*.json"))
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") || strings.Contains(in, "_err_") {
			continue
		}
		raw, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		logType, _, _ := strings.Cut(filepath.Base(in), "_")
		ev, err := NewNormalizer(testTenant, logType)(pipeline.Record{Raw: raw}, observedAt)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		a := ev.(*event.AuditEvent)
		if a.Raw == nil || *a.Raw != string(raw) {
			t.Errorf("%s: raw is not the record unchanged", in)
		}
		if a.EventTime.Location() != time.UTC || a.EventTime.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("%s: event_time %v is not UTC milliseconds", in, a.EventTime)
		}
		if a.ClassUID != a.Category.ClassUID() {
			t.Errorf("%s: class_uid %d does not match category %s", in, a.ClassUID, a.Category)
		}
		if a.Stream != "plm/ACME/system-logs/"+logType || a.Vendor != "plm" || a.TenantID != testTenant {
			t.Errorf("%s: stream/vendor/tenant = %q/%q/%q", in, a.Stream, a.Vendor, a.TenantID)
		}
		// Every leaf of the record is either mapped or an attribute.
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields["details"]; ok {
			if _, ok := a.Attributes["details"]; !ok {
				t.Errorf("%s: details missing from attributes", in)
			}
		}
		if _, ok := fields["user"]; ok {
			for _, k := range []string{"user.status", "user.link", "user.urn", "user.image.small"} {
				if _, ok := a.Attributes[k]; !ok {
					t.Errorf("%s: attribute %s missing", in, k)
				}
			}
		}
	}
}

// TestEventIDStable checks that the event id depends on the record's
// content only, not on member order or white space, and that it changes
// with the content, the tenant and the stream.
func TestEventIDStable(t *testing.T) {
	const a = `{"description":"Log in successful","timestamp":"2019-11-12T14:56:14.259-05:00","action":"Log In","details":[],"user":{"title":"John Doe","email":"john.doe@example.com","n":1.50}}`
	const reordered = `{
	  "user": {"n": 1.50, "email": "john.doe@example.com", "title": "John Doe"},
	  "details": [ ],
	  "action": "Log In",
	  "timestamp": "2019-11-12T14:56:14.259-05:00",
	  "description": "Log in successful"
	}`
	const changed = `{"description":"Log in successful","timestamp":"2019-11-12T14:56:14.260-05:00","action":"Log In","details":[],"user":{"title":"John Doe","email":"john.doe@example.com","n":1.50}}`
	id := func(tenant, logType, raw string) string {
		t.Helper()
		ev, err := NewNormalizer(tenant, logType)(pipeline.Record{Raw: []byte(raw)}, observedAt)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key()
	}
	base := id("ACME", "system", a)
	if got := id("ACME", "system", reordered); got != base {
		t.Errorf("reordered record: id %s, want %s", got, base)
	}
	if got := id("ACME", "system", "\n  "+a+"\n"); got != base {
		t.Errorf("padded record: id %s, want %s", got, base)
	}
	for name, other := range map[string]string{
		"content": id("ACME", "system", changed),
		"tenant":  id("OTHER", "system", a),
		"stream":  id("ACME", "item", a),
	} {
		if other == base {
			t.Errorf("changing the %s keeps id %s", name, base)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		action, description, logType string
		category                     event.Category
		outcome                      event.Outcome
	}{
		{"Log In", "Log in successful", "system", event.CategoryAuthentication, event.OutcomeSuccess},
		{"Log In Failed", "Log in failed: account locked", "system", event.CategoryAuthentication, event.OutcomeFailure},
		{"Log In", "Log in unsuccessful", "system", event.CategoryAuthentication, event.OutcomeFailure},
		{"Log Out", "Session timed out", "system", event.CategoryAuthentication, event.OutcomeSuccess},
		{"LOGIN", "", "system", event.CategoryAuthentication, event.OutcomeSuccess},
		{"User Created", "", "system", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Group Membership Changed", "", "system", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Role Assigned", "", "system", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Tenant Settings Changed", "", "system", event.CategoryConfigChange, event.OutcomeSuccess},
		{"Workspace Settings Changed", "", "system", event.CategoryConfigChange, event.OutcomeSuccess},
		{"Workflow Settings Changed", "", "system", event.CategoryConfigChange, event.OutcomeSuccess},
		{"Script Changed", "", "system", event.CategoryConfigChange, event.OutcomeSuccess},
		{"Workspace Created", "", "system", event.CategoryConfigChange, event.OutcomeSuccess},
		{"Workspace Item Created", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Item Edited", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"BOM Changed", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Workflow Transition", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Lifecycle Changed", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Attachment Added", "", "item", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Teleported", "", "item", event.CategoryAPIActivity, event.OutcomeUnknown},
		{"Teleported", "", "system", event.CategoryUnknown, event.OutcomeUnknown},
		{"Itemized", "", "system", event.CategoryUnknown, event.OutcomeUnknown},
		{"", "", "system", event.CategoryUnknown, event.OutcomeUnknown},
	}
	for _, tt := range tests {
		c, o := classify(tt.action, tt.description, tt.logType)
		if c != tt.category || o != tt.outcome {
			t.Errorf("classify(%q, %q, %q) = %s, %s; want %s, %s", tt.action, tt.description, tt.logType, c, o, tt.category, tt.outcome)
		}
	}
}

func TestRefID(t *testing.T) {
	tests := []struct {
		ref  Ref
		want string
	}{
		{Ref{URN: "urn:adsk.plm:tenant.user:ACME.jdoe", Link: "/api/v3/users/other"}, "jdoe"},
		{Ref{URN: "urn:adsk.plm:tenant.user:acme.jdoe"}, "jdoe"},
		{Ref{URN: "urn:adsk.plm:tenant.workspace.item:ACME.8.1001"}, "8.1001"},
		{Ref{URN: "urn:adsk.plm:tenant.user:OTHER.jdoe"}, "OTHER.jdoe"},
		{Ref{URN: "urn:adsk.plm:tenant.user:OTHER.jdoe", Link: "/api/v3/users/jdoe"}, "jdoe"},
		{Ref{URN: "urn:adsk.plm:tenant.user:ACME."}, "ACME."},
		{Ref{URN: "no-colon"}, "no-colon"},
		{Ref{Link: "/api/v3/users/jdoe"}, "jdoe"},
		{Ref{Link: "/"}, ""},
		{Ref{}, ""},
	}
	for _, tt := range tests {
		if got := refID(&tt.ref, testTenant); got != tt.want {
			t.Errorf("refID(%+v) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}
