package oraclesim

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MergeWindow is how close logins of one user from one address on one UTC
// day must follow the first login of their group to be merged into its
// row.
const MergeWindow = 5 * time.Minute

// Row is one login: a raw login as Add takes it, or a merged row of the
// report (the first login of its group) as Rows returns it.
type Row struct {
	// Login is the user login, an e-mail address.
	Login string
	// Name is the user's display name; it may be empty.
	Name string
	// IP is the client address, IPv4 or IPv6.
	IP string
	// Time is the instant in UTC, whole seconds.
	Time time.Time
}

// day holds the raw logins of one UTC day and, once computed, their merged
// rows.
type day struct {
	logins []Row // in insertion order
	merged []Row // by time, login, IP, name; valid unless stale
	stale  bool
}

// store holds the raw logins indexed by UTC day.
type store struct {
	mu     sync.Mutex
	days   map[int64]*day // day number (Unix days) → logins
	logins int
}

// dayNumber returns the UTC day of t as days since 1970-01-01.
func dayNumber(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// dayStart returns 00:00 UTC of t's day.
func dayStart(t time.Time) time.Time {
	return time.Unix(dayNumber(t)*86400, 0).UTC()
}

// addLocked stores one raw login, its time truncated to the second. The
// caller holds the lock.
func (st *store) addLocked(r Row) {
	r.Time = time.Unix(r.Time.Unix(), 0).UTC()
	k := dayNumber(r.Time)
	d := st.days[k]
	if d == nil {
		d = &day{}
		st.days[k] = d
	}
	d.logins = append(d.logins, r)
	d.stale = true
	st.logins++
}

// rowsLocked returns the merged rows of d, computing them when stale. The
// result is shared and must not be modified. The caller holds the lock.
func (d *day) rowsLocked() []Row {
	if d.stale || d.merged == nil {
		d.merged = merge(d.logins)
		d.stale = false
	}
	return d.merged
}

// byIdentity orders logins by login, IP, time and name: the walk of the
// merge.
func byIdentity(a, b Row) int {
	return cmp.Or(strings.Compare(a.Login, b.Login), strings.Compare(a.IP, b.IP),
		a.Time.Compare(b.Time), strings.Compare(a.Name, b.Name))
}

// byTime orders rows by time, login, IP and name: the order of Rows.
func byTime(a, b Row) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Login, b.Login),
		strings.Compare(a.IP, b.IP), strings.Compare(a.Name, b.Name))
}

// byLogin orders rows by login, time, IP and name: the order of the
// report and the User Login Report.
func byLogin(a, b Row) int {
	return cmp.Or(strings.Compare(a.Login, b.Login), a.Time.Compare(b.Time),
		strings.Compare(a.IP, b.IP), strings.Compare(a.Name, b.Name))
}

// merge returns the rows of one day's logins, ordered by byTime. Per
// login and IP, walking in time order, a group starts at a login and
// absorbs the following logins less than MergeWindow after its first
// one; the row is the group's first login.
func merge(logins []Row) []Row {
	sorted := slices.Clone(logins)
	slices.SortFunc(sorted, byIdentity)
	out := make([]Row, 0, len(sorted))
	var first Row
	for i, l := range sorted {
		if i > 0 && l.Login == first.Login && l.IP == first.IP && l.Time.Sub(first.Time) < MergeWindow {
			continue
		}
		first = l
		out = append(out, l)
	}
	slices.SortFunc(out, byTime)
	return out
}

// rowsLocked returns the merged rows with from <= Time < to, ordered by
// byTime. The caller holds the lock.
func (st *store) rowsLocked(from, to time.Time) []Row {
	if !from.Before(to) {
		return nil
	}
	lo, hi := dayNumber(from), dayNumber(to.Add(-time.Nanosecond))
	keys := make([]int64, 0, hi-lo+1)
	if hi-lo+1 < int64(len(st.days)) {
		for k := lo; k <= hi; k++ {
			if st.days[k] != nil {
				keys = append(keys, k)
			}
		}
	} else {
		for k := range st.days {
			if k >= lo && k <= hi {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
	}
	var out []Row
	for _, k := range keys {
		rows := st.days[k].rowsLocked()
		i := sort.Search(len(rows), func(i int) bool { return !rows[i].Time.Before(from) })
		j := sort.Search(len(rows), func(i int) bool { return !rows[i].Time.Before(to) })
		out = append(out, rows[i:j]...)
	}
	return out
}

// report returns the rows of the report of the days since to until
// (inclusive) as they are at asOf: the merged rows with Time in
// [since 00:00, until+1 00:00) and not after asOf, ordered by byLogin.
func (st *store) report(since, until, asOf time.Time) []Row {
	st.mu.Lock()
	rows := st.rowsLocked(since, until.AddDate(0, 0, 1))
	st.mu.Unlock()
	n := sort.Search(len(rows), func(i int) bool { return rows[i].Time.After(asOf) })
	rows = rows[:n]
	slices.SortFunc(rows, byLogin)
	return rows
}

// pruneLocked drops the days before day number oldest. The caller holds
// the lock.
func (st *store) pruneLocked(oldest int64) {
	for k, d := range st.days {
		if k < oldest {
			st.logins -= len(d.logins)
			delete(st.days, k)
		}
	}
}

// Add stores raw logins (Time is truncated to the second). Reports built
// later see them; files already built do not change.
func (s *Server) Add(logins ...Row) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for _, l := range logins {
		s.st.addLocked(l)
	}
}

// Rows returns the merged rows with from <= Time < to, ordered by time,
// then login, IP and name: the ground truth of every report.
func (s *Server) Rows(from, to time.Time) []Row {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return slices.Clone(s.st.rowsLocked(from, to))
}

// Logins returns the number of raw logins stored.
func (s *Server) Logins() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.logins
}
