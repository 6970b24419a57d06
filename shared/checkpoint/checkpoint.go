// Package checkpoint stores each stream's cursor: in a compacted Kafka topic
// for production (KafkaStore) and in memory for unit tests (MemoryStore).
// Both pass the same test suite (checkpointtest).
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Checkpoint is one stream's durable position.
type Checkpoint struct {
	// Stream is the checkpoint key (pipeline.Source.Stream).
	Stream string `json:"stream"`
	// Cursor is the vendor-encoded position, opaque here.
	Cursor json.RawMessage `json:"cursor"`
	// Position is the vendor time the stream is complete up to, if known.
	Position time.Time `json:"position,omitzero"`
	// UpdatedAt is when the checkpoint was written.
	UpdatedAt time.Time `json:"updated_at"`
	// Topic is the output topic of the stream's events.
	Topic string `json:"topic,omitempty"`
	// Records counts the events the stream has produced since its start,
	// for operators; it is not used for resuming.
	Records int64 `json:"records"`
}

// ErrNotFound is returned by Get for a stream that has no checkpoint.
var ErrNotFound = errors.New("checkpoint not found")

// ErrInvalid is wrapped by the errors of Get and List for a stream whose
// stored checkpoint cannot be decoded (written by something other than a
// Store). Reset the stream to clear it.
var ErrInvalid = errors.New("checkpoint invalid")

// Store keeps checkpoints by stream.
//
// A checkpoint comes back as it was saved, except that the Cursor is
// compacted (JSON whitespace outside strings removed; a JSON null Cursor
// reads back as nil) and times compare equal with time.Time.Equal but may
// differ in location. Every method returns ctx's error when ctx is done
// before it starts.
type Store interface {
	// Get returns the latest checkpoint of a stream, or ErrNotFound.
	Get(ctx context.Context, stream string) (Checkpoint, error)
	// List returns the latest checkpoint of every stream, ordered by
	// Stream.
	List(ctx context.Context) ([]Checkpoint, error)
	// Save makes cp the stream's checkpoint; it returns once durable. A
	// zero UpdatedAt is set to the current time. cp.Stream must not be
	// empty and cp.Cursor must be empty or valid JSON.
	Save(ctx context.Context, cp Checkpoint) error
	// Reset deletes the stream's checkpoint (a tombstone on Kafka), so that
	// the stream starts again from the configured start time.
	Reset(ctx context.Context, stream string) error
}
