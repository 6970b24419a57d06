package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/asyncjob"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

// benchDay is the day of the benchmarks' reports.
var benchDay = utcday.Date(2026, 12, 3)

// reportZip returns a report file of n rows of benchDay as oraclesim
// writes it (classic header), sorted by login then time.
func reportZip(b *testing.B, n int) []byte {
	b.Helper()
	sim := oraclesim.New(oraclesim.Config{Seed: 1, RateLimit: -1})
	// Logins merge within five minutes: generate more than n, keep n rows.
	sim.Generate(benchDay.Start(), benchDay.End(), n*2)
	rows := sim.Rows(benchDay.Start(), benchDay.End())
	for len(rows) < n {
		rows = append(rows, rows...)
	}
	rows = rows[:n]
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("report.csv")
	if err != nil {
		b.Fatal(err)
	}
	f.Write(oraclesim.ReportCSV(sim.ApplicationID(), oraclesim.HeaderClassic, rows))
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// auditEncoder returns the registered wire-format encoder of oracle.audit.
func auditEncoder(b *testing.B) *serde.Encoder {
	b.Helper()
	reg := testkit.NewRegistry(b)
	cl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(context.Background(), cl, topic, event.AuditSchema.Text, event.AuditSchema.Example)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

// BenchmarkZipCSV measures a report file through download (zipcsv.ReadAll
// with Content-Length) → ZIP → CSV → Row → normalize → Avro encode, in
// pages of 1,000 as the Source reads it: rows/s, and the heap it needs —
// peak-live-heap-MiB is the largest live heap (after a GC at each page
// end, the page still held) above the heap before the download, which
// holds the ZIP, the decompressor and one page; peak-heap-MiB the largest
// heap seen without forcing a GC (garbage included); zip-MiB the file.
func BenchmarkZipCSV(b *testing.B) {
	enc := auditEncoder(b)
	norm := oracle.NewNormalizer("bench")
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			data := reportZip(b, n)
			var peakLive, peak uint64
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				l, p := readReport(b, data, norm, enc, n)
				peakLive, peak = max(peakLive, l), max(peak, p)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(len(data))/(1<<20), "zip-MiB")
			b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-heap-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// readReport reads data as the Source does and returns the peak live and
// peak heap above the heap before it.
func readReport(b *testing.B, data []byte, norm pipeline.Normalizer, enc *serde.Encoder, n int) (peakLive, peak uint64) {
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	b.StartTimer()
	body, err := zipcsv.ReadAll(bytes.NewReader(data), int64(len(data)), 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := oracle.NewZipReport("bench.csv", body)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := rep.Rows(context.Background(), 0)
	if err != nil {
		b.Fatal(err)
	}
	observed := time.Now()
	got := 0
	var buf []byte
	for {
		page := make([]pipeline.Record, 0, oracle.DefaultPageSize)
		eof := false
		for len(page) < oracle.DefaultPageSize {
			row, err := rows.Next()
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			r := row
			page = append(page, pipeline.Record{Raw: r.Raw(), Value: &r})
		}
		buf = buf[:0]
		for _, rec := range page {
			ev, err := norm(rec, observed)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = enc.AppendEncode(buf, ev); err != nil {
				b.Fatal(err)
			}
		}
		got += len(page)
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peakLive = max(peakLive, ms.HeapAlloc-min(base, ms.HeapAlloc))
		runtime.KeepAlive(page)
		b.StartTimer()
		if eof {
			break
		}
	}
	rep.Close()
	if got != n {
		b.Fatalf("%d rows, want %d", got, n)
	}
	return peakLive, peak
}

// BenchmarkPipeline measures pages of 1,000 report rows through normalize
// → Avro encode → synchronous produce (acks=all) to an in-process Kafka →
// checkpoint on the compacted topic: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	data := reportZip(b, oracle.DefaultPageSize)
	testkit.BenchPipeline(b, testkit.BenchConfig{
		Stream: oracle.StreamName("bench"), Topic: topic, Schema: event.AuditSchema,
		Vendor: oracle.Vendor, Tenant: "bench", Normalize: oracle.NewNormalizer("bench"),
		Page: func(ctx context.Context, n int) (pipeline.Page, error) {
			rep, err := oracle.NewZipReport("bench.csv", data)
			if err != nil {
				return pipeline.Page{}, err
			}
			rows, err := rep.Rows(ctx, 0)
			if err != nil {
				return pipeline.Page{}, err
			}
			var recs []pipeline.Record
			for {
				row, err := rows.Next()
				if err != nil {
					break
				}
				r := row
				r.Login = fmt.Sprintf("%s#%d", r.Login, n) // a new event id page after page
				recs = append(recs, pipeline.Record{Raw: r.Raw(), Value: &r})
			}
			return pipeline.Page{Records: recs, Position: time.Now()}, nil
		},
		RecordsPerPage: oracle.DefaultPageSize, PageBytes: len(data),
	})
}

// BenchmarkBackfillPlans measures what a 120-day backfill costs in calls
// and in (simulated) seconds against oraclesim's job-duration model (each
// job runs a random 2 to 8 s, whatever its range) with the default
// ORACLE_JOB_POLL_INTERVAL (5s): one report per day, as the Source does
// it, against one report for the whole run of closed days, to be split
// into days by the poller.
func BenchmarkBackfillPlans(b *testing.B) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	oldest := utcday.Oldest(now, oracle.RetentionDays)
	last := utcday.LastClosed(now, 2*time.Minute)
	setup := func(b *testing.B) (*oraclesim.Server, *testkit.Clock, *oracle.Client) {
		clock := testkit.NewClock(now)
		sim := oraclesim.New(oraclesim.Config{Seed: 2, RateLimit: -1, JobFailRate: -1, Clock: clock.Now})
		sim.Generate(oldest.Start(), last.End(), 50_000)
		srv := httptest.NewServer(sim)
		b.Cleanup(srv.Close)
		h := httpx.New(httpx.Config{}, httpx.WithAuthorizer(oracle.NewBasic(oraclesim.DefaultUsername, oraclesim.DefaultPassword)))
		c, err := oracle.NewClient(h, srv.URL, oracle.ClientOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return sim, clock, c
	}
	b.Run("per-day", func(b *testing.B) {
		var calls, secs float64
		for range b.N {
			sim, clock, c := setup(b)
			rep := oracle.NewAuditReporter(c, oracle.AuditReporterConfig{PollInterval: oracle.DefaultJobPollInterval, Timeout: oracle.DefaultJobTimeout, Now: clock.Now, Sleep: clock.Sleep, Logger: discard()})
			src, err := oracle.NewSource(oracle.SourceConfig{Tenant: "bench", Reporter: rep, Start: oldest.Start(), SafetyLag: 2 * time.Minute, Clock: clock.Now, Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			var cur pipeline.Cursor
			for {
				p, err := src.Fetch(context.Background(), cur)
				if err != nil {
					b.Fatal(err)
				}
				if c := decodeOracle(p.Next); c.Day > last {
					break
				}
				cur = p.Next
			}
			calls, secs = float64(sim.Stats().Requests), clock.Now().Sub(now).Seconds()
		}
		b.ReportMetric(calls, "calls/op")
		b.ReportMetric(secs, "virtual-s/op")
	})
	b.Run("per-run", func(b *testing.B) {
		var calls, secs float64
		for range b.N {
			sim, clock, c := setup(b)
			href, err := c.Submit(context.Background(), "run.csv", oldest, last)
			if err != nil {
				b.Fatal(err)
			}
			_, err = asyncjob.Wait(context.Background(), asyncjob.Config{Interval: oracle.DefaultJobPollInterval, Now: clock.Now, Sleep: clock.Sleep}, func(ctx context.Context) (bool, error) {
				st, err := c.JobStatus(ctx, href)
				return err == nil && st.Done(), err
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Download(context.Background(), "run.csv"); err != nil {
				b.Fatal(err)
			}
			if err := c.Delete(context.Background(), "run.csv"); err != nil {
				b.Fatal(err)
			}
			calls, secs = float64(sim.Stats().Requests), clock.Now().Sub(now).Seconds()
		}
		b.ReportMetric(calls, "calls/op")
		b.ReportMetric(secs, "virtual-s/op")
	})
}
