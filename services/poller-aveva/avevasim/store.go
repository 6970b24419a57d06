package avevasim

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// Record is one record as the simulator serves it: the ground truth a test
// compares a client's output with.
type Record struct {
	// Report is the report that serves the record.
	Report string
	// Time is the record's instant in UTC (milliseconds for
	// creditsTransaction, whole seconds for the others): what windows
	// select on.
	Time time.Time
	// Seq is the record's insertion number, unique across reports; records
	// of one instant are served in ascending Seq.
	Seq int64
	// Raw is the record's JSON as a client sending offset=0 and no locale
	// receives it. It is shared with the server and must not be modified.
	Raw []byte
}

// entry is a stored record with the values filters compare.
type entry struct {
	report string
	t      time.Time
	seq    int64
	raw    []byte
	filter map[string]string // filter name → lower-cased value
	audit  *auditJSON        // audit records, re-rendered per offset and locale
}

// record returns the entry's ground truth.
func (e *entry) record() Record {
	return Record{Report: e.report, Time: e.t, Seq: e.seq, Raw: e.raw}
}

// before reports whether a is served before b: by instant, then insertion.
func before(a, b *entry) bool {
	return a.t.Before(b.t) || (a.t.Equal(b.t) && a.seq < b.seq)
}

// store holds the records of every report, each slice ordered by before.
type store struct {
	mu      sync.RWMutex
	reports map[string][]*entry
	gen     *generator
}

// checkReport panics unless report is one of Reports: a wrong name is a
// mistake in the calling code, not a condition to handle.
func checkReport(report string) {
	if !slices.Contains(Reports, report) {
		panic(fmt.Sprintf("avevasim: unknown report %q (want one of %v)", report, Reports))
	}
}

// Add adds n records of report at random instants in [from, to), evenly
// spread, and returns how many were added (more than n with
// Config.DuplicateRate). The same Config.Seed and the same calls give the
// same records. A busy hour is Add(report, h, h.Add(time.Hour), 3*cap).
func (s *Server) Add(report string, from, to time.Time, n int) int {
	checkReport(report)
	span := to.Sub(from)
	if n <= 0 || span <= 0 {
		return 0
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	added := make([]*entry, 0, n)
	for range n {
		t := from.Add(time.Duration(s.st.gen.rng.Int64N(int64(span))))
		added = append(added, s.st.gen.record(report, t)...)
	}
	s.st.merge(report, added)
	return len(added)
}

// AddAt adds one record of report at each of times (records exactly on
// window bounds, say) and returns how many were added.
func (s *Server) AddAt(report string, times ...time.Time) int {
	checkReport(report)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var added []*entry
	for _, t := range times {
		added = append(added, s.st.gen.record(report, t)...)
	}
	s.st.merge(report, added)
	return len(added)
}

// Generate adds perReport[report] records of each report in [from, to),
// evenly spread. It returns the number of records added.
func (s *Server) Generate(from, to time.Time, perReport map[string]int) int {
	total := 0
	for _, r := range Reports {
		if n := perReport[r]; n > 0 {
			total += s.Add(r, from, to, n)
		}
	}
	return total
}

// merge adds entries to report's slice, keeping it ordered. The caller
// holds the lock.
func (st *store) merge(report string, added []*entry) {
	sort.SliceStable(added, func(i, j int) bool { return before(added[i], added[j]) })
	old := st.reports[report]
	all := make([]*entry, 0, len(old)+len(added))
	i, j := 0, 0
	for i < len(old) && j < len(added) {
		if before(added[j], old[i]) {
			all = append(all, added[j])
			j++
		} else {
			all = append(all, old[i])
			i++
		}
	}
	all = append(all, old[i:]...)
	st.reports[report] = append(all, added[j:]...)
}

// Records returns the ground truth of report in serving order.
func (s *Server) Records(report string) []Record {
	checkReport(report)
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	out := make([]Record, len(s.st.reports[report]))
	for i, e := range s.st.reports[report] {
		out[i] = e.record()
	}
	return out
}

// StartGrowing adds, every interval until ctx ends, n records of each
// report at instants between the previous tick and now, as a live account
// would. The returned channel is closed once it has stopped.
func (s *Server) StartGrowing(ctx context.Context, every time.Duration, n int) <-chan struct{} {
	return simkit.Start(ctx, func(ctx context.Context) {
		simkit.Grow(ctx, every, s.cfg.Clock, func(after, until time.Time) {
			for _, r := range Reports {
				s.Add(r, after, until, n)
			}
		})
	})
}

// query is one parsed report request.
type query struct {
	report   string
	from, to time.Time
	filters  map[string]string // filter name → lower-cased value
	offset   int
	locale   string
}

// execute returns the entries q selects, at most limit, and whether more
// matched (never told to the client).
func (s *Server) execute(q query, limit int) (entries []*entry, more bool) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	all := s.st.reports[q.report]
	i := sort.Search(len(all), func(i int) bool { return !all[i].t.Before(q.from) })
	for ; i < len(all); i++ {
		e := all[i]
		if e.t.After(q.to) || (!s.cfg.InclusiveTo && !e.t.Before(q.to)) {
			break
		}
		if !matches(e, q.filters) {
			continue
		}
		if len(entries) == limit {
			return entries, true
		}
		entries = append(entries, e)
	}
	return entries, false
}

// matches reports whether e passes every filter.
func matches(e *entry, filters map[string]string) bool {
	for k, v := range filters {
		if e.filter[k] != v {
			return false
		}
	}
	return true
}
