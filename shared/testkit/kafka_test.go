package testkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// createTopicConn creates a topic with kafka-go's Conn API, the way most
// kafka-go code does: dial any broker, find the controller, send CreateTopics.
func createTopicConn(t *testing.T, broker string, cfg kafka.TopicConfig) error {
	t.Helper()
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		t.Fatalf("dial %s: %v", broker, err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		t.Fatalf("dial controller: %v", err)
	}
	defer cc.Close()
	return cc.CreateTopics(cfg)
}

func TestKafkaGoConnCreateTopics(t *testing.T) {
	k := NewKafka(t)
	broker := k.Brokers()[0]

	tests := []struct {
		name       string
		cfg        kafka.TopicConfig
		partitions int
	}{
		{"explicit", kafka.TopicConfig{Topic: "conn.explicit", NumPartitions: 4, ReplicationFactor: 1}, 4},
		{"replication -1 takes broker default", kafka.TopicConfig{Topic: "conn.rf-default", NumPartitions: 2, ReplicationFactor: -1}, 2},
		{"partitions -1 takes broker default", kafka.TopicConfig{Topic: "conn.p-default", NumPartitions: -1, ReplicationFactor: -1}, 3},
		{"compacted", kafka.TopicConfig{
			Topic: "conn.compacted", NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := createTopicConn(t, broker, tt.cfg); err != nil {
				t.Fatalf("CreateTopics: %v", err)
			}
			info := k.Cluster().TopicInfo(tt.cfg.Topic)
			if info == nil {
				t.Fatalf("topic %s not created", tt.cfg.Topic)
			}
			if got := len(k.Cluster().PartitionInfos(tt.cfg.Topic)); got != tt.partitions {
				t.Errorf("partitions = %d, want %d", got, tt.partitions)
			}
		})
	}

	t.Run("existing topic is not an error", func(t *testing.T) {
		// kafka-go's Conn.CreateTopics skips TopicAlreadyExists by design.
		if err := createTopicConn(t, broker, kafka.TopicConfig{Topic: "conn.explicit", NumPartitions: 4, ReplicationFactor: 1}); err != nil {
			t.Fatalf("CreateTopics of an existing topic: %v", err)
		}
	})
	t.Run("replication factor above broker count is rejected", func(t *testing.T) {
		err := createTopicConn(t, broker, kafka.TopicConfig{Topic: "conn.rf3", NumPartitions: 1, ReplicationFactor: 3})
		if err == nil {
			t.Fatalf("CreateTopics with replication factor 3 on one broker succeeded")
		}
		t.Logf("replication factor 3: %v", err)
	})
}

func TestKafkaGoClientCreateTopics(t *testing.T) {
	k := NewKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cl := &kafka.Client{Addr: kafka.TCP(k.Brokers()...), Timeout: 5 * time.Second}
	resp, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "client.a", NumPartitions: 3, ReplicationFactor: 1},
		{Topic: "client.b", NumPartitions: 1, ReplicationFactor: -1,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}},
	}})
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	for topic, err := range resp.Errors {
		if err != nil {
			t.Errorf("topic %s: %v", topic, err)
		}
	}
	// kafka.Client, unlike Conn, reports an existing topic per topic.
	again, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "client.a", NumPartitions: 3, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatalf("CreateTopics again: %v", err)
	}
	if err := again.Errors["client.a"]; !errors.Is(err, kafka.TopicAlreadyExists) {
		t.Errorf("CreateTopics of an existing topic: %v, want TopicAlreadyExists", err)
	}

	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"client.a", "client.b"}})
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	got := map[string]int{}
	for _, tp := range md.Topics {
		if tp.Error != nil {
			t.Errorf("metadata %s: %v", tp.Name, tp.Error)
		}
		got[tp.Name] = len(tp.Partitions)
	}
	if got["client.a"] != 3 || got["client.b"] != 1 {
		t.Errorf("partitions = %v, want client.a:3 client.b:1", got)
	}

	cfgs, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: "client.b", ConfigNames: []string{"cleanup.policy"}},
	}})
	if err != nil {
		t.Fatalf("DescribeConfigs: %v", err)
	}
	var policy string
	for _, r := range cfgs.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "cleanup.policy" {
				policy = e.ConfigValue
			}
		}
	}
	if policy != "compact" {
		t.Errorf("client.b cleanup.policy = %q, want compact", policy)
	}
}

// TestKafkaGoWriteRead is the path every poller takes: create the topic, write
// one page synchronously with acks=all and the Murmur2 balancer, read it back.
func TestKafkaGoWriteRead(t *testing.T) {
	k := NewKafka(t)
	const topic = "plm.audit"
	if err := createTopicConn(t, k.Brokers()[0], kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}

	w := &kafka.Writer{
		Addr:         kafka.TCP(k.Brokers()...),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    500,
		Transport:    &kafka.Transport{},
	}
	defer w.Close()

	const n = 200
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("key-%03d", i)), Value: []byte(fmt.Sprintf("value-%03d", i))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("WriteMessages: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 200-message synchronous write took %v; BatchTimeout is not honoured", d)
	}

	// Murmur2 must place a key where Java clients would: the same key always
	// lands on the same partition, and the keys spread across partitions.
	perPartition := map[int]int{}
	keyPartition := map[string]int{}
	for p := 0; p < 3; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   k.Brokers(),
			Topic:     topic,
			Partition: p,
			MaxWait:   50 * time.Millisecond,
		})
		hw := k.Cluster().PartitionInfo(topic, int32(p)).HighWatermark
		for i := int64(0); i < hw; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("partition %d offset %d: %v", p, i, err)
			}
			if m.Offset != i {
				t.Errorf("partition %d: offset %d, want %d", p, m.Offset, i)
			}
			if !strings.HasSuffix(string(m.Value), strings.TrimPrefix(string(m.Key), "key-")) {
				t.Errorf("key %s carries value %s", m.Key, m.Value)
			}
			keyPartition[string(m.Key)] = p
			perPartition[p]++
		}
		r.Close()
	}
	if len(keyPartition) != n {
		t.Fatalf("read %d distinct keys, want %d", len(keyPartition), n)
	}
	if len(perPartition) != 3 {
		t.Errorf("keys landed on %d partitions, want 3: %v", len(perPartition), perPartition)
	}
	bal := &kafka.Murmur2Balancer{}
	for key, p := range keyPartition {
		if want := bal.Balance(kafka.Message{Key: []byte(key)}, 0, 1, 2); want != p {
			t.Errorf("key %s on partition %d, Murmur2 says %d", key, p, want)
		}
	}
}

// TestKafkaGoGroupReader reads with a consumer group, the way auditctl tail
// and the end-to-end tests consume.
func TestKafkaGoGroupReader(t *testing.T) {
	k := NewKafka(t)
	const topic = "group.topic"
	if err := createTopicConn(t, k.Brokers()[0], kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := &kafka.Writer{
		Addr: kafka.TCP(k.Brokers()...), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{},
	}
	defer w.Close()
	const n = 30
	for i := 0; i < n; i++ {
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("v")}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     k.Brokers(),
		GroupID:     "tail",
		Topic:       topic,
		StartOffset: kafka.FirstOffset,
		MaxWait:     50 * time.Millisecond,
	})
	defer r.Close()
	seen := map[string]bool{}
	for len(seen) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("ReadMessage after %d: %v", len(seen), err)
		}
		seen[string(m.Key)] = true
	}
}

func TestKafkaGoAutoCreate(t *testing.T) {
	k := NewKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := &kafka.Writer{
		Addr: kafka.TCP(k.Brokers()...), Topic: "auto.created", Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{},
		AllowAutoTopicCreation: true,
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("WriteMessages to a new topic with AllowAutoTopicCreation: %v", err)
	}
	if got := len(k.Cluster().PartitionInfos("auto.created")); got != 3 {
		t.Errorf("auto-created topic has %d partitions, want 3", got)
	}
}

func TestStartKafkaFixedPortAndLogger(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	k, err := StartKafka(KafkaOptions{
		Port:       port,
		Partitions: 5,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("StartKafka: %v", err)
	}
	defer k.Close()
	if want := fmt.Sprintf("127.0.0.1:%d", port); len(k.Brokers()) != 1 || k.Brokers()[0] != want {
		t.Fatalf("Brokers() = %v, want [%s]", k.Brokers(), want)
	}
	if err := createTopicConn(t, k.Brokers()[0], kafka.TopicConfig{Topic: "five", NumPartitions: -1, ReplicationFactor: -1}); err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if got := len(k.Cluster().PartitionInfos("five")); got != 5 {
		t.Errorf("partitions = %d, want 5", got)
	}

	if _, err := StartKafka(KafkaOptions{Port: port}); err == nil {
		t.Errorf("second broker on port %d started; want an address-in-use error", port)
	}
}

func TestSlogLogger(t *testing.T) {
	tests := []struct {
		level kfake.LogLevel
		want  string // "" = filtered out
	}{
		{kfake.LogLevelError, "level=ERROR msg=\"kafka broker\" detail=\"persist to disk: boom\""},
		{kfake.LogLevelWarn, "level=WARN msg=\"kafka broker\" detail=\"persist to disk: boom\""},
		{kfake.LogLevelInfo, ""},
		{kfake.LogLevelDebug, ""},
		{kfake.LogLevelNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var b strings.Builder
			h := slog.NewTextHandler(&b, &slog.HandlerOptions{
				Level: slog.LevelWarn,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			})
			slogLogger{slog.New(h)}.Logf(tt.level, "persist to disk: %v", "boom")
			if got := strings.TrimSpace(b.String()); got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
}

// TestKafkaGoCompactedTopic covers what the checkpoint store relies on: list
// offsets, headers, nil-value tombstones, and compaction on demand.
func TestKafkaGoCompactedTopic(t *testing.T) {
	k := NewKafka(t)
	const topic = "pollers.checkpoints"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(k.Brokers()...), Timeout: 5 * time.Second}
	if _, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: 1, ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
	}}}); err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	w := &kafka.Writer{
		Addr: kafka.TCP(k.Brokers()...), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{},
	}
	defer w.Close()
	writes := []kafka.Message{
		{Key: []byte("a"), Value: []byte("a1"), Headers: []kafka.Header{{Key: "h", Value: []byte("x")}}},
		{Key: []byte("b"), Value: []byte("b1")},
		{Key: []byte("a"), Value: []byte("a2")},
		{Key: []byte("b"), Value: nil}, // tombstone
	}
	for _, m := range writes {
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatalf("write %s: %v", m.Key, err)
		}
	}

	offs, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)},
	}})
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	po := offs.Topics[topic]
	if len(po) != 1 || po[0].Error != nil || po[0].FirstOffset != 0 || po[0].LastOffset != 4 {
		t.Fatalf("ListOffsets = %+v, want first 0 last 4", po)
	}

	readAll := func() []kafka.Message {
		t.Helper()
		conn, err := kafka.DialLeader(ctx, "tcp", k.Brokers()[0], topic, 0)
		if err != nil {
			t.Fatalf("DialLeader: %v", err)
		}
		defer conn.Close()
		first, last, err := conn.ReadOffsets()
		if err != nil {
			t.Fatalf("ReadOffsets: %v", err)
		}
		if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
			t.Fatalf("Seek: %v", err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		batch := conn.ReadBatch(1, 1<<20)
		defer batch.Close()
		var out []kafka.Message
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			out = append(out, m)
			if m.Offset+1 >= last {
				break
			}
		}
		return out
	}

	got := readAll()
	if len(got) != 4 {
		t.Fatalf("read %d messages, want 4", len(got))
	}
	if len(got[0].Headers) != 1 || got[0].Headers[0].Key != "h" || string(got[0].Headers[0].Value) != "x" {
		t.Errorf("headers = %+v, want h=x", got[0].Headers)
	}
	if got[3].Value != nil {
		t.Errorf("tombstone value = %q, want nil", got[3].Value)
	}

	k.Cluster().Compact()
	compacted := readAll()
	last := map[string]string{}
	for _, m := range compacted {
		last[string(m.Key)] = string(m.Value)
	}
	if last["a"] != "a2" {
		t.Errorf("after compaction key a = %q, want a2 (messages %d)", last["a"], len(compacted))
	}
	t.Logf("after Compact: %d of 4 messages remain", len(compacted))
}
