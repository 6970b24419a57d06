package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-aveva/avevasim"
	"github.com/auditstream/auditstream/services/poller-aveva/internal/aveva"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
)

// benchRecords is the size of the benchmarked response: the API's cap.
const benchRecords = aveva.DefaultMaxRecords

// benchHour is the hour the benchmark records lie in.
var benchHour = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

// responseBody returns a real response of report holding n records, as the
// simulator serves it.
func responseBody(b *testing.B, report string, n int) []byte {
	b.Helper()
	sim := avevasim.New(avevasim.Config{StaticToken: "bench", MaxRecords: n, Seed: 3})
	sim.Add(report, benchHour, benchHour.Add(time.Hour), n)
	var req *http.Request
	from, to := benchHour.Format(aveva.DateTimeLayout), benchHour.Add(time.Hour).Format(aveva.DateTimeLayout)
	if report == avevasim.Audit {
		req = httptest.NewRequest(http.MethodGet, avevasim.AuditPath+"?range=Custom&offset=0&from="+from+"&to="+to, nil)
	} else {
		req = httptest.NewRequest(http.MethodPost, avevasim.IntegrationPath+report, strings.NewReader(`{"fromDate":"`+from+`","toDate":"`+to+`"}`))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer bench")
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("simulator answered %d: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return body
}

// bodyReader serves the same response body for every window, decoded as
// the client decodes a response (aveva.DecodeRecords on the stream).
type bodyReader struct{ body []byte }

func (r bodyReader) Records(_ context.Context, _ aveva.Query, limit int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	_, _, err := aveva.DecodeRecords(bytes.NewReader(r.body), func(raw json.RawMessage) bool {
		out = append(out, raw)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// benchSource returns a Source of report over body whose one window is
// published whole (its cap is above the body's size).
func benchSource(report aveva.Report, body []byte) *aveva.Source {
	return aveva.NewSource(bodyReader{body}, aveva.SourceConfig{
		Tenant: "bench", Report: report, Start: benchHour, Window: time.Hour,
		MaxRecords: benchRecords + 1,
		Clock:      func() time.Time { return benchHour.Add(time.Hour) },
	})
}

// decodeNormalize fetches the window (the streamed decode, the record
// decode, identities) and normalizes every record; it returns the page.
func decodeNormalize(b *testing.B, src *aveva.Source, norm pipeline.Normalizer) pipeline.Page {
	page, err := src.Fetch(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(page.Records) != benchRecords {
		b.Fatalf("%d records", len(page.Records))
	}
	observed := time.Now()
	for _, r := range page.Records {
		if _, err := norm(r, observed); err != nil {
			b.Fatal(err)
		}
	}
	return page
}

// BenchmarkDecodeNormalize measures a 20,000-record response (the cap)
// through the streaming decoder, the source's record decoding and event
// identities, and the normalizer, on one core: one op is one response. It
// reports records/s and, from one separate run, the peak heap (live and
// not yet collected objects, sampled every 100µs above the heap before)
// and the page's retained size (its records after a GC).
func BenchmarkDecodeNormalize(b *testing.B) {
	for _, name := range []string{avevasim.CreditsTransaction, avevasim.ServiceUsage, avevasim.Audit} {
		b.Run("report="+name, func(b *testing.B) {
			report, _ := aveva.LookupReport(name)
			body := responseBody(b, name, benchRecords)
			src := benchSource(report, body)
			norm := aveva.NewNormalizer("bench", report)

			var page pipeline.Page
			peak, retained := measureHeap(func() { page = decodeNormalize(b, src, norm) })
			runtime.KeepAlive(page)

			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for range b.N {
				decodeNormalize(b, src, norm)
			}
			b.ReportMetric(float64(b.N*benchRecords)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(len(body))/(1<<20), "body-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(retained)/(1<<20), "page-MiB")
		})
	}
}

// heapObjects is the runtime metric of heap memory held by objects, live
// or not yet swept; reading it does not stop the world.
const heapObjects = "/memory/classes/heap/objects:bytes"

// measureHeap runs fn once and returns the peak heap above the heap before
// it, sampled every 100µs, and what fn's result retains after a GC (fn
// keeps it reachable through its closure).
func measureHeap(fn func()) (peak, retained uint64) {
	sample := []metrics.Sample{{Name: heapObjects}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	var top atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: heapObjects}}
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if v := read(); v > top.Load() {
		top.Store(v)
	}
	runtime.GC()
	after := read()
	if after > base {
		retained = after - base
	}
	return top.Load() - base, retained
}

// BenchmarkPipeline measures 20,000-record creditsTransaction pages through
// decode → normalize → Avro encode → synchronous produce (acks=all) to an
// in-process Kafka → checkpoint: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	report, _ := aveva.LookupReport(avevasim.CreditsTransaction)
	body := responseBody(b, avevasim.CreditsTransaction, benchRecords)
	src := benchSource(report, body)
	testkit.BenchPipeline(b, testkit.BenchConfig{
		Stream: src.Stream(), Topic: "aveva.usage", Schema: event.UsageSchema,
		Vendor: "aveva", Tenant: "bench", Normalize: aveva.NewNormalizer("bench", report),
		// The same window, published whole, page after page.
		Page:           func(ctx context.Context, _ int) (pipeline.Page, error) { return src.Fetch(ctx, nil) },
		RecordsPerPage: benchRecords, PageBytes: len(body),
	})
}
