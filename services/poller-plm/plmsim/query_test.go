package plmsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// withRecords returns an env whose system log has exactly n records, all in
// the last 30 days.
func withRecords(t *testing.T, n int) *env {
	e := newEnv(t, Config{})
	e.sim.Generate(testNow.Add(-30*24*time.Hour), testNow, map[string]int{TypeSystem: n})
	return e
}

func TestPaging(t *testing.T) {
	const base = "/api/v3/tenants/DEMO/system-logs?"
	tests := []struct {
		name                   string
		total                  int
		query                  string
		wantOffset, wantLimit  int
		wantItems              int
		wantNext, wantLast     string
		wantNextCnt, wantLastN int
		wantFirstCnt           int
	}{
		{"seed example", 747, "type=system", 0, 100, 100, "offset=100&limit=100", "offset=700&limit=100", 100, 47, 100},
		{"last page next wraps", 747, "type=system&offset=700", 700, 100, 47, "offset=0&limit=100", "offset=700&limit=100", 100, 47, 100},
		{"third page of 50", 747, "type=system&limit=50&offset=100", 100, 50, 50, "offset=150&limit=50", "offset=700&limit=50", 50, 47, 50},
		{"single page next is offset 0", 1, "type=system", 0, 100, 1, "offset=0&limit=100", "offset=0&limit=100", 1, 1, 1},
		{"exact multiple", 200, "type=system&offset=100", 100, 100, 100, "offset=0&limit=100", "offset=100&limit=100", 100, 100, 100},
		{"empty", 0, "type=system", 0, 100, 0, "offset=0&limit=100", "offset=0&limit=100", 0, 0, 0},
		{"offset past the end", 747, "type=system&offset=800", 800, 100, 0, "offset=0&limit=100", "offset=700&limit=100", 100, 47, 100},
		{"unaligned offset", 747, "type=system&offset=650", 650, 100, 97, "offset=0&limit=100", "offset=700&limit=100", 100, 47, 100},
		{"max limit", 747, "type=system&limit=1000", 0, 1000, 747, "offset=0&limit=1000", "offset=0&limit=1000", 747, 747, 747},
	}
	envs := map[int]*env{}
	for _, tt := range tests {
		if envs[tt.total] == nil {
			envs[tt.total] = withRecords(t, tt.total)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := *envs[tt.total]
			e.t = t
			p := e.page(tt.query)
			if p.Offset != tt.wantOffset || p.Limit != tt.wantLimit || p.TotalCount != tt.total {
				t.Errorf("offset, limit, totalCount = %d, %d, %d; want %d, %d, %d", p.Offset, p.Limit, p.TotalCount, tt.wantOffset, tt.wantLimit, tt.total)
			}
			if len(p.Items) != tt.wantItems {
				t.Errorf("%d items, want %d", len(p.Items), tt.wantItems)
			}
			wantSelf := base + "offset=" + itoa(tt.wantOffset) + "&limit=" + itoa(tt.wantLimit) + "&type=system"
			checks := []struct {
				name      string
				got       pageLink
				wantLink  string
				wantTitle string
				wantCount int
			}{
				{"first", p.First, base + "offset=0&limit=" + itoa(tt.wantLimit) + "&type=system", "First", tt.wantFirstCnt},
				{"next", p.Next, base + tt.wantNext + "&type=system", "Next", tt.wantNextCnt},
				{"last", p.Last, base + tt.wantLast + "&type=system", "Last", tt.wantLastN},
			}
			if p.Self != wantSelf {
				t.Errorf("__self__ = %q, want %q", p.Self, wantSelf)
			}
			for _, c := range checks {
				want := pageLink{Link: c.wantLink, Title: c.wantTitle, Count: c.wantCount}
				if c.got != want {
					t.Errorf("%s = %+v, want %+v", c.name, c.got, want)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEmptyPageHasEmptyItemsArray(t *testing.T) {
	e := newEnv(t, Config{})
	status, body := e.get("type=item")
	if status != http.StatusOK || !strings.Contains(string(body), `"items":[]`) {
		t.Fatalf("status %d, body %s; want 200 with \"items\":[]", status, body)
	}
}

func TestBadRequests(t *testing.T) {
	e := withRecords(t, 10)
	tests := []string{
		"limit=1001",
		"limit=0",
		"limit=-5",
		"limit=ten",
		"offset=-1",
		"offset=1.5",
		"type=items",
		"type=",
		"filter[from.date]=2024-3-10&type=item",
		"filter[from.date]=2024/03/10&type=item",
		"filter[to.date]=2024-02-30&type=item",
		"filter[to.date]=yesterday&type=item",
		"filter[from.date]=2024-03-10T00:00&type=item",
		"filter[from.date]=&type=item",
		"filter[user.name]=John",
		"filter[user.title=John",
		"sort=size asc",
		"sort=timestamp up",
		"sort=timestamp asc extra",
		"sort=",
		"a=1;b=2",
	}
	for _, q := range tests {
		t.Run(q, func(t *testing.T) {
			status, body := e.get(strings.ReplaceAll(q, " ", "%20"))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.ErrorCode != "BAD_REQUEST" || ae.Message == "" {
				t.Fatalf("body %s is not a JSON error", body)
			}
		})
	}
	if got := e.sim.Stats().BadRequests; got != int64(len(tests)) {
		t.Errorf("Stats().BadRequests = %d, want %d", got, len(tests))
	}
}

func TestDefaultLimitIs100(t *testing.T) {
	e := withRecords(t, 150)
	if p := e.page("type=system"); p.Limit != 100 || len(p.Items) != 100 {
		t.Fatalf("limit %d with %d items, want 100", p.Limit, len(p.Items))
	}
}

func TestLinksCarryQueryAndCanBeFollowed(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.Generate(testNow.Add(-20*24*time.Hour), testNow, map[string]int{TypeItem: 300})
	q := "type=item&filter[user.title]=John%20Doe&filter[from.date]=2024-11-15&filter[to.date]=2024-11-28&sort=timestamp%20asc&limit=3&offset=3"
	p := e.page(q)
	want := "/api/v3/tenants/DEMO/system-logs?offset=6&limit=3&type=item&filter[user.title]=John+Doe&filter[from.date]=2024-11-15&filter[to.date]=2024-11-28&sort=timestamp+asc"
	if p.Next.Link != want {
		t.Fatalf("next = %q\nwant %q", p.Next.Link, want)
	}
	if p.TotalCount < 9 {
		t.Fatalf("totalCount %d, want at least 9 for the test to mean something", p.TotalCount)
	}
	followed := e.page(p.Next.Link)
	direct := e.page(strings.Replace(q, "offset=3", "offset=6", 1))
	if followed.TotalCount != direct.TotalCount {
		t.Fatalf("followed totalCount %d, direct %d", followed.TotalCount, direct.TotalCount)
	}
	sameRaws(t, toBytes(followed.Items), toBytes(direct.Items))
}

func toBytes(items []json.RawMessage) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func TestDateFilterIsWholeDaysInTenantZone(t *testing.T) {
	e := newEnv(t, Config{})
	// 2024-03-10 is the day New York moves from -05:00 to -04:00: a day of 23 hours.
	at := func(s string) time.Time { return must(time.Parse(timestampLayout, s)) }
	for _, ts := range []string{
		"2024-03-09T23:30:00.000-05:00", // 2024-03-10 in UTC, the 9th in New York
		"2024-03-09T23:59:59.999-05:00",
		"2024-03-10T00:00:00.000-05:00",
		"2024-03-10T12:00:00.000-04:00",
		"2024-03-10T23:59:59.999-04:00",
		"2024-03-11T00:00:00.000-04:00",
	} {
		e.sim.Append(TypeItem, 1, at(ts))
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"filter[from.date]=2024-03-10&filter[to.date]=2024-03-10", []string{"2024-03-10T00:00:00.000-05:00", "2024-03-10T12:00:00.000-04:00", "2024-03-10T23:59:59.999-04:00"}},
		{"filter[from.date]=2024-03-09&filter[to.date]=2024-03-09", []string{"2024-03-09T23:30:00.000-05:00", "2024-03-09T23:59:59.999-05:00"}},
		{"filter[from.date]=2024-03-11", []string{"2024-03-11T00:00:00.000-04:00"}},
		{"filter[to.date]=2024-03-09", []string{"2024-03-09T23:30:00.000-05:00", "2024-03-09T23:59:59.999-05:00"}},
		{"filter[from.date]=2024-03-11&filter[to.date]=2024-03-10", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := e.page("type=item&sort=timestamp%20asc&" + tt.query)
			var got []string
			for _, it := range p.Items {
				got = append(got, decode(t, it).Timestamp)
			}
			if !slices.Equal(got, tt.want) || p.TotalCount != len(tt.want) {
				t.Fatalf("got %v (totalCount %d), want %v", got, p.TotalCount, tt.want)
			}
		})
	}
}

func TestDateFilterInOtherTenantZone(t *testing.T) {
	e := newEnv(t, Config{Location: mustLoad("Asia/Tokyo")})
	e.sim.Append(TypeSystem, 1, time.Date(2024, 5, 1, 15, 30, 0, 0, time.UTC)) // 2024-05-02 00:30 in Tokyo
	p := e.page("type=system&filter[from.date]=2024-05-02&filter[to.date]=2024-05-02")
	if p.TotalCount != 1 || decode(t, p.Items[0]).Timestamp != "2024-05-02T00:30:00.000+09:00" {
		t.Fatalf("got %d records %s, want the one at 2024-05-02T00:30:00.000+09:00", p.TotalCount, p.Items)
	}
}

func TestTextFilters(t *testing.T) {
	e := newEnv(t, Config{Seed: 3})
	e.sim.Generate(testNow.Add(-50*24*time.Hour), testNow, map[string]int{TypeItem: 1500, TypeSystem: 1500})
	all := e.sim.Records("")
	want := func(keep func(d decoded) bool) [][]byte {
		var out [][]byte
		for _, r := range all {
			if keep(decode(t, r.Raw)) {
				out = append(out, r.Raw)
			}
		}
		return out
	}
	contains := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
	tests := []struct {
		query string
		keep  func(d decoded) bool
		none  bool // no record matches
	}{
		{"filter[user.title]=john", func(d decoded) bool { return contains(d.User.Title, "john") }, false},
		{"filter[user.title]=Jos%C3%A9", func(d decoded) bool { return d.User.Title == "José Müller" }, false},
		{"filter[user.email]=JANE.ROE@example.com", func(d decoded) bool { return d.User.Email == "jane.roe@example.com" }, false},
		{"filter[user.id]=JDOE", func(d decoded) bool { return d.User.Link == "/api/v3/users/jdoe" }, false},
		{"filter[user.id]=jdo", func(decoded) bool { return false }, true},
		{"filter[description]=log%20in", func(d decoded) bool { return contains(d.Description, "log in") }, false},
		{"filter[description]=R%26D", func(d decoded) bool { return contains(d.Description, "r&d") }, false},
		{"filter[user.id]=jdoe&filter[description]=viewed", func(d decoded) bool {
			return d.User.Link == "/api/v3/users/jdoe" && contains(d.Description, "viewed")
		}, false},
		{"filter[user.id]=jdoe&filter[user.id]=jroe", func(d decoded) bool {
			return d.User.Link == "/api/v3/users/jdoe" || d.User.Link == "/api/v3/users/jroe"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := want(tt.keep)
			if (len(w) == 0) != tt.none {
				t.Fatalf("no record matches %s: the test data is too small", tt.query)
			}
			got := e.pageAll("sort=timestamp%20asc&"+tt.query, 1000)
			sameRaws(t, got, w)
		})
	}
}

func TestSortByInstantAcrossOffsets(t *testing.T) {
	e := newEnv(t, Config{})
	// New York falls back on 2024-11-03: 01:30-04:00 is before 01:10-05:00.
	first := e.sim.Append(TypeItem, 1, time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC))
	second := e.sim.Append(TypeItem, 1, time.Date(2024, 11, 3, 6, 10, 0, 0, time.UTC))
	if ts := decode(t, first[0].Raw).Timestamp; ts != "2024-11-03T01:30:00.000-04:00" {
		t.Fatalf("first timestamp %s", ts)
	}
	if ts := decode(t, second[0].Raw).Timestamp; ts != "2024-11-03T01:10:00.000-05:00" {
		t.Fatalf("second timestamp %s", ts)
	}
	asc := e.page("type=item&sort=timestamp%20asc")
	sameRaws(t, toBytes(asc.Items), [][]byte{first[0].Raw, second[0].Raw})
	desc := e.page("type=item&sort=date%20desc")
	sameRaws(t, toBytes(desc.Items), [][]byte{second[0].Raw, first[0].Raw})
}

func TestSortOrders(t *testing.T) {
	kolkata := mustLoad("Asia/Kolkata")
	e := newEnv(t, Config{Seed: 9, AltLocations: []*time.Location{kolkata, time.UTC}, AltLocationRate: 0.3})
	e.sim.Generate(testNow.Add(-400*24*time.Hour), testNow, map[string]int{TypeItem: 2000, TypeSystem: 2000})
	// Records sharing an instant with different insertion order.
	burstAt := testNow.Add(-24 * time.Hour)
	e.sim.Append(TypeItem, 3, burstAt)

	recs := e.sim.Records(TypeItem)
	asc := raws(recs)
	desc := slices.Clone(recs)
	slices.SortStableFunc(desc, func(a, b Record) int { return b.Time.Compare(a.Time) })
	byKey := func(key func(decoded) string, sign int) [][]byte {
		s := slices.Clone(recs)
		slices.SortStableFunc(s, func(a, b Record) int {
			return sign * strings.Compare(strings.ToLower(key(decode(t, a.Raw))), strings.ToLower(key(decode(t, b.Raw))))
		})
		return raws(s)
	}
	description := func(d decoded) string { return d.Description }
	title := func(d decoded) string { return d.User.Title }

	// The test means something only if text order and instant order differ.
	textSorted := slices.IsSortedFunc(asc, func(a, b []byte) int {
		return strings.Compare(decode(t, a).Timestamp, decode(t, b).Timestamp)
	})
	if textSorted {
		t.Fatal("timestamps sort the same as text; the test data does not exercise offsets")
	}

	tests := []struct {
		sort string
		want [][]byte
	}{
		{"sort=timestamp%20asc", asc},
		{"sort=timestamp", asc},
		{"sort=date%20ASC", asc},
		{"sort=timestamp+desc", raws(desc)},
		{"", raws(desc)},
		{"sort=description%20asc", byKey(description, 1)},
		{"sort=description%20desc", byKey(description, -1)},
		{"sort=user.title%20asc", byKey(title, 1)},
		{"sort=user.title%20desc", byKey(title, -1)},
	}
	for _, tt := range tests {
		t.Run(tt.sort, func(t *testing.T) {
			sameRaws(t, e.pageAll("type=item&"+tt.sort, 333), tt.want)
		})
	}
	for i := 1; i < len(asc); i++ {
		if instant(t, asc[i]).Before(instant(t, asc[i-1])) {
			t.Fatalf("records %d and %d are not in instant order", i-1, i)
		}
	}
}

func TestMixedLogIsLast60Days(t *testing.T) {
	e := newEnv(t, Config{Seed: 5})
	e.sim.Generate(testNow.Add(-120*24*time.Hour), testNow, map[string]int{TypeItem: 800, TypeSystem: 600})
	cut := testNow.Add(-60 * 24 * time.Hour)
	var want [][]byte
	types := map[string]bool{}
	for _, r := range e.sim.Records("") {
		if !r.Time.Before(cut) {
			want = append(want, r.Raw)
			types[r.Type] = true
		}
	}
	if len(want) == 0 || len(want) == 1400 || len(types) != 2 {
		t.Fatalf("%d of 1400 records of %d types in the window: the test data does not exercise it", len(want), len(types))
	}
	tests := []struct {
		name, query string
	}{
		{"no filter", "sort=timestamp%20asc"},
		{"from.date before the window", "sort=timestamp%20asc&filter[from.date]=2024-08-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameRaws(t, e.pageAll(tt.query, 100), want)
		})
	}
	for _, typ := range []string{TypeItem, TypeSystem} {
		if p := e.page("type=" + typ); p.TotalCount != len(e.sim.Records(typ)) {
			t.Errorf("type=%s: totalCount %d, want the whole history %d", typ, p.TotalCount, len(e.sim.Records(typ)))
		}
	}
}

func TestTypeSplit(t *testing.T) {
	e := newEnv(t, Config{Seed: 11})
	e.sim.Generate(testNow.Add(-365*24*time.Hour), testNow, map[string]int{TypeItem: 2500, TypeSystem: 2000})
	itemActions := map[string]bool{}
	for _, w := range actionMix[TypeItem] {
		itemActions[w.action] = true
	}
	for _, typ := range []string{TypeItem, TypeSystem} {
		t.Run(typ, func(t *testing.T) {
			got := e.pageAll("type="+typ+"&sort=timestamp%20asc", 1000)
			sameRaws(t, got, raws(e.sim.Records(typ)))
			for _, raw := range got {
				d := decode(t, raw)
				if itemActions[d.Action] != (typ == TypeItem) || (d.Item != nil) != (typ == TypeItem) {
					t.Fatalf("type=%s served %s", typ, raw)
				}
			}
		})
	}
}

func TestWrongTenantAndAccept(t *testing.T) {
	e := withRecords(t, 1)
	req := e.logsRequest("type=system")
	req.URL.Path = "/api/v3/tenants/OTHER/system-logs"
	if resp, body := e.do(req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other tenant: status %d, want 404: %s", resp.StatusCode, body)
	}
	req = e.logsRequest("type=system")
	req.URL.Path = "/api/v3/tenants/demo/system-logs"
	if resp, body := e.do(req); resp.StatusCode != http.StatusOK {
		t.Errorf("tenant in lower case: status %d, want 200: %s", resp.StatusCode, body)
	}
	req = e.logsRequest("type=system")
	req.Header.Set("Accept", "text/html")
	if resp, body := e.do(req); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept: text/html: status %d, want 406: %s", resp.StatusCode, body)
	}
	req = e.logsRequest("type=system")
	req.Header.Del("Accept")
	if resp, body := e.do(req); resp.StatusCode != http.StatusOK {
		t.Errorf("no Accept: status %d, want 200: %s", resp.StatusCode, body)
	}
}
