package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// record returns an Avro record schema named R with the given fields (JSON
// field objects).
func record(fields ...string) sr.Schema {
	return sr.Schema{Schema: `{"type":"record","name":"R","namespace":"io.test","fields":[` + strings.Join(fields, ",") + `]}`}
}

const (
	fieldA       = `{"name":"a","type":"string"}`
	fieldAInt    = `{"name":"a","type":"int"}`
	fieldALong   = `{"name":"a","type":"long"}`
	fieldB       = `{"name":"b","type":"string"}`
	fieldBDef    = `{"name":"b","type":"string","default":""}`
	fieldAIntDef = `{"name":"a","type":"int","default":0}`
)

func newClient(t *testing.T, r *Registry) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(r.URL()))
	if err != nil {
		t.Fatalf("sr.NewClient: %v", err)
	}
	return cl
}

// responseError asserts err is a registry answer with the given status and
// error code, and returns its message.
func responseError(t *testing.T, err error, status, code int) string {
	t.Helper()
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *sr.ResponseError %d/%d", err, err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("answer %d error_code %d (%s), want %d/%d", re.StatusCode, re.ErrorCode, re.Message, status, code)
	}
	return re.Message
}

func TestRegistryRegister(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()

	first, err := cl.CreateSchema(ctx, "t-value", record(fieldA))
	if err != nil {
		t.Fatalf("CreateSchema: %v", err)
	}
	if first.ID <= 0 || first.Version != 1 || first.Subject != "t-value" {
		t.Fatalf("CreateSchema = %+v, want a positive id, version 1", first)
	}

	// The same schema, differently formatted, is the same registration.
	again, err := cl.CreateSchema(ctx, "t-value", sr.Schema{Schema: "{\n  \"type\": \"record\", \"name\": \"R\", \"namespace\": \"io.test\",\n  \"fields\": [" + fieldA + "]\n}"})
	if err != nil {
		t.Fatalf("CreateSchema again: %v", err)
	}
	if again.ID != first.ID || again.Version != 1 {
		t.Errorf("re-registration = id %d version %d, want id %d version 1", again.ID, again.Version, first.ID)
	}

	// The same schema under another subject shares the id.
	other, err := cl.CreateSchema(ctx, "u-value", record(fieldA))
	if err != nil {
		t.Fatalf("CreateSchema u-value: %v", err)
	}
	if other.ID != first.ID {
		t.Errorf("same schema under another subject: id %d, want %d", other.ID, first.ID)
	}

	text, err := cl.SchemaTextByID(ctx, first.ID)
	if err != nil {
		t.Fatalf("SchemaTextByID: %v", err)
	}
	// Confluent answers the schema itself here, not a JSON string.
	if text != record(fieldA).Schema {
		t.Errorf("SchemaTextByID = %s, want %s", text, record(fieldA).Schema)
	}
	text, err = cl.SchemaTextByVersion(ctx, "t-value", 1)
	if err != nil {
		t.Fatalf("SchemaTextByVersion: %v", err)
	}
	if text != record(fieldA).Schema {
		t.Errorf("SchemaTextByVersion = %s, want %s", text, record(fieldA).Schema)
	}
}

func TestRegistryRejectsInvalidSchema(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	tests := []struct {
		name   string
		schema string
		want   string // in the message
	}{
		{"not json", `{"type":`, "Invalid schema"},
		{"unknown type", `{"type":"record","name":"R","fields":[{"name":"a","type":"strnig"}]}`, "strnig"},
		{"default of the wrong type", `{"type":"record","name":"R","fields":[{"name":"a","type":"string","default":1}]}`, "Invalid schema"},
		{"enum default not a symbol", `{"type":"enum","name":"E","symbols":["A"],"default":"B"}`, "Invalid schema"},
		{"record without fields key", `{"type":"record","name":"R"}`, "Invalid schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cl.CreateSchema(ctx, "bad-value", sr.Schema{Schema: tt.schema})
			msg := responseError(t, err, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
			_, err = cl.CheckCompatibility(ctx, "bad-value", -2, sr.Schema{Schema: tt.schema})
			responseError(t, err, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code)
		})
	}
	if _, err := cl.SubjectVersions(ctx, "bad-value"); err == nil {
		t.Errorf("an invalid schema created the subject")
	}
}

// TestRegistryLevels registers an old then a new schema under each level and
// checks the registry accepts or rejects the new one as Confluent would, and
// that the compatibility endpoint agrees beforehand.
func TestRegistryLevels(t *testing.T) {
	type change struct {
		name     string
		old, new sr.Schema
		backward bool // the new schema reads old data
		forward  bool // the old schema reads new data
	}
	changes := []change{
		{"add field with default", record(fieldA), record(fieldA, fieldBDef), true, true},
		{"add field without default", record(fieldA), record(fieldA, fieldB), false, true},
		{"remove field without default", record(fieldA, fieldB), record(fieldA), true, false},
		{"remove field with default", record(fieldA, fieldBDef), record(fieldA), true, true},
		{"change type", record(fieldA), record(fieldAInt), false, false},
		{"widen int to long", record(fieldAInt), record(fieldALong), true, false},
		{"make optional", record(fieldA), record(`{"name":"a","type":["null","string"],"default":null}`), true, false},
		{"add enum symbol, reader default", sr.Schema{Schema: `{"type":"enum","name":"E","symbols":["U","A"],"default":"U"}`},
			sr.Schema{Schema: `{"type":"enum","name":"E","symbols":["U","A","B"],"default":"U"}`}, true, true},
		{"add enum symbol, no default", sr.Schema{Schema: `{"type":"enum","name":"E","symbols":["A"]}`},
			sr.Schema{Schema: `{"type":"enum","name":"E","symbols":["A","B"]}`}, true, false},
	}
	levels := []sr.CompatibilityLevel{
		sr.CompatBackward, sr.CompatBackwardTransitive, sr.CompatForward, sr.CompatForwardTransitive,
		sr.CompatFull, sr.CompatFullTransitive, sr.CompatNone,
	}
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	for _, level := range levels {
		for _, c := range changes {
			t.Run(level.String()+"/"+c.name, func(t *testing.T) {
				subject := strings.ReplaceAll(level.String()+"-"+c.name, " ", "-")
				lv := compatLevel{level}
				want := level == sr.CompatNone ||
					((!lv.backward() || c.backward) && (!lv.forward() || c.forward))

				if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: level}, subject); res[0].Err != nil {
					t.Fatalf("SetCompatibility: %v", res[0].Err)
				}
				if _, err := cl.CreateSchema(ctx, subject, c.old); err != nil {
					t.Fatalf("register old: %v", err)
				}

				for _, version := range []int{-1, 1, -2} {
					res, err := cl.CheckCompatibility(ctx, subject, version, c.new)
					if err != nil {
						t.Fatalf("CheckCompatibility(version %d): %v", version, err)
					}
					if res.Is != want {
						t.Errorf("CheckCompatibility(version %d) = %v %q, want %v", version, res.Is, res.Messages, want)
					}
					if res.Is != (len(res.Messages) == 0) {
						t.Errorf("CheckCompatibility(version %d): is_compatible %v with messages %q", version, res.Is, res.Messages)
					}
				}

				ss, err := cl.CreateSchema(ctx, subject, c.new)
				if want {
					if err != nil {
						t.Fatalf("register new: %v", err)
					}
					if ss.Version != 2 {
						t.Errorf("new version = %d, want 2", ss.Version)
					}
					return
				}
				msg := responseError(t, err, http.StatusConflict, 409)
				if !strings.Contains(msg, subject) {
					t.Errorf("409 message %q does not name the subject", msg)
				}
				if vs, _ := cl.SubjectVersions(ctx, subject); len(vs) != 1 {
					t.Errorf("after a rejected registration the subject has versions %v, want [1]", vs)
				}
			})
		}
	}
}

func TestRegistryIncompatibleMessageNamesField(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	if _, err := cl.CreateSchema(ctx, "m-value", record(fieldA)); err != nil {
		t.Fatal(err)
	}
	_, err := cl.CreateSchema(ctx, "m-value", record(fieldA, `{"name":"tenant_id","type":"string"}`))
	msg := responseError(t, err, http.StatusConflict, 409)
	for _, want := range []string{`"m-value"`, "tenant_id", "BACKWARD", "version 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	res, err := cl.CheckCompatibility(ctx, "m-value", -1, record(fieldA, `{"name":"tenant_id","type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Is || len(res.Messages) != 1 || !strings.Contains(res.Messages[0], "tenant_id") {
		t.Errorf("CheckCompatibility = %+v, want incompatible naming tenant_id", res)
	}
}

// TestRegistryTransitive registers v1 {a string default ""}, v2 {} and then
// v3 {a int default 0}: v3 and v2 read each other's data, v3 and v1 do not,
// so BACKWARD and FULL accept v3 and their transitive forms do not.
func TestRegistryTransitive(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	v3 := record(fieldAIntDef)
	tests := []struct {
		level sr.CompatibilityLevel
		want  bool
	}{
		{sr.CompatBackward, true},
		{sr.CompatBackwardTransitive, false},
		{sr.CompatFull, true},
		{sr.CompatFullTransitive, false},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			subject := "transitive-" + tt.level.String()
			if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: tt.level}, subject); res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			for _, s := range []sr.Schema{record(`{"name":"a","type":"string","default":""}`), record()} {
				if _, err := cl.CreateSchema(ctx, subject, s); err != nil {
					t.Fatalf("register: %v", err)
				}
			}
			// Against all versions the level checks on registration.
			res, err := cl.CheckCompatibility(ctx, subject, -2, v3)
			if err != nil {
				t.Fatal(err)
			}
			if res.Is != tt.want {
				t.Errorf("CheckCompatibility(all) = %+v, want %v", res, tt.want)
			}
			// Against version 1 alone it is never compatible; against the latest always.
			if res, _ := cl.CheckCompatibility(ctx, subject, 1, v3); res.Is {
				t.Errorf("CheckCompatibility(version 1) = compatible")
			}
			if res, _ := cl.CheckCompatibility(ctx, subject, -1, v3); !res.Is {
				t.Errorf("CheckCompatibility(latest) = %+v, want compatible", res)
			}
			_, err = cl.CreateSchema(ctx, subject, v3)
			if tt.want && err != nil {
				t.Errorf("register v3: %v", err)
			}
			if !tt.want {
				msg := responseError(t, err, http.StatusConflict, 409)
				if !strings.Contains(msg, "version 1") {
					t.Errorf("message %q does not name version 1", msg)
				}
			}
		})
	}
}

func TestRegistryGlobalAndSubjectConfig(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()

	global := cl.Compatibility(ctx)
	if global[0].Err != nil || global[0].Level != sr.CompatBackward {
		t.Fatalf("global level = %v (%v), want BACKWARD", global[0].Level, global[0].Err)
	}

	// A global NONE lets anything through...
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	for _, s := range []sr.Schema{record(fieldA), record(fieldAInt)} {
		if _, err := cl.CreateSchema(ctx, "g-value", s); err != nil {
			t.Fatalf("under global NONE: %v", err)
		}
	}
	// ...unless the subject says otherwise.
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "g-value"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	_, err := cl.CreateSchema(ctx, "g-value", record(fieldA, fieldB))
	msg := responseError(t, err, http.StatusConflict, 409)
	if !strings.Contains(msg, "FULL") {
		t.Errorf("message %q does not name the level", msg)
	}
	// Resetting the subject falls back to the global level.
	if res := cl.ResetCompatibility(ctx, "g-value"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, err := cl.CreateSchema(ctx, "g-value", record(fieldA, fieldB)); err != nil {
		t.Errorf("after reset, under global NONE: %v", err)
	}
}

func TestRegistryCompatibilityNotFound(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()

	_, err := cl.CheckCompatibility(ctx, "missing-value", -1, record(fieldA))
	responseError(t, err, http.StatusNotFound, sr.ErrSubjectNotFound.Code)

	// Against "every version" of a subject that has none: compatible.
	res, err := cl.CheckCompatibility(ctx, "missing-value", -2, record(fieldA))
	if err != nil || !res.Is {
		t.Errorf("CheckCompatibility(all) of a new subject = %+v, %v; want compatible", res, err)
	}

	if _, err := cl.CreateSchema(ctx, "present-value", record(fieldA)); err != nil {
		t.Fatal(err)
	}
	_, err = cl.CheckCompatibility(ctx, "present-value", 7, record(fieldA))
	responseError(t, err, http.StatusNotFound, sr.ErrVersionNotFound.Code)
}

func TestRegistryReferences(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	if _, err := cl.CreateSchema(ctx, "actor", sr.Schema{Schema: `{"type":"record","name":"Actor","namespace":"io.test","fields":[{"name":"id","type":"string"}]}`}); err != nil {
		t.Fatal(err)
	}
	ref := []sr.SchemaReference{{Name: "io.test.Actor", Subject: "actor", Version: 1}}
	ev := sr.Schema{Schema: `{"type":"record","name":"Ev","namespace":"io.test","fields":[{"name":"actor","type":"io.test.Actor"}]}`, References: ref}
	if _, err := cl.CreateSchema(ctx, "ev-value", ev); err != nil {
		t.Fatalf("register with a reference: %v", err)
	}
	bad := sr.Schema{Schema: `{"type":"record","name":"Ev","namespace":"io.test","fields":[{"name":"actor","type":"io.test.Actor"}, {"name":"x","type":"int"}]}`, References: ref}
	_, err := cl.CreateSchema(ctx, "ev-value", bad)
	responseError(t, err, http.StatusConflict, 409)
	_, err = cl.CreateSchema(ctx, "ev2-value", sr.Schema{Schema: ev.Schema})
	responseError(t, err, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code)
}

// TestRegistryConcurrentRegistration registers, from many goroutines at once,
// schemas that are each compatible with v1 but not with one another: exactly
// one may win.
func TestRegistryConcurrentRegistration(t *testing.T) {
	r := NewRegistry(t)
	cl := newClient(t, r)
	ctx := context.Background()
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "race-value"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, err := cl.CreateSchema(ctx, "race-value", record(fieldA)); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each adds field b with a different type: FULL with v1, not with each other.
			types := []string{"int", "long", "float", "double", "boolean", "bytes", `{"type":"array","items":"int"}`, `{"type":"map","values":"int"}`}
			_, errs[i] = cl.CreateSchema(ctx, "race-value", record(fieldA, fmt.Sprintf(`{"name":"b","type":%s,"default":%s}`, quoteType(types[i]), defaultFor(types[i]))))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent incompatible registrations succeeded, want 1: %v", won, errs)
	}
}

func quoteType(t string) string {
	if strings.HasPrefix(t, "{") {
		return t
	}
	return `"` + t + `"`
}

func defaultFor(t string) string {
	switch {
	case t == "boolean":
		return "false"
	case t == "bytes":
		return `""`
	case strings.Contains(t, "array"):
		return "[]"
	case strings.Contains(t, "map"):
		return "{}"
	default:
		return "0"
	}
}

func TestStartRegistryFixedAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	r, err := StartRegistry(RegistryOptions{Addr: addr})
	if err != nil {
		t.Fatalf("StartRegistry: %v", err)
	}
	if r.URL() != "http://"+addr {
		t.Errorf("URL() = %s, want http://%s", r.URL(), addr)
	}
	if _, err := StartRegistry(RegistryOptions{Addr: addr}); err == nil {
		t.Errorf("second registry on %s started; want an address-in-use error", addr)
	}
	cl := newClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.Subjects(ctx); err != nil {
		t.Fatalf("Subjects: %v", err)
	}
	r.Close()
	if _, err := cl.Subjects(ctx); err == nil {
		t.Errorf("Subjects after Close succeeded")
	}
}
