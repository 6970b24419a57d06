package aveva

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

const testLag = 2 * time.Minute

// t0 is the fixed start of the source tests.
var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// sourceOpts are the knobs of a test source.
type sourceOpts struct {
	report     Report
	window     time.Duration
	minWindow  time.Duration
	maxRecords int
	now        time.Time
	log        *slog.Logger
	meters     *metric.MeterProvider
}

// newTestSource returns a builder of Sources over api.
func newTestSource(api ReportReader, o sourceOpts) func() *Source {
	if o.report.Name == "" {
		o.report, _ = LookupReport(ReportServiceUsage)
	}
	if o.log == nil {
		o.log = discardLogger()
	}
	return func() *Source {
		cfg := SourceConfig{
			Tenant: "acme", Report: o.report, Start: t0, SafetyLag: testLag,
			Window: o.window, MinWindow: o.minWindow, MaxRecords: o.maxRecords,
			Clock: func() time.Time { return o.now }, Logger: o.log,
		}
		if o.meters != nil {
			cfg.MeterProvider = o.meters
		}
		return NewSource(api, cfg)
	}
}

// pageWindows returns the window each page published: from the cursor it
// started at to its position.
func pageWindows(t *testing.T, pages []fetched) []Window {
	t.Helper()
	var out []Window
	for _, f := range pages {
		c, err := decodeCursor(f.from, t0)
		if err != nil {
			t.Fatal(err)
		}
		if f.page.Position.After(c.Last) {
			out = append(out, Window{From: c.Last, To: f.page.Position})
		}
	}
	return out
}

func TestSourceUnderCap(t *testing.T) {
	api := newFakeAPI(1000, false)
	api.add(spread(t0, 3*time.Hour, 300)...)
	now := t0.Add(3*time.Hour + testLag)
	pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: now}), nil, false, 10)
	checkOnce(t, allRaws(pages), api.raws(t0, t0.Add(3*time.Hour)))
	if len(pages) != 3 || api.callCount() != 3 {
		t.Fatalf("%d pages and %d calls, want 3 and 3 (one per hour)", len(pages), api.callCount())
	}
	last := pages[len(pages)-1].page
	if !last.Done || !last.Position.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("last page done=%v position=%v", last.Done, last.Position)
	}
	for i, p := range pages {
		if len(p.page.DeadLetters) > 0 || (i < 2 && p.page.Done) {
			t.Fatalf("page %d: done=%v dead letters %v", i, p.page.Done, p.page.DeadLetters)
		}
	}
	// Caught up: another Fetch reads nothing and keeps the cursor.
	again, err := newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: now})().Fetch(context.Background(), last.Next)
	if err != nil || !again.Done || !bytes.Equal(again.Next, last.Next) || len(again.Records) != 0 || api.callCount() != 3 {
		t.Fatalf("caught-up fetch: %+v, %v, calls %d", again, err, api.callCount())
	}
}

// TestSourceSplit checks windows under, at and far over the cap: every
// record once, in time order, every published window under the cap, and
// the number of calls the split tree costs.
func TestSourceSplit(t *testing.T) {
	const cap = 100
	tests := []struct {
		name      string
		n         int // records evenly spread over the hour
		calls     int
		published int
	}{
		{"empty", 0, 1, 1},
		{"under the cap", cap - 1, 1, 1},
		{"at the cap", cap, 3, 2},                 // full: the halves hold 50 each
		{"just over", cap + 1, 3, 2},              // served 100 of 101: split
		{"2.5 times", 250, 7, 4},                  // 250 → 125, 125 → 4 × 62.5
		{"far over", 10 * cap, 31, 16},            // 1000 → … → 16 × 62.5
		{"far over, uneven", 10*cap + 37, 31, 16}, // still 16 windows of ~65
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(cap, false)
			api.add(spread(t0, time.Hour, tt.n)...)
			now := t0.Add(time.Hour + testLag)
			pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: cap, now: now}), nil, false, 100)
			checkOnce(t, allRaws(pages), api.raws(t0, t0.Add(time.Hour)))
			if api.callCount() != tt.calls || len(pages) != tt.published {
				t.Errorf("%d calls and %d pages, want %d and %d", api.callCount(), len(pages), tt.calls, tt.published)
			}
			at := t0
			for i, w := range pageWindows(t, pages) {
				if !w.From.Equal(at) || w.Width()%time.Second != 0 {
					t.Errorf("page %d window %s does not follow %s in whole seconds", i, w, at)
				}
				at = w.To
				if n := len(pages[i].page.Records); n >= cap {
					t.Errorf("page %d published %d records, at the cap", i, n)
				}
			}
			if !at.Equal(t0.Add(time.Hour)) {
				t.Errorf("pages end at %s", at)
			}
			for i, p := range pages {
				if c, _ := decodeCursor(p.page.Next, t0); len(c.Pending) > 13 {
					t.Errorf("page %d: %d pending windows", i, len(c.Pending))
				}
				if len(p.page.DeadLetters) > 0 {
					t.Errorf("page %d: dead letters %v", i, p.page.DeadLetters)
				}
			}
		})
	}
}

// TestSourceSplitBunched puts most records of an hour in one minute: the
// split tree goes deep there only.
func TestSourceSplitBunched(t *testing.T) {
	const cap = 100
	api := newFakeAPI(cap, false)
	api.add(spread(t0, time.Hour, 60)...)
	api.add(spread(t0.Add(17*time.Minute), time.Minute, 500)...)
	now := t0.Add(time.Hour + testLag)
	pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: cap, now: now}), nil, false, 200)
	checkOnce(t, allRaws(pages), api.raws(t0, t0.Add(time.Hour)))
	for i, p := range pages {
		if len(p.page.Records) >= cap {
			t.Fatalf("page %d published %d records", i, len(p.page.Records))
		}
	}
	t.Logf("560 records, 500 of them in one minute: %d calls, %d pages", api.callCount(), len(pages))
}

// TestSourceMinimumWindowFull fills one second with more records than the
// cap: the minimum window is published with what came back, and the
// truncation is reported by a dead letter, a metric and an error log.
func TestSourceMinimumWindowFull(t *testing.T) {
	for _, minWindow := range []time.Duration{time.Second, time.Minute} {
		t.Run(minWindow.String(), func(t *testing.T) {
			const cap = 10
			api := newFakeAPI(cap, false)
			busy := t0.Add(25*time.Minute + 7*time.Second)
			api.add(spread(t0, time.Hour, 40)...)
			api.add(spread(busy, 500*time.Millisecond, 3*cap)...)
			reader := metric.NewManualReader()
			mp := metric.NewMeterProvider(metric.WithReader(reader))
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			now := t0.Add(time.Hour + testLag)
			pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, minWindow: minWindow, maxRecords: cap, now: now, log: log, meters: mp}), nil, false, 200)

			var dead []pipeline.SourceDeadLetter
			var full []Window
			windows := pageWindows(t, pages)
			for i, p := range pages {
				if len(p.page.DeadLetters) > 0 {
					dead = append(dead, p.page.DeadLetters...)
					full = append(full, windows[i])
					if len(p.page.Records) != cap {
						t.Errorf("truncated page holds %d records, want the %d that came back", len(p.page.Records), cap)
					}
				}
			}
			if len(dead) != 1 || full[0].Width() >= 2*minWindow || !full[0].From.Before(busy.Add(time.Second)) || full[0].To.Before(busy) {
				t.Fatalf("dead letters %v for windows %v; want one for the window holding %s", dead, full, busy)
			}
			var detail map[string]any
			if err := json.Unmarshal(dead[0].Raw, &detail); err != nil {
				t.Fatal(err)
			}
			if detail["report"] != ReportServiceUsage || detail["records"] != float64(cap) || detail["max_records"] != float64(cap) ||
				detail["from"] != full[0].From.Format(DateTimeLayout) || detail["to"] != full[0].To.Format(DateTimeLayout) {
				t.Errorf("dead letter detail %v", detail)
			}
			if !strings.Contains(dead[0].Reason, "AVEVA_MIN_WINDOW") || !strings.Contains(dead[0].Reason, "missing") {
				t.Errorf("reason %q", dead[0].Reason)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "truncated at the record cap") {
				t.Errorf("no error log:\n%s", logs.String())
			}
			if got := counterValue(t, reader, MetricWindowsTruncated); got != 1 {
				t.Errorf("%s = %d, want 1", MetricWindowsTruncated, got)
			}
			if got := counterValue(t, reader, MetricWindowSplits); got == 0 {
				t.Errorf("%s = 0", MetricWindowSplits)
			}
			// Everything outside the full window arrived once; of the full
			// window, the first cap records.
			got := allRaws(pages)
			want := append(api.raws(t0, full[0].From), api.raws(full[0].From, full[0].To)[:cap]...)
			want = append(want, api.raws(full[0].To, t0.Add(time.Hour))...)
			checkOnce(t, got, want)
		})
	}
}

// counterValue returns the sum of an Int64 counter's data points.
func counterValue(t *testing.T, r *metric.ManualReader, name string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				total += dp.Value
			}
		}
	}
	return total
}

// TestSourceRestartMidSplit rebuilds the Source from the saved cursor
// before every Fetch, and replays a page from the cursor before it, as a
// crash between produce and checkpoint would: no window is fetched twice
// beyond the replayed page, nothing is lost, a replay gives the same ids.
func TestSourceRestartMidSplit(t *testing.T) {
	const cap = 50
	rng := rand.New(rand.NewPCG(1, 2))
	api := newFakeAPI(cap, false)
	for range 900 {
		api.add(t0.Add(time.Duration(rng.Int64N(int64(3 * time.Hour)))).Truncate(time.Second))
	}
	now := t0.Add(3*time.Hour + testLag)
	build := newTestSource(api, sourceOpts{window: time.Hour, maxRecords: cap, now: now})

	straight := drain(t, build, nil, false, 500)
	straightCalls := slices.Clone(api.calls)
	api.calls = nil
	restarted := drain(t, build, nil, true, 500)
	if !slices.Equal(api.calls, straightCalls) {
		t.Fatalf("with restarts %d calls, without %d: the windows differ", len(api.calls), len(straightCalls))
	}
	checkOnce(t, identities(restarted), identities(straight))
	checkOnce(t, allRaws(restarted), api.raws(t0, t0.Add(3*time.Hour)))

	midSplit := 0
	for i, f := range straight {
		c, _ := decodeCursor(f.from, t0)
		if len(c.Pending) == 0 {
			continue
		}
		midSplit++
		// A crash after this page was produced: the next run fetches from
		// the same cursor and must publish the same records.
		again, err := build().Fetch(context.Background(), f.from)
		if err != nil {
			t.Fatal(err)
		}
		checkOnce(t, identities([]fetched{{page: again}}), identities(straight[i:i+1]))
		if !bytes.Equal(again.Next, f.page.Next) {
			t.Fatalf("replayed page %d moves the cursor to %s, first time %s", i, again.Next, f.page.Next)
		}
	}
	if midSplit < 5 {
		t.Fatalf("only %d pages started inside a split window", midSplit)
	}
}

// TestSourceBounds puts records exactly on window bounds (hours and split
// points) against servers with [from, to) and [from, to] windows: each
// record once, including identical records on a bound.
func TestSourceBounds(t *testing.T) {
	for _, inclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("inclusive=%v", inclusive), func(t *testing.T) {
			const cap = 20
			api := newFakeAPI(cap, inclusive)
			var times []time.Time
			for h := range 4 {
				hour := t0.Add(time.Duration(h) * time.Hour)
				// On the hour, on the half and quarter hours (split points of
				// a busy hour), and within the second after them.
				for _, m := range []time.Duration{0, 15 * time.Minute, 30 * time.Minute, 45 * time.Minute} {
					times = append(times, hour.Add(m), hour.Add(m), hour.Add(m+500*time.Millisecond))
				}
			}
			api.add(times...)
			api.add(spread(t0.Add(time.Hour), time.Hour, 3*cap)...) // a busy hour
			// Identical records on a bound.
			twin := `{"folder":"F","quantity":1,"timestamp":"2024-03-04T02:00:00Z"}`
			api.addRaw(t0.Add(2*time.Hour), twin)
			api.addRaw(t0.Add(2*time.Hour), twin)
			now := t0.Add(4*time.Hour + testLag)
			for _, restart := range []bool{false, true} {
				api.calls = nil
				pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: cap, now: now}), nil, restart, 200)
				checkOnce(t, allRaws(pages), api.raws(t0, t0.Add(4*time.Hour)))
				ids := identities(pages)
				seen := map[string]bool{}
				for _, id := range ids {
					if seen[id] {
						t.Fatalf("identity %s emitted twice", id)
					}
					seen[id] = true
				}
			}
		})
	}
}

// TestSourceIdenticalRecords checks occurrence numbers: identical records
// of a window get "#k", and a replay gives the same identities.
func TestSourceIdenticalRecords(t *testing.T) {
	api := newFakeAPI(1000, false)
	dup := `{"folder":"F","quantity":2,"timestamp":"2024-03-04T00:10:00Z"}`
	for range 3 {
		api.addRaw(t0.Add(10*time.Minute), dup)
	}
	noTime := `{"folder":"F","quantity":3}`
	api.addRaw(t0.Add(20*time.Minute), noTime)
	api.addRaw(t0.Add(80*time.Minute), noTime)
	now := t0.Add(2*time.Hour + testLag)
	pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: now}), nil, false, 10)
	hash, _ := event.ContentIdentity([]byte(dup))
	noTimeHash, _ := event.ContentIdentity([]byte(noTime))
	want := []string{hash, hash + "#1", hash + "#2", noTimeHash + "@2024-03-04T00:00:00Z", noTimeHash + "@2024-03-04T01:00:00Z"}
	checkOnce(t, identities(pages), want)
	again := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: now}), nil, false, 10)
	checkOnce(t, identities(again), want)
}

// TestSourceIdenticalRecordsAcrossInclusiveBound has a server with an
// inclusive upper bound index a second identical record on a bound after
// the first window was read: the second window skips the one it already
// emitted and emits the new one with the next occurrence number.
func TestSourceIdenticalRecordsAcrossInclusiveBound(t *testing.T) {
	api := newFakeAPI(1000, true)
	twin := `{"folder":"F","quantity":1,"timestamp":"2024-03-04T01:00:00Z"}`
	api.addRaw(t0.Add(time.Hour), twin)
	build := newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: t0.Add(2*time.Hour + testLag)})
	first, err := build().Fetch(context.Background(), nil)
	if err != nil || len(first.Records) != 1 {
		t.Fatalf("first window: %d records, %v", len(first.Records), err)
	}
	api.addRaw(t0.Add(time.Hour), twin) // indexed late
	second, err := build().Fetch(context.Background(), first.Next)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := event.ContentIdentity([]byte(twin))
	checkOnce(t, identities([]fetched{{page: first}, {page: second}}), []string{hash, hash + "#1"})
}

func TestSourceTimeCursor(t *testing.T) {
	api := newFakeAPI(1000, false)
	start := t0.Add(10*time.Minute + 300*time.Millisecond)
	api.add(t0.Add(10*time.Minute+100*time.Millisecond), t0.Add(9*time.Minute))
	build := newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: t0.Add(time.Hour + testLag)})
	p, err := build().Fetch(context.Background(), pipeline.TimeCursor(start))
	if err != nil {
		t.Fatal(err)
	}
	// The cursor is floored to the second: the record 200ms before the
	// requested time is read rather than lost.
	if len(api.calls) != 1 || !api.calls[0].From.Equal(t0.Add(10*time.Minute)) || len(p.Records) != 1 {
		t.Fatalf("calls %v, %d records", api.calls, len(p.Records))
	}
}

func TestSourceFetchError(t *testing.T) {
	api := newFakeAPI(10, false)
	api.add(spread(t0, time.Hour, 25)...)
	api.failNext = 1
	build := newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 10, now: t0.Add(time.Hour + testLag)})
	if _, err := build().Fetch(context.Background(), nil); !errors.Is(err, errFake) {
		t.Fatalf("err = %v", err)
	}
	// The pipeline retries from the same cursor.
	pages := drain(t, build, nil, false, 20)
	checkOnce(t, allRaws(pages), api.raws(t0, t0.Add(time.Hour)))
}

func TestSourceWindowsCloseAtSafetyLag(t *testing.T) {
	api := newFakeAPI(1000, false)
	now := t0.Add(90*time.Minute + 500*time.Millisecond)
	api.add(t0.Add(30*time.Minute), now.Add(-testLag).Add(-time.Second), now.Add(-testLag).Add(time.Second))
	pages := drain(t, newTestSource(api, sourceOpts{window: time.Hour, maxRecords: 1000, now: now}), nil, false, 10)
	horizon := now.Add(-testLag).Truncate(time.Second)
	if n := len(allRaws(pages)); n != 2 {
		t.Fatalf("%d records, want the 2 before now − lag", n)
	}
	if last := pages[len(pages)-1].page; !last.Done || !last.Position.Equal(horizon) {
		t.Fatalf("last page done=%v at %v, want done at %v", last.Done, last.Position, horizon)
	}
	for _, c := range api.calls {
		if c.To.After(horizon) || c.Width() > time.Hour {
			t.Fatalf("window %s reaches past %s or is wider than AVEVA_WINDOW", c, horizon)
		}
	}
}

func TestDecodeCursor(t *testing.T) {
	start := t0.Add(500 * time.Millisecond)
	tests := []struct {
		raw  string
		want cursor
		err  string
	}{
		{"", cursor{Last: t0}, ""},
		{`{"last":"2024-03-04T00:00:00.9Z"}`, cursor{Last: t0}, ""},
		{`{"last":"2024-03-04T02:00:00+02:00"}`, cursor{Last: t0}, ""},
		{`{"last":"2024-03-04T00:00:00Z","pending":[{"from":"2024-03-04T00:00:00Z","to":"2024-03-04T00:30:00Z"},{"from":"2024-03-04T00:30:00Z","to":"2024-03-04T01:00:00Z"}],"seen":["ab"]}`,
			cursor{Last: t0, Pending: []Window{{t0, t0.Add(30 * time.Minute)}, {t0.Add(30 * time.Minute), t0.Add(time.Hour)}}, Seen: []string{"ab"}}, ""},
		{`{"last":"2024-03-04T00:00:00Z","pending":[{"from":"2024-03-04T00:10:00Z","to":"2024-03-04T00:30:00Z"}]}`, cursor{}, "starts at"},
		{`{"last":"2024-03-04T00:00:00Z","pending":[{"from":"2024-03-04T00:00:00Z","to":"2024-03-04T00:30:00Z"},{"from":"2024-03-04T00:20:00Z","to":"2024-03-04T01:00:00Z"}]}`, cursor{}, "starts at"},
		{`{"last":"2024-03-04T00:00:00Z","pending":[{"from":"2024-03-04T00:00:00Z","to":"2024-03-04T00:00:00Z"}]}`, cursor{}, "empty"},
		{`{"pending":[]}`, cursor{}, "no last time"},
		{`[1]`, cursor{}, "decode cursor"},
		{`{"last":"2024-03-04T00:00:00Z","seen":[` + strings.Repeat(`"a",`, maxSeen) + `"a"]}`, cursor{}, "seen records"},
	}
	for _, tt := range tests {
		got, err := decodeCursor(pipeline.Cursor(tt.raw), start)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("decodeCursor(%s) error %v, want %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Last.Equal(tt.want.Last) || len(got.Pending) != len(tt.want.Pending) || !slices.Equal(got.Seen, tt.want.Seen) {
			t.Errorf("decodeCursor(%s) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			continue
		}
		for i := range got.Pending {
			if !got.Pending[i].From.Equal(tt.want.Pending[i].From) || !got.Pending[i].To.Equal(tt.want.Pending[i].To) {
				t.Errorf("pending %d = %v, want %v", i, got.Pending[i], tt.want.Pending[i])
			}
		}
	}
}

func TestWindowHalves(t *testing.T) {
	tests := []struct {
		width      time.Duration
		min        time.Duration
		splittable bool
		left       time.Duration
	}{
		{time.Hour, time.Second, true, 30 * time.Minute},
		{3 * time.Second, time.Second, true, time.Second},
		{2 * time.Second, time.Second, true, time.Second},
		{time.Second, time.Second, false, 0},
		{119 * time.Second, time.Minute, false, 0},
		{2 * time.Minute, time.Minute, true, time.Minute},
		{61 * time.Minute, time.Second, true, 30*time.Minute + 30*time.Second},
	}
	for _, tt := range tests {
		w := Window{From: t0, To: t0.Add(tt.width)}
		if got := w.splittable(tt.min); got != tt.splittable {
			t.Errorf("%s splittable with min %s = %v", tt.width, tt.min, got)
			continue
		}
		if !tt.splittable {
			continue
		}
		l, r := w.halves()
		if l.Width() != tt.left || !l.To.Equal(r.From) || !r.To.Equal(w.To) || r.Width() < tt.min {
			t.Errorf("%s halves %s %s", tt.width, l, r)
		}
	}
}
