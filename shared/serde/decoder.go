package serde

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
)

// Decoder decodes wire-format values written under any schema: it fetches
// each writer schema by id from the registry once and caches it. It is safe
// for concurrent use.
type Decoder struct {
	cl *sr.Client

	mu      sync.Mutex
	schemas map[int]*writerSchema
}

// writerSchema is a fetched and parsed writer schema.
type writerSchema struct {
	schema *avro.Schema
	json   *jsonRenderer
}

// NewDecoder returns a Decoder that fetches schemas with cl.
func NewDecoder(cl *sr.Client) *Decoder {
	return &Decoder{cl: cl, schemas: make(map[int]*writerSchema)}
}

// maxReferenceDepth bounds how deep schema references are followed.
const maxReferenceDepth = 32

// header is the Confluent wire-format header: magic 0, 4-byte id.
var header sr.ConfluentHeader

// Decode decodes the wire-format value b into out, which must be a non-nil
// pointer: to a struct with avro tags matching the writer schema, to a
// map[string]any, or to an any. It returns the writer schema's id.
func (d *Decoder) Decode(ctx context.Context, b []byte, out any) (schemaID int, err error) {
	id, body, err := header.DecodeID(b)
	if err != nil {
		return 0, fmt.Errorf("decode value: %w", err)
	}
	ws, err := d.schema(ctx, id)
	if err != nil {
		return id, err
	}
	rest, err := ws.schema.Decode(body, out)
	if err != nil {
		return id, fmt.Errorf("decode value with schema id %d: %w", id, err)
	}
	if len(rest) > 0 {
		return id, fmt.Errorf("decode value with schema id %d: %d bytes left after the value", id, len(rest))
	}
	return id, nil
}

// DecodeToJSON decodes the wire-format value b into JSON for people to read:
// record fields in schema order, timestamps as RFC 3339 UTC strings, unions
// as their bare value, enums as their symbol, bytes as base64.
func (d *Decoder) DecodeToJSON(ctx context.Context, b []byte) ([]byte, error) {
	id, body, err := header.DecodeID(b)
	if err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	ws, err := d.schema(ctx, id)
	if err != nil {
		return nil, err
	}
	var v any
	rest, err := ws.schema.Decode(body, &v)
	if err != nil {
		return nil, fmt.Errorf("decode value with schema id %d: %w", id, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("decode value with schema id %d: %d bytes left after the value", id, len(rest))
	}
	out, err := ws.json.appendJSON(nil, v)
	if err != nil {
		return nil, fmt.Errorf("render value with schema id %d as json: %w", id, err)
	}
	return out, nil
}

// schema returns the writer schema of id, fetching it on first use.
func (d *Decoder) schema(ctx context.Context, id int) (*writerSchema, error) {
	d.mu.Lock()
	ws, ok := d.schemas[id]
	d.mu.Unlock()
	if ok {
		return ws, nil
	}

	s, err := d.cl.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fetch schema id %d: %w", id, err)
	}
	if s.Type != sr.TypeAvro {
		return nil, fmt.Errorf("schema id %d is %s, not Avro", id, s.Type)
	}
	var cache avro.SchemaCache
	if err := d.parseReferences(ctx, &cache, s.References, 0); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	parsed, err := cache.Parse(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("parse schema id %d: %w", id, err)
	}
	ws = &writerSchema{schema: parsed, json: newJSONRenderer(parsed)}

	d.mu.Lock()
	defer d.mu.Unlock()
	if have, ok := d.schemas[id]; ok {
		return have, nil // another goroutine fetched it meanwhile
	}
	d.schemas[id] = ws
	return ws, nil
}

// parseReferences parses the schemas refs name into cache, dependencies
// first.
func (d *Decoder) parseReferences(ctx context.Context, cache *avro.SchemaCache, refs []sr.SchemaReference, depth int) error {
	if depth > maxReferenceDepth {
		return errors.New("schema references nest too deep")
	}
	for _, ref := range refs {
		ss, err := d.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return fmt.Errorf("fetch reference %q (subject %q version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
		if err := d.parseReferences(ctx, cache, ss.References, depth+1); err != nil {
			return err
		}
		if _, err := cache.Parse(ss.Schema.Schema); err != nil {
			return fmt.Errorf("parse reference %q (subject %q version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
	}
	return nil
}
