package epm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
)

// How a fake server reads DateTo.
const (
	// toSecond selects records whose EventTime, truncated to the second,
	// is at or before DateTo (DateTo covers its whole second).
	toSecond = iota
	// toInstant selects records at or before the instant DateTo.
	toInstant
	// toExclusive selects records before DateTo.
	toExclusive
)

// fakeRow is one record of a fakeAudit.
type fakeRow struct {
	seq int
	t   time.Time
	raw []byte
}

// fakeAudit is an in-memory AdminAudit API for the cursor tests: sets,
// Offset/Limit paging with TotalCount, date bounds of configurable
// semantics, ascending order stable within an instant, and logs that tests
// change between requests.
type fakeAudit struct {
	// fromExclusive makes DateFrom exclusive; toMode says how DateTo is
	// read.
	fromExclusive bool
	toMode        int

	mu        sync.Mutex
	sets      []Set
	rows      map[string][]fakeRow // per set, in the API's order
	nextSeq   int
	requests  []AuditQuery
	setsCalls int
	fail      map[string]error // set id → error of its AdminAudit calls
}

func newFakeAudit(setIDs ...string) *fakeAudit {
	f := &fakeAudit{rows: map[string][]fakeRow{}, fail: map[string]error{}}
	for _, id := range setIDs {
		f.sets = append(f.sets, Set{ID: id, Name: "set " + id})
	}
	return f
}

// addSet makes a set visible.
func (f *fakeAudit) addSet(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, Set{ID: id, Name: "set " + id})
}

// add appends records at the given instants to set (after records of the
// same instant) and returns their sequence numbers.
func (f *fakeAudit) add(set string, ts ...time.Time) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var seqs []int
	for _, t := range ts {
		seqs = append(seqs, f.insertLocked(set, -1, t, nil))
	}
	return seqs
}

// addIdentical appends n identical records at t to set.
func (f *fakeAudit) addIdentical(set string, t time.Time, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw := fmt.Appendf(nil, `{"EventTime":%q,"Feature":"Public API","Description":"identical","Administrator":"bob@example.com"}`, t.UTC().Format("2006-01-02T15:04:05.999Z"))
	for range n {
		f.insertLocked(set, -1, t, raw)
	}
}

// addRaw appends a record with the given JSON, placed at t.
func (f *fakeAudit) addRaw(set string, t time.Time, raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.insertLocked(set, -1, t, []byte(raw))
}

// insertAt inserts a record at t at position i of set's order.
func (f *fakeAudit) insertAt(set string, i int, t time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insertLocked(set, i, t, nil)
}

func (f *fakeAudit) insertLocked(set string, i int, t time.Time, raw []byte) int {
	f.nextSeq++
	seq := f.nextSeq
	t = t.UTC().Truncate(time.Millisecond)
	if raw == nil {
		raw = fmt.Appendf(nil, `{"SetName":"set %s","EventTime":%q,"Description":"record %d","Feature":"Policies","Administrator":"alice@example.com","InternalSessionId":%d,"Role":"SetAdmin","seq":%d}`,
			set, t.Format("2006-01-02T15:04:05.999Z"), seq, 100+seq%7, seq)
	}
	rows := f.rows[set]
	if i < 0 {
		i = len(rows)
		for i > 0 && rows[i-1].t.After(t) {
			i--
		}
	}
	f.rows[set] = slices.Insert(rows, i, fakeRow{seq: seq, t: t, raw: raw})
	return seq
}

// remove deletes the record with sequence number seq.
func (f *fakeAudit) remove(set string, seq int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[set] = slices.DeleteFunc(f.rows[set], func(r fakeRow) bool { return r.seq == seq })
}

// between returns the raw records of set with from <= t < to, in order.
func (f *fakeAudit) between(set string, from, to time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.rows[set] {
		if !r.t.Before(from) && r.t.Before(to) {
			out = append(out, string(r.raw))
		}
	}
	return out
}

// takeRequests returns the admin audit queries served since the last call.
func (f *fakeAudit) takeRequests() []AuditQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

// Sets implements AuditReader.
func (f *fakeAudit) Sets(context.Context) ([]Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setsCalls++
	return slices.Clone(f.sets), nil
}

// AdminAudit implements AuditReader, rendering and decoding a real body.
func (f *fakeAudit) AdminAudit(_ context.Context, q AuditQuery) (*AdminAuditPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, q)
	if err := f.fail[q.SetID]; err != nil {
		return nil, err
	}
	if q.From.Nanosecond() != 0 || q.To.Nanosecond() != 0 || q.Limit < 1 || q.Limit > MaxPageSize || q.Offset < 0 {
		return nil, fmt.Errorf("fake: bad query %+v", q)
	}
	var sel []json.RawMessage
	for _, r := range f.rows[q.SetID] {
		if !q.From.IsZero() && (r.t.Before(q.From) || f.fromExclusive && r.t.Equal(q.From)) {
			continue
		}
		if !q.To.IsZero() {
			switch f.toMode {
			case toSecond:
				if r.t.Truncate(time.Second).After(q.To) {
					continue
				}
			case toInstant:
				if r.t.After(q.To) {
					continue
				}
			case toExclusive:
				if !r.t.Before(q.To) {
					continue
				}
			}
		}
		sel = append(sel, r.raw)
	}
	items := []json.RawMessage{}
	for i := q.Offset; i < len(sel) && i < q.Offset+q.Limit; i++ {
		items = append(items, sel[i])
	}
	body, err := json.Marshal(map[string]any{"TotalCount": len(sel), "AdminAudits": items})
	if err != nil {
		return nil, err
	}
	return DecodeAuditPage(body)
}

// seqOf returns the seq member of a record emitted from a fakeAudit, or -1.
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

// raws returns the raw records of set among recs, in order.
func raws(recs []pipeline.Record, set string) []string {
	var out []string
	for _, r := range recs {
		if r.Value.(*Entry).SetID == set {
			out = append(out, string(r.Raw))
		}
	}
	return out
}

// fixedClock returns a clock that tells now until moved.
func fixedClock(now time.Time) *fakeClock { return newFakeClock(now) }

// sourceFor returns the Source of set over f.
func sourceFor(f AuditReader, start time.Time, clock *fakeClock, window time.Duration, pageSize int, set string) *Source {
	return NewSource(f, SourceConfig{
		Tenant: "ACME", SetID: set, Start: start, SafetyLag: testLag,
		MaxWindow: window, PageSize: pageSize, Clock: clock.Now, Logger: discardLogger(),
	})
}

const testLag = 2 * time.Minute
