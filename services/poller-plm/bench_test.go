package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/internal/plm"
	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/event"
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

// BenchmarkPipeline measures PLM pages through decode → normalize → Avro
// encode → synchronous produce (acks=all) to an in-process Kafka →
// checkpoint on the compacted topic: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("page=%d", size), func(b *testing.B) {
			body := pageBody(b, size)
			testkit.BenchPipeline(b, testkit.BenchConfig{
				Stream: "plm/BENCH/system-logs/item", Topic: "plm.audit", Schema: event.AuditSchema,
				Vendor: "plm", Tenant: "BENCH", Normalize: plm.NewNormalizer("BENCH", plm.LogTypeItem),
				Page:           func(context.Context, int) (pipeline.Page, error) { return replayPage(body) },
				RecordsPerPage: size, PageBytes: len(body),
			})
		})
	}
}

// replayPage decodes body as the source decodes a system-logs page.
func replayPage(body []byte) (pipeline.Page, error) {
	page, err := plm.DecodePage(body)
	if err != nil {
		return pipeline.Page{}, fmt.Errorf("decode page: %w", err)
	}
	records := make([]pipeline.Record, len(page.Items))
	for i, e := range page.Items {
		records[i] = e.Record()
	}
	return pipeline.Page{Records: records, Position: time.Now()}, nil
}

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
