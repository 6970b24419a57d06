package revenerasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// eventList calls event-tracking with query and decodes the flat answer.
func (c *apiClient) eventList(product int64, query string) []eventTrackingEntry {
	c.e.t.Helper()
	resp, body := c.call(http.MethodGet, fmt.Sprintf("/v3/event-tracking/%d?%s", product, query), "")
	wantStatus(c.e.t, "event-tracking", resp, body, http.StatusOK, "")
	var out struct {
		Result []eventTrackingEntry `json:"result"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		c.e.t.Fatalf("event-tracking %s: %v", body, err)
	}
	return out.Result
}

func TestEventTracking(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	for _, p := range []int64{large, small} {
		list := c.eventList(p, "flat=true&showEvents=all")
		want := e.sim.Events(p)
		enabled := 0
		for _, ev := range list {
			switch {
			case ev.Enabled && want[Event{ev.Category, ev.Name}] > 0:
				enabled++
			case !ev.Enabled && (Event{ev.Category, ev.Name}) == disabledEvent:
			default:
				t.Errorf("%d: listed %+v", p, ev)
			}
		}
		if enabled != len(want) || len(list) != len(want)+1 {
			t.Errorf("%d: %d events listed, %d occur", p, len(list), len(want))
		}
		if got := c.eventList(p, "flat=true&showEvents=disabled"); len(got) != 1 || got[0].Enabled {
			t.Errorf("%d: disabled events %+v", p, got)
		}
	}
	if len(e.sim.Events(large)) <= len(e.sim.Events(small)) {
		t.Errorf("the large product has %d events, the small one %d", len(e.sim.Events(large)), len(e.sim.Events(small)))
	}
	_, body := c.call(http.MethodGet, fmt.Sprintf("/v3/event-tracking/%d", small), "")
	var cats struct {
		Result []eventTrackingCategory `json:"result"`
	}
	if err := json.Unmarshal(body, &cats); err != nil || len(cats.Result) == 0 || len(cats.Result[0].Events) == 0 {
		t.Errorf("categorized answer %s", body)
	}
}

// dayCounts counts, from Rows, the custom events of each (day, event)
// and the distinct clients of each day of [from, to], and the first and
// last day of every client over all rows.
func dayCounts(s *Server, p int64, from, to time.Time) (events map[string]map[Event]int, active map[string]int, first, last map[string]string) {
	events, active = map[string]map[Event]int{}, map[string]int{}
	first, last = map[string]string{}, map[string]string{}
	seen := map[string]map[string]bool{}
	for _, r := range s.Rows(p, CustomEvents, time.Unix(0, 0), to.AddDate(0, 0, 1)) {
		d := r.Time.Format(time.DateOnly)
		c := r.Fields[colClient]
		if _, ok := first[c]; !ok {
			first[c] = d
		}
		last[c] = d
		if r.Time.Before(from) {
			continue
		}
		if events[d] == nil {
			events[d], seen[d] = map[Event]int{}, map[string]bool{}
		}
		events[d][Event{r.Fields[colCategory], r.Fields[colName]}]++
		if !seen[d][c] {
			seen[d][c] = true
			active[d]++
		}
	}
	return events, active, first, last
}

// timeline is a decoded timeline answer.
type timeline struct {
	Result struct {
		Dates  []string         `json:"dates"`
		Series []timelineSeries `json:"series"`
	} `json:"result"`
}

func TestTimeline(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	from, to := day(testNow, -30), day(testNow, 0) // 31 days, today included
	var events []Event
	for ev := range e.sim.Events(large) {
		events = append(events, ev)
	}
	events = append(events, disabledEvent)
	req, _ := json.Marshal(map[string]any{
		"startDate": from.Format(time.DateOnly), "stopDate": to.Format(time.DateOnly),
		"dateSplit": "day", "dataView": "usageCounts", "events": events, "divisor": nil,
	})
	resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/reporting/eventTracking/basic/timeline/%d", large), string(req))
	wantStatus(t, "timeline", resp, body, http.StatusOK, "")
	var tl timeline
	if err := json.Unmarshal(body, &tl); err != nil {
		t.Fatal(err)
	}
	if len(tl.Result.Dates) != 31 || tl.Result.Dates[0] != "2026-11-03" || tl.Result.Dates[30] != "2026-12-03" || len(tl.Result.Series) != len(events) {
		t.Fatalf("timeline dates %v, %d series", tl.Result.Dates, len(tl.Result.Series))
	}
	counts, _, _, _ := dayCounts(e.sim, large, day(testNow, -40), to)
	total := 0
	for i, s := range tl.Result.Series {
		ev := Event{s.Category, s.Name}
		if ev != events[i] || len(s.Values) != 31 {
			t.Fatalf("series %d is %+v, want %+v", i, s, events[i])
		}
		for j, d := range tl.Result.Dates {
			if s.Values[j] != counts[d][ev] {
				t.Errorf("%+v on %s: %d, Rows say %d", ev, d, s.Values[j], counts[d][ev])
			}
			total += s.Values[j]
		}
	}
	if total == 0 || total != len(e.sim.Rows(large, CustomEvents, from, to.AddDate(0, 0, 1))) {
		t.Errorf("timeline total %d", total)
	}

	// Weeks and months add up the days.
	for _, split := range []string{"week", "month"} {
		req, _ := json.Marshal(map[string]any{"startDate": "2026-11-02", "stopDate": "2026-12-02", "dateSplit": split, "dataView": "usageCounts", "events": events[:1]})
		resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/reporting/eventTracking/basic/timeline/%d", large), string(req))
		wantStatus(t, split, resp, body, http.StatusOK, "")
		var tl timeline
		_ = json.Unmarshal(body, &tl)
		sum := 0
		for _, v := range tl.Result.Series[0].Values {
			sum += v
		}
		want := 0
		for d := day(testNow, -31); d.Before(day(testNow, 0)); d = d.AddDate(0, 0, 1) {
			want += counts[d.Format(time.DateOnly)][events[0]]
		}
		wantDates := map[string][]string{
			"week":  {"2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"},
			"month": {"2026-11-02", "2026-12-01"},
		}[split]
		if sum != want || !reflect.DeepEqual(tl.Result.Dates, wantDates) {
			t.Errorf("%s: dates %v, sum %d, want %d", split, tl.Result.Dates, sum, want)
		}
	}

	// DateFormat datetime.
	dt := generated(t, Config{DateFormat: DateFormatDateTime})
	dc := dt.client()
	dc.logon()
	_, body = dc.call(http.MethodPost, fmt.Sprintf("/v3/reporting/eventTracking/basic/timeline/%d", small),
		`{"startDate":"2026-11-01","stopDate":"2026-11-02","dateSplit":"day","dataView":"usageCounts","events":[{"category":"File","name":"Open"}]}`)
	if !strings.Contains(string(body), `"dates":["2026-11-01T00:00:00Z","2026-11-02T00:00:00Z"]`) {
		t.Errorf("datetime dates: %s", body)
	}
}

func TestDateRange(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	from, to := day(testNow, -30), day(testNow, 0)
	_, active, first, last := dayCounts(e.sim, large, from, to)
	req := fmt.Sprintf(`{"startDate":%q,"stopDate":%q,"dateSplit":"day","clientStatus":["new","active","lost"],"groupBy":"clientId"}`, from.Format(time.DateOnly), to.Format(time.DateOnly))
	resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/reporting/generic/dateRange/%d", large), req)
	wantStatus(t, "dateRange", resp, body, http.StatusOK, "")
	var dr struct {
		Result struct {
			Dates  []string `json:"dates"`
			New    []int    `json:"new"`
			Active []int    `json:"active"`
			Lost   []int    `json:"lost"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &dr); err != nil {
		t.Fatal(err)
	}
	if len(dr.Result.Dates) != 31 || len(dr.Result.New) != 31 || len(dr.Result.Active) != 31 || len(dr.Result.Lost) != 31 {
		t.Fatalf("dateRange answer %s", body)
	}
	var sumNew, sumLost int
	for i, d := range dr.Result.Dates {
		var wantNew, wantLost int
		lostDay := day(from, i-DefaultDaysUntilLost).Format(time.DateOnly)
		for c, f := range first {
			if f == d {
				wantNew++
			}
			if last[c] == lostDay {
				wantLost++
			}
		}
		if dr.Result.New[i] != wantNew || dr.Result.Active[i] != active[d] || dr.Result.Lost[i] != wantLost {
			t.Errorf("%s: new %d active %d lost %d, Rows say %d %d %d", d, dr.Result.New[i], dr.Result.Active[i], dr.Result.Lost[i], wantNew, active[d], wantLost)
		}
		sumNew += wantNew
		sumLost += wantLost
	}
	if sumNew == 0 || sumLost == 0 {
		t.Errorf("no new (%d) or no lost (%d) clients in a month", sumNew, sumLost)
	}

	// Only the statuses asked for, in that order.
	resp, body = c.call(http.MethodPost, fmt.Sprintf("/v3/reporting/generic/dateRange/%d", small),
		`{"startDate":"2026-11-01","stopDate":"2026-11-01","dateSplit":"day","clientStatus":["lost","active"],"daysUntilDeclaredLost":40}`)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"result":{"dates":["2026-11-01"],"lost":[`) || strings.Contains(string(body), `"new"`) {
		t.Errorf("dateRange lost, active: %s", body)
	}
}

func TestReportErrors(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	timeline := fmt.Sprintf("/v3/reporting/eventTracking/basic/timeline/%d", large)
	dateRange := fmt.Sprintf("/v3/reporting/generic/dateRange/%d", large)
	ev := `"events":[{"category":"File","name":"Open"}]`
	for _, tc := range []struct {
		path, body string
		status     int
		msg        string
	}{
		{timeline, `{"startDate":"2026-11-01","stopDate":"2026-12-01","dateSplit":"day",` + ev + `}`, 200, ""},
		{timeline, `{"startDate":"2026-11-01","stopDate":"2026-12-02","dateSplit":"day",` + ev + `}`, 400, "Date range too large"},
		{dateRange, `{"startDate":"2026-10-01","stopDate":"2026-12-03","dateSplit":"day","clientStatus":["new"]}`, 400, "Date range too large"},
		{timeline, `{"startDate":"2026-12-03","stopDate":"2026-12-03","dateSplit":"day",` + ev + `}`, 200, ""},
		{timeline, `{"startDate":"2026-12-03","stopDate":"2026-12-04","dateSplit":"day",` + ev + `}`, 400, "stopDate must not be in the future"},
		{dateRange, `{"startDate":"2026-12-01","stopDate":"2026-12-04","dateSplit":"day","clientStatus":["new"]}`, 400, "stopDate must not be in the future"},
		{timeline, `{"startDate":"2026-11-05","stopDate":"2026-11-04","dateSplit":"day",` + ev + `}`, 400, "startDate must not be after stopDate"},
		{timeline, `{"startDate":"2026-11-5","stopDate":"2026-11-06","dateSplit":"day",` + ev + `}`, 400, "startDate must be a date YYYY-MM-DD"},
		{timeline, `{"startDate":"2026-11-05T00:00:00Z","stopDate":"2026-11-06","dateSplit":"day",` + ev + `}`, 400, ""},
		{timeline, `{"startDate":"2026-11-05","stopDate":"2026-11-06","dateSplit":"hour",` + ev + `}`, 400, "dateSplit must be day, week or month"},
		{timeline, `{"startDate":"2026-11-05","stopDate":"2026-11-06","dateSplit":"day"}`, 400, ""},
		{timeline, `{"startDate":"2026-11-05","stopDate":"2026-11-06","dateSplit":"day","dataView":"perUser",` + ev + `}`, 400, ""},
		{dateRange, `{"startDate":"2026-11-05","stopDate":"2026-11-06","dateSplit":"day"}`, 400, ""},
		{dateRange, `{"startDate":"2026-11-05","stopDate":"2026-11-06","dateSplit":"day","clientStatus":["gone"]}`, 400, ""},
	} {
		resp, body := c.call(http.MethodPost, tc.path, tc.body)
		wantStatus(t, tc.body, resp, body, tc.status, tc.msg)
	}
	// The body must be JSON.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+timeline, strings.NewReader(`{}`))
	req.Header.Set("Origin", DefaultOrigin)
	req.Header.Set(HeaderClient, "x")
	req.Header.Set(HeaderClientVersion, "1")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("text/plain body: %d", resp.StatusCode)
	}

	e2 := generated(t, Config{MaxReportDays: 7})
	c2 := e2.client()
	c2.logon()
	resp, body := c2.call(http.MethodPost, timeline, `{"startDate":"2026-11-01","stopDate":"2026-11-08","dateSplit":"day",`+ev+`}`)
	wantStatus(t, "8 days at MaxReportDays 7", resp, body, http.StatusBadRequest, "Date range too large")
}

// TestReportsFollowGrowth checks that today's values grow with the open
// file.
func TestReportsFollowGrowth(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	count := func() int {
		_, body := c.call(http.MethodPost, fmt.Sprintf("/v3/reporting/generic/dateRange/%d", large), `{"startDate":"2026-12-03","stopDate":"2026-12-03","dateSplit":"day","clientStatus":["active"]}`)
		var dr struct {
			Result struct {
				Active []int `json:"active"`
			} `json:"result"`
		}
		_ = json.Unmarshal(body, &dr)
		return dr.Result.Active[0]
	}
	before := count()
	e.clock.Add(20 * time.Minute)
	e.sim.GrowSpan(testNow, e.clock.Now(), 500)
	_, active, _, _ := dayCounts(e.sim, large, day(testNow, 0), day(testNow, 0))
	if after := count(); after <= before || after != active["2026-12-03"] {
		t.Errorf("active today %d before growth, %d after, Rows say %d", before, after, active["2026-12-03"])
	}
}
