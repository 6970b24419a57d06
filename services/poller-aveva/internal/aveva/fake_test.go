package aveva

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
)

// fakeAPI is a ReportReader over a fixed set of records: it selects the
// records of a window by instant, [from, to) or [from, to], in time order,
// and returns the first cap of them, as the API does.
type fakeAPI struct {
	mu        sync.Mutex
	recs      []fakeRec // sorted by time, stable
	cap       int
	inclusive bool
	calls     []Window
	failNext  int
}

// fakeRec is one record: its instant and bytes.
type fakeRec struct {
	t   time.Time
	raw json.RawMessage
}

var errFake = errors.New("fake API failure")

func newFakeAPI(cap int, inclusive bool) *fakeAPI {
	return &fakeAPI{cap: cap, inclusive: inclusive}
}

// add adds records at times; each record is {"seq":k,"timestamp":…} with a
// unique k, so every record has its own content identity.
func (f *fakeAPI) add(times ...time.Time) {
	for _, t := range times {
		f.addRaw(t, fmt.Sprintf(`{"seq":%d,"timestamp":%q}`, len(f.recs), t.UTC().Format(time.RFC3339Nano)))
	}
}

// addRaw adds one record with the given bytes at t.
func (f *fakeAPI) addRaw(t time.Time, raw string) {
	f.recs = append(f.recs, fakeRec{t: t.UTC(), raw: json.RawMessage(raw)})
	sort.SliceStable(f.recs, func(i, j int) bool { return f.recs[i].t.Before(f.recs[j].t) })
}

// Records implements ReportReader.
func (f *fakeAPI) Records(_ context.Context, q Query, limit int) ([]json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return nil, errFake
	}
	f.calls = append(f.calls, Window{From: q.From, To: q.To})
	var out []json.RawMessage
	for _, r := range f.recs {
		if r.t.Before(q.From) || r.t.After(q.To) || (!f.inclusive && r.t.Equal(q.To)) {
			continue
		}
		if len(out) == f.cap || (limit > 0 && len(out) == limit) {
			break
		}
		out = append(out, r.raw)
	}
	return out, nil
}

// callCount returns the number of successful calls so far.
func (f *fakeAPI) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// raws returns the bytes of every record between from (inclusive) and to
// (exclusive), in time order.
func (f *fakeAPI) raws(from, to time.Time) []string {
	var out []string
	for _, r := range f.recs {
		if !r.t.Before(from) && r.t.Before(to) {
			out = append(out, string(r.raw))
		}
	}
	return out
}

// fetched is one Fetch: the page and the cursor it started from.
type fetched struct {
	from pipeline.Cursor
	page pipeline.Page
}

// drain fetches pages from cur until the source is Done (at most max
// pages), building a new Source with build before every Fetch when
// restart is set, as a restarted poller would.
func drain(t *testing.T, build func() *Source, cur pipeline.Cursor, restart bool, max int) []fetched {
	t.Helper()
	src := build()
	var out []fetched
	for range max {
		if restart {
			src = build()
		}
		p, err := src.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatalf("fetch from %s: %v", cur, err)
		}
		out = append(out, fetched{from: cur, page: p})
		cur = p.Next
		if p.Done {
			return out
		}
	}
	t.Fatalf("not done after %d pages", max)
	return nil
}

// allRaws returns the bytes of every record of pages, in order.
func allRaws(pages []fetched) []string {
	var out []string
	for _, f := range pages {
		for _, r := range f.page.Records {
			out = append(out, string(r.Raw))
		}
	}
	return out
}

// identities returns the identity of every record of pages, in order.
func identities(pages []fetched) []string {
	var out []string
	for _, f := range pages {
		for _, r := range f.page.Records {
			out = append(out, r.Value.(*Entry).Identity)
		}
	}
	return out
}

// checkOnce fails unless got is want, in order.
func checkOnce(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("emitted %d records, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// spread returns n instants evenly spread over [from, from+d), at
// millisecond precision.
func spread(from time.Time, d time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add((d * time.Duration(i) / time.Duration(n)).Truncate(time.Millisecond))
	}
	return out
}

// stringMember returns the string member name of a JSON object.
func stringMember(t *testing.T, raw []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	s, ok := m[name].(string)
	if !ok {
		t.Fatalf("record %s has no string %s", raw, name)
	}
	return s
}
