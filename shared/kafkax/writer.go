package kafkax

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// BatchTimeout is how long a writer waits for more messages before it sends
// a batch that is not full. kafka-go's default is 1s, and every synchronous
// WriteMessages whose messages do not fill a batch waits that long. All the
// messages of one WriteMessages call join their partition's batch before the
// timer can fire, so a short timeout never splits a page.
const BatchTimeout = 5 * time.Millisecond

// BatchBytes is the most uncompressed bytes a writer puts in one produce
// request to one partition. kafka-go splits the messages of a WriteMessages
// call into several requests per partition when they exceed it (in order, one
// at a time), so a page of any size is written; only a single message larger
// than BatchBytes is refused, with kafka.MessageTooLargeError and before
// anything is sent.
//
// The broker checks each request's record batch, after compression, against
// message.max.bytes (default 1048588). kafka-go measures messages in the old
// v1 format, about as large as v2 plus up to ~60 bytes of batch header, so
// 1,000,000 leaves room under the broker default even for one incompressible
// message near the limit.
const BatchBytes = 1_000_000

// Writer is a kafka.Writer that owns its Transport: Close also closes the
// Transport's connections and stops its metadata goroutine, which
// kafka.Writer.Close does not.
type Writer struct {
	*kafka.Writer
	transport *kafka.Transport
}

// Close flushes pending batches, closes the writer and its Transport.
func (w *Writer) Close() error {
	err := w.Writer.Close()
	w.transport.CloseIdleConnections()
	return err
}

// NewWriter returns a synchronous writer with its own Transport: acks from
// every in-sync replica, kafka.Murmur2Balancer (the partition Java clients
// choose for a key), batches of up to max(batchSize, 1) messages and
// BatchBytes bytes sent after BatchTimeout, snappy compression, and no topic
// auto-creation. topic "" means every message names its topic.
//
// snappy rather than zstd: zstd shrinks the JSON inside events more, but
// kafka-go pools one klauspost zstd encoder per concurrent partition batch,
// each holding its multi-MiB window, and an idle poller never runs the GC
// that would release them: an idle poller-plm measured 64 MiB of live heap
// with zstd against 40 MiB allowed. snappy keeps no state between batches,
// costs little CPU, and every client reads it.
//
// kafka-go retries a failed batch up to 10 times (100ms to 1s apart) when the
// error is temporary, such as a leader change. Create the topics first
// (EnsureTopics).
func NewWriter(cfg Config, topic string, batchSize int) (*Writer, error) {
	addr, err := cfg.addr()
	if err != nil {
		return nil, fmt.Errorf("new kafka writer: %w", err)
	}
	tr, err := cfg.Transport()
	if err != nil {
		return nil, fmt.Errorf("new kafka writer: %w", err)
	}
	return &Writer{
		Writer: &kafka.Writer{
			Addr:                   addr,
			Topic:                  topic,
			Balancer:               &kafka.Murmur2Balancer{},
			BatchSize:              max(batchSize, 1),
			BatchBytes:             BatchBytes,
			BatchTimeout:           BatchTimeout,
			RequiredAcks:           kafka.RequireAll,
			Async:                  false,
			Compression:            kafka.Snappy,
			AllowAutoTopicCreation: false,
			Transport:              tr,
		},
		transport: tr,
	}, nil
}
