package epmsim

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Set is one set of the tenant.
type Set struct {
	// ID is the set's id, a GUID.
	ID string
	// Name is the set's display name, as records carry it in SetName.
	Name string
}

// Record is one admin audit record as the simulator serves it: the ground
// truth a test compares a client's output with.
type Record struct {
	// SetID is the set the record belongs to.
	SetID string
	// Feature is the record's Feature member.
	Feature string
	// Time is the record's EventTime at millisecond precision, in UTC.
	Time time.Time
	// Seq is the record's insertion number, unique across sets. Records of
	// one instant are served in ascending Seq.
	Seq int64
	// Raw is the record's JSON exactly as it appears in AdminAudits. It is
	// shared with the server and must not be modified.
	Raw []byte
}

// simSet is a set and its log, ordered by (instant, Seq).
type simSet struct {
	Set
	log []Record
}

// store holds the sets and their logs.
type store struct {
	mu    sync.RWMutex
	sets  []*simSet // in creation order
	byID  map[string]*simSet
	seq   int64
	gen   *generator
	added int // sets added, to name the next one
}

// setLocked returns the set with id or nil. The caller holds the lock.
func (st *store) setLocked(id string) *simSet {
	return st.byID[id]
}

// AddSet adds a set with id and name (a generated GUID and name when
// empty) and returns it. Adding an id that exists returns the existing set.
// A set added while the server runs appears in the next Sets answer.
func (s *Server) AddSet(id, name string) Set {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if set := s.st.setLocked(id); set != nil {
		return set.Set
	}
	s.st.added++
	if id == "" {
		id = s.st.gen.guid()
	}
	if name == "" {
		name = fmt.Sprintf("%s %d", setNames[(s.st.added-1)%len(setNames)], s.st.added)
	}
	set := &simSet{Set: Set{ID: id, Name: name}}
	s.st.sets = append(s.st.sets, set)
	s.st.byID[id] = set
	return set.Set
}

// Sets returns the tenant's sets in creation order.
func (s *Server) Sets() []Set {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	out := make([]Set, len(s.st.sets))
	for i, set := range s.st.sets {
		out[i] = set.Set
	}
	return out
}

// mustSetLocked returns the set with id or panics: a wrong id is a mistake
// in the calling test, not a condition to handle. The caller holds the lock.
func (st *store) mustSetLocked(id string) *simSet {
	set := st.setLocked(id)
	if set == nil {
		panic(fmt.Sprintf("epmsim: unknown set %q; add it with AddSet first", id))
	}
	return set
}

// insertLocked numbers rec and adds it to its set after every record of
// the same or an earlier instant. The caller holds the write lock.
func (st *store) insertLocked(set *simSet, rec Record) Record {
	rec.Seq = st.seq
	st.seq++
	rec.SetID = set.ID
	ms := rec.Time.UnixMilli()
	i := sort.Search(len(set.log), func(i int) bool { return set.log[i].Time.UnixMilli() > ms })
	set.log = slices.Insert(set.log, i, rec)
	return rec
}

// Records returns the log of set setID in the order the API serves it:
// ascending EventTime, then insertion. Each Raw is exactly the bytes a
// response carries.
func (s *Server) Records(setID string) []Record {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return slices.Clone(s.st.mustSetLocked(setID).log)
}

// selection returns the records of set with from <= t and t truncated to
// the second <= to (each bound absent when zero): the result set of an
// AdminAudit query, in order. The caller holds the read lock.
func (set *simSet) selection(from, to time.Time) []Record {
	lo, hi := 0, len(set.log)
	if !from.IsZero() {
		f := from.UnixMilli()
		lo = sort.Search(len(set.log), func(i int) bool { return set.log[i].Time.UnixMilli() >= f })
	}
	if !to.IsZero() {
		// Inclusive to the second: everything before to + 1s.
		t := to.Truncate(time.Second).Add(time.Second).UnixMilli()
		hi = sort.Search(len(set.log), func(i int) bool { return set.log[i].Time.UnixMilli() >= t })
	}
	if hi < lo {
		return nil
	}
	return set.log[lo:hi]
}
