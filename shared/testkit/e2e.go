package testkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/serde"
)

// This file holds what every poller's end-to-end tests share: a consumer
// that is not the pollers' Kafka client, delivery checks, and ways to stop a
// poller abruptly.

// Brokers is a Kafka cluster a test talks to: the in-process *Kafka, or an
// ExternalKafka.
type Brokers interface {
	Brokers() []string
}

// ExternalKafka is a Kafka cluster the test did not start (the
// docker-compose stack, say).
type ExternalKafka []string

// Brokers returns the bootstrap brokers.
func (e ExternalKafka) Brokers() []string { return e }

// External returns the Kafka cluster and Schema Registry named by
// KAFKA_BROKERS and SCHEMA_REGISTRY_URL, and skips the test when either is
// unset. Integration tests (//go:build integration) run against them.
func External(t testing.TB) (ExternalKafka, string) {
	t.Helper()
	brokers, registry := os.Getenv("KAFKA_BROKERS"), os.Getenv("SCHEMA_REGISTRY_URL")
	if brokers == "" || registry == "" {
		t.Skip("set KAFKA_BROKERS and SCHEMA_REGISTRY_URL (e.g. docker compose up kafka schema-registry) to run against a real Kafka")
	}
	return ExternalKafka(strings.Split(brokers, ",")), registry
}

// EndOffsets returns the end offset of each partition of topic, or nil when
// the topic does not exist yet.
func EndOffsets(t testing.TB, k Brokers, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := kafkax.NewClient(kafkax.Config{Brokers: k.Brokers()})
	if err != nil {
		t.Fatal(err)
	}
	defer kafkax.CloseClient(cl)
	ends, err := kafkax.EndOffsets(ctx, cl, topic)
	if err != nil {
		return nil
	}
	return ends
}

// Produced returns the number of messages in topic (the sum of its end
// offsets), 0 when it does not exist yet.
func Produced(t testing.TB, k Brokers, topic string) int64 {
	t.Helper()
	var n int64
	for _, e := range EndOffsets(t, k, topic) {
		n += e
	}
	return n
}

// Consume reads every message of topic up to the end offsets at the time
// of the call with franz-go's kgo — another Kafka client than the pollers'
// kafka-go — and decodes each value with the schema the registry at
// registryURL holds for its id, as any consumer would. It fails the test if
// a value does not decode or its key is not its event_id.
func Consume(t testing.TB, k Brokers, registryURL, topic string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends := EndOffsets(t, k, topic)
	var remaining int64
	for _, e := range ends {
		remaining += e
	}
	if remaining == 0 {
		return nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(k.Brokers()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srCl, err := serde.NewClient(serde.Options{URL: registryURL})
	if err != nil {
		t.Fatal(err)
	}
	dec := serde.NewDecoder(srCl)
	var out []map[string]any
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v (%d messages short)", topic, err, remaining)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("consume %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[int(r.Partition)] {
				return // produced after the call
			}
			remaining--
			var v map[string]any
			if _, err := dec.Decode(ctx, r.Value, &v); err != nil {
				t.Fatalf("decode %s/%d@%d: %v", topic, r.Partition, r.Offset, err)
			}
			if id, ok := v["event_id"]; ok && id != string(r.Key) {
				t.Fatalf("%s/%d@%d: key %q differs from event_id %v", topic, r.Partition, r.Offset, r.Key, id)
			}
			out = append(out, v)
		})
	}
	return out
}

// CountIDs counts the events of each event_id.
func CountIDs(events []map[string]any) map[string]int {
	c := map[string]int{}
	for _, e := range events {
		id, _ := e["event_id"].(string)
		c[id]++
	}
	return c
}

// CheckDelivered checks that every wanted event id arrived, that nothing
// else did, and that at most maxDups events repeat; it returns how many
// repeat.
func CheckDelivered(t testing.TB, want map[string]string, counts map[string]int, maxDups int) int {
	t.Helper()
	dups := 0
	for id, what := range want {
		switch c := counts[id]; {
		case c == 0:
			t.Fatalf("event %s (%s) lost", id, what)
		case c > 1:
			dups += c - 1
		}
	}
	if len(counts) != len(want) {
		for id := range counts {
			if _, ok := want[id]; !ok {
				t.Fatalf("%d distinct events, want %d: unexpected event %s", len(counts), len(want), id)
			}
		}
	}
	if dups > maxDups {
		t.Fatalf("%d duplicates; at most %d (the pages in flight at the stops) allowed", dups, maxDups)
	}
	return dups
}

// WaitFor polls cond every 50ms until it holds, or fails the test after
// timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RunPoller runs svc in process (svc.Config already loaded) until stop is
// called; stop returns Run's error.
func RunPoller(ctx context.Context, svc poller.Service) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- poller.Run(ctx, svc) }()
	return func() error {
		cancel()
		return <-done
	}
}

// ErrKilled is what a CrashingStore's saves return once it has "crashed".
var ErrKilled = errors.New("process killed")

// CrashingStore makes a poller "die" right after Kafka acknowledged a page
// and before its checkpoint lands: the After-th Save fails and cancels the
// run, and no later Save succeeds — as with a kill -9 at that moment. Use
// it through poller.Service.WrapCheckpoints.
type CrashingStore struct {
	checkpoint.Store
	// After is the Save (1-based) at which the process dies.
	After int64
	// Cancel stops the run.
	Cancel context.CancelFunc
	saves  atomic.Int64
	dead   atomic.Bool
}

// Save saves cp until the crash, and fails from then on.
func (s *CrashingStore) Save(ctx context.Context, cp checkpoint.Checkpoint) error {
	if s.dead.Load() {
		return ErrKilled
	}
	if s.saves.Add(1) == s.After {
		s.dead.Store(true)
		s.Cancel()
		return ErrKilled
	}
	return s.Store.Save(ctx, cp)
}

// Crashed reports whether the crash happened.
func (s *CrashingStore) Crashed() bool { return s.dead.Load() }

// RunUntilCrash runs svc until a CrashingStore kills it at its after-th
// checkpoint save, and fails the test if the run ends otherwise.
func RunUntilCrash(t testing.TB, svc poller.Service, after int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &CrashingStore{After: after, Cancel: cancel}
	svc.WrapCheckpoints = func(s checkpoint.Store) checkpoint.Store { store.Store = s; return store }
	if err := poller.Run(ctx, svc); err != nil {
		t.Fatalf("run crashing at save %d: %v", after, err)
	}
	if !store.Crashed() {
		t.Fatalf("run ended before its crash at save %d", after)
	}
}

// BuildBinary builds the main package in dir (a poller's module root) with
// CGO disabled, as a user would, and returns the binary's path.
func BuildBinary(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	if abs, err := filepath.Abs(dir); err == nil {
		bin = filepath.Join(t.TempDir(), filepath.Base(abs))
	}
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// StartBinary starts bin with env added to the test's environment, its
// output to logs.
func StartBinary(t testing.TB, bin string, env map[string]string, logs io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(fmt.Errorf("start %s: %w", bin, err))
	}
	return cmd
}
