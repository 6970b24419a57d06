// Package pipeline is the loop every poller runs: fetch a page from the
// vendor, normalize each record, encode it, produce the page to Kafka with
// one synchronous write, and only then save the cursor.
//
// A vendor package implements Source and a Normalizer; it knows nothing of
// Kafka. The pipeline knows nothing of any vendor.
package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/auditstream/auditstream/shared/event"
)

// Cursor is a vendor-encoded position in a stream (JSON). The pipeline stores
// it and hands it back; it never parses it. A nil Cursor means the stream has
// no checkpoint and starts at the configured start time.
type Cursor = json.RawMessage

// Record is one vendor record as fetched.
type Record struct {
	// Raw is the record's JSON exactly as the vendor sent it. It is what a
	// dead-letter entry carries and what events keep in their raw field.
	Raw []byte
	// Value is the source's decoded form of the record, handed to the
	// stream's Normalizer. The pipeline never looks inside.
	Value any
}

// Page is the result of one Fetch.
type Page struct {
	// Records are the page's records, in vendor order.
	Records []Record
	// Next is the cursor after this page. It becomes durable only after
	// every record of the page is acknowledged by Kafka.
	Next Cursor
	// Position is the vendor time up to which the stream is complete once
	// Next is saved; it feeds the cursor-lag metric. Zero when unknown.
	Position time.Time
	// Done reports that the stream has caught up: the pipeline waits the
	// poll interval before fetching again.
	Done bool
	// DeadLetters are findings the source itself could not turn into
	// records (a window the vendor truncates, say). They are produced to
	// the dead-letter topic with the page.
	DeadLetters []SourceDeadLetter
	// Refused, when set, says the vendor refused the stream's data for a
	// reason waiting will not fix soon (an EPM set the account no longer
	// sees, say): the page is Done, the stream waits the poll interval as
	// usual, and it counts as down (auditstream_stream_up 0, /readyz not
	// ready) until a later page is not refused.
	Refused error
}

// SourceDeadLetter is a problem a source reports about data it could not
// read, so that nothing is skipped silently.
type SourceDeadLetter struct {
	Reason string
	Raw    []byte
}

// Source reads one stream of a vendor API.
type Source interface {
	// Stream names the stream, unique across every poller writing to one
	// checkpoint topic, e.g. "plm/acme/system-logs/item". It is the
	// checkpoint key.
	Stream() string
	// Fetch returns the page after cur. It may block on rate limits and
	// retries inside the vendor client, and must return promptly when ctx
	// is cancelled. An error means nothing of the page is usable; the
	// pipeline retries Fetch with backoff from the same cursor.
	//
	// The pipeline reads one page ahead: it calls Fetch with a page's Next
	// while that page is still being produced, and may then discard the
	// result (a shutdown) and later call Fetch with an older cursor again.
	// So a page must depend only on the cursor given (and the vendor's
	// data), never on which Fetch came before. Calls are never concurrent.
	Fetch(ctx context.Context, cur Cursor) (Page, error)
}

// Normalizer turns one fetched record into an event. It must be pure: no I/O
// and no clock but observed, the time the poller read the record. An error
// sends the record to the dead-letter topic; the page still completes.
type Normalizer func(rec Record, observed time.Time) (event.Event, error)

// Stream binds a Source to its normalizer and output topic.
type Stream struct {
	Source    Source
	Normalize Normalizer
	// Topic receives the stream's events.
	Topic string
	// Schema is the contract of the topic's values: event.AuditSchema or
	// event.UsageSchema. It is registered under "<Topic>-value".
	Schema event.Schema
	// Vendor and Tenant label dead letters and metrics.
	Vendor string
	Tenant string
}

// TimeCursor returns the cursor every Source understands as "start at t,
// inclusive": {"last":"<RFC 3339 UTC>"}. Sources must accept it in place of
// their own cursors; operators use it to move a stream to a time
// (auditctl checkpoints reset <stream> --to TIME).
func TimeCursor(t time.Time) Cursor {
	b, _ := json.Marshal(struct {
		Last time.Time `json:"last"`
	}{t.UTC()})
	return b
}
