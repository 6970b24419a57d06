package kafkax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

const (
	// fetchMaxBytes caps one fetch response. The broker still returns a
	// larger first batch whole, so reads always progress.
	fetchMaxBytes = 4 << 20
	// fetchMaxWait is how long the broker may hold a fetch with no data.
	// ReadRange only fetches below the high-water mark, where data exists.
	fetchMaxWait = 250 * time.Millisecond
)

// PartitionRange is the readable offsets of one partition.
type PartitionRange struct {
	// Partition is the partition number.
	Partition int
	// First is the log start offset: the first offset still stored.
	First int64
	// End is the high-water mark: the offset the next record will get.
	// First == End means the partition holds no record.
	End int64
}

// Ranges returns the offset range of every partition of topic, ordered by
// partition. An unknown topic is an error wrapping
// kafka.UnknownTopicOrPartition.
func Ranges(ctx context.Context, client *kafka.Client, topic string) ([]PartitionRange, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("topic %q metadata: %w", topic, err)
	}
	var parts []int
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("topic %q metadata: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %q metadata: %w", topic, kafka.UnknownTopicOrPartition)
	}
	sort.Ints(parts)

	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("topic %q offsets: %w", topic, err)
	}
	byPart := make(map[int]kafka.PartitionOffsets, len(parts))
	for _, po := range res.Topics[topic] {
		byPart[po.Partition] = po
	}
	out := make([]PartitionRange, 0, len(parts))
	for _, p := range parts {
		po, ok := byPart[p]
		switch {
		case !ok:
			return nil, fmt.Errorf("topic %q partition %d offsets: absent from the response", topic, p)
		case po.Error != nil:
			return nil, fmt.Errorf("topic %q partition %d offsets: %w", topic, p, po.Error)
		}
		out = append(out, PartitionRange{Partition: p, First: po.FirstOffset, End: po.LastOffset})
	}
	return out, nil
}

// EndOffsets returns the high-water mark of every partition of topic.
func EndOffsets(ctx context.Context, client *kafka.Client, topic string) (map[int]int64, error) {
	ranges, err := Ranges(ctx, client, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(ranges))
	for _, r := range ranges {
		out[r.Partition] = r.End
	}
	return out, nil
}

// ReadRange calls fn with every record of partition r.Partition of topic
// from offset r.First up to, not including, r.End, in offset order, and
// returns when it has passed r.End - 1: it never waits for new records, so
// an empty range returns at once. Offsets removed by compaction are skipped;
// a range starting below the log start offset starts at it. The message
// handed to fn owns its Key and Value; a nil Value is a tombstone. An error
// of fn stops the read and is returned as is.
func ReadRange(ctx context.Context, client *kafka.Client, topic string, r PartitionRange, fn func(kafka.Message) error) error {
	offset := r.First
	for offset < r.End {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := client.Fetch(ctx, &kafka.FetchRequest{
			Topic:     topic,
			Partition: r.Partition,
			Offset:    offset,
			MinBytes:  1,
			MaxBytes:  fetchMaxBytes,
			MaxWait:   fetchMaxWait,
		})
		if err != nil {
			return fmt.Errorf("fetch %s[%d] at offset %d: %w", topic, r.Partition, offset, err)
		}
		if res.Error != nil {
			if errors.Is(res.Error, kafka.OffsetOutOfRange) && res.LogStartOffset > offset {
				offset = res.LogStartOffset // deleted by retention meanwhile
				continue
			}
			return fmt.Errorf("fetch %s[%d] at offset %d: %w", topic, r.Partition, offset, res.Error)
		}
		next, err := readRecords(res, topic, offset, r.End, fn)
		if err != nil {
			return err
		}
		if next == offset {
			// Nothing at or after offset in this response: the batches
			// holding offset lost their later records to compaction.
			// Step past it; the broker answers with the next batch.
			next++
		}
		offset = next
	}
	return nil
}

// readRecords hands fn the records of res in [from, end) and returns the
// offset after the last one, or from when there was none.
func readRecords(res *kafka.FetchResponse, topic string, from, end int64, fn func(kafka.Message) error) (int64, error) {
	if c, ok := res.Records.(io.Closer); ok {
		defer c.Close()
	}
	next := from
	for {
		rec, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return next, nil // a batch cut by MaxBytes ends the response
		}
		if err != nil {
			return next, fmt.Errorf("read %s[%d] after offset %d: %w", topic, res.Partition, next, err)
		}
		if rec.Offset < next {
			continue // a batch may begin before the offset asked for
		}
		if rec.Offset >= end {
			return end, nil
		}
		msg, err := message(topic, res.Partition, rec)
		if err != nil {
			return next, fmt.Errorf("read %s[%d] offset %d: %w", topic, res.Partition, rec.Offset, err)
		}
		if err := fn(msg); err != nil {
			return next, err
		}
		next = rec.Offset + 1
	}
}

// message copies rec out of the fetch buffers.
func message(topic string, partition int, rec *kafka.Record) (kafka.Message, error) {
	key, err := protocol.ReadAll(rec.Key)
	if err != nil {
		return kafka.Message{}, err
	}
	value, err := protocol.ReadAll(rec.Value)
	if err != nil {
		return kafka.Message{}, err
	}
	var headers []kafka.Header
	for _, h := range rec.Headers {
		headers = append(headers, kafka.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)})
	}
	return kafka.Message{
		Topic:     topic,
		Partition: partition,
		Offset:    rec.Offset,
		Time:      rec.Time,
		Key:       key,
		Value:     value,
		Headers:   headers,
	}, nil
}
