package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
)

// BenchWriterBatch is the writer batch poller.Run uses, and so the one
// BenchPipeline uses.
const BenchWriterBatch = 2000

// BenchConfig describes a pipeline benchmark: one stream whose pages are a
// vendor response replayed page after page.
type BenchConfig struct {
	// Stream is the stream's name, the key of its checkpoint.
	Stream string
	// Topic is the topic of the events; Schema their contract
	// (event.AuditSchema or event.UsageSchema).
	Topic  string
	Schema event.Schema
	// Vendor and Tenant label the stream.
	Vendor, Tenant string
	// Normalize maps a record to its event.
	Normalize pipeline.Normalizer
	// Page returns the page numbered n (from 0); BenchPipeline sets its
	// Next and Done.
	Page func(ctx context.Context, n int) (pipeline.Page, error)
	// RecordsPerPage is the number of records of every page.
	RecordsPerPage int
	// PageBytes is the size of the response behind a page (b.SetBytes).
	PageBytes int
}

// BenchPipeline measures b.N pages of cfg through normalize → Avro encode
// → synchronous produce (acks=all) to an in-process Kafka → checkpoint on
// the compacted topic, as poller.Run wires them: one op is one page. It
// reports records/s, allocs/record and B/record. Logs are discarded, the
// default logger's included, to keep the output to the figures.
func BenchPipeline(b *testing.B, cfg BenchConfig) {
	b.Helper()
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx := context.Background()
	k := NewKafka(b)
	reg := NewRegistry(b)
	kcfg := kafkax.Config{Brokers: k.Brokers()}
	if err := kafkax.EnsureTopics(ctx, kcfg,
		kafkax.CheckpointTopicSpec("pollers.checkpoints", -1),
		kafkax.TopicSpec{Name: cfg.Topic, Partitions: 3, ReplicationFactor: -1},
		kafkax.TopicSpec{Name: "pollers.deadletter", Partitions: 1, ReplicationFactor: -1},
	); err != nil {
		b.Fatal(err)
	}
	srCl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(ctx, srCl, cfg.Topic, cfg.Schema.Text, cfg.Schema.Example)
	if err != nil {
		b.Fatal(err)
	}
	dlEnc, err := serde.Register(ctx, srCl, "pollers.deadletter", event.DeadLetterSchema.Text, event.DeadLetterSchema.Example)
	if err != nil {
		b.Fatal(err)
	}
	store, err := checkpoint.NewKafkaStore(ctx, kcfg, "pollers.checkpoints")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	w, err := kafkax.NewWriter(kcfg, "", BenchWriterBatch)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()

	src := &replaySource{cfg: cfg, pages: b.N, finished: make(chan struct{})}
	r, err := pipeline.New(pipeline.Options{
		Producer:          w,
		Checkpoints:       store,
		Encoders:          map[string]pipeline.Encoder{cfg.Topic: enc},
		DeadLetterTopic:   "pollers.deadletter",
		DeadLetterEncoder: dlEnc,
		PollInterval:      time.Hour,
		Logger:            slog.New(slog.DiscardHandler),
	}, pipeline.Stream{Source: src, Normalize: cfg.Normalize, Topic: cfg.Topic, Vendor: cfg.Vendor, Tenant: cfg.Tenant})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.SetBytes(int64(cfg.PageBytes))
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	select {
	case <-src.finished:
	case err := <-done:
		b.Fatalf("the pipeline ended before the last page: %v", err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	records := float64(b.N * cfg.RecordsPerPage)
	b.ReportMetric(records/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/records, "B/record")
}

// replaySource serves the pages of a BenchConfig, then reports Done. Its
// cursor is the page number.
type replaySource struct {
	cfg      BenchConfig
	pages    int
	finished chan struct{}
}

func (s *replaySource) Stream() string { return s.cfg.Stream }

func (s *replaySource) Fetch(ctx context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	n := 0
	if cur != nil {
		if err := json.Unmarshal(cur, &n); err != nil {
			return pipeline.Page{}, fmt.Errorf("decode replay cursor %s: %w", cur, err)
		}
	}
	if n == s.pages {
		// Every page before this one is produced and checkpointed.
		close(s.finished)
		return pipeline.Page{Next: cur, Done: true}, nil
	}
	page, err := s.cfg.Page(ctx, n)
	if err != nil {
		return pipeline.Page{}, fmt.Errorf("replay page %d: %w", n, err)
	}
	page.Next, _ = json.Marshal(n + 1)
	page.Done = false
	return page, nil
}
