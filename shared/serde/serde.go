// Package serde registers the event schemas in the Schema Registry and
// encodes and decodes values in the Confluent wire format: a zero magic byte,
// the 4-byte big-endian schema id, then the Avro binary body.
//
// Subjects follow TopicNameStrategy: the value schema of topic T is
// registered under "T-value". Avro encoding is github.com/twmb/avro; the
// registry client and wire header are franz-go's pkg/sr.
package serde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
)

// Options configures NewClient.
type Options struct {
	// URL is the registry's base URL, e.g. "http://127.0.0.1:8081"; several
	// may be given separated by commas, tried in order. Required. It must not
	// carry credentials: use Username and Password.
	URL string
	// Username and Password, when Username is set, authenticate every
	// request with HTTP basic auth. Default: no authentication.
	Username, Password string
	// HTTPClient sends the requests. Default: a client with a 5 s timeout.
	HTTPClient *http.Client
}

// NewClient returns a Schema Registry client for opts.
func NewClient(opts Options) (*sr.Client, error) {
	var urls []string
	for _, raw := range strings.Split(opts.URL, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			// url.Parse quotes the input; it may hold a password.
			return nil, errors.New("schema registry URL does not parse")
		}
		if u.User != nil {
			return nil, fmt.Errorf("schema registry URL %s carries credentials: set the username and password options instead", u.Redacted())
		}
		urls = append(urls, raw)
	}
	if len(urls) == 0 {
		return nil, errors.New("schema registry URL is empty")
	}
	clopts := []sr.ClientOpt{sr.URLs(urls...), sr.UserAgent("auditstream")}
	if opts.Username != "" {
		clopts = append(clopts, sr.BasicAuth(opts.Username, opts.Password))
	}
	if opts.HTTPClient != nil {
		clopts = append(clopts, sr.HTTPClient(opts.HTTPClient))
	}
	cl, err := sr.NewClient(clopts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return cl, nil
}

// Subject returns the value subject of topic under TopicNameStrategy.
func Subject(topic string) string { return topic + "-value" }

// ErrIncompatible marks a registration the registry refused because the
// schema is incompatible with the subject's existing versions (HTTP 409).
var ErrIncompatible = errors.New("schema is incompatible with the subject's registered versions")

// ErrInvalidSchema marks a schema that is not valid Avro, whether found
// locally or answered by the registry (HTTP 422).
var ErrInvalidSchema = errors.New("schema is not valid Avro")

// Encoder encodes the values of one topic in the Confluent wire format under
// the schema id the registry gave. It is safe for concurrent use.
//
// It accepts both the example's type and its pointer (or element) type, which
// sr.Serde cannot do for one id, so it calls sr.AppendEncode, the function
// sr.Serde encodes with, with the Confluent header.
type Encoder struct {
	subject string
	id      int
	schema  *avro.Schema
	types   [2]reflect.Type // the Go types it encodes
}

// registerTimeout bounds the retries of a registration that fails for a
// transient reason (the registry unreachable or answering 5xx or 429).
const registerTimeout = 30 * time.Second

// Register registers schema (Avro JSON text) under "<topic>-value" and
// returns an Encoder for values shaped like example: example's Go type and
// its pointer (or, for a pointer, its element type) both encode.
// Registration is idempotent: the same schema gets the same id. Register sets
// nothing else (no compatibility level). Transient failures are retried for
// up to 30 s or until ctx ends; an incompatible schema wraps ErrIncompatible
// and an invalid one ErrInvalidSchema, each naming the subject and giving
// the registry's message.
func Register(ctx context.Context, cl *sr.Client, topic, schema string, example any) (*Encoder, error) {
	subject := Subject(topic)
	if example == nil {
		return nil, fmt.Errorf("register schema under subject %q: example value is nil", subject)
	}
	parsed, err := avro.Parse(schema)
	if err != nil {
		return nil, fmt.Errorf("register schema under subject %q: %w: %w", subject, ErrInvalidSchema, err)
	}

	var id int
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	b.MaxElapsedTime = registerTimeout
	op := func() error {
		var err error
		id, err = cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro}, -1, -1)
		if err != nil && !transient(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	if err := backoff.Retry(op, backoff.WithContext(b, ctx)); err != nil {
		return nil, registerError(subject, err)
	}

	t := reflect.TypeOf(example)
	other := reflect.PointerTo(t)
	if t.Kind() == reflect.Pointer {
		other = t.Elem()
	}
	return &Encoder{subject: subject, id: id, schema: parsed, types: [2]reflect.Type{t, other}}, nil
}

// transient reports whether a registry call may succeed if repeated.
func transient(err error) bool {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests
	}
	// No answer at all: connection refused, timeout, reset.
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// registerError describes a failed registration once, with the subject and
// the registry's own message.
func registerError(subject string, err error) error {
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("register schema under subject %q: %w", subject, err)
	}
	switch {
	case re.StatusCode == http.StatusConflict || re.ErrorCode == sr.ErrIncompatibleSchema.Code:
		return fmt.Errorf("register schema under subject %q: %w: registry answered %d: %w", subject, ErrIncompatible, re.StatusCode, err)
	case re.ErrorCode == sr.ErrInvalidSchema.Code:
		return fmt.Errorf("register schema under subject %q: %w: registry answered %d: %w", subject, ErrInvalidSchema, re.StatusCode, err)
	default:
		return fmt.Errorf("register schema under subject %q: registry answered %d: %w", subject, re.StatusCode, err)
	}
}

// Encode returns v in the Confluent wire format.
func (e *Encoder) Encode(v any) ([]byte, error) {
	return e.AppendEncode(nil, v)
}

// AppendEncode appends v in the Confluent wire format to dst.
func (e *Encoder) AppendEncode(dst []byte, v any) ([]byte, error) {
	if t := reflect.TypeOf(v); t != e.types[0] && t != e.types[1] {
		return dst, fmt.Errorf("encode %s value: a %T cannot be encoded, want %s or %s", e.subject, v, e.types[0], e.types[1])
	}
	out, err := sr.AppendEncode(dst, v, &header, e.id, nil, e.appendBody)
	if err != nil {
		return dst, fmt.Errorf("encode %s value: %w", e.subject, err)
	}
	return out, nil
}

// appendBody appends the Avro binary encoding of v.
func (e *Encoder) appendBody(dst []byte, v any) ([]byte, error) {
	return e.schema.AppendEncode(dst, v)
}

// SchemaID returns the registry id of the encoder's schema.
func (e *Encoder) SchemaID() int { return e.id }

// Subject returns the subject the encoder's schema is registered under.
func (e *Encoder) Subject() string { return e.subject }

// Schema returns the parsed Avro schema the encoder writes with.
func (e *Encoder) Schema() *avro.Schema { return e.schema }
