package revenerasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The date splits of the reports.
const (
	SplitDay   = "day"
	SplitWeek  = "week"
	SplitMonth = "month"
)

// The client statuses of the dateRange report.
var clientStatuses = []string{"new", "active", "lost"}

// eventTrackingEntry is one event of the flat event-tracking answer.
type eventTrackingEntry struct {
	Category string `json:"category"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
}

// eventTrackingCategory is one category of the categorized answer.
type eventTrackingCategory struct {
	Category string              `json:"category"`
	Events   []eventTrackingName `json:"events"`
}

// eventTrackingName is one event of a category.
type eventTrackingName struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// handleEventTracking answers GET /v3/event-tracking/{product}.
func (s *Server) handleEventTracking(w http.ResponseWriter, r *http.Request, p *product) {
	q := r.URL.Query()
	show := q.Get("showEvents")
	if show == "" {
		show = "all"
	}
	if show != "all" && show != "enabled" && show != "disabled" {
		s.fail(w, http.StatusBadRequest, "showEvents must be all, enabled or disabled")
		return
	}
	var flat bool
	switch q.Get("flat") {
	case "true":
		flat = true
	case "", "false":
	default:
		s.fail(w, http.StatusBadRequest, "flat must be true or false")
		return
	}
	s.st.mu.RLock()
	var list []eventTrackingEntry
	for ev := range p.events {
		list = append(list, eventTrackingEntry{Category: ev.Category, Name: ev.Name, Enabled: true})
	}
	s.st.mu.RUnlock()
	list = append(list, eventTrackingEntry{Category: disabledEvent.Category, Name: disabledEvent.Name})
	slices.SortFunc(list, func(a, b eventTrackingEntry) int {
		return strings.Compare(a.Category+"\x00"+a.Name, b.Category+"\x00"+b.Name)
	})
	list = slices.DeleteFunc(list, func(e eventTrackingEntry) bool {
		return (show == "enabled" && !e.Enabled) || (show == "disabled" && e.Enabled)
	})
	if list == nil {
		list = []eventTrackingEntry{}
	}
	if flat {
		writeJSON(w, http.StatusOK, map[string]any{"result": list})
		return
	}
	cats := []eventTrackingCategory{}
	for _, e := range list {
		if n := len(cats); n == 0 || cats[n-1].Category != e.Category {
			cats = append(cats, eventTrackingCategory{Category: e.Category})
		}
		c := &cats[len(cats)-1]
		c.Events = append(c.Events, eventTrackingName{Name: e.Name, Enabled: e.Enabled})
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": cats})
}

// period is one element of a report's dates: days [from, to].
type period struct{ from, to int }

// parseRange checks a report's date range and split and returns its
// periods, or answers 400 and reports false.
func (s *Server) parseRange(w http.ResponseWriter, start, stop, split string) ([]period, bool) {
	parse := func(name, v string) (int, bool) {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			s.fail(w, http.StatusBadRequest, fmt.Sprintf("%s must be a date YYYY-MM-DD", name))
			return 0, false
		}
		return dayNumber(t), true
	}
	from, ok := parse("startDate", start)
	if !ok {
		return nil, false
	}
	to, ok := parse("stopDate", stop)
	if !ok {
		return nil, false
	}
	switch {
	case from > to:
		s.fail(w, http.StatusBadRequest, "startDate must not be after stopDate")
		return nil, false
	case to > dayNumber(s.now()):
		s.fail(w, http.StatusBadRequest, "stopDate must not be in the future")
		return nil, false
	case to-from+1 > s.cfg.MaxReportDays:
		s.fail(w, http.StatusBadRequest, "Date range too large")
		return nil, false
	}
	var next func(d int) int // the first day of the period after d's
	switch split {
	case SplitDay:
		next = func(d int) int { return d + 1 }
	case SplitWeek:
		// ISO weeks, Monday first.
		next = func(d int) int { return d + 7 - (int(dayTime(d).Weekday())+6)%7 }
	case SplitMonth:
		next = func(d int) int { return monthStart(d, 1) }
	default:
		s.fail(w, http.StatusBadRequest, "dateSplit must be day, week or month")
		return nil, false
	}
	var out []period
	for d := from; d <= to; {
		n := min(next(d), to+1)
		out = append(out, period{d, n - 1})
		d = n
	}
	return out, true
}

// dates returns the labels of periods in Config.DateFormat: each period's
// first day.
func (s *Server) dates(periods []period) []string {
	out := make([]string, len(periods))
	for i, p := range periods {
		t := dayTime(p.from)
		if s.cfg.DateFormat == DateFormatDateTime {
			out[i] = t.Format(time.RFC3339)
		} else {
			out[i] = t.Format(time.DateOnly)
		}
	}
	return out
}

// timelineRequest is the body of the timeline report.
type timelineRequest struct {
	StartDate string   `json:"startDate"`
	StopDate  string   `json:"stopDate"`
	DateSplit string   `json:"dateSplit"`
	DataView  string   `json:"dataView"`
	Events    []*Event `json:"events"`
}

// timelineSeries is one event's values.
type timelineSeries struct {
	Category string `json:"category"`
	Name     string `json:"name"`
	Values   []int  `json:"values"`
}

// handleTimeline answers POST /v3/reporting/eventTracking/basic/timeline/{product}.
func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request, p *product) {
	var req timelineRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	periods, ok := s.parseRange(w, req.StartDate, req.StopDate, req.DateSplit)
	if !ok {
		return
	}
	if req.DataView != "" && req.DataView != "usageCounts" {
		s.fail(w, http.StatusBadRequest, "dataView must be usageCounts")
		return
	}
	if len(req.Events) == 0 {
		s.fail(w, http.StatusBadRequest, "events must list at least one {category, name}")
		return
	}
	for _, ev := range req.Events {
		if ev == nil || ev.Category == "" || ev.Name == "" {
			s.fail(w, http.StatusBadRequest, "every event needs a category and a name")
			return
		}
	}
	series := make([]timelineSeries, len(req.Events))
	s.st.mu.RLock()
	for i, ev := range req.Events {
		series[i] = timelineSeries{Category: ev.Category, Name: ev.Name, Values: make([]int, len(periods))}
		for j, pd := range periods {
			for d := pd.from; d <= pd.to; d++ {
				if b := p.days[0][d]; b != nil {
					series[i].Values[j] += b.events[*ev]
				}
			}
		}
	}
	s.st.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{"dates": s.dates(periods), "series": series}})
}

// dateRangeRequest is the body of the dateRange report.
type dateRangeRequest struct {
	StartDate             string   `json:"startDate"`
	StopDate              string   `json:"stopDate"`
	DateSplit             string   `json:"dateSplit"`
	ClientStatus          []string `json:"clientStatus"`
	DaysUntilDeclaredLost *int     `json:"daysUntilDeclaredLost"`
}

// handleDateRange answers POST /v3/reporting/generic/dateRange/{product}.
func (s *Server) handleDateRange(w http.ResponseWriter, r *http.Request, p *product) {
	var req dateRangeRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	periods, ok := s.parseRange(w, req.StartDate, req.StopDate, req.DateSplit)
	if !ok {
		return
	}
	if len(req.ClientStatus) == 0 {
		s.fail(w, http.StatusBadRequest, "clientStatus must list at least one of new, active, lost")
		return
	}
	for _, st := range req.ClientStatus {
		if !slices.Contains(clientStatuses, st) {
			s.fail(w, http.StatusBadRequest, fmt.Sprintf("clientStatus %q is not new, active or lost", st))
			return
		}
	}
	lostAfter := DefaultDaysUntilLost
	if req.DaysUntilDeclaredLost != nil {
		if *req.DaysUntilDeclaredLost < 1 || *req.DaysUntilDeclaredLost > 365 {
			s.fail(w, http.StatusBadRequest, "daysUntilDeclaredLost must be from 1 to 365")
			return
		}
		lostAfter = *req.DaysUntilDeclaredLost
	}
	from, to := periods[0].from, periods[len(periods)-1].to
	index := make([]int, to-from+1) // day - from → period index
	for i, pd := range periods {
		for d := pd.from; d <= pd.to; d++ {
			index[d-from] = i
		}
	}
	counts := map[string][]int{}
	for _, st := range clientStatuses {
		counts[st] = make([]int, len(periods))
	}
	s.st.mu.RLock()
	for _, sp := range p.clients {
		if sp.first >= from && sp.first <= to {
			counts["new"][index[sp.first-from]]++
		}
		if l := sp.last + lostAfter; l >= from && l <= to {
			counts["lost"][index[l-from]]++
		}
	}
	for i, pd := range periods {
		seen := map[string]struct{}{}
		for d := pd.from; d <= pd.to; d++ {
			if b := p.days[0][d]; b != nil {
				for c := range b.clients {
					seen[c] = struct{}{}
				}
			}
		}
		counts["active"][i] = len(seen)
	}
	s.st.mu.RUnlock()

	// The statuses in the order requested, after dates.
	var buf bytes.Buffer
	buf.WriteString(`{"result":{"dates":`)
	dates, _ := json.Marshal(s.dates(periods))
	buf.Write(dates)
	done := map[string]bool{}
	for _, st := range req.ClientStatus {
		if done[st] {
			continue
		}
		done[st] = true
		vals, _ := json.Marshal(counts[st])
		fmt.Fprintf(&buf, ",%q:%s", st, vals)
	}
	buf.WriteString("}}\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
