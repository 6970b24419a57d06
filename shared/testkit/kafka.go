// Package testkit runs an in-process Kafka broker and a Confluent-compatible
// Schema Registry, for tests and for the one-command dev stack.
//
// The broker is franz-go's kfake, a real Kafka wire-protocol broker, so any
// Kafka client (kafka-go included) talks to it over TCP. The registry is
// franz-go's srfake wrapped so that it validates Avro and enforces the
// subject's compatibility level the way Confluent's registry does.
package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaOptions configures StartKafka.
type KafkaOptions struct {
	// Port is the TCP port the broker listens on, on 127.0.0.1. Default 0: a
	// random free port.
	Port int
	// Partitions is the number of partitions of a topic created without an
	// explicit count (auto-created on metadata or produce, or CreateTopics
	// with NumPartitions -1). Default 3.
	Partitions int
	// Logger receives the broker's own log lines at the handler's level.
	// Default nil: the broker logs nothing.
	Logger *slog.Logger
}

// Kafka is an in-process single-broker Kafka cluster listening on 127.0.0.1.
// Topics are auto-created on first use with KafkaOptions.Partitions
// partitions and replication factor 1.
type Kafka struct {
	cluster *kfake.Cluster
	brokers []string
}

// StartKafka starts a broker. Close it when done.
func StartKafka(opts KafkaOptions) (*Kafka, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(opts.Port),
		kfake.DefaultNumPartitions(opts.Partitions),
		kfake.AllowAutoTopicCreation(),
		kfake.ClusterID("auditstream-testkit"),
	}
	if opts.Logger != nil {
		kopts = append(kopts, kfake.WithLogger(slogLogger{opts.Logger}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start kafka broker on port %d: %w", opts.Port, err)
	}
	return &Kafka{cluster: c, brokers: c.ListenAddrs()}, nil
}

// NewKafka starts a broker on a random port for the test and closes it when
// the test ends. It fails the test if the broker cannot start.
func NewKafka(t testing.TB) *Kafka {
	t.Helper()
	k, err := StartKafka(KafkaOptions{})
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(k.Close)
	return k
}

// Brokers returns the bootstrap addresses, "127.0.0.1:port".
func (k *Kafka) Brokers() []string {
	return append([]string(nil), k.brokers...)
}

// Cluster returns the underlying kfake cluster, for fault injection,
// Compact, PartitionInfo and similar test controls.
func (k *Kafka) Cluster() *kfake.Cluster { return k.cluster }

// Close stops the broker and closes every client connection.
func (k *Kafka) Close() { k.cluster.Close() }

// slogLogger adapts a slog.Logger to kfake.Logger.
type slogLogger struct{ l *slog.Logger }

// Logf logs one kfake line when the handler is enabled for its level.
func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var lvl slog.Level
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	case kfake.LogLevelInfo:
		lvl = slog.LevelInfo
	case kfake.LogLevelDebug:
		lvl = slog.LevelDebug
	default:
		return
	}
	ctx := context.Background()
	if !s.l.Enabled(ctx, lvl) {
		return
	}
	s.l.Log(ctx, lvl, "kafka broker", "detail", fmt.Sprintf(format, args...))
}
