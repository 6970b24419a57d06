package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/shared/kafkax"
)

// KafkaStore is a Store on a compacted Kafka topic: key = stream, value =
// the checkpoint as JSON, a tombstone (null value) for a reset.
//
// It reads the whole topic once when created (and on Reload) and then serves
// Get and List from memory, updated by its own writes: it must be the only
// writer of its streams, which one replica per Deployment guarantees.
// Streams of other processes sharing the topic are seen as of the last load.
type KafkaStore struct {
	topic  string
	client *kafka.Client
	writer *kafkax.Writer
	now    func() time.Time

	// writeMu orders Save, Reset and Reload, so that the state in memory
	// follows the order of the records in the topic.
	writeMu sync.Mutex
	mu      sync.RWMutex // guards state
	state   *table

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*KafkaStore)(nil)

// NewKafkaStore loads the checkpoints of topic and returns a store writing
// to it. The topic must exist; create it first with
// kafkax.EnsureTopics(ctx, cfg, kafkax.CheckpointTopicSpec(topic, rf)).
// Close the store when done.
func NewKafkaStore(ctx context.Context, cfg kafkax.Config, topic string) (*KafkaStore, error) {
	if topic == "" {
		return nil, errors.New("new checkpoint store: empty topic name")
	}
	client, err := kafkax.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("new checkpoint store on %q: %w", topic, err)
	}
	writer, err := kafkax.NewWriter(cfg, topic, 1)
	if err != nil {
		kafkax.CloseClient(client)
		return nil, fmt.Errorf("new checkpoint store on %q: %w", topic, err)
	}
	s := &KafkaStore{topic: topic, client: client, writer: writer, now: time.Now, state: newTable()}
	start := time.Now()
	records, err := s.reload(ctx)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.warnIfNotCompacted(ctx)
	slog.InfoContext(ctx, "checkpoints loaded", "topic", topic, "streams", len(s.state.cps),
		"invalid", len(s.state.invalid), "records", records, "duration", time.Since(start))
	return s, nil
}

// warnIfNotCompacted logs when the topic would delete old checkpoints. A
// broker that refuses DescribeConfigs only costs the warning.
func (s *KafkaStore) warnIfNotCompacted(ctx context.Context) {
	configs, err := kafkax.TopicConfig(ctx, s.client, s.topic)
	if err != nil {
		slog.DebugContext(ctx, "cannot check the checkpoint topic's cleanup policy", "topic", s.topic, "error", err)
		return
	}
	if policy := configs["cleanup.policy"]; !strings.Contains(policy, "compact") {
		slog.WarnContext(ctx, "checkpoint topic is not compacted: retention will delete checkpoints",
			"topic", s.topic, "cleanup_policy", policy)
	}
}

// Close releases the store's connections. It does not wait for anything:
// every Save and Reset has returned once durable.
func (s *KafkaStore) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.writer.Close()
		kafkax.CloseClient(s.client)
	})
	return s.closeErr
}

// Reload reads the topic again, from the first offset of every partition to
// the high-water marks taken when it starts, and replaces the checkpoints in
// memory with the last value of every key (a tombstone removes the key). It
// never assumes the topic was compacted. A key found in several partitions
// (the topic gained partitions) takes the value with the latest record
// timestamp.
func (s *KafkaStore) Reload(ctx context.Context) error {
	_, err := s.reload(ctx)
	return err
}

// reload is Reload, returning the number of records read.
func (s *KafkaStore) reload(ctx context.Context) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	state, records, err := s.load(ctx)
	if err != nil {
		return 0, fmt.Errorf("load checkpoints: %w", err)
	}
	s.mu.Lock()
	s.state = state
	s.mu.Unlock()
	return records, nil
}

// load reads the topic to the high-water marks and returns its state and the
// number of records read.
func (s *KafkaStore) load(ctx context.Context) (*table, int, error) {
	ranges, err := kafkax.Ranges(ctx, s.client, s.topic)
	if err != nil {
		return nil, 0, err
	}
	type latest struct {
		partition int
		time      time.Time
		value     []byte // nil: tombstone
	}
	last := map[string]latest{}
	records := 0
	for _, r := range ranges {
		err := kafkax.ReadRange(ctx, s.client, s.topic, r, func(m kafka.Message) error {
			records++
			if m.Key == nil {
				return nil // not a checkpoint: every checkpoint has its stream as key
			}
			key := string(m.Key)
			if prev, ok := last[key]; ok && prev.partition != m.Partition && m.Time.Before(prev.time) {
				return nil
			}
			last[key] = latest{partition: m.Partition, time: m.Time, value: m.Value}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	state := newTable()
	for stream, l := range last {
		state.set(stream, l.value)
	}
	return state, records, nil
}

// Get returns the checkpoint of stream, or ErrNotFound.
func (s *KafkaStore) Get(ctx context.Context, stream string) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, fmt.Errorf("get checkpoint %q: %w", stream, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cp, err := s.state.get(stream)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("get checkpoint %q: %w", stream, err)
	}
	return cp, nil
}

// List returns every checkpoint, ordered by stream. When some stored values
// do not decode, it returns the others along with an error wrapping
// ErrInvalid that names the streams to reset.
func (s *KafkaStore) List(ctx context.Context) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cps, err := s.state.list()
	if err != nil {
		return cps, fmt.Errorf("list checkpoints: %w", err)
	}
	return cps, nil
}

// Save writes cp to the topic (acks from every in-sync replica) and returns
// once the broker has acknowledged it.
func (s *KafkaStore) Save(ctx context.Context, cp Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save checkpoint %q: %w", cp.Stream, err)
	}
	value, err := encode(cp, s.now())
	if err != nil {
		return fmt.Errorf("save checkpoint %q: %w", cp.Stream, err)
	}
	if err := s.write(ctx, cp.Stream, value); err != nil {
		return fmt.Errorf("save checkpoint %q: %w", cp.Stream, err)
	}
	return nil
}

// Reset writes a tombstone for stream.
func (s *KafkaStore) Reset(ctx context.Context, stream string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reset checkpoint %q: %w", stream, err)
	}
	if stream == "" {
		return fmt.Errorf("reset checkpoint %q: empty stream name", stream)
	}
	if err := s.write(ctx, stream, nil); err != nil {
		return fmt.Errorf("reset checkpoint %q: %w", stream, err)
	}
	return nil
}

// write produces one record and, once acknowledged, applies it to the state.
func (s *KafkaStore) write(ctx context.Context, stream string, value []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writer.WriteMessages(ctx, kafka.Message{Key: []byte(stream), Value: value}); err != nil {
		// WriteErrors has no Unwrap; the message's own error does.
		if we, ok := err.(kafka.WriteErrors); ok && len(we) == 1 && we[0] != nil {
			err = we[0]
		}
		return err
	}
	s.mu.Lock()
	s.state.set(stream, value)
	s.mu.Unlock()
	return nil
}
