package plmsim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sortField is what a query sorts by.
type sortField int

const (
	sortTimestamp sortField = iota
	sortDescription
	sortUserTitle
)

// textFilter names a filter[...] parameter matched against record text.
type textFilter struct {
	name  string
	exact bool // whole-value match; otherwise substring
	field func(*entry) string
}

// textFilters are the supported record filters, in the order links carry
// them. Matching is case-insensitive.
var textFilters = []textFilter{
	{"user.title", false, func(e *entry) string { return e.userTitleLower }},
	{"user.email", false, func(e *entry) string { return e.userEmailLower }},
	{"user.id", true, func(e *entry) string { return e.userIDLower }},
	{"description", false, func(e *entry) string { return e.descLower }},
}

// Date filter names.
const (
	filterFromDate = "from.date"
	filterToDate   = "to.date"
)

// query is a parsed system-logs request.
type query struct {
	offset, limit int
	typ           string // "", TypeItem or TypeSystem
	fromMs, toMs  int64  // the instants selected: [fromMs, toMs)
	text          [][]string
	sort          sortField
	desc          bool
	linkQuery     string // every parameter but offset and limit, encoded for links
}

// hasText reports whether any text filter is set.
func (q *query) hasText() bool {
	for _, vs := range q.text {
		if len(vs) > 0 {
			return true
		}
	}
	return false
}

// match reports whether e passes the text filters: every filter given must
// match, and a filter given more than once matches any of its values.
func (q *query) match(e *entry) bool {
	for i, vs := range q.text {
		if len(vs) == 0 {
			continue
		}
		f := textFilters[i]
		got := f.field(e)
		ok := false
		for _, v := range vs {
			if (f.exact && got == v) || (!f.exact && strings.Contains(got, v)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// parseQuery parses the query string of a system-logs request. Its errors
// are messages for a 400 response.
func parseQuery(raw string, loc *time.Location, maxLimit int) (query, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, fmt.Errorf("malformed query string: %v", err)
	}
	q := query{limit: DefaultLimit, fromMs: math.MinInt64, toMs: math.MaxInt64, text: make([][]string, len(textFilters))}
	var link strings.Builder
	addLink := func(k, v string) {
		link.WriteString("&" + k + "=" + url.QueryEscape(v))
	}

	if v := vals.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return query{}, fmt.Errorf("offset %q is not a non-negative integer", v)
		}
		q.offset = n
	}
	if v := vals.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return query{}, fmt.Errorf("limit %q is not an integer from 1 to %d", v, maxLimit)
		}
		q.limit = n
	}
	if _, ok := vals["type"]; ok {
		switch v := vals.Get("type"); v {
		case TypeItem, TypeSystem:
			q.typ = v
			addLink("type", v)
		default:
			return query{}, fmt.Errorf("type %q is not one of %q, %q", v, TypeItem, TypeSystem)
		}
	}

	for k := range vals {
		name, ok := strings.CutPrefix(k, "filter[")
		if !ok {
			continue
		}
		name, ok = strings.CutSuffix(name, "]")
		if !ok || !knownFilter(name) {
			return query{}, fmt.Errorf("unsupported filter %q: supported are filter[user.title], filter[user.email], filter[user.id], filter[description], filter[from.date], filter[to.date]", k)
		}
	}
	for i, f := range textFilters {
		for _, v := range vals["filter["+f.name+"]"] {
			q.text[i] = append(q.text[i], strings.ToLower(v))
			addLink("filter["+f.name+"]", v)
		}
	}
	for _, name := range []string{filterFromDate, filterToDate} {
		k := "filter[" + name + "]"
		if _, ok := vals[k]; !ok {
			continue
		}
		v := vals.Get(k)
		day, err := parseDay(v, loc)
		if err != nil {
			return query{}, fmt.Errorf("%s %q is not a date YYYY-MM-DD", k, v)
		}
		if name == filterFromDate {
			q.fromMs = day.UnixMilli()
		} else {
			y, m, d := day.Date()
			q.toMs = time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMilli()
		}
		addLink(k, v)
	}

	if _, ok := vals["sort"]; ok {
		v := vals.Get("sort")
		if err := q.parseSort(v); err != nil {
			return query{}, err
		}
		addLink("sort", v)
	} else {
		q.desc = true // newest first
	}
	q.linkQuery = link.String()
	return q, nil
}

// knownFilter reports whether name is a supported filter[name].
func knownFilter(name string) bool {
	if name == filterFromDate || name == filterToDate {
		return true
	}
	for _, f := range textFilters {
		if f.name == name {
			return true
		}
	}
	return false
}

// parseDay parses a YYYY-MM-DD day as its first instant in loc.
func parseDay(v string, loc *time.Location) (time.Time, error) {
	if len(v) != len(time.DateOnly) {
		return time.Time{}, errors.New("wrong length")
	}
	t, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
}

// parseSort parses "field [asc|desc]"; the direction defaults to asc.
func (q *query) parseSort(v string) error {
	parts := strings.Fields(strings.ToLower(v))
	if len(parts) == 0 || len(parts) > 2 {
		return fmt.Errorf("sort %q is not \"<field> [asc|desc]\"", v)
	}
	switch parts[0] {
	case "timestamp", "date":
		q.sort = sortTimestamp
	case "description":
		q.sort = sortDescription
	case "user.title":
		q.sort = sortUserTitle
	default:
		return fmt.Errorf("sort field %q is not one of timestamp, date, description, user.title", parts[0])
	}
	if len(parts) == 2 {
		switch parts[1] {
		case "asc":
		case "desc":
			q.desc = true
		default:
			return fmt.Errorf("sort direction %q is not asc or desc", parts[1])
		}
	}
	return nil
}

// execute returns the number of records q selects and the entries of the
// requested page. now is the end of the 60-day window of untyped requests.
func (s *Server) execute(q query, now time.Time) (total int, page []*entry) {
	types := []string{TypeItem, TypeSystem}
	from := q.fromMs
	if q.typ != "" {
		types = []string{q.typ}
	} else {
		from = max(from, now.Add(-s.cfg.MixedWindow).UnixMilli())
	}

	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	ranges := make([][]*entry, 0, len(types))
	for _, typ := range types {
		l := s.st.logs[typ]
		lo := sort.Search(len(l), func(i int) bool { return l[i].ms >= from })
		hi := sort.Search(len(l), func(i int) bool { return l[i].ms >= q.toMs })
		ranges = append(ranges, l[lo:max(lo, hi)])
	}

	var sel []*entry
	switch {
	case len(ranges) == 1 && !q.hasText() && q.sort == sortTimestamp:
		// Fast path: the stored slice is the selection, in order.
		sel = ranges[0]
	default:
		for _, r := range ranges {
			var kept []*entry
			for _, e := range r {
				if q.match(e) {
					kept = append(kept, e)
				}
			}
			sel = merge(sel, kept)
		}
	}
	if q.sort != sortTimestamp {
		key := func(e *entry) string { return e.descLower }
		if q.sort == sortUserTitle {
			key = func(e *entry) string { return e.userTitleLower }
		}
		sign := 1
		if q.desc {
			sign = -1
		}
		slices.SortStableFunc(sel, func(a, b *entry) int { return sign * cmp.Compare(key(a), key(b)) })
	}
	return len(sel), pageOf(sel, q.offset, q.limit, q.sort == sortTimestamp && q.desc)
}

// pageOf returns positions [offset, offset+limit) of sel. With newestFirst,
// sel (ordered by before) is read newest instant first, and records sharing
// an instant keep their insertion order, as a stable descending sort would.
func pageOf(sel []*entry, offset, limit int, newestFirst bool) []*entry {
	n := len(sel)
	if offset >= n {
		return nil
	}
	end := min(n, offset+limit)
	out := make([]*entry, 0, end-offset)
	for k := offset; k < end; k++ {
		if !newestFirst {
			out = append(out, sel[k])
			continue
		}
		ms := sel[n-1-k].ms
		gs := sort.Search(n, func(i int) bool { return sel[i].ms >= ms })
		ge := sort.Search(n, func(i int) bool { return sel[i].ms > ms })
		out = append(out, sel[gs+k-(n-ge)])
	}
	return out
}
