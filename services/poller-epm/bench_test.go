package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/services/poller-epm/internal/epm"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
)

// benchSet is the set of the single-set benchmarks.
const benchSet = "47f5830e-383a-4db1-9e5f-b38ed0448a92"

// serve sends req to h and returns the body of a 200 answer.
func serve(b *testing.B, h http.Handler, req *http.Request) []byte {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("simulator answered %d: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return body
}

// pageBody returns a real admin audit response body of size records, as
// the simulator serves it.
func pageBody(b *testing.B, size int) []byte {
	b.Helper()
	sim := epmsim.New(epmsim.Config{NoRateLimit: true, Seed: 3})
	sim.AddSet(benchSet, "Production")
	now := time.Now().UTC()
	sim.Generate(benchSet, now.Add(-24*time.Hour), now, size)
	logon := httptest.NewRequest(http.MethodPost, "/EPM/API/Auth/EPM/Logon",
		strings.NewReader(fmt.Sprintf(`{"Username":%q,"Password":%q,"ApplicationID":"bench"}`, epmsim.DefaultUsername, epmsim.DefaultPassword)))
	var lr struct{ EPMAuthenticationResult string }
	if err := json.Unmarshal(serve(b, sim, logon), &lr); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("%s/EPM/API/Sets/%s/AdminAudit?DateFrom=%s&Offset=0&Limit=%d",
		epmsim.DefaultManagerPath, benchSet, epm.FormatDate(now.Add(-25*time.Hour)), size), nil)
	req.Header.Set("Authorization", "basic "+lr.EPMAuthenticationResult)
	return serve(b, sim, req)
}

// BenchmarkPipeline measures EPM pages of 500 records through decode →
// normalize → Avro encode → synchronous produce (acks=all) to an
// in-process Kafka → checkpoint on the compacted topic: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	body := pageBody(b, epm.MaxPageSize)
	testkit.BenchPipeline(b, testkit.BenchConfig{
		Stream: epm.StreamName("BENCH", benchSet), Topic: "epm.audit", Schema: event.AuditSchema,
		Vendor: epm.Vendor, Tenant: "BENCH", Normalize: epm.NewNormalizer("BENCH", benchSet),
		Page:           func(_ context.Context, n int) (pipeline.Page, error) { return replayPage(body, n) },
		RecordsPerPage: epm.MaxPageSize, PageBytes: len(body),
	})
}

// replayPage decodes body as the n-th admin audit page of benchSet: its
// records are the n-th occurrence of theirs, distinct event ids page after
// page.
func replayPage(body []byte, n int) (pipeline.Page, error) {
	page, err := epm.DecodeAuditPage(body)
	if err != nil {
		return pipeline.Page{}, fmt.Errorf("decode page: %w", err)
	}
	records := make([]pipeline.Record, len(page.Items))
	for i, e := range page.Items {
		e.SetID = benchSet
		e.Occurrence = n
		records[i] = e.Record()
	}
	return pipeline.Page{Records: records, Position: time.Now()}, nil
}

// BenchmarkNormalizeEncode measures the CPU-bound part alone: decoding a
// page of 500 records, normalizing every record and encoding it in the
// wire format.
func BenchmarkNormalizeEncode(b *testing.B) {
	body := pageBody(b, epm.MaxPageSize)
	reg := testkit.NewRegistry(b)
	srCl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(context.Background(), srCl, "epm.audit", event.AuditSchema.Text, event.AuditSchema.Example)
	if err != nil {
		b.Fatal(err)
	}
	norm := epm.NewNormalizer("BENCH", benchSet)
	observed := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	var buf []byte
	for range b.N {
		page, err := epm.DecodeAuditPage(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range page.Items {
			e.SetID = benchSet
			ev, err := norm(e.Record(), observed)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = enc.AppendEncode(buf[:0], ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*epm.MaxPageSize)/b.Elapsed().Seconds(), "records/s")
}

// virtualClock is simulated time: the budget's waits advance it at once.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// BenchmarkBackfill100k measures what the rate limits make of a backfill
// of 100,000 admin audit records spread over 30 days: the vendor calls it
// takes (logons, set lists and admin audit pages) and how long the
// poller's default call budget (EPM_RATE_LIMIT=4/1s,950/5m) makes it, with
// the default EPM_PAGE_SIZE (500) and EPM_MAX_WINDOW (168h). It runs
// against epmsim enforcing the vendor's limits (5 per second, 1,000 per 5
// minutes) on a simulated clock that the budget's waits advance, so the
// figure is the rate-limit bound with instant answers; every 429 would be
// a budget too generous, and fails the benchmark. The sets are found with
// one set list, and their streams — one per set, sharing the tenant's
// client — take turns call by call, as the shared budget makes them do in
// the pipeline (here in one goroutine, so that the simulated clock is
// exact).
func BenchmarkBackfill100k(b *testing.B) {
	for _, sets := range []int{1, 4} {
		b.Run(fmt.Sprintf("sets=%d", sets), func(b *testing.B) {
			var calls, seconds float64
			for range b.N {
				c, s := backfill(b, 100_000, sets)
				calls, seconds = c, s
			}
			b.ReportMetric(calls, "calls/op")
			b.ReportMetric(seconds, "virtual-s/op")
			b.ReportMetric(100_000/seconds, "records/virtual-s")
		})
	}
}

// backfill runs one backfill of records spread over sets and returns the
// vendor calls it took and its simulated duration in seconds.
func backfill(b *testing.B, records, sets int) (calls, seconds float64) {
	b.Helper()
	t0 := time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := &virtualClock{now: t0}
	sim := epmsim.New(epmsim.Config{Limits: epmsim.VendorLimits, Seed: 9, Clock: clock.Now})
	start := t0.Add(-30 * 24 * time.Hour)
	for range sets {
		set := sim.AddSet("", "")
		sim.Generate(set.ID, start, t0.Add(-time.Hour), records/sets)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := epm.Config{
		BaseURL: srv.URL, Tenant: "BENCH", Username: epmsim.DefaultUsername, Password: epmsim.DefaultPassword,
		ApplicationID: "auditstream", PageSize: epm.MaxPageSize, RateLimit: []string{"4/1s", "950/5m"},
		SessionTimeout: 20 * time.Minute, MaxWindow: 168 * time.Hour, Topic: "epm.audit",
	}
	client, err := epm.NewClientFromConfig(&cfg, epm.ClientOptions{
		HTTP:   httpx.Config{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		Logger: discard(), Clock: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		b.Fatal(err)
	}
	tenant := epm.NewTenant(client, epm.TenantConfig{
		Tenant: "BENCH", Topic: cfg.Topic, Start: start, SafetyLag: 2 * time.Minute, MaxWindow: cfg.MaxWindow,
		PageSize: cfg.PageSize, Clock: clock.Now, Logger: discard(),
	})
	streams, err := tenant.Discover(context.Background())
	if err != nil || len(streams) != sets {
		b.Fatalf("discover: %d streams, %v", len(streams), err)
	}
	cursors := make([]pipeline.Cursor, len(streams))
	done := make([]bool, len(streams))
	got := 0
	for left := len(streams); left > 0; {
		for i, s := range streams {
			if done[i] {
				continue
			}
			p, err := s.Source.Fetch(context.Background(), cursors[i])
			if err != nil {
				b.Fatal(err)
			}
			got += len(p.Records)
			cursors[i] = p.Next
			if p.Done {
				done[i] = true
				left--
			}
		}
	}
	st := sim.Stats()
	if got != records || st.RateLimited != 0 {
		b.Fatalf("%d records of %d; simulator %+v", got, records, st)
	}
	return float64(st.Logons + st.Requests), clock.Now().Sub(t0).Seconds()
}

// discard returns a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
