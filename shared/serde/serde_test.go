package serde_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/schemas"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/twmb/franz-go/pkg/sr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newClient(t testing.TB) *sr.Client {
	t.Helper()
	reg := testkit.NewRegistry(t)
	cl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return cl
}

var (
	eventTime    = time.Date(2024, 5, 1, 10, 15, 30, 123e6, time.UTC)
	observedTime = time.Date(2024, 5, 1, 10, 20, 0, 0, time.UTC)
	periodStart  = time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC)
	periodEnd    = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
)

func fullAudit() *event.AuditEvent {
	return &event.AuditEvent{
		EventID:      event.ID("plm", "acme", "plm.system-logs/item", "42"),
		Vendor:       "plm",
		Product:      "Windchill",
		Stream:       "plm.system-logs/item",
		TenantID:     "acme",
		EventTime:    eventTime,
		RawTime:      event.Ptr("2024-05-01T12:15:30.123+02:00"),
		ObservedTime: observedTime,
		Category:     event.CategoryAuthentication,
		ClassUID:     event.CategoryAuthentication.ClassUID(),
		Action:       event.Ptr("login"),
		Outcome:      event.OutcomeFailure,
		Actor: &event.Actor{
			UserID:    event.Ptr("u-1"),
			UserName:  event.Ptr("jdoe"),
			Email:     event.Ptr("jdoe@example.com"),
			Roles:     []string{"admin", "auditor"},
			SessionID: event.Ptr("s-9"),
		},
		SrcIP:      event.Ptr("2001:db8::1"),
		Target:     &event.Target{Type: event.Ptr("part"), ID: event.Ptr("p-7"), Name: event.Ptr("Bolt <M8> & nut")},
		Message:    event.Ptr("Login failed: bad password"),
		Attributes: map[string]string{"client": "web", "attempt": "3", "nested": `{"a":[1,2]}`},
		Raw:        event.Ptr(`{"id":42,"user":"jdoe"}`),
	}
}

func minimalAudit() *event.AuditEvent {
	return &event.AuditEvent{
		EventID:      event.ID("plm", "acme", "s", "1"),
		Vendor:       "plm",
		Product:      "Windchill",
		Stream:       "s",
		TenantID:     "acme",
		EventTime:    eventTime,
		ObservedTime: observedTime,
		Category:     event.CategoryUnknown,
		ClassUID:     0,
		Outcome:      event.OutcomeUnknown,
		Actor:        &event.Actor{Roles: []string{}}, // present, every field null, no roles
		Attributes:   map[string]string{},
	}
}

func fullUsage() *event.UsageEvent {
	return &event.UsageEvent{
		EventID:      event.ID("revenera", "acme", "revenera.usage/daily", "r1"),
		Vendor:       "revenera",
		Product:      "FlexNet",
		Stream:       "revenera.usage/daily",
		TenantID:     "acme",
		EventTime:    periodStart,
		RawTime:      event.Ptr("2024-04-30"),
		ObservedTime: observedTime,
		PeriodStart:  &periodStart,
		PeriodEnd:    &periodEnd,
		Metric:       "feature.checkouts",
		Value:        event.Ptr(12.5),
		Unit:         event.Ptr("hours"),
		User:         event.Ptr("jdoe"),
		Service:      event.Ptr("cad"),
		Folder:       event.Ptr("eng"),
		Dimensions:   map[string]string{"host": "ws-1", "version": "2024.1"},
		Raw:          event.Ptr(`{"f":"cad"}`),
	}
}

func minimalUsage() *event.UsageEvent {
	return &event.UsageEvent{
		EventID:      event.ID("revenera", "acme", "s", "2"),
		Vendor:       "revenera",
		Product:      "FlexNet",
		Stream:       "s",
		TenantID:     "acme",
		EventTime:    eventTime,
		ObservedTime: observedTime,
		Metric:       "m",
		Value:        new(float64), // a present zero is not null (event.Ptr(0.0) would be)
		Dimensions:   map[string]string{},
	}
}

func fullDeadLetter() *event.DeadLetter {
	return &event.DeadLetter{
		Vendor:       "plm",
		Stream:       "plm.system-logs/item",
		TenantID:     "acme",
		Topic:        "plm.audit",
		Stage:        event.StageNormalize,
		Reason:       `normalize: parse time "yesterday": bad format`,
		ObservedTime: observedTime,
		Cursor:       event.Ptr(`{"offset":100}`),
		Raw:          []byte{0x7b, 0x00, 0xff, 0x7d},
	}
}

func minimalDeadLetter() *event.DeadLetter {
	return &event.DeadLetter{
		Vendor:       "plm",
		Stream:       "s",
		TenantID:     "acme",
		Topic:        "plm.audit",
		Stage:        event.StageFetch,
		Reason:       "window truncated",
		ObservedTime: observedTime,
		Raw:          []byte{},
	}
}

// roundTrip is one value to encode, decode and compare.
type roundTrip struct {
	name   string
	topic  string
	schema string
	in     any
	out    func() any // a new pointer to decode into
}

func roundTrips() []roundTrip {
	audit := func() any { return new(event.AuditEvent) }
	usage := func() any { return new(event.UsageEvent) }
	dead := func() any { return new(event.DeadLetter) }
	return []roundTrip{
		{"audit_full", "plm.audit", schemas.AuditEvent, fullAudit(), audit},
		{"audit_minimal", "plm.audit", schemas.AuditEvent, minimalAudit(), audit},
		{"usage_full", "revenera.usage", schemas.UsageEvent, fullUsage(), usage},
		{"usage_minimal", "revenera.usage", schemas.UsageEvent, minimalUsage(), usage},
		{"deadletter_full", "pollers.deadletter", schemas.DeadLetter, fullDeadLetter(), dead},
		{"deadletter_minimal", "pollers.deadletter", schemas.DeadLetter, minimalDeadLetter(), dead},
	}
}

func TestRoundTrip(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	dec := serde.NewDecoder(cl)
	for _, tt := range roundTrips() {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := serde.Register(ctx, cl, tt.topic, tt.schema, tt.in)
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			b, err := enc.Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got := tt.out()
			id, err := dec.Decode(ctx, b, got)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if id != enc.SchemaID() {
				t.Errorf("Decode id = %d, want %d", id, enc.SchemaID())
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip changed the value\n got %+v\nwant %+v", got, tt.in)
			}

			// The value (not only the pointer) encodes. Map entries are
			// written in Go's random map order, so compare decoded values.
			byValue, err := enc.Encode(reflect.ValueOf(tt.in).Elem().Interface())
			if err != nil {
				t.Fatalf("Encode by value: %v", err)
			}
			got = tt.out()
			if _, err := dec.Decode(ctx, byValue, got); err != nil {
				t.Fatalf("Decode by value: %v", err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip by value changed the value\n got %+v\nwant %+v", got, tt.in)
			}
		})
	}
}

// TestRoundTripNilCollections: nil maps and slices encode as empty ones and
// decode back empty, not nil.
func TestRoundTripNilCollections(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	enc, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	in := minimalAudit()
	in.Attributes = nil
	in.Actor = &event.Actor{Roles: nil}
	b, err := enc.Encode(in)
	if err != nil {
		t.Fatalf("Encode with nil map and slice: %v", err)
	}
	var got event.AuditEvent
	if _, err := serde.NewDecoder(cl).Decode(ctx, b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Attributes) != 0 || got.Actor == nil || len(got.Actor.Roles) != 0 {
		t.Errorf("decoded attributes %v actor %+v, want empty", got.Attributes, got.Actor)
	}
}

func TestWireFormat(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	// Register something first so the audit schema does not get id 1 by luck.
	if _, err := serde.Register(ctx, cl, "pollers.deadletter", schemas.DeadLetter, &event.DeadLetter{}); err != nil {
		t.Fatal(err)
	}
	enc, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.LookupSchema(ctx, "plm.audit-value", sr.Schema{Schema: schemas.AuditEvent})
	if err != nil {
		t.Fatalf("LookupSchema: %v", err)
	}
	if got.ID != enc.SchemaID() || enc.SchemaID() < 2 {
		t.Fatalf("registry id %d, encoder id %d", got.ID, enc.SchemaID())
	}
	if enc.Subject() != "plm.audit-value" {
		t.Errorf("Subject() = %s", enc.Subject())
	}

	// One attribute: map entries are written in Go's random map order.
	ev := fullAudit()
	ev.Attributes = map[string]string{"client": "web"}
	prefix := []byte("keep")
	b, err := enc.AppendEncode(prefix, ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("keep")) {
		t.Fatalf("AppendEncode lost the prefix")
	}
	wire := b[len(prefix):]
	if wire[0] != 0 {
		t.Errorf("magic byte = %d, want 0", wire[0])
	}
	if id := binary.BigEndian.Uint32(wire[1:5]); int(id) != got.ID {
		t.Errorf("header id = %d, want %d", id, got.ID)
	}
	body, err := enc.Schema().Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire[5:], body) {
		t.Errorf("body after the header is not the plain Avro encoding")
	}
}

func TestRegisterIdempotent(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	a, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := serde.Register(ctx, cl, "epm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if a.SchemaID() != b.SchemaID() || a.SchemaID() != c.SchemaID() {
		t.Errorf("ids %d, %d, %d; want one id", a.SchemaID(), b.SchemaID(), c.SchemaID())
	}
	vs, err := cl.SubjectVersions(ctx, "plm.audit-value")
	if err != nil || len(vs) != 1 {
		t.Errorf("plm.audit-value versions = %v, %v; want [1]", vs, err)
	}
}

func TestRegisterErrors(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	if _, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	// A new required field breaks BACKWARD, the registry's default.
	breaking := strings.Replace(schemas.AuditEvent, `"fields": [`, `"fields": [{"name": "severity", "type": "string"},`, 1)

	tests := []struct {
		name   string
		topic  string
		schema string
		is     error
		want   []string
	}{
		{"incompatible", "plm.audit", breaking, serde.ErrIncompatible, []string{`"plm.audit-value"`, "severity", "409"}},
		{"not json", "x", `{"type":`, serde.ErrInvalidSchema, []string{`"x-value"`}},
		{"unknown type", "x", `{"type":"record","name":"R","fields":[{"name":"a","type":"strnig"}]}`, serde.ErrInvalidSchema, []string{`"x-value"`, "strnig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := serde.Register(ctx, cl, tt.topic, tt.schema, &event.AuditEvent{})
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, nil); err == nil {
		t.Errorf("Register with a nil example succeeded")
	}
}

// TestRegisterRetries puts a proxy in front of the registry that fails the
// first requests, and checks which failures Register retries.
func TestRegisterRetries(t *testing.T) {
	reg := testkit.NewRegistry(t)
	target, _ := url.Parse(reg.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)

	tests := []struct {
		name     string
		status   int
		failures int32
		wantErr  bool
		wantHits int32
	}{
		{"503 is retried", http.StatusServiceUnavailable, 2, false, 3},
		{"429 is retried", http.StatusTooManyRequests, 1, false, 2},
		{"401 is not retried", http.StatusUnauthorized, 1, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) <= tt.failures {
					w.WriteHeader(tt.status)
					fmt.Fprintf(w, `{"error_code":%d,"message":"injected"}`, tt.status)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer srv.Close()
			cl, err := serde.NewClient(serde.Options{URL: srv.URL, Username: "svc", Password: "s3cret"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = serde.Register(context.Background(), cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %v", err)
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("registry saw %d requests, want %d", got, tt.wantHits)
			}
		})
	}

	t.Run("unreachable registry gives up with the context", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := srv.URL
		srv.Close()
		cl, err := serde.NewClient(serde.Options{URL: addr})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
		if err == nil || !strings.Contains(err.Error(), `"plm.audit-value"`) {
			t.Fatalf("err = %v, want a failure naming the subject", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Register kept trying for %v after its context ended", d)
		}
	})
}

func TestNewClient(t *testing.T) {
	var gotUser, gotPass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		fmt.Fprint(w, `["a-value"]`)
	}))
	defer srv.Close()

	tests := []struct {
		name    string
		opts    serde.Options
		wantErr string // "" = no error
	}{
		{"empty", serde.Options{}, "empty"},
		{"only commas", serde.Options{URL: " , "}, "empty"},
		{"credentials in url", serde.Options{URL: "http://u:hunter2@localhost:8081"}, "carries credentials"},
		{"bad url", serde.Options{URL: "http://[::1"}, "does not parse"},
		{"one", serde.Options{URL: srv.URL, Username: "svc", Password: "pw"}, ""},
		{"failover list", serde.Options{URL: "http://127.0.0.1:1, " + srv.URL, Username: "svc", Password: "pw", HTTPClient: &http.Client{Timeout: time.Second}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotUser, gotPass = "", ""
			cl, err := serde.NewClient(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			subjects, err := cl.Subjects(context.Background())
			if err != nil || len(subjects) != 1 {
				t.Fatalf("Subjects = %v, %v", subjects, err)
			}
			if gotUser != "svc" || gotPass != "pw" {
				t.Errorf("basic auth %q/%q, want svc/pw", gotUser, gotPass)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	cl := newClient(t)
	enc, err := serde.Register(context.Background(), cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = enc.Encode(fullUsage())
	if err == nil || !strings.Contains(err.Error(), "plm.audit-value") || !strings.Contains(err.Error(), "*event.UsageEvent") {
		t.Errorf("encoding the wrong type: %v", err)
	}
	for _, v := range []any{nil, (*event.AuditEvent)(nil)} {
		if _, err := enc.Encode(v); err == nil || !strings.Contains(err.Error(), "plm.audit-value") {
			t.Errorf("encoding %#v: %v", v, err)
		}
	}
	bad := fullAudit()
	bad.Category = "NOT_A_CATEGORY"
	dst := []byte("prefix")
	out, err := enc.AppendEncode(dst, bad)
	if err == nil || !strings.Contains(err.Error(), "plm.audit-value") {
		t.Errorf("encoding an unknown enum symbol: %v", err)
	}
	if string(out) != "prefix" {
		t.Errorf("a failed AppendEncode returned %q, want dst unchanged", out)
	}
}

func TestDecodeErrors(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	enc, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := enc.Encode(fullAudit())
	if err != nil {
		t.Fatal(err)
	}
	unknownID := append([]byte{0, 0, 0, 0x30, 0x39}, good[5:]...)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "decode value"},
		{"short header", []byte{0, 0, 0}, "decode value"},
		{"wrong magic", append([]byte{1}, good[1:]...), "decode value"},
		{"unknown id", unknownID, "schema id 12345"},
		{"truncated body", good[:len(good)-3], fmt.Sprintf("schema id %d", enc.SchemaID())},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2), "2 bytes left"},
	}
	dec := serde.NewDecoder(cl)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out event.AuditEvent
			_, err := dec.Decode(ctx, tt.b, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode err = %v, want %q", err, tt.want)
			}
			_, err = dec.DecodeToJSON(ctx, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeToJSON err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeToMap(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	enc, err := serde.Register(ctx, cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.Encode(fullAudit())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if _, err := serde.NewDecoder(cl).Decode(ctx, b, &m); err != nil {
		t.Fatal(err)
	}
	if m["category"] != "AUTHENTICATION" || m["raw_time"] != "2024-05-01T12:15:30.123+02:00" {
		t.Errorf("category %v raw_time %v", m["category"], m["raw_time"])
	}
	if et, ok := m["event_time"].(time.Time); !ok || !et.Equal(eventTime) {
		t.Errorf("event_time = %#v, want %v", m["event_time"], eventTime)
	}
	actor, ok := m["actor"].(map[string]any)
	if !ok || actor["user_name"] != "jdoe" {
		t.Errorf("actor = %#v", m["actor"])
	}
}

// TestDecodeToJSON compares the human JSON of each event against
// testdata/<name>.json; -update rewrites them.
func TestDecodeToJSON(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	dec := serde.NewDecoder(cl)
	for _, tt := range roundTrips() {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := serde.Register(ctx, cl, tt.topic, tt.schema, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			b, err := enc.Encode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.DecodeToJSON(ctx, b)
			if err != nil {
				t.Fatalf("DecodeToJSON: %v", err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("DecodeToJSON differs from %s\n got %s\nwant %s", path, got, want)
			}
		})
	}
}

// BenchmarkEncodeAudit encodes one typical audit event: six attributes and a
// 400-byte raw record.
func BenchmarkEncodeAudit(b *testing.B) {
	cl := newClient(b)
	enc, err := serde.Register(context.Background(), cl, "plm.audit", schemas.AuditEvent, &event.AuditEvent{})
	if err != nil {
		b.Fatal(err)
	}
	ev := fullAudit()
	ev.Attributes = map[string]string{
		"client": "web", "attempt": "3", "object_type": "wt.part.WTPart",
		"container": "Product-A", "org": "Engineering", "reason": "user requested",
	}
	ev.Raw = event.Ptr(`{"raw":"` + strings.Repeat("x", 390) + `"}`)
	if len(*ev.Raw) != 400 {
		b.Fatalf("raw is %d bytes", len(*ev.Raw))
	}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if buf, err = enc.AppendEncode(buf[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// TestDecoderConcurrent decodes values of three schemas from many goroutines
// with one Decoder, whose cache starts empty.
func TestDecoderConcurrent(t *testing.T) {
	cl := newClient(t)
	ctx := context.Background()
	var wire [][]byte
	for _, tt := range roundTrips() {
		enc, err := serde.Register(ctx, cl, tt.topic, tt.schema, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := enc.Encode(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		wire = append(wire, b)
	}
	dec := serde.NewDecoder(cl)
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(wire))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range wire {
				if _, err := dec.DecodeToJSON(ctx, b); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
