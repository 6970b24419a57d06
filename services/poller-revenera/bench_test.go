package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/internal/revenera"
	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

const benchProduct = "2876543210"

var benchDay = utcday.Date(2026, 12, 2)

// benchZip returns a daily custom events file of n rows as the vendor
// writes it: CRLF, quoted fields with commas, client and session UUIDs,
// times ascending over the day, Deflate at BestSpeed, a few exact
// duplicates.
func benchZip(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	}
	clients := make([]string, 2000)
	for i := range clients {
		clients[i] = uuid()
	}
	cats := []string{"File", "View", "Edit", "Render", "Licensing"}
	names := []string{"Open", "Save", "Export, PDF", "Zoom", "Rotate", "Activate", "Print \"fast\""}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	fw, _ := zw.CreateHeader(&zip.FileHeader{Name: "f.csv", Method: zip.Deflate})
	cw := csv.NewWriter(fw)
	cw.UseCRLF = true
	_ = cw.Write(revenerasim.Header(revenerasim.CustomEvents))
	var prev []string
	for i := range n {
		t := benchDay.Start().Add(time.Duration(int64(i) * int64(24*time.Hour) / int64(n)))
		row := []string{t.Format(revenera.CSVTimeLayout), clients[rng.IntN(len(clients))], uuid(), cats[rng.IntN(len(cats))], names[rng.IntN(len(names))],
			fmt.Sprint(rng.IntN(1000)), "2026.1." + fmt.Sprint(rng.IntN(9)), "Pro", "en-US", "Windows 11", "DE", "Subscription"}
		if prev != nil && rng.IntN(500) == 0 {
			row = prev
		}
		_ = cw.Write(row)
		prev = row
	}
	cw.Flush()
	_ = zw.Close()
	return buf.Bytes()
}

// benchFiles lists one closed daily file and serves a copy of its ZIP, as
// a download would.
type benchFiles struct{ data []byte }

func (f *benchFiles) ListFiles(context.Context, revenera.Kind, string) (revenera.Listing, error) {
	return revenera.Listing{
		Open:  []revenera.File{{Name: "open.zip", Day: benchDay + 1, Open: true}},
		Daily: []revenera.File{{Name: "d.zip", Day: benchDay}},
	}, nil
}

func (f *benchFiles) Download(context.Context, revenera.Kind, string, string) ([]byte, error) {
	return bytes.Clone(f.data), nil
}

// heapSampler records the peak of the heap's object bytes while it runs,
// from runtime/metrics (no stop of the world).
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := heapObjects(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

// BenchmarkFileRows measures a whole daily file through ZIP → CSV → the
// file source's pages of 1,000 rows → normalize → Avro encode: rows/s, and
// the peak heap above the baseline while one file is read (the downloaded
// ZIP included) against the ZIP's size, for 50,000 and 200,000 rows:
// peak-heap-MiB is the most heap objects seen (garbage not yet collected
// included, so it depends on GOGC), live-heap-MiB what remains after a
// collection in the middle of the file.
func BenchmarkFileRows(b *testing.B) {
	reg := testkit.NewRegistry(b)
	srCl, err := serde.NewClient(serde.Options{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := serde.Register(context.Background(), srCl, "revenera.usage", event.UsageSchema.Text, event.UsageSchema.Example)
	if err != nil {
		b.Fatal(err)
	}
	norm := revenera.NewFileNormalizer("BENCH", benchProduct, revenera.CustomEvents)
	for _, n := range []int{50_000, 200_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			files := &benchFiles{data: benchZip(n)}
			var peak, live uint64
			b.SetBytes(int64(len(files.data)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				src := revenera.NewFileSource(files, revenera.FileSourceConfig{Product: benchProduct, Kind: revenera.CustomEvents, Start: benchDay.Start()})
				runtime.GC()
				base := heapObjects()
				h := startSampler()
				var cur pipeline.Cursor
				var buf []byte
				rows := 0
				for {
					p, err := src.Fetch(context.Background(), cur)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range p.Records {
						ev, err := norm(r, time.Time{})
						if err != nil {
							b.Fatal(err)
						}
						if buf, err = enc.AppendEncode(buf[:0], ev); err != nil {
							b.Fatal(err)
						}
					}
					rows += len(p.Records)
					if rows == n/2 {
						// Mid-file: what the reading retains.
						runtime.GC()
						if l := heapObjects() - base; l > live {
							live = l
						}
					}
					if p.Done {
						break
					}
					cur = p.Next
				}
				if rows != n {
					b.Fatalf("%d rows read, want %d", rows, n)
				}
				if p := h.done() - base; p > peak {
					peak = p
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(len(files.data))/(1<<20), "zip-MiB")
			b.ReportMetric(float64(peak)/float64(len(files.data)), "peak/zip")
			b.ReportMetric(float64(live)/(1<<20), "live-heap-MiB")
		})
	}
}

// BenchmarkPipeline measures pages of 1,000 raw rows through normalize →
// Avro encode → synchronous produce (acks=all) to an in-process Kafka →
// checkpoint on the compacted topic: one op is one page.
func BenchmarkPipeline(b *testing.B) {
	data := benchZip(revenera.DefaultPageRows)
	f, err := zipcsv.Open(data, zipcsv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rows, err := f.Rows()
	if err != nil {
		b.Fatal(err)
	}
	var fields [][]string
	for {
		r, err := rows.Next()
		if err != nil {
			break
		}
		fields = append(fields, r.Fields)
	}
	header := rows.Header()
	testkit.BenchPipeline(b, testkit.BenchConfig{
		Stream: revenera.StreamName(benchProduct, revenera.StreamCustomEvents), Topic: "revenera.usage", Schema: event.UsageSchema,
		Vendor: revenera.Vendor, Tenant: "BENCH", Normalize: revenera.NewFileNormalizer("BENCH", benchProduct, revenera.CustomEvents),
		Page: func(_ context.Context, n int) (pipeline.Page, error) {
			// The n-th page repeats the rows as their n-th occurrence:
			// distinct event ids page after page.
			recs := make([]pipeline.Record, len(fields))
			for i, fs := range fields {
				t, _ := revenera.ParseCSVTime(fs[0])
				recs[i] = pipeline.Record{Raw: zipcsv.AppendObject(nil, header, fs), Value: &revenera.FileRow{File: "d.zip", Line: i + 2, Header: header, Fields: fs, Time: t, TimeText: fs[0], Occurrence: n}}
			}
			return pipeline.Page{Records: recs, Position: time.Now()}, nil
		},
		RecordsPerPage: len(fields), PageBytes: len(data),
	})
}
