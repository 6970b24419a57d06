package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
)

// stack starts Kafka and a registry and points auditctl's environment at them.
func stack(t *testing.T) (kafkax.Config, string) {
	t.Helper()
	k := testkit.NewKafka(t)
	reg := testkit.NewRegistry(t)
	t.Setenv("KAFKA_BROKERS", strings.Join(k.Brokers(), ","))
	t.Setenv("SCHEMA_REGISTRY_URL", reg.URL())
	t.Setenv("CHECKPOINT_TOPIC", "pollers.checkpoints")
	return kafkax.Config{Brokers: k.Brokers()}, reg.URL()
}

func TestTailDecodesValuesWithTheRegistrySchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kcfg, regURL := stack(t)
	if err := kafkax.EnsureTopics(ctx, kcfg, kafkax.TopicSpec{Name: "plm.audit", Partitions: 3, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
	cl, err := serde.NewClient(serde.Options{URL: regURL})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := serde.Register(ctx, cl, "plm.audit", event.AuditSchema.Text, event.AuditSchema.Example)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kafkax.NewWriter(kcfg, "plm.audit", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var msgs []kafka.Message
	for _, id := range []string{"a", "b", "c"} {
		v, err := enc.Encode(&event.AuditEvent{EventID: id, Vendor: "plm", Stream: "s", EventTime: time.Unix(1700000000, 0), ObservedTime: time.Unix(1700000001, 0), Category: event.CategoryAuthentication, Outcome: event.OutcomeSuccess})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(id), Value: v})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"tail", "plm.audit", "--from-beginning", "-n", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var got struct {
			Key      string `json:"key"`
			SchemaID int    `json:"schema_id"`
			Value    struct {
				EventID  string `json:"event_id"`
				Category string `json:"category"`
			} `json:"value"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if got.Key != got.Value.EventID || got.Value.Category != "AUTHENTICATION" || got.SchemaID != enc.SchemaID() {
			t.Fatalf("line %q not decoded as expected", l)
		}
		seen[got.Key] = true
	}
	if len(seen) != 3 {
		t.Fatalf("tailed %v, want a, b, c", seen)
	}
}

func TestCheckpointsListAndReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kcfg, _ := stack(t)
	if err := kafkax.EnsureTopics(ctx, kcfg, kafkax.CheckpointTopicSpec("pollers.checkpoints", -1)); err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.NewKafkaStore(ctx, kcfg, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"plm/ACME/system-logs/item", "plm/ACME/system-logs/system"} {
		if err := store.Save(ctx, checkpoint.Checkpoint{Stream: s, Cursor: json.RawMessage(`{"last":"2026-01-01T00:00:00Z","n":2}`), Records: 42, Topic: "plm.audit"}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"checkpoints", "list"}, &out, &errOut); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "plm/ACME/system-logs/item") || !strings.Contains(out.String(), "42") {
		t.Fatalf("list output:\n%s", out.String())
	}

	out.Reset()
	if code := run(ctx, []string{"checkpoints", "reset", "plm/ACME/system-logs/item", "--to", "2026-02-03T04:05:06Z"}, &out, &errOut); code != 0 {
		t.Fatalf("reset --to: exit %d: %s", code, errOut.String())
	}
	if code := run(ctx, []string{"checkpoints", "reset", "plm/ACME/system-logs/system"}, &out, &errOut); code != 0 {
		t.Fatalf("reset: exit %d: %s", code, errOut.String())
	}

	// A stream without a checkpoint (a typo) is refused, with the known
	// streams listed; nothing is written.
	errOut.Reset()
	if code := run(ctx, []string{"checkpoints", "reset", "plm/ACME/system-logs/itme", "--to", "2026-02-03T04:05:06Z"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "plm/ACME/system-logs/itme has no checkpoint") || !strings.Contains(errOut.String(), "plm/ACME/system-logs/item") {
		t.Fatalf("reset of an unknown stream: exit %d: %s", code, errOut.String())
	}

	reopened, err := checkpoint.NewKafkaStore(ctx, kcfg, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	cp, err := reopened.Get(ctx, "plm/ACME/system-logs/item")
	if err != nil {
		t.Fatal(err)
	}
	if string(cp.Cursor) != `{"last":"2026-02-03T04:05:06Z"}` || cp.Records != 42 {
		t.Fatalf("after reset --to: %+v (cursor %s)", cp, cp.Cursor)
	}
	if _, err := reopened.Get(ctx, "plm/ACME/system-logs/system"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("after reset: err = %v, want ErrNotFound", err)
	}
	if _, err := reopened.Get(ctx, "plm/ACME/system-logs/itme"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("the refused reset wrote a checkpoint: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "checkpoints reset") {
		t.Fatalf("help: exit %d, %q", code, out.String())
	}
	if code := run(context.Background(), []string{"bogus"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"checkpoints", "reset", "s", "--to", "yesterday"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "RFC 3339") {
		t.Fatalf("bad --to: exit %d, %q", code, errOut.String())
	}
}
