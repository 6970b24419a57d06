package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8081". Default
	// "": a random free port on 127.0.0.1.
	Addr string
}

// Registry is an in-memory Confluent-compatible Schema Registry served over
// HTTP. It is franz-go's srfake with the checks srfake leaves out, answering
// as Confluent's registry does:
//
//   - registering an Avro schema that does not parse answers 422, error code
//     42201;
//   - registering a schema incompatible with the subject's existing versions
//     under its compatibility level answers 409, error code 409;
//   - POST /compatibility/subjects/{subject}/versions[/{version|latest}]
//     answers {"is_compatible": bool, "messages": [...]} truthfully.
//
// The default global level is BACKWARD. Every level is honoured (BACKWARD,
// FORWARD and FULL, each optionally _TRANSITIVE, and NONE), set globally with
// PUT /config or per subject with PUT /config/{subject}. Only Avro schemas are
// checked; JSON and Protobuf schemas pass through unchecked, as do requests
// under /contexts/.
type Registry struct {
	fake *srfake.Registry
	srv  *http.Server
	url  string
	done chan struct{} // closed when the serve goroutine returns

	// mu serializes the check-then-register of POST /subjects/{s}/versions
	// so that two concurrent registrations cannot both pass a check against
	// a version the other is about to add.
	mu sync.Mutex
}

// StartRegistry starts a registry listening on opts.Addr. Close it when done.
func StartRegistry(opts RegistryOptions) (*Registry, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start schema registry on %s: %w", addr, err)
	}
	r := &Registry{
		fake: srfake.NewRegistry(srfake.WithGlobalCompat(sr.CompatBackward)),
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	r.srv = &http.Server{
		Handler:           r.handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(r.done)
		// Serve returns http.ErrServerClosed after Close; nothing to report.
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// NewRegistry starts a registry on a random port for the test and closes it
// when the test ends. It fails the test if the registry cannot start.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := StartRegistry(RegistryOptions{})
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// URL returns the registry's base URL, "http://127.0.0.1:port".
func (r *Registry) URL() string { return r.url }

// Close stops the server, closes its connections and waits for it to stop.
func (r *Registry) Close() {
	// Close (not Shutdown): tests end with clients possibly idle-connected.
	_ = r.srv.Close()
	<-r.done
}

// handler routes the registering and compatibility calls through the checks
// and everything else straight to srfake.
func (r *Registry) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subjects/{subject}/versions", r.handleRegister)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions/{version}", r.handleCompatibility)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions", r.handleCompatibility)
	mux.HandleFunc("GET /schemas/ids/{id}/schema", r.handleRawSchema)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/schema", r.handleRawSchema)
	mux.Handle("/", r.fake.Handler())
	return mux
}

// maxSchemaBody bounds a request body, as srfake does.
const maxSchemaBody = 1 << 20

// incompatibleCode is Confluent's error code for an incompatible schema; it
// equals the HTTP status.
const incompatibleCode = 409

// handleRegister implements POST /subjects/{subject}/versions.
func (r *Registry) handleRegister(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	body, s, ok := readSchemaRequest(w, req)
	if !ok {
		return
	}
	// srfake reads the body again, whatever we decide below.
	req.Body = io.NopCloser(bytes.NewReader(body))
	if s.Type != sr.TypeAvro {
		r.fake.Handler().ServeHTTP(w, req)
		return
	}
	candidate, err := r.parse(s)
	if err != nil {
		writeRegistryError(w, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code,
			fmt.Sprintf("Invalid schema %s: %v", truncate(s.Schema), err))
		return
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	// Registering a schema the subject already has returns its id, whatever
	// the level says (Confluent does the same).
	if !r.registered(subject, body) {
		level := r.level(subject)
		versions := r.versions(subject)
		if !level.transitive() && len(versions) > 0 {
			versions = versions[len(versions)-1:]
		}
		msgs, err := r.check(subject, candidate, level, versions)
		if err != nil {
			writeRegistryError(w, http.StatusInternalServerError, sr.ErrStoreError.Code, err.Error())
			return
		}
		if len(msgs) > 0 {
			writeRegistryError(w, http.StatusConflict, incompatibleCode,
				fmt.Sprintf("Schema being registered is incompatible with an earlier schema for subject %q, details: [%s]",
					subject, strings.Join(msgs, "; ")))
			return
		}
	}
	r.fake.Handler().ServeHTTP(w, req)
}

// handleCompatibility implements POST
// /compatibility/subjects/{subject}/versions/{version} (one version, or
// "latest") and /compatibility/subjects/{subject}/versions (the versions the
// subject's level checks on registration).
func (r *Registry) handleCompatibility(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	versionParam := req.PathValue("version")
	_, s, ok := readSchemaRequest(w, req)
	if !ok {
		return
	}
	if s.Type != sr.TypeAvro {
		writeJSON(w, http.StatusOK, compatibilityResponse{Is: true, Messages: []string{}})
		return
	}
	candidate, err := r.parse(s)
	if err != nil {
		writeRegistryError(w, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code,
			fmt.Sprintf("Invalid schema %s: %v", truncate(s.Schema), err))
		return
	}

	level := r.level(subject)
	versions := r.versions(subject)
	switch versionParam {
	case "":
		if !level.transitive() && len(versions) > 0 {
			versions = versions[len(versions)-1:]
		}
	case "latest":
		if len(versions) == 0 {
			writeRegistryError(w, http.StatusNotFound, sr.ErrSubjectNotFound.Code,
				fmt.Sprintf("Subject '%s' not found.", subject))
			return
		}
		versions = versions[len(versions)-1:]
	default:
		v, err := strconv.Atoi(versionParam)
		if err != nil || v <= 0 {
			writeRegistryError(w, http.StatusUnprocessableEntity, sr.ErrInvalidVersion.Code,
				fmt.Sprintf("The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", versionParam))
			return
		}
		if len(versions) == 0 {
			writeRegistryError(w, http.StatusNotFound, sr.ErrSubjectNotFound.Code,
				fmt.Sprintf("Subject '%s' not found.", subject))
			return
		}
		if !slices.Contains(versions, v) {
			writeRegistryError(w, http.StatusNotFound, sr.ErrVersionNotFound.Code,
				fmt.Sprintf("Version %d not found.", v))
			return
		}
		versions = []int{v}
	}

	msgs, err := r.check(subject, candidate, level, versions)
	if err != nil {
		writeRegistryError(w, http.StatusInternalServerError, sr.ErrStoreError.Code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, compatibilityResponse{Is: len(msgs) == 0, Messages: msgs})
}

// handleRawSchema implements GET /schemas/ids/{id}/schema and GET
// /subjects/{subject}/versions/{version}/schema. Confluent answers the schema
// text itself; srfake answers a JSON string for the first and a
// {"schema": ...} object for the second, which we unwrap.
func (r *Registry) handleRawSchema(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.fake.Handler().ServeHTTP(rec, req)
	text, ok := rawSchemaText(rec.Body.Bytes())
	if rec.Code != http.StatusOK || !ok {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
}

// rawSchemaText extracts the schema text from srfake's raw-schema answers.
func rawSchemaText(body []byte) (string, bool) {
	var text string
	if json.Unmarshal(body, &text) == nil {
		return text, true
	}
	var obj struct {
		Schema *string `json:"schema"`
	}
	if json.Unmarshal(body, &obj) == nil && obj.Schema != nil {
		return *obj.Schema, true
	}
	return "", false
}

// compatibilityResponse is the body of a compatibility answer.
type compatibilityResponse struct {
	Is       bool     `json:"is_compatible"`
	Messages []string `json:"messages"`
}

// check checks candidate against each of the subject's versions in the
// directions level asks for, and returns one message per failure.
func (r *Registry) check(subject string, candidate *avro.Schema, level compatLevel, versions []int) ([]string, error) {
	msgs := []string{}
	if level.level == sr.CompatNone {
		return msgs, nil
	}
	for _, v := range versions {
		ss, ok := r.fake.GetSchema(subject, v)
		if !ok {
			return nil, fmt.Errorf("subject %q version %d vanished during the check", subject, v)
		}
		existing, err := r.parse(ss.Schema)
		if err != nil {
			return nil, fmt.Errorf("parse subject %q version %d: %w", subject, v, err)
		}
		if level.backward() {
			// The new schema must read data written with the old one.
			if err := avro.CheckCompatibility(existing, candidate); err != nil {
				msgs = append(msgs, fmt.Sprintf("version %d, %s, new schema cannot read old data: %s", v, level.level, compatDetail(err)))
			}
		}
		if level.forward() {
			// The old schema must read data written with the new one.
			if err := avro.CheckCompatibility(candidate, existing); err != nil {
				msgs = append(msgs, fmt.Sprintf("version %d, %s, old schema cannot read new data: %s", v, level.level, compatDetail(err)))
			}
		}
	}
	return msgs, nil
}

// compatDetail renders a compatibility error naming the field path.
func compatDetail(err error) string {
	var ce *avro.CompatibilityError
	if errors.As(err, &ce) {
		s := fmt.Sprintf("field %s: %s", ce.Path, ce.Detail)
		if ce.ReaderType != "" || ce.WriterType != "" {
			s += fmt.Sprintf(" (reader %s, writer %s)", orNone(ce.ReaderType), orNone(ce.WriterType))
		}
		return s
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// parse compiles an Avro schema, first resolving its references (recursively)
// from the registry's own subjects, as Confluent does.
func (r *Registry) parse(s sr.Schema) (*avro.Schema, error) {
	var cache avro.SchemaCache
	if err := r.parseReferences(&cache, s.References, 0); err != nil {
		return nil, err
	}
	return cache.Parse(s.Schema)
}

// maxReferenceDepth bounds reference resolution; srfake rejects cycles at
// registration, this only guards the recursion.
const maxReferenceDepth = 32

func (r *Registry) parseReferences(cache *avro.SchemaCache, refs []sr.SchemaReference, depth int) error {
	if depth > maxReferenceDepth {
		return fmt.Errorf("schema references nest deeper than %d", maxReferenceDepth)
	}
	for _, ref := range refs {
		ss, ok := r.fake.GetSchema(ref.Subject, ref.Version)
		if !ok {
			return fmt.Errorf("reference %q: subject %q version %d not found", ref.Name, ref.Subject, ref.Version)
		}
		if err := r.parseReferences(cache, ss.References, depth+1); err != nil {
			return err
		}
		if _, err := cache.Parse(ss.Schema.Schema); err != nil {
			return fmt.Errorf("reference %q (subject %q version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
	}
	return nil
}

// registered reports whether the subject already holds the schema in body
// (srfake's lookup, POST /subjects/{subject}).
func (r *Registry) registered(subject string, body []byte) bool {
	rec := r.call(http.MethodPost, "/subjects/"+url.PathEscape(subject), body)
	return rec.Code == http.StatusOK
}

// versions returns the subject's live versions in ascending order; none when
// the subject does not exist.
func (r *Registry) versions(subject string) []int {
	rec := r.call(http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions", nil)
	if rec.Code != http.StatusOK {
		return nil
	}
	var vs []int
	if err := json.Unmarshal(rec.Body.Bytes(), &vs); err != nil {
		return nil
	}
	return vs
}

// level returns the subject's compatibility level, or the global one.
func (r *Registry) level(subject string) compatLevel {
	rec := r.call(http.MethodGet, "/config/"+url.PathEscape(subject), nil)
	var body struct {
		Level sr.CompatibilityLevel `json:"compatibilityLevel"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Level == 0 {
		return compatLevel{sr.CompatBackward}
	}
	return compatLevel{body.Level}
}

// call runs one request against srfake in process.
func (r *Registry) call(method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(context.Background(), method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	rec := httptest.NewRecorder()
	r.fake.Handler().ServeHTTP(rec, req)
	return rec
}

// compatLevel adds the direction and reach of a level.
type compatLevel struct{ level sr.CompatibilityLevel }

func (l compatLevel) backward() bool {
	switch l.level {
	case sr.CompatBackward, sr.CompatBackwardTransitive, sr.CompatFull, sr.CompatFullTransitive:
		return true
	}
	return false
}

func (l compatLevel) forward() bool {
	switch l.level {
	case sr.CompatForward, sr.CompatForwardTransitive, sr.CompatFull, sr.CompatFullTransitive:
		return true
	}
	return false
}

func (l compatLevel) transitive() bool {
	switch l.level {
	case sr.CompatBackwardTransitive, sr.CompatForwardTransitive, sr.CompatFullTransitive:
		return true
	}
	return false
}

// readSchemaRequest reads and decodes a schema request body. On failure it
// has answered the request and returns ok false.
func readSchemaRequest(w http.ResponseWriter, req *http.Request) (body []byte, s sr.Schema, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxSchemaBody))
	if err != nil {
		writeRegistryError(w, http.StatusRequestEntityTooLarge, sr.ErrSchemaTooLarge.Code,
			fmt.Sprintf("read request body: %v", err))
		return nil, s, false
	}
	if err := json.Unmarshal(body, &s); err != nil {
		writeRegistryError(w, http.StatusUnprocessableEntity, sr.ErrInvalidSchema.Code,
			fmt.Sprintf("Invalid schema request: %v", err))
		return nil, s, false
	}
	return body, s, true
}

// truncate shortens a schema quoted in an error message.
func truncate(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

func writeRegistryError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"error_code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	// The client went away if this fails; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
