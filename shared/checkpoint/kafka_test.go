package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/checkpoint/checkpointtest"
	"github.com/auditstream/auditstream/shared/kafkax"
)

const topic = "pollers.checkpoints"

// newCluster starts a one-broker kfake cluster with the checkpoint topic
// created with partitions partitions.
func newCluster(tb testing.TB, partitions int) (*kfake.Cluster, kafkax.Config) {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	cfg := kafkax.Config{Brokers: c.ListenAddrs()}
	spec := kafkax.CheckpointTopicSpec(topic, -1)
	spec.Partitions = partitions
	if err := kafkax.EnsureTopics(testContext(tb), cfg, spec); err != nil {
		tb.Fatal(err)
	}
	return c, cfg
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func openStore(tb testing.TB, cfg kafkax.Config) *checkpoint.KafkaStore {
	tb.Helper()
	s, err := checkpoint.NewKafkaStore(testContext(tb), cfg, topic)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestKafkaStore(t *testing.T) {
	for _, tt := range []struct {
		name       string
		partitions int
		compact    bool // compact the topic before every reopen
	}{
		{"OnePartition", 1, false},
		{"ThreePartitions", 3, false},
		{"CompactedBeforeReopen", 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkpointtest.Run(t, func(t *testing.T) (checkpoint.Store, func() checkpoint.Store) {
				cluster, cfg := newCluster(t, tt.partitions)
				return openStore(t, cfg), func() checkpoint.Store {
					if tt.compact {
						cluster.Compact()
					}
					return openStore(t, cfg)
				}
			})
		})
	}
}

// TestKafkaStoreCompactionKeepsState compares the state loaded from a topic
// before and after kfake compacts it, with superseded values and tombstones
// spread over many batches.
func TestKafkaStoreCompactionKeepsState(t *testing.T) {
	ctx := testContext(t)
	cluster, cfg := newCluster(t, 1)
	s := openStore(t, cfg)
	for round := range 5 {
		for i := range 20 {
			stream := fmt.Sprintf("s%02d", i)
			if (i+round)%7 == 0 {
				if err := s.Reset(ctx, stream); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := s.Save(ctx, checkpoint.Checkpoint{Stream: stream, Cursor: json.RawMessage(fmt.Sprint(round)), UpdatedAt: time.Unix(int64(round), 0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before, err := openStore(t, cfg).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recordsBefore := endOffset(t, cfg)
	cluster.Compact()
	after, err := openStore(t, cfg).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("state before compaction:\n%v\nafter:\n%v", before, after)
	}
	if n := countRecords(t, cfg); n >= recordsBefore {
		t.Errorf("compaction kept %d of %d records: the test did not exercise it", n, recordsBefore)
	}
}

// TestKafkaStoreReload checks that Reload sees what another store wrote and
// that Get serves the loaded state until then.
func TestKafkaStoreReload(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t, 1)
	reader, writer := openStore(t, cfg), openStore(t, cfg)
	if err := writer.Save(ctx, checkpoint.Checkpoint{Stream: "x", Cursor: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Get(ctx, "x"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Get before Reload: %v, want ErrNotFound", err)
	}
	if err := reader.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, err := reader.Get(ctx, "x"); err != nil || string(cp.Cursor) != "1" {
		t.Fatalf("Get after Reload = %+v, %v", cp, err)
	}
	if err := writer.Reset(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := reader.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Get(ctx, "x"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Get after a reset and Reload: %v, want ErrNotFound", err)
	}
}

// TestKafkaStoreInvalidValue: a value that is not a checkpoint fails only its
// stream, and a reset clears it.
func TestKafkaStoreInvalidValue(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t, 1)
	w, err := kafkax.NewWriter(cfg, topic, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteMessages(ctx,
		kafka.Message{Key: []byte("good"), Value: []byte(`{"cursor":{"a":1}}`)},
		kafka.Message{Key: []byte("bad"), Value: []byte(`not json`)},
		kafka.Message{Value: []byte(`{"keyless":true}`)},
	); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, cfg)
	if _, err := s.Get(ctx, "bad"); !errors.Is(err, checkpoint.ErrInvalid) {
		t.Errorf("Get of an invalid value: %v, want ErrInvalid", err)
	}
	if cp, err := s.Get(ctx, "good"); err != nil || string(cp.Cursor) != `{"a":1}` {
		t.Errorf("Get(good) = %+v, %v", cp, err)
	}
	list, err := s.List(ctx)
	if !errors.Is(err, checkpoint.ErrInvalid) || len(list) != 1 || list[0].Stream != "good" {
		t.Errorf("List = %v, %v; want [good] and ErrInvalid", list, err)
	}
	if err := s.Reset(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := openStore(t, cfg).List(ctx); err != nil {
		t.Errorf("List after resetting the invalid stream: %v", err)
	}
}

func TestNewKafkaStoreErrors(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t, 1)
	if _, err := checkpoint.NewKafkaStore(ctx, cfg, "absent.topic"); !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("store on a missing topic: %v, want UnknownTopicOrPartition", err)
	}
	if _, err := checkpoint.NewKafkaStore(ctx, cfg, ""); err == nil {
		t.Error("store with an empty topic name succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := checkpoint.NewKafkaStore(cancelled, cfg, topic); !errors.Is(err, context.Canceled) {
		t.Errorf("store with a cancelled ctx: %v", err)
	}
}

// TestKafkaStoreFailedSave: a Save the broker refuses returns its error
// and leaves the state alone; the next Save works.
func TestKafkaStoreFailedSave(t *testing.T) {
	ctx := testContext(t)
	cluster, cfg := newCluster(t, 1)
	s := openStore(t, cfg)
	if err := s.Save(ctx, checkpoint.Checkpoint{Stream: "x", Cursor: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	// The next produce request (only that one) is refused.
	cluster.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	err := s.Save(ctx, checkpoint.Checkpoint{Stream: "x", Cursor: json.RawMessage(`2`)})
	if !errors.Is(err, kafka.TopicAuthorizationFailed) || !strings.Contains(err.Error(), `save checkpoint "x"`) {
		t.Fatalf("refused Save: %v, want a TopicAuthorizationFailed naming the stream", err)
	}
	if cp, err := s.Get(ctx, "x"); err != nil || string(cp.Cursor) != "1" {
		t.Errorf("Get after a failed Save = %+v, %v; want the previous checkpoint", cp, err)
	}
	if err := s.Save(ctx, checkpoint.Checkpoint{Stream: "x", Cursor: json.RawMessage(`3`)}); err != nil {
		t.Fatal(err)
	}
	if cp, err := openStore(t, cfg).Get(ctx, "x"); err != nil || string(cp.Cursor) != "3" {
		t.Errorf("Get after reopen = %+v, %v; want cursor 3", cp, err)
	}
}

// TestKafkaStoreKeyInTwoPartitions: when a topic gained partitions, a
// stream's records may sit in two of them; the latest timestamp wins,
// whatever the partition order.
func TestKafkaStoreKeyInTwoPartitions(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t, 2)
	w, err := kafkax.NewWriter(cfg, topic, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Messages say their partition in their first header.
	w.Balancer = kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return int(m.Headers[0].Value[0]) })
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(stream string, partition byte, at time.Time, value string) {
		t.Helper()
		m := kafka.Message{Key: []byte(stream), Time: at, Headers: []kafka.Header{{Key: "p", Value: []byte{partition}}}}
		if value != "" {
			m.Value = []byte(value)
		}
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	write("newer-in-1", 0, t0, `{"cursor":"old"}`)
	write("newer-in-1", 1, t0.Add(time.Minute), `{"cursor":"new"}`)
	write("newer-in-0", 1, t0, `{"cursor":"old"}`)
	write("newer-in-0", 0, t0.Add(time.Minute), `{"cursor":"new"}`)
	write("reset-in-1", 0, t0, `{"cursor":"old"}`)
	write("reset-in-1", 1, t0.Add(time.Minute), "") // tombstone

	s := openStore(t, cfg)
	for _, stream := range []string{"newer-in-1", "newer-in-0"} {
		if cp, err := s.Get(ctx, stream); err != nil || string(cp.Cursor) != `"new"` {
			t.Errorf("Get(%s) = %s, %v; want the newer cursor", stream, cp.Cursor, err)
		}
	}
	if _, err := s.Get(ctx, "reset-in-1"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Get(reset-in-1): %v, want ErrNotFound", err)
	}
}

func TestNewKafkaStoreWarnsWithoutCompaction(t *testing.T) {
	ctx := testContext(t)
	_, cfg := newCluster(t, 1)
	if err := kafkax.EnsureTopics(ctx, cfg, kafkax.TopicSpec{Name: "not.compacted", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	for _, tp := range []string{topic, "not.compacted"} {
		s, err := checkpoint.NewKafkaStore(ctx, cfg, tp)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	}
	if got := strings.Count(logs.String(), "level=WARN"); got != 1 || !strings.Contains(logs.String(), "topic=not.compacted cleanup_policy=delete") {
		t.Errorf("want one warning, for not.compacted; logs:\n%s", logs.String())
	}
}

func endOffset(tb testing.TB, cfg kafkax.Config) int64 {
	client, err := kafkax.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer kafkax.CloseClient(client)
	ends, err := kafkax.EndOffsets(testContext(tb), client, topic)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	return n
}

func countRecords(tb testing.TB, cfg kafkax.Config) int64 {
	client, err := kafkax.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer kafkax.CloseClient(client)
	ranges, err := kafkax.Ranges(testContext(tb), client, topic)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, r := range ranges {
		if err := kafkax.ReadRange(testContext(tb), client, topic, r, func(kafka.Message) error { n++; return nil }); err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

func BenchmarkKafkaStoreSave(b *testing.B) {
	_, cfg := newCluster(b, 1)
	s := openStore(b, cfg)
	ctx := testContext(b)
	cp := checkpoint.Checkpoint{
		Stream:   "plm/acme/system-logs/item",
		Cursor:   json.RawMessage(`{"window_start":"2025-06-01T00:00:00Z","window_end":"2025-06-01T01:00:00Z","offset":1000}`),
		Position: time.Now(),
		Topic:    "plm.audit",
	}
	for b.Loop() {
		cp.Records++
		if err := s.Save(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKafkaStoreLoad(b *testing.B) {
	const records, streams = 10_000, 100
	_, cfg := newCluster(b, 1)
	ctx := testContext(b)
	w, err := kafkax.NewWriter(cfg, topic, 1000)
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]kafka.Message, 0, 1000)
	for i := range records {
		cp := checkpoint.Checkpoint{
			Stream:    fmt.Sprintf("vendor/tenant/stream-%03d", i%streams),
			Cursor:    json.RawMessage(fmt.Sprintf(`{"window_start":"2025-06-01T00:00:00Z","offset":%d}`, i)),
			UpdatedAt: time.Now(),
			Records:   int64(i),
		}
		v, err := json.Marshal(cp)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(cp.Stream), Value: v})
		if len(msgs) == cap(msgs) {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	s := openStore(b, cfg)
	for b.Loop() {
		if err := s.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != streams {
		b.Fatalf("loaded %d streams (%v), want %d", len(list), err, streams)
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
