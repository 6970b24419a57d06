package plm

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// fakeRow is one row of a fakeLog: its instant and its rendered JSON.
type fakeRow struct {
	seq int
	t   time.Time
	raw []byte
}

// fakeLog is a minimal system-logs server for the cursor tests: offset and
// limit paging, from/to dates in the tenant's zone, a stable ascending sort
// by instant, and rows that tests can add and remove between requests.
type fakeLog struct {
	t   *testing.T
	loc *time.Location

	mu       sync.Mutex
	rows     []fakeRow // the log's stable order for rows of one instant
	nextSeq  int
	requests []Query
}

// newFakeLog starts a fake server with rows rendered in loc and returns it
// with a Client for it.
func newFakeLog(t *testing.T, loc *time.Location) (*fakeLog, *Client) {
	t.Helper()
	f := &fakeLog{t: t, loc: loc}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	hc := httpx.New(httpx.Config{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		httpx.WithName(Vendor), httpx.WithLogger(discardLogger()))
	c, err := NewClient(hc, srv.URL, "ACME", "svc@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// add appends rows at the given instants (in the stable order after any
// row of the same instant) and returns their sequence numbers.
func (f *fakeLog) add(ts ...time.Time) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var seqs []int
	for _, t := range ts {
		seqs = append(seqs, f.insertLocked(len(f.rows), t, nil))
	}
	return seqs
}

// insertAt inserts a row at position i of the stable order.
func (f *fakeLog) insertAt(i int, t time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insertLocked(i, t, nil)
}

// addRaw appends a row with the given JSON, placed at instant t.
func (f *fakeLog) addRaw(t time.Time, raw string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insertLocked(len(f.rows), t, []byte(raw))
}

func (f *fakeLog) insertLocked(i int, t time.Time, raw []byte) int {
	f.nextSeq++
	seq := f.nextSeq
	if raw == nil {
		raw = fmt.Appendf(nil, `{"description":"row %d","timestamp":%q,"action":"Log In","details":[],"seq":%d}`,
			seq, t.In(f.loc).Format("2006-01-02T15:04:05.000Z07:00"), seq)
	}
	f.rows = slices.Insert(f.rows, i, fakeRow{seq: seq, t: t.Truncate(time.Millisecond), raw: raw})
	return seq
}

// remove deletes the row with sequence number seq.
func (f *fakeLog) remove(seq int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = slices.DeleteFunc(f.rows, func(r fakeRow) bool { return r.seq == seq })
}

// between returns the sequence numbers of the rows with from <= t <= to, in
// the order a correct scan emits them.
func (f *fakeLog) between(from, to time.Time) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, r := range f.sortedLocked() {
		if !r.t.Before(from) && !r.t.After(to) {
			out = append(out, r.seq)
		}
	}
	return out
}

func (f *fakeLog) sortedLocked() []fakeRow {
	rows := slices.Clone(f.rows)
	slices.SortStableFunc(rows, func(a, b fakeRow) int { return a.t.Compare(b.t) })
	return rows
}

// takeRequests returns the queries served since the last call.
func (f *fakeLog) takeRequests() []Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func (f *fakeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v3/tenants/ACME/system-logs" || r.Header.Get("X-user-id") != "svc@example.com" ||
		r.Header.Get("Accept") != "application/json" {
		http.Error(w, "bad request path or headers", http.StatusBadRequest)
		return
	}
	v := r.URL.Query()
	if v.Get("sort") != SortTimestampAsc {
		http.Error(w, "want sort=timestamp asc", http.StatusBadRequest)
		return
	}
	q := Query{Type: v.Get("type"), FromDate: v.Get("filter[from.date]"), ToDate: v.Get("filter[to.date]")}
	var err1, err2 error
	q.Offset, err1 = strconv.Atoi(v.Get("offset"))
	q.Limit, err2 = strconv.Atoi(v.Get("limit"))
	from, err3 := time.ParseInLocation(time.DateOnly, q.FromDate, f.loc)
	to, err4 := time.ParseInLocation(time.DateOnly, q.ToDate, f.loc)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || q.Limit < 1 || q.Offset < 0 {
		http.Error(w, "bad query", http.StatusBadRequest)
		return
	}
	to = to.AddDate(0, 0, 1)

	f.mu.Lock()
	f.requests = append(f.requests, q)
	var sel []fakeRow
	for _, row := range f.sortedLocked() {
		if !row.t.Before(from) && row.t.Before(to) {
			sel = append(sel, row)
		}
	}
	f.mu.Unlock()

	items := []json.RawMessage{}
	for i := q.Offset; i < len(sel) && i < q.Offset+q.Limit; i++ {
		items = append(items, sel[i].raw)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"__self__": r.URL.RequestURI(), "offset": q.Offset, "limit": q.Limit,
		"totalCount": len(sel), "items": items,
	})
}

// seqOf returns the seq member of a record emitted from a fakeLog, or -1
// for a row without one.
func seqOf(t *testing.T, rec pipeline.Record) int {
	t.Helper()
	var v struct {
		Seq *int `json:"seq"`
	}
	if err := json.Unmarshal(rec.Raw, &v); err != nil {
		t.Fatalf("record %s: %v", rec.Raw, err)
	}
	if v.Seq == nil {
		return -1
	}
	return *v.Seq
}

// fetchResult is one Fetch of a drain.
type fetchResult struct {
	page pipeline.Page
	seqs []int
}

// drain calls Fetch from cur until a page is Done, at most limit times,
// and returns every page.
func drain(t *testing.T, src pipeline.Source, cur pipeline.Cursor, limit int) []fetchResult {
	t.Helper()
	var out []fetchResult
	for range limit {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatalf("fetch after cursor %s: %v", cur, err)
		}
		r := fetchResult{page: p}
		for _, rec := range p.Records {
			r.seqs = append(r.seqs, seqOf(t, rec))
		}
		out = append(out, r)
		cur = p.Next
		if p.Done {
			return out
		}
	}
	t.Fatalf("not done after %d fetches", limit)
	return nil
}

// allSeqs concatenates the sequence numbers of results.
func allSeqs(rs []fetchResult) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.seqs...)
	}
	return out
}

// fixedClock returns a clock that always tells now and a function to move it.
func fixedClock(now time.Time) (clock func() time.Time, set func(time.Time)) {
	var mu sync.Mutex
	return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}, func(t time.Time) {
			mu.Lock()
			defer mu.Unlock()
			now = t
		}
}

// mustZone loads a time zone or fails the test.
func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
