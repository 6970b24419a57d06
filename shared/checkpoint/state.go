package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// encode validates cp and returns the JSON it is stored as. HTML characters
// are not escaped, so the Cursor keeps its bytes apart from whitespace.
func encode(cp Checkpoint, now time.Time) ([]byte, error) {
	if cp.Stream == "" {
		return nil, errors.New("empty stream name")
	}
	if len(cp.Cursor) == 0 {
		cp.Cursor = nil // stored as null
	}
	if cp.UpdatedAt.IsZero() {
		cp.UpdatedAt = now
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cp); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decode parses a stored checkpoint of stream. The stream is the record key,
// which wins over the stream in the value.
func decode(stream string, value []byte) (Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(value, &cp); err != nil {
		return Checkpoint{}, err
	}
	cp.Stream = stream
	if string(cp.Cursor) == "null" {
		cp.Cursor = nil
	}
	return cp, nil
}

// clone returns cp with a Cursor the caller may modify.
func clone(cp Checkpoint) Checkpoint {
	if cp.Cursor != nil {
		cp.Cursor = bytes.Clone(cp.Cursor)
	}
	return cp
}

// table is the latest checkpoint of every stream, as both stores serve
// them. It is not safe for concurrent use; its store locks it.
type table struct {
	cps map[string]Checkpoint
	// invalid holds, for a stream whose latest stored value does not
	// decode, why.
	invalid map[string]error
}

func newTable() *table {
	return &table{cps: map[string]Checkpoint{}, invalid: map[string]error{}}
}

func (t *table) clone() *table {
	return &table{cps: maps.Clone(t.cps), invalid: maps.Clone(t.invalid)}
}

// set records the stored value of stream; nil is a tombstone.
func (t *table) set(stream string, value []byte) {
	delete(t.cps, stream)
	delete(t.invalid, stream)
	if value == nil {
		return
	}
	cp, err := decode(stream, value)
	if err != nil {
		t.invalid[stream] = err
		return
	}
	t.cps[stream] = cp
}

func (t *table) get(stream string) (Checkpoint, error) {
	if err, ok := t.invalid[stream]; ok {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	cp, ok := t.cps[stream]
	if !ok {
		return Checkpoint{}, ErrNotFound
	}
	return clone(cp), nil
}

// list returns the valid checkpoints ordered by stream and, if some streams
// are invalid, an error naming them.
func (t *table) list() ([]Checkpoint, error) {
	out := make([]Checkpoint, 0, len(t.cps))
	for _, stream := range slices.Sorted(maps.Keys(t.cps)) {
		out = append(out, clone(t.cps[stream]))
	}
	if len(t.invalid) == 0 {
		return out, nil
	}
	var errs []error
	for _, stream := range slices.Sorted(maps.Keys(t.invalid)) {
		errs = append(errs, fmt.Errorf("stream %q: %w", stream, t.invalid[stream]))
	}
	return out, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}
