package revenerasim

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// The columns of the two kinds of files, in order.
var (
	customEventHeader = []string{"Event Time (UTC)", "Client ID", "Session ID", "Event Category", "Event Name", "Event Value", "Product Version", "Product Edition", "Language", "OS", "Country", "License Type"}
	exceptionHeader   = []string{"Exception Time (UTC)", "Client ID", "Session ID", "Exception Class", "Message", "Stack Hash", "Product Version", "OS"}
)

// Column indexes the reports use.
const (
	colTime     = 0
	colClient   = 1
	colCategory = 3
	colName     = 4
)

// TimeLayout is the form of the time column of every file: UTC, whole
// seconds.
const TimeLayout = "2006-01-02 15:04:05"

// Header returns the header row of kind's files (CustomEvents or
// Exceptions). It panics on another kind.
func Header(kind string) []string {
	if kindIndex(kind) == 0 {
		return slices.Clone(customEventHeader)
	}
	return slices.Clone(exceptionHeader)
}

// kindIndex returns the index of kind in Kinds, and panics on an unknown
// kind: a wrong name is a mistake in the calling code.
func kindIndex(kind string) int {
	i := slices.Index(Kinds, kind)
	if i < 0 {
		panic(fmt.Sprintf("revenerasim: unknown kind %q (want %q or %q)", kind, CustomEvents, Exceptions))
	}
	return i
}

// Row is one row of a file: the ground truth a test compares a client's
// output with.
type Row struct {
	// Time is the row's time column, UTC, whole seconds.
	Time time.Time
	// Fields are the row's CSV fields in header order (Fields[0] is Time
	// in TimeLayout). A newline inside a field is "\n" here; the file
	// writes it as CRLF inside the quoted field, which encoding/csv reads
	// back as "\n".
	Fields []string
}

// Event is one (category, name) pair of custom events.
type Event struct {
	Category string `json:"category"`
	Name     string `json:"name"`
}

// row is a stored row.
type row struct {
	t      int64  // Unix seconds
	seq    uint64 // insertion order, the tie-break of equal times
	fields []string
}

// rowBefore orders rows by time, then insertion.
func rowBefore(a, b row) bool { return a.t < b.t || (a.t == b.t && a.seq < b.seq) }

// bucket is the rows of one UTC day of one kind of one product, ordered
// by rowBefore. rows is never reordered in place, so a slice of it taken
// under the lock stays valid after the lock is released.
type bucket struct {
	rows    []row
	version uint64 // incremented on every change
	// Custom events only: rows per event, distinct clients.
	events  map[Event]int
	clients map[string]struct{}
}

// clientSpan is the first and last day a client has a custom event.
type clientSpan struct{ first, last int }

// product is a product and its rows.
type product struct {
	Product
	days    [2]map[int]*bucket // by kind index, then day
	clients map[string]*clientSpan
	events  map[Event]int
	gen     *population
}

// store holds every product's rows.
type store struct {
	mu       sync.RWMutex
	products []*product
	byID     map[int64]*product
	seq      uint64
	gen      *generator
}

// dayOf returns the day number (days since 1970-01-01 UTC) of Unix
// seconds.
func dayOf(unix int64) int {
	d := unix / 86400
	if unix < 0 && unix%86400 != 0 {
		d--
	}
	return int(d)
}

// dayTime returns the UTC midnight starting day d.
func dayTime(d int) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// dayNumber returns the day number of t.
func dayNumber(t time.Time) int { return dayOf(t.Unix()) }

// insertLocked adds rows of kind to p, each with the next sequence number
// in the order given. The caller holds the write lock.
func (st *store) insertLocked(p *product, kind int, rows []row) {
	if len(rows) == 0 {
		return
	}
	for i := range rows {
		st.seq++
		rows[i].seq = st.seq
	}
	sort.SliceStable(rows, func(i, j int) bool { return rowBefore(rows[i], rows[j]) })
	for start := 0; start < len(rows); {
		d := dayOf(rows[start].t)
		end := start + 1
		for end < len(rows) && dayOf(rows[end].t) == d {
			end++
		}
		st.addToDay(p, kind, d, rows[start:end])
		start = end
	}
}

// addToDay merges the sorted rows of day d into its bucket.
func (st *store) addToDay(p *product, kind, d int, rows []row) {
	b := p.days[kind][d]
	if b == nil {
		b = &bucket{}
		if kind == 0 {
			b.events = map[Event]int{}
			b.clients = map[string]struct{}{}
		}
		p.days[kind][d] = b
	}
	if n := len(b.rows); n == 0 || !rowBefore(rows[0], b.rows[n-1]) {
		b.rows = append(b.rows, rows...)
	} else {
		merged := make([]row, 0, len(b.rows)+len(rows))
		i, j := 0, 0
		for i < len(b.rows) && j < len(rows) {
			if rowBefore(rows[j], b.rows[i]) {
				merged = append(merged, rows[j])
				j++
			} else {
				merged = append(merged, b.rows[i])
				i++
			}
		}
		merged = append(merged, b.rows[i:]...)
		b.rows = append(merged, rows[j:]...)
	}
	b.version++
	if kind != 0 {
		return
	}
	for _, r := range rows {
		ev := Event{Category: r.fields[colCategory], Name: r.fields[colName]}
		b.events[ev]++
		p.events[ev]++
		c := r.fields[colClient]
		b.clients[c] = struct{}{}
		switch sp := p.clients[c]; {
		case sp == nil:
			p.clients[c] = &clientSpan{first: d, last: d}
		case d < sp.first:
			sp.first = d
		case d > sp.last:
			sp.last = d
		}
	}
}

// rowsLocked returns the rows of kind of p on days [from, to], a slice per
// day that has rows, and the sum of the days' versions. The caller holds
// the lock (read or write); the slices stay valid after it is released.
func (p *product) rowsLocked(kind, from, to int) (days [][]row, version uint64) {
	for d := from; d <= to; d++ {
		if b := p.days[kind][d]; b != nil {
			days = append(days, b.rows)
			version += b.version
		}
	}
	return days, version
}

// versionLocked returns the sum of the versions of kind's days [from, to].
func (p *product) versionLocked(kind, from, to int) uint64 {
	var v uint64
	for d := from; d <= to; d++ {
		if b := p.days[kind][d]; b != nil {
			v += b.version
		}
	}
	return v
}

// product returns the product with id, or nil.
func (s *Server) product(id int64) *product { return s.st.byID[id] }

// Products returns the account's products.
func (s *Server) Products() []Product {
	out := make([]Product, len(s.st.products))
	for i, p := range s.st.products {
		out[i] = p.Product
	}
	return out
}

// Rows returns the rows of kind (CustomEvents or Exceptions) of product
// whose time t has from <= t < to, in file order: by time, rows of one
// second in a fixed order. It returns nil for an unknown product and
// panics on an unknown kind.
func (s *Server) Rows(productID int64, kind string, from, to time.Time) []Row {
	k := kindIndex(kind)
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	p := s.product(productID)
	if p == nil || !from.Before(to) {
		return nil
	}
	lo, hi := from.Unix(), to.Unix()
	if to.Nanosecond() > 0 {
		hi++ // rows are whole seconds: t < to means t <= to truncated
	}
	if from.Nanosecond() > 0 {
		lo++
	}
	days, _ := p.rowsLocked(k, dayOf(lo), dayOf(hi-1))
	var out []Row
	for _, rows := range days {
		for _, r := range rows {
			if r.t >= lo && r.t < hi {
				out = append(out, Row{Time: time.Unix(r.t, 0).UTC(), Fields: slices.Clone(r.fields)})
			}
		}
	}
	return out
}

// Events returns every (category, name) pair of product's custom events
// with its number of rows so far.
func (s *Server) Events(productID int64) map[Event]int {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	p := s.product(productID)
	if p == nil {
		return nil
	}
	out := make(map[Event]int, len(p.events))
	for ev, n := range p.events {
		out[ev] = n
	}
	return out
}

// ClientDays returns, for every Client ID of product's custom events, the
// UTC midnights of the first and the last day it has a row: what the
// dateRange report's "new" and "lost" are computed from.
func (s *Server) ClientDays(productID int64) map[string][2]time.Time {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	p := s.product(productID)
	if p == nil {
		return nil
	}
	out := make(map[string][2]time.Time, len(p.clients))
	for c, sp := range p.clients {
		out[c] = [2]time.Time{dayTime(sp.first), dayTime(sp.last)}
	}
	return out
}
