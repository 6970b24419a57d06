package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/internal/plm"
	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
)

// pageBody returns a real system-logs response body of size rows, as the
// simulator serves it.
func pageBody(b *testing.B, size int) []byte {
	b.Helper()
	sim := plmsim.New(plmsim.Config{Tenant: "BENCH", StaticToken: "bench", Seed: 3})
	now := time.Now().UTC()
	sim.Generate(now.Add(-24*time.Hour), now, map[string]int{plmsim.TypeItem: size})
	req := httptest.NewRequest(http.MethodGet, "/api/v3/tenants/BENCH/system-logs?type=item&sort=timestamp%20asc&offset=0&limit="+strconv.Itoa(size), nil)
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("X-user-id", plmsim.DefaultUserID)
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("simulator answered %d: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return body
}

// replaySource decodes the same page body pages times, as if the vendor
// served page after page, then reports Done. Its cursor is the page number.
type replaySource struct {
	body     []byte
	pages    int
	finished chan struct{}
}

func (s *replaySource) Stream() string { return "plm/BENCH/system-logs/item" }

func (s *replaySource) Fetch(_ context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	n := 0
	if cur != nil {
		if err := json.Unmarshal(cur, &n); err != nil {
			return pipeline.Page{}, err
		}
	}
	next, _ := json.Marshal(n + 1)
	if n == s.pages {
		// Every page before this one is produced and checkpointed.
		close(s.finished)
		return pipeline.Page{Next: cur, Done: true}, nil
	}
	page, err := plm.DecodePage(s.body)
	if err != nil {
		return pipeline.Page{}, fmt.Errorf("decode page: %w", err)
	}
	records := make([]pipeline.Record, len(page.Items))
	for i, e := range page.Items {
		records[i] = e.Record()
	}
	return pipeline.Page{Records: records, Next: next, Position: time.Now()}, nil
}

// BenchmarkPipeline measures PLM pages through decode → normalize → Avro
// encode → synchronous produce (acks=all) to an in-process Kafka →
// checkpoint on the compacted topic: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("page=%d", size), func(b *testing.B) {
			benchPipeline(b, size)
		})
	}
}

func benchPipeline(b *testing.B, size int) {
	ctx := context.Background()
	body := pageBody(b, size)
	k := testkit.NewKafka(b)
	reg := testkit.NewRegistry(b)
	kcfg := kafkax.Config{Brokers: k.Brokers()}
	if err := kafkax.EnsureTopics(ctx, kcfg,
		kafkax.CheckpointTopicSpec("pollers.checkpoints", -1),
		kafkax.TopicSpec{Name: "plm.audit", Partitions: 3, ReplicationFactor: -1},
		kafkax.TopicSpec{Name: "pollers.deadletter", Partitions: 1, ReplicationFactor: -1},
	); err != nil {
		b.Fatal(err)
	}
	srCl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(ctx, srCl, "plm.audit", event.AuditSchema.Text, event.AuditSchema.Example)
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
	w, err := kafkax.NewWriter(kcfg, "", writerBatchForBench)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()

	src := &replaySource{body: body, pages: b.N, finished: make(chan struct{})}
	r, err := pipeline.New(pipeline.Options{
		Producer:          w,
		Checkpoints:       store,
		Encoders:          map[string]pipeline.Encoder{"plm.audit": enc},
		DeadLetterTopic:   "pollers.deadletter",
		DeadLetterEncoder: dlEnc,
		PollInterval:      time.Hour,
	}, pipeline.Stream{Source: src, Normalize: plm.NewNormalizer("BENCH", plm.LogTypeItem), Topic: "plm.audit", Vendor: "plm", Tenant: "BENCH"})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	<-src.finished
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	records := float64(b.N * size)
	b.ReportMetric(records/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/records, "B/record")
}

// writerBatchForBench matches the writer batch poller.Run uses.
const writerBatchForBench = 2000

// BenchmarkNormalizeEncode measures the CPU-bound part alone: decoding a
// 1000-row page, normalizing every row and encoding it in the wire format.
func BenchmarkNormalizeEncode(b *testing.B) {
	body := pageBody(b, 1000)
	reg := testkit.NewRegistry(b)
	srCl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(context.Background(), srCl, "plm.audit", event.AuditSchema.Text, event.AuditSchema.Example)
	if err != nil {
		b.Fatal(err)
	}
	norm := plm.NewNormalizer("BENCH", plm.LogTypeItem)
	observed := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	var buf []byte
	for range b.N {
		page, err := plm.DecodePage(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range page.Items {
			ev, err := norm(e.Record(), observed)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = enc.AppendEncode(buf[:0], ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}
