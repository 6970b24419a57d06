package kafkax

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/snappy"
)

func init() {
	// kafka-go's snappy codec defaults to s2's "better" encoder, which took
	// 15% of BenchmarkPipeline's CPU; the plain encoder halves that for
	// slightly larger batches. kafka-go reads codecs from this global table
	// only, and this process has no other kafka-go user.
	compress.SnappyCodec.Compression = snappy.FasterCompression
}

// codecs maps Config.Compression to kafka-go's codecs.
var codecs = map[string]kafka.Compression{
	"":       kafka.Snappy,
	"none":   0,
	"gzip":   kafka.Gzip,
	"snappy": kafka.Snappy,
	"lz4":    kafka.Lz4,
	"zstd":   kafka.Zstd,
}

// BatchTimeout is how long a writer waits for more messages before it sends
// a batch that is not full. kafka-go's default is 1s, and a synchronous
// WriteMessages whose messages do not fill their partitions' batches waits
// that long: kafka-go has no flush, so every page pays this delay once (the
// partitions wait in parallel). A page's messages join their batches within
// microseconds, so 1ms rarely splits a page, and a split only costs one more
// request. With 5ms, BenchmarkPipeline spent a quarter of a 100-record page
// waiting.
const BatchTimeout = time.Millisecond

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
// BatchBytes bytes sent after BatchTimeout, cfg.Compression (default snappy), and no topic
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
	compression, ok := codecs[cfg.Compression]
	if !ok {
		return nil, fmt.Errorf("new kafka writer: unknown compression %q: want none, gzip, snappy, lz4 or zstd", cfg.Compression)
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
			Compression:            compression,
			AllowAutoTopicCreation: false,
			Transport:              tr,
		},
		transport: tr,
	}, nil
}
