package epm

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

// testTenant and testSet are the tenant and set of the normalizer tests.
const (
	testTenant = "ACME"
	testSet    = "47f5830e-383a-4db1-9e5f-b38ed0448a92"
)

// observedAt is the observed time of every golden event.
var observedAt = time.Date(2024, 12, 1, 12, 0, 0, 0, time.UTC)

// kinds maps the prefix of a case name to the category its event must
// have; err_ cases must fail.
var kinds = map[string]event.Category{
	"authentication": event.CategoryAuthentication,
	"account":        event.CategoryAccountChange,
	"api":            event.CategoryAPIActivity,
	"unknown":        event.CategoryUnknown,
}

// entryOf decodes raw as the Source would hand it to the normalizer.
func entryOf(raw []byte, occurrence int) pipeline.Record {
	e := DecodeEntry(raw)
	e.SetID, e.Occurrence = testSet, occurrence
	return e.Record()
}

// TestNormalizeGolden normalizes every testdata/normalize/<kind>_<case>.json
// and compares the event, as indented JSON, or the error with
// testdata/normalize/<kind>_<case>.golden.json. The kind prefix says what
// category the event must have (err: that it must fail), so a golden file
// cannot silently bless a wrong classification.
func TestNormalizeGolden(t *testing.T) {
	inputs := testkit.GoldenInputs(t, filepath.Join("testdata", "normalize"))
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			raw = bytes.TrimSpace(raw)
			got := normalizeToJSON(t, NewNormalizer(testTenant, testSet), entryOf(raw, 0))
			kind, _, _ := strings.Cut(name, "_")
			if kind == "err" {
				if !bytes.HasPrefix(got, []byte("{\n  \"error\"")) {
					t.Errorf("case %s must fail; got\n%s", name, got)
				}
			} else {
				want, ok := kinds[kind]
				var ev struct {
					Category event.Category `json:"category"`
				}
				if !ok || json.Unmarshal(got, &ev) != nil || ev.Category != want {
					t.Errorf("case %s: category %q, want %q (from the name's prefix)", name, ev.Category, want)
				}
			}
			testkit.CheckGolden(t, in, got, *update)
		})
	}
	if len(inputs) < 25 {
		t.Fatalf("found %d cases, want at least 25", len(inputs))
	}
}

// normalizeToJSON returns the indented JSON of the event of rec, or of
// {"error": message} (testkit.NormalizedJSON at observedAt).
func normalizeToJSON(t *testing.T, norm pipeline.Normalizer, rec pipeline.Record) []byte {
	t.Helper()
	return testkit.NormalizedJSON(t, norm, rec, observedAt)
}

// TestNormalizeInvariants checks properties every event of the golden
// inputs must have, independent of the golden files: nothing of the record
// is lost (each member is mapped or an attribute), raw is the record
// unchanged, times are UTC milliseconds.
func TestNormalizeInvariants(t *testing.T) {
	mappedTo := map[string]func(a *event.AuditEvent) bool{
		fieldEventTime:   func(a *event.AuditEvent) bool { return !a.EventTime.IsZero() },
		fieldFeature:     func(a *event.AuditEvent) bool { return a.Action != nil },
		fieldDescription: func(a *event.AuditEvent) bool { return a.Message != nil },
		fieldAdministrator: func(a *event.AuditEvent) bool {
			return a.Actor != nil && (a.Actor.Email != nil || a.Actor.UserName != nil)
		},
		fieldRole:              func(a *event.AuditEvent) bool { return a.Actor != nil && len(a.Actor.Roles) > 0 },
		fieldInternalSessionID: func(a *event.AuditEvent) bool { return a.Actor != nil && a.Actor.SessionID != nil },
		fieldLoggedFrom:        func(a *event.AuditEvent) bool { return a.SrcIP != nil },
	}
	for _, in := range testkit.GoldenInputs(t, filepath.Join("testdata", "normalize")) {
		if strings.Contains(in, "err_") {
			continue
		}
		raw, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := NewNormalizer(testTenant, testSet)(entryOf(raw, 0), observedAt)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		a := ev.(*event.AuditEvent)
		if a.Raw == nil || *a.Raw != string(raw) {
			t.Errorf("%s: raw is not the record unchanged", in)
		}
		if a.EventTime.Location() != time.UTC || a.EventTime.Nanosecond()%int(time.Millisecond) != 0 || a.ObservedTime != observedAt {
			t.Errorf("%s: event_time %v is not UTC milliseconds", in, a.EventTime)
		}
		if a.ClassUID != a.Category.ClassUID() || a.Stream != "epm/ACME/sets/"+testSet+"/admin-audit" || a.Vendor != "epm" || a.TenantID != testTenant {
			t.Errorf("%s: class %d/%s stream %q vendor %q tenant %q", in, a.ClassUID, a.Category, a.Stream, a.Vendor, a.TenantID)
		}
		if a.Attributes[AttrSetID] != testSet {
			t.Errorf("%s: attribute %s = %q", in, AttrSetID, a.Attributes[AttrSetID])
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		for k, v := range fields {
			_, inAttrs := a.Attributes[k]
			mapped := mappedTo[k] != nil && mappedTo[k](a)
			switch {
			case isNull(v) && !inAttrs && !mapped && mappedTo[k] == nil:
				t.Errorf("%s: null member %s neither mapped nor kept", in, k)
			case !isNull(v) && string(v) != `""` && !inAttrs && !mapped:
				t.Errorf("%s: member %s = %s is lost", in, k, v)
			case inAttrs && mapped:
				t.Errorf("%s: member %s is both mapped and an attribute", in, k)
			}
		}
	}
}

// TestEventIDStable checks that the event id depends on the record's
// content only, not on member order or white space, and that it changes
// with the content, the set, the occurrence, the tenant.
func TestEventIDStable(t *testing.T) {
	const a = `{"SetName":"Production","EventTime":"2024-11-25T05:37:33.3Z","Feature":"Policies","Description":"Read policies","InternalSessionId":876.0,"Administrator":"alice@example.com"}`
	const reordered = `{
	  "Administrator": "alice@example.com", "InternalSessionId": 876.0,
	  "Description": "Read policies", "Feature": "Policies",
	  "EventTime": "2024-11-25T05:37:33.3Z", "SetName": "Production"
	}`
	const changed = `{"SetName":"Production","EventTime":"2024-11-25T05:37:33.31Z","Feature":"Policies","Description":"Read policies","InternalSessionId":876.0,"Administrator":"alice@example.com"}`
	id := func(tenant, set, raw string, occurrence int) string {
		t.Helper()
		e := DecodeEntry([]byte(raw))
		e.SetID, e.Occurrence = set, occurrence
		ev, err := NewNormalizer(tenant, set)(e.Record(), observedAt)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key()
	}
	base := id("ACME", "s1", a, 0)
	if got := id("ACME", "s1", reordered, 0); got != base {
		t.Errorf("reordered record: id %s, want %s", got, base)
	}
	if got := id("ACME", "s1", "\n  "+a+"\n", 0); got != base {
		t.Errorf("padded record: id %s, want %s", got, base)
	}
	for name, other := range map[string]string{
		"content":    id("ACME", "s1", changed, 0),
		"set":        id("ACME", "s2", a, 0),
		"occurrence": id("ACME", "s1", a, 1),
		"tenant":     id("OTHER", "s1", a, 0),
	} {
		if other == base {
			t.Errorf("changing the %s keeps id %s", name, base)
		}
	}
}

// TestNormalizeNeedsEntry refuses records without their decoded entry, and
// records of another set than the stream's: the event id and the stream
// would name the wrong set. A record without set id is of the stream's set.
func TestNormalizeNeedsEntry(t *testing.T) {
	raw := []byte(`{"EventTime":"2024-11-25T05:37:33.3Z","Feature":"Policies"}`)
	norm := NewNormalizer(testTenant, testSet)
	if _, err := norm(pipeline.Record{Raw: raw}, observedAt); err == nil {
		t.Error("a record without its entry normalized")
	}
	other := DecodeEntry(raw)
	other.SetID = "another-set"
	if _, err := norm(other.Record(), observedAt); err == nil || !strings.Contains(err.Error(), "of set another-set in the stream of set "+testSet) {
		t.Errorf("a record of another set: error %v", err)
	}
	ev, err := norm(DecodeEntry(raw).Record(), observedAt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := norm(entryOf(raw, 0), observedAt)
	if err != nil || ev.Key() != want.Key() {
		t.Errorf("a record without set id: id %s, want that of set %s: %v", ev.Key(), testSet, err)
	}
}

// checkKept fails unless every member of the record behind ev is mapped to
// one of ev's fields or kept in its attributes (empty members may vanish).
func checkKept(t *testing.T, e *Entry, ev event.Event) {
	t.Helper()
	a := ev.(*event.AuditEvent)
	if a.Attributes[AttrSetID] != e.SetID {
		t.Fatalf("attribute %s = %q, want %q", AttrSetID, a.Attributes[AttrSetID], e.SetID)
	}
	for k, v := range e.Fields {
		attr := k
		if k == AttrSetID {
			attr = "record." + k
		}
		if _, ok := a.Attributes[attr]; ok {
			continue
		}
		au := e.Audit
		kept := false
		switch k {
		case fieldEventTime:
			kept = !a.EventTime.IsZero()
		case fieldFeature:
			kept = a.Action != nil || au.Feature == ""
		case fieldDescription:
			kept = a.Message != nil || au.Description == ""
		case fieldAdministrator:
			kept = a.Actor != nil && (a.Actor.Email != nil || a.Actor.UserName != nil) || strings.TrimSpace(au.Administrator) == ""
		case fieldRole:
			kept = len(au.Roles) == 0 || a.Actor != nil && slices.Equal(a.Actor.Roles, au.Roles)
		case fieldInternalSessionID:
			kept = au.InternalSessionID == "" || a.Actor != nil && a.Actor.SessionID != nil
		case fieldLoggedFrom:
			kept = a.SrcIP != nil
		}
		if !kept {
			t.Fatalf("member %s = %s is lost", k, v)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		feature, description string
		category             event.Category
		outcome              event.Outcome
	}{
		{"Login", "Logon to EPM management console", event.CategoryAuthentication, event.OutcomeSuccess},
		{"Login", "Logon failed: wrong password", event.CategoryAuthentication, event.OutcomeFailure},
		{"LOGOUT", "", event.CategoryAuthentication, event.OutcomeSuccess},
		{"SAML", "Sign in", event.CategoryAuthentication, event.OutcomeSuccess},
		{"Account Management", "Add user 'x'", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Roles", "Assign role", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Set Administrators", "Add administrator", event.CategoryAccountChange, event.OutcomeSuccess},
		{"User Provisioning", "", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Policies", "Update policy 'Block logon scripts'", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Agent Config", "Read", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"My Computers", "Delete computer", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Computer Groups", "Add computer to group", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Sets", "Enter Set Production", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"End-User UI", "Read End User UIs", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Public API", "API Get Admin audit data", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Public API", "API call denied", event.CategoryAPIActivity, event.OutcomeFailure},
		{"Reports", "(ReportController) GetReportTypes executed successfully.", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Threat Analysis", "", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Endpoint Agents", "", event.CategoryAPIActivity, event.OutcomeSuccess},
		{"Console", "User signed in with SAML", event.CategoryAuthentication, event.OutcomeSuccess},
		{"Console", "Reset password of user 'dave'", event.CategoryAccountChange, event.OutcomeSuccess},
		{"Teleportation", "Beamed up", event.CategoryUnknown, event.OutcomeUnknown},
		{"Teleportation", "Beam failed", event.CategoryUnknown, event.OutcomeFailure},
		{"", "", event.CategoryUnknown, event.OutcomeUnknown},
	}
	for _, tt := range tests {
		c, o := classify(tt.feature, tt.description)
		if c != tt.category || o != tt.outcome {
			t.Errorf("classify(%q, %q) = %s, %s; want %s, %s", tt.feature, tt.description, c, o, tt.category, tt.outcome)
		}
	}
}

func TestIsEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"alice@example.com":         true,
		"zoë.o'brien@example.com":   true,
		"svc-epm@corp.example.org":  true,
		"epmadmin":                  false,
		"CORP\\jdoe":                false,
		"alice@localhost":           false,
		"@example.com":              false,
		"a@b@example.com":           false,
		"alice@example..com":        false,
		"Alice <alice@example.com>": false,
		"alice @example.com":        false,
		"":                          false,
	} {
		if got := isEmail(s); got != want {
			t.Errorf("isEmail(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseIP(t *testing.T) {
	for in, want := range map[string]string{
		"81.2.69.192":                  "81.2.69.192",
		" 10.0.0.1 ":                   "10.0.0.1",
		"2001:DB8:85A3::8A2E:370:7334": "2001:db8:85a3::8a2e:370:7334",
		"::ffff:10.1.2.3":              "10.1.2.3",
		"fe80::1%eth0":                 "fe80::1",
		"10.0.0.1:8443":                "10.0.0.1",
		"[2a02:cf40::1]:443":           "2a02:cf40::1",
		"":                             "",
		"console":                      "",
		"999.1.1.1":                    "",
	} {
		got, ok := parseIP(in)
		if got != want || ok != (want != "") {
			t.Errorf("parseIP(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
