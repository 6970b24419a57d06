package plmsim

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Record is one system-log record as the simulator serves it: the ground
// truth a test compares a client's output with.
type Record struct {
	// Type is TypeItem or TypeSystem.
	Type string
	// Action is the record's action, e.g. "Log In" or "Item Edited".
	Action string
	// Time is the record's instant at millisecond precision, in the zone its
	// timestamp is rendered in.
	Time time.Time
	// Seq is the record's insertion number, unique across types. Records
	// with the same instant are served in ascending Seq.
	Seq int64
	// Raw is the record's JSON exactly as it appears in a response's items.
	// It is shared with the server and must not be modified.
	Raw []byte
}

// entry is a stored record with the fields queries filter and sort on.
type entry struct {
	rec            Record
	ms             int64 // the instant in Unix milliseconds
	desc           string
	descLower      string
	userTitle      string
	userTitleLower string
	userEmailLower string
	userIDLower    string
}

// before reports whether a precedes b in the log: by instant, then by
// insertion.
func before(a, b *entry) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.rec.Seq < b.rec.Seq)
}

// store holds the log: one slice per type, each ordered by before.
type store struct {
	mu   sync.RWMutex
	logs map[string][]*entry
	seq  int64
	gen  *generator
}

// checkType panics unless typ is TypeItem or TypeSystem: a wrong type is a
// mistake in the calling test, not a condition to handle.
func checkType(typ string) {
	if typ != TypeItem && typ != TypeSystem {
		panic(fmt.Sprintf("plmsim: unknown record type %q (want %q or %q)", typ, TypeItem, TypeSystem))
	}
}

// Generate adds a deterministic history: perType[typ] records of each type
// (keys TypeItem and TypeSystem) at instants in [from, to), denser in office
// hours of the tenant's zone, with bursts of records sharing a millisecond.
// The same Config.Seed and the same calls give the same records. Generate may
// be called on a log that already has records; the new ones are merged in by
// instant, after existing records with the same instant.
func (s *Server) Generate(from, to time.Time, perType map[string]int) {
	for typ := range perType {
		checkType(typ)
	}
	type slot struct {
		typ string
		t   time.Time
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var slots []slot
	for _, typ := range []string{TypeItem, TypeSystem} {
		for _, t := range s.st.gen.instants(from, to, perType[typ]) {
			slots = append(slots, slot{typ, t})
		}
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return a.t.Compare(b.t) })
	fresh := map[string][]*entry{}
	for _, sl := range slots {
		e := s.st.gen.build(sl.typ, sl.t)
		e.rec.Seq = s.st.seq
		s.st.seq++
		fresh[sl.typ] = append(fresh[sl.typ], e)
	}
	for typ, es := range fresh {
		s.st.logs[typ] = merge(s.st.logs[typ], es)
	}
}

// Append adds n records of type typ (TypeItem or TypeSystem), all at the
// instant at truncated to the millisecond, and returns them. Records at or
// after the newest one are appended at the end of the log; an earlier at
// inserts them in instant order, as a vendor indexing records late would.
func (s *Server) Append(typ string, n int, at time.Time) []Record {
	checkType(typ)
	t := time.UnixMilli(at.UnixMilli())
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([]Record, 0, n)
	for range n {
		out = append(out, s.st.insert(s.st.gen.build(typ, t)))
	}
	return out
}

// insert numbers e and adds it to its log after every record with the same
// or an earlier instant. The caller holds the write lock.
func (st *store) insert(e *entry) Record {
	e.rec.Seq = st.seq
	st.seq++
	l := st.logs[e.rec.Type]
	i := sort.Search(len(l), func(i int) bool { return l[i].ms > e.ms })
	st.logs[e.rec.Type] = slices.Insert(l, i, e)
	return e.rec
}

// Records returns the log of type typ (TypeItem or TypeSystem; "" for both
// types merged) in ascending order of instant, then insertion: the order of
// sort=timestamp asc. Each Raw is exactly the bytes a response carries.
func (s *Server) Records(typ string) []Record {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	var es []*entry
	if typ == "" {
		es = merge(s.st.logs[TypeItem], s.st.logs[TypeSystem])
	} else {
		checkType(typ)
		es = s.st.logs[typ]
	}
	out := make([]Record, len(es))
	for i, e := range es {
		out[i] = e.rec
	}
	return out
}

// merge returns a new slice with the entries of a and b, both ordered by
// before, in that order.
func merge(a, b []*entry) []*entry {
	out := make([]*entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if before(b[0], a[0]) {
			out = append(out, b[0])
			b = b[1:]
		} else {
			out = append(out, a[0])
			a = a[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}
