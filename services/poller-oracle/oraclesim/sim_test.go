package oraclesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHappyPath(t *testing.T) {
	e := newEnv(t, quiet(Config{Seed: 7}))
	e.sim.Generate(date("2022-07-20"), date("2022-07-28"), 3000)

	resp, body := e.submit("audit 1.csv", "2022-07-20", "2022-07-27")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("submit: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	a := decode(t, body)
	if a.Status != -1 || a.Details != nil || len(a.Links) != 2 {
		t.Fatalf("submit answer %s", body)
	}
	self, st := a.Links[0], a.Links[1]
	if self.Rel != "self" || self.Action != "POST" || self.Href != e.ts.URL+"/interop/rest/v1/reports?q="+q(ReportType, "audit 1.csv", "2022-07-20", "2022-07-27") {
		t.Errorf("self link %+v", self)
	}
	if st.Rel != "Job Status" || st.Action != "GET" || !strings.HasPrefix(st.Href, e.ts.URL+"/interop/rest/11.1.2.3.600/jobs/") || !strings.Contains(st.Href, "?token=") {
		t.Errorf("job status link %+v", st)
	}
	if !bytes.Contains(body, []byte(`"data":null`)) {
		t.Errorf("links lack data:null: %s", body)
	}

	if status, d := e.jobStatus(st.Href); status != -1 || d != "In Process" {
		t.Errorf("running job: %d %q", status, d)
	}
	resp, body = e.download("audit 1.csv")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" ||
		string(body) != `{"status":8,"details":"EPMCSS-20700: Snapshot audit 1.csv not found."}`+"\n" {
		t.Errorf("download before done: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	e.clock.Add(time.Second)
	if status, d := e.jobStatus(st.Href); status != 0 || d != "Completed" {
		t.Fatalf("ended job: %d %q", status, d)
	}
	resp, body = e.download("audit 1.csv")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	rep := readReport(t, body)
	if rep.entry != "audit 1.csv" || rep.appID != e.sim.ApplicationID() || !strings.HasSuffix(rep.appID, "==") {
		t.Errorf("entry %q, app id %q", rep.entry, rep.appID)
	}
	if !reflect.DeepEqual(rep.header, Header(HeaderClassic)) {
		t.Errorf("header %q", rep.header)
	}
	wantRows := want(e.sim.Rows(date("2022-07-20"), date("2022-07-28")))
	if len(wantRows) < 1000 || !reflect.DeepEqual(rep.rows, wantRows) {
		t.Errorf("report has %d rows, want the %d of Rows in login order", len(rep.rows), len(wantRows))
	}

	resp, body = e.request(http.MethodDelete, snapshotPath("audit 1.csv"), nil)
	if resp.StatusCode != http.StatusOK || string(body) != `{"status":0,"details":null}`+"\n" {
		t.Errorf("delete: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.download("audit 1.csv"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("download after delete: %d", resp.StatusCode)
	}
	if resp, _ := e.request(http.MethodDelete, snapshotPath("audit 1.csv"), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second delete: %d", resp.StatusCode)
	}
	stats := e.sim.Stats()
	if stats.Jobs != 1 || stats.JobsSucceeded != 1 || stats.Downloads != 1 || stats.NotReady != 2 || stats.Deletes != 1 || stats.Snapshots != 0 {
		t.Errorf("stats %+v", stats)
	}
	if len(e.sim.Snapshots()) != 0 || e.sim.JobsFor("2022-07-20", "2022-07-27") != 1 {
		t.Errorf("snapshots %v, jobs %d", e.sim.Snapshots(), e.sim.JobsFor("2022-07-20", "2022-07-27"))
	}
}

func TestSubmitErrors(t *testing.T) {
	// testNow is 2022-07-28: the oldest day is 2022-03-30.
	tests := []struct {
		name     string
		path     string // default: the v1 submit with q
		q        string // raw; default: a valid one
		ctype    string // default form-urlencoded; "-" none
		method   string
		status   int
		contains []string
	}{
		{name: "valid", status: 200},
		{name: "oldest day", q: q(ReportType, "a.csv", "2022-03-30", "2022-03-30"), status: 200},
		{name: "until today", q: q(ReportType, "a.csv", "2022-07-28", "2022-07-28"), status: 200},
		{name: "charset", ctype: "application/x-www-form-urlencoded; charset=UTF-8", status: 200},
		{name: "lcm version", path: "/interop/rest/11.1.2.3.600/reports", status: 404, contains: []string{"v1"}},
		{name: "v2", path: "/interop/rest/v2/reports", status: 404},
		{name: "json content type", ctype: "application/json", status: 415, contains: []string{"x-www-form-urlencoded"}},
		{name: "no content type", ctype: "-", status: 415},
		{name: "get", method: http.MethodGet, status: 405},
		{name: "no q", q: "-", status: 400},
		{name: "unquoted q of the cURL sample", q: url.QueryEscape("{type:userauditreport,fileName:a.csv,since:2022-07-01,until:2022-07-02}"), status: 400, contains: []string{"not a JSON object"}},
		{name: "provisionreport", q: q("provisionreport", "a.csv", "2022-07-01", "2022-07-02"), status: 400, contains: []string{"not supported by the simulator"}},
		{name: "unknown type", q: q("accessreport", "a.csv", "2022-07-01", "2022-07-02"), status: 400},
		{name: "no type", q: url.QueryEscape(`{"fileName":"a.csv","since":"2022-07-01","until":"2022-07-02"}`), status: 400},
		{name: "no fileName", q: q(ReportType, "", "2022-07-01", "2022-07-02"), status: 400, contains: []string{"fileName"}},
		{name: "slash in fileName", q: q(ReportType, "a/b.csv", "2022-07-01", "2022-07-02"), status: 400},
		{name: "number since", q: url.QueryEscape(`{"type":"userauditreport","fileName":"a.csv","since":20220701,"until":"2022-07-02"}`), status: 400},
		{name: "bad since", q: q(ReportType, "a.csv", "2022-7-1", "2022-07-02"), status: 400, contains: []string{"YYYY-MM-DD"}},
		{name: "no until", q: url.QueryEscape(`{"type":"userauditreport","fileName":"a.csv","since":"2022-07-01"}`), status: 400},
		{name: "until before since", q: q(ReportType, "a.csv", "2022-07-02", "2022-07-01"), status: 400, contains: []string{"Invalid date range"}},
		{name: "older than 120 days", q: q(ReportType, "a.csv", "2022-03-29", "2022-07-01"), status: 400, contains: []string{"Invalid date range", "120 days"}},
		{name: "until in the future", q: q(ReportType, "a.csv", "2022-07-28", "2022-07-29"), status: 400, contains: []string{"Invalid date range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, quiet(Config{}))
			path := tt.path
			if path == "" {
				path = "/interop/rest/v1/reports"
			}
			switch tt.q {
			case "":
				path += "?q=" + q(ReportType, "a.csv", "2022-07-01", "2022-07-02")
			case "-":
			default:
				path += "?q=" + tt.q
			}
			method := cmpOr(tt.method, http.MethodPost)
			resp, body := e.request(method, path, func(r *http.Request) {
				switch tt.ctype {
				case "":
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				case "-":
				default:
					r.Header.Set("Content-Type", tt.ctype)
				}
			})
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status)
			}
			a := decode(t, body)
			for _, c := range tt.contains {
				if !strings.Contains(details(a), c) {
					t.Errorf("details %q lack %q", details(a), c)
				}
			}
			wantJobs := int64(0)
			if tt.status == 200 {
				wantJobs = 1
			} else if a.Status == 0 || a.Status == -1 || details(a) == "" {
				t.Errorf("error answer %s", body)
			}
			if got := e.sim.Stats().Jobs; got != wantJobs {
				t.Errorf("jobs %d, want %d", got, wantJobs)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestRetentionDays(t *testing.T) {
	e := newEnv(t, quiet(Config{RetentionDays: 7}))
	if resp, body := e.submit("a.csv", "2022-07-20", "2022-07-21"); resp.StatusCode != 400 || !strings.Contains(string(body), "older than 7 days") {
		t.Errorf("8 days back: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.submit("a.csv", "2022-07-21", "2022-07-21"); resp.StatusCode != 200 {
		t.Errorf("7 days back: %d %s", resp.StatusCode, body)
	}
}

func TestDuplicateFileName(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	exists := func(name string) {
		t.Helper()
		resp, body := e.submit(name, "2022-07-01", "2022-07-02")
		if resp.StatusCode != 400 || !strings.Contains(details(decode(t, body)), "A file with the name "+name+" already exists") {
			t.Errorf("submit %s again: %d %s", name, resp.StatusCode, body)
		}
	}
	e.mustSubmit("x.csv", "2022-07-01", "2022-07-02")
	exists("x.csv") // the job runs
	e.clock.Add(time.Second)
	exists("x.csv") // the file exists
	e.mustSubmit("X.csv", "2022-07-01", "2022-07-02")
	if resp, _ := e.request(http.MethodDelete, snapshotPath("x.csv"), nil); resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	e.mustSubmit("x.csv", "2022-07-01", "2022-07-02") // free again

	// A failed job's name is free; a hung job's is taken forever.
	e.sim.FailNextJobs(1)
	e.sim.HangNextJobs(1)
	e.mustSubmit("failed.csv", "2022-07-01", "2022-07-02")
	e.mustSubmit("hung.csv", "2022-07-01", "2022-07-02")
	e.clock.Add(24 * time.Hour)
	e.mustSubmit("failed.csv", "2022-07-01", "2022-07-02")
	exists("hung.csv")

	if got := e.sim.JobsFor("2022-07-01", "2022-07-02"); got != 6 {
		t.Errorf("JobsFor = %d, want 6", got)
	}
	if st := e.sim.Stats(); st.Jobs != 6 || st.DuplicateJobs != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestJobOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		queue      func(*Server)
		wait       time.Duration
		wantStatus int
		wantFile   bool
	}{
		{name: "success", wait: time.Second, wantStatus: 0, wantFile: true},
		{name: "not yet", cfg: Config{JobMin: time.Minute, JobMax: time.Minute}, wait: 59 * time.Second, wantStatus: -1},
		{name: "exactly at the deadline", cfg: Config{JobMin: time.Minute, JobMax: time.Minute}, wait: time.Minute, wantStatus: 0, wantFile: true},
		{name: "fail rate", cfg: Config{JobFailRate: 1}, wait: time.Second, wantStatus: 1},
		{name: "fail next", queue: func(s *Server) { s.FailNextJobs(1) }, wait: time.Second, wantStatus: 1},
		{name: "hang rate", cfg: Config{JobHangRate: 1}, wait: 48 * time.Hour, wantStatus: -1},
		{name: "hang next", queue: func(s *Server) { s.HangNextJobs(1) }, wait: 48 * time.Hour, wantStatus: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, quiet(tt.cfg))
			e.sim.Add(Row{Login: "a@example.com", IP: "192.0.2.1", Time: at("2022-07-27 10:00:00")})
			if tt.queue != nil {
				tt.queue(e.sim)
			}
			href := e.mustSubmit("r.csv", "2022-07-27", "2022-07-27")
			e.clock.Add(tt.wait)
			status, d := e.jobStatus(href)
			if status != tt.wantStatus {
				t.Errorf("status %d (%q), want %d", status, d, tt.wantStatus)
			}
			if status == 1 && d != "EPMCSS-20643: Failed to generate the user audit report. Internal error." {
				t.Errorf("details %q", d)
			}
			resp, _ := e.download("r.csv")
			if got := resp.StatusCode == 200; got != tt.wantFile {
				t.Errorf("download %d, want file %v", resp.StatusCode, tt.wantFile)
			}
			jobs := e.sim.Jobs()
			if len(jobs) != 1 || jobs[0].FileName != "r.csv" || jobs[0].Since != "2022-07-27" {
				t.Fatalf("jobs %+v", jobs)
			}
			st := e.sim.Stats()
			switch tt.wantStatus {
			case 1:
				if st.JobsFailed != 1 || jobs[0].State != JobFailed {
					t.Errorf("failed job: %+v %+v", st, jobs[0])
				}
			case -1:
				if jobs[0].State != JobRunning || (jobs[0].Hung != (st.JobsHung == 1)) {
					t.Errorf("running job: %+v %+v", st, jobs[0])
				}
			}
		})
	}
}

func TestJobRunTimes(t *testing.T) {
	e := newEnv(t, quiet(Config{JobMin: 2 * time.Second, JobMax: 8 * time.Second, Seed: 3}))
	for i := range 50 {
		e.mustSubmit(fmt.Sprintf("r%d.csv", i), "2022-07-27", "2022-07-27")
	}
	seen := map[time.Duration]bool{}
	for _, j := range e.sim.Jobs() {
		d := j.Deadline.Sub(j.Created)
		if d < 2*time.Second || d > 8*time.Second {
			t.Errorf("run time %v outside [2s, 8s]", d)
		}
		seen[d.Truncate(time.Second)] = true
	}
	if len(seen) < 4 {
		t.Errorf("run times not spread: %v", seen)
	}
}

func TestJobStatusNotFound(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	href := e.mustSubmit("r.csv", "2022-07-27", "2022-07-27")
	u, _ := url.Parse(href)
	for name, target := range map[string]string{
		"wrong token":   u.Path + "?token=" + strings.Repeat("0", 32),
		"no token":      u.Path,
		"unknown id":    "/interop/rest/11.1.2.3.600/jobs/123?" + u.RawQuery,
		"v1":            strings.Replace(href, LCMVersion, "v1", 1),
		"by file name":  "/interop/rest/11.1.2.3.600/jobs/r.csv",
		"unknown route": "/interop/rest/11.1.2.3.600/applicationsnapshots",
	} {
		resp, body := e.request(http.MethodGet, target, nil)
		if a := decode(t, body); resp.StatusCode != 404 || a.Status != 8 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}

func TestMergeRule(t *testing.T) {
	const u, ip = "a@example.com", "192.0.2.1"
	tests := []struct {
		name   string
		logins []Row
		want   []string // "login ip time" of the rows in time order
	}{
		{
			name: "the documented example",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-27 10:00:00")}, {Login: u, IP: ip, Time: at("2022-07-27 10:03:00")},
				{Login: u, IP: ip, Time: at("2022-07-27 10:04:59")}, {Login: u, IP: ip, Time: at("2022-07-27 10:05:00")},
			},
			want: []string{"a@example.com 192.0.2.1 10:00:00", "a@example.com 192.0.2.1 10:05:00"},
		},
		{
			name: "anchored at the first login, not sliding",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-27 10:00:00")}, {Login: u, IP: ip, Time: at("2022-07-27 10:04:00")},
				{Login: u, IP: ip, Time: at("2022-07-27 10:08:00")}, {Login: u, IP: ip, Time: at("2022-07-27 10:12:00")},
			},
			want: []string{"a@example.com 192.0.2.1 10:00:00", "a@example.com 192.0.2.1 10:08:00"},
		},
		{
			name: "same second, added out of order",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-27 10:01:00")}, {Login: u, IP: ip, Time: at("2022-07-27 10:00:00")},
				{Login: u, IP: ip, Time: at("2022-07-27 10:00:00")},
			},
			want: []string{"a@example.com 192.0.2.1 10:00:00"},
		},
		{
			name: "other address, other user",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-27 10:00:00")}, {Login: u, IP: "2001:db8::1", Time: at("2022-07-27 10:01:00")},
				{Login: "b@example.com", IP: ip, Time: at("2022-07-27 10:01:00")},
			},
			want: []string{"a@example.com 192.0.2.1 10:00:00", "a@example.com 2001:db8::1 10:01:00", "b@example.com 192.0.2.1 10:01:00"},
		},
		{
			name: "midnight splits",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-26 23:58:00")}, {Login: u, IP: ip, Time: at("2022-07-27 00:01:00")},
			},
			want: []string{"a@example.com 192.0.2.1 23:58:00", "a@example.com 192.0.2.1 00:01:00"},
		},
		{
			name: "sub-second times are truncated",
			logins: []Row{
				{Login: u, IP: ip, Time: at("2022-07-27 10:00:00").Add(900 * time.Millisecond)}, {Login: u, IP: ip, Time: at("2022-07-27 10:05:00").Add(500 * time.Millisecond)},
			},
			want: []string{"a@example.com 192.0.2.1 10:00:00", "a@example.com 192.0.2.1 10:05:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			s.Add(tt.logins...)
			var got []string
			for _, r := range s.Rows(date("2022-07-26"), date("2022-07-28")) {
				got = append(got, r.Login+" "+r.IP+" "+r.Time.Format("15:04:05"))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRowsStableAsLoginsAppend(t *testing.T) {
	s := New(Config{Seed: 5})
	from, to := date("2022-07-27"), date("2022-07-28")
	s.Generate(from, from.Add(12*time.Hour), 5000)
	before := s.Rows(from, from.Add(12*time.Hour))
	s.Generate(from.Add(12*time.Hour), to, 5000)
	after := s.Rows(from, from.Add(12*time.Hour))
	// Only logins appended after noon can be absorbed; the rows before
	// noon are unchanged.
	if !reflect.DeepEqual(before, after) {
		t.Errorf("rows before noon changed: %d then %d", len(before), len(after))
	}
}

func TestOpenDaySnapshot(t *testing.T) {
	e := newEnv(t, quiet(Config{JobMin: time.Minute, JobMax: time.Minute}))
	e.clock.Add(at("2022-07-28 12:00:00").Sub(e.clock.Now()))
	login := func(user, ts string) { e.sim.Add(Row{Login: user, IP: "192.0.2.1", Time: at(ts)}) }
	login("a@example.com", "2022-07-28 11:00:00")
	e.mustSubmit("today.csv", "2022-07-28", "2022-07-28")
	e.clock.Add(30 * time.Second)
	login("a@example.com", "2022-07-28 12:00:30") // before the job ends at 12:01:00
	e.clock.Add(2 * time.Minute)
	login("b@example.com", "2022-07-28 12:02:00") // after
	e.clock.Add(3 * time.Minute)

	resp, body := e.download("today.csv")
	if resp.StatusCode != 200 {
		t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	rep := readReport(t, body)
	var got []string
	for _, r := range rep.rows {
		got = append(got, r[3])
	}
	want := []string{"July 28, 2022 11:00:00 UTC", "July 28, 2022 12:00:30 UTC"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file of the open day holds %q, want %q", got, want)
	}
	// A later report and the successor see the third login.
	e.mustSubmit("today2.csv", "2022-07-28", "2022-07-28")
	e.clock.Add(time.Minute)
	_, body = e.download("today2.csv")
	if n := len(readReport(t, body).rows); n != 3 {
		t.Errorf("later report has %d rows, want 3", n)
	}
}

func TestHeaderStyles(t *testing.T) {
	logins := []Row{
		{Login: "obrien.sean@example.com", Name: "O'Brien, Seán", IP: "2001:db8::1", Time: at("2022-07-08 08:03:01")},
		{Login: "jj.doe@example.com", Name: `Jane "JJ" Doe`, IP: "192.0.2.7", Time: at("2022-07-08 18:43:21")},
		{Login: "ops+audit@example.com", IP: "198.51.100.1", Time: at("2022-07-08 00:00:00")},
	}
	tests := []struct {
		style string
		want  string // the CSV after the application id line
	}{
		{HeaderClassic, "User Login,User Name,IP Address,Access Date and Time\r\n" +
			`jj.doe@example.com,"Jane ""JJ"" Doe",192.0.2.7,"July 8, 2022 18:43:21 UTC"` + "\r\n" +
			`obrien.sean@example.com,"O'Brien, Seán",2001:db8::1,"July 8, 2022 08:03:01 UTC"` + "\r\n" +
			`ops+audit@example.com,,198.51.100.1,"July 8, 2022 00:00:00 UTC"` + "\r\n"},
		{HeaderAlt, "User ID,IP Address,Access Time\r\n" +
			`jj.doe@example.com,192.0.2.7,"July 8, 2022 18:43:21 UTC"` + "\r\n" +
			`obrien.sean@example.com,2001:db8::1,"July 8, 2022 08:03:01 UTC"` + "\r\n" +
			`ops+audit@example.com,198.51.100.1,"July 8, 2022 00:00:00 UTC"` + "\r\n"},
		{HeaderMixed, "ACCESS DATE AND TIME,ip address,User Login,User Name,Service\r\n" +
			`"July 8, 2022 18:43:21 UTC",192.0.2.7,jj.doe@example.com,"Jane ""JJ"" Doe",Planning` + "\r\n" +
			`"July 8, 2022 08:03:01 UTC",2001:db8::1,obrien.sean@example.com,"O'Brien, Seán",Planning` + "\r\n" +
			`"July 8, 2022 00:00:00 UTC",198.51.100.1,ops+audit@example.com,,Planning` + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			e := newEnv(t, quiet(Config{HeaderStyle: tt.style}))
			e.sim.Add(logins...)
			e.mustSubmit("s.csv", "2022-07-08", "2022-07-08")
			e.clock.Add(time.Second)
			_, body := e.download("s.csv")
			rep := readReport(t, body)
			wantAll := bom + `"` + e.sim.ApplicationID() + "\"\r\n" + tt.want
			if string(rep.raw) != wantAll {
				t.Errorf("file\n%q\nwant\n%q", rep.raw, wantAll)
			}
		})
	}
}

func TestDeterministicBytes(t *testing.T) {
	from, to := date("2022-07-20"), date("2022-07-28")
	a, b := New(Config{Seed: 11}), New(Config{Seed: 11})
	a.Generate(from, to, 4000)
	b.Generate(from, to, 4000)
	ra, rb := a.Rows(from, to), b.Rows(from, to)
	if !reflect.DeepEqual(ra, rb) || a.ApplicationID() != b.ApplicationID() {
		t.Fatal("same seed, different data")
	}
	// The same logins added in another order give the same file bytes.
	c := New(Config{Seed: 11})
	logins := slices.Clone(ra)
	slices.Reverse(logins)
	c.Add(logins...)
	csvA := ReportCSV("id", HeaderClassic, a.st.report(from, to.AddDate(0, 0, -1), to))
	csvC := ReportCSV("id", HeaderClassic, c.st.report(from, to.AddDate(0, 0, -1), to))
	if !bytes.Equal(csvA, csvC) {
		t.Error("same rows, different bytes")
	}
	// Time order is not report order.
	rows := a.st.report(from, to.AddDate(0, 0, -1), to)
	if slices.IsSortedFunc(rows, byTime) {
		t.Error("report rows are in time order")
	}
	if !slices.IsSortedFunc(ra, byTime) {
		t.Error("Rows not in time order")
	}
}

func TestGeneratedData(t *testing.T) {
	s := New(Config{Seed: 2})
	from := date("2022-07-18") // a Monday
	s.Generate(from, from.AddDate(0, 0, 7), 20000)
	rows := s.Rows(from, from.AddDate(0, 0, 7))
	var v6, noName, quoted, sameSecond int
	perHour := [24]int{}
	weekend := 0
	seen := map[string]bool{}
	for i, r := range rows {
		if strings.Contains(r.IP, ":") {
			v6++
		}
		if r.Name == "" {
			noName++
		}
		if strings.ContainsAny(r.Name, `,"`) {
			quoted++
		}
		if i > 0 && rows[i-1].Time.Equal(r.Time) {
			sameSecond++
		}
		perHour[r.Time.Hour()]++
		if wd := r.Time.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend++
		}
		seen[r.Login] = true
	}
	if s.Logins() != 20000 || len(rows) >= 20000 || len(rows) < 10000 {
		t.Errorf("%d logins gave %d rows", s.Logins(), len(rows))
	}
	if v6 == 0 || noName == 0 || quoted == 0 || sameSecond == 0 || len(seen) < 500 {
		t.Errorf("v6 %d, no name %d, quoted %d, same second %d, users %d", v6, noName, quoted, sameSecond, len(seen))
	}
	if perHour[10] < 4*perHour[2] || weekend*7 > len(rows) {
		t.Errorf("no daily pattern: 10h %d, 2h %d, weekend %d of %d", perHour[10], perHour[2], weekend, len(rows))
	}
}

func TestLoginReportMatchesCSV(t *testing.T) {
	for _, key := range LoginReportKeys {
		t.Run(key, func(t *testing.T) {
			e := newEnv(t, quiet(Config{Seed: 4, LoginReportKey: key}))
			e.sim.Generate(date("2022-07-25"), e.clock.Now(), 3000)
			e.mustSubmit("r.csv", "2022-07-25", "2022-07-28")
			e.clock.Add(time.Second)
			_, body := e.download("r.csv")
			rep := readReport(t, body)

			resp, body := e.request(http.MethodGet, LoginReportPath+"?from_date=2022-07-25&to_date=2022-07-28", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("login report: %d %s", resp.StatusCode, body)
			}
			var ans map[string]json.RawMessage
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatal(err)
			}
			if string(ans["status"]) != "0" || string(ans["details"]) != "null" || len(ans) != 3 {
				t.Errorf("answer members %s", body[:min(len(body), 200)])
			}
			var items []map[string]string
			if err := json.Unmarshal(ans[key], &items); err != nil {
				t.Fatal(err)
			}
			if len(items) != len(rep.rows) || len(items) < 1000 {
				t.Fatalf("%d items, %d CSV rows", len(items), len(rep.rows))
			}
			for i, it := range items {
				got := []string{it["userLogin"], it["userName"], it["ipAddress"], it["accessTime"]}
				if !reflect.DeepEqual(got, rep.rows[i]) || len(it) != 4 {
					t.Fatalf("item %d %v, CSV row %v", i, it, rep.rows[i])
				}
			}
			if e.sim.Stats().LoginReports != 1 {
				t.Error("LoginReports not counted")
			}
		})
	}
}

func TestLoginReportErrors(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	for query, wantStatus := range map[string]int{
		"from_date=2022-07-28&to_date=2022-07-28": 200,
		"from_date=2022-03-30&to_date=2022-07-01": 200,
		"from_date=2022-07-02&to_date=2022-07-01": 400,
		"from_date=2022-03-29&to_date=2022-07-01": 400,
		"from_date=2022-07-28&to_date=2022-07-29": 400,
		"from_date=2022-07-01":                    400,
		"from_date=07/01/2022&to_date=2022-07-02": 400,
	} {
		resp, body := e.request(http.MethodGet, LoginReportPath+"?"+query, nil)
		a := decode(t, body)
		if resp.StatusCode != wantStatus {
			t.Errorf("%s: %d %s", query, resp.StatusCode, body)
		}
		if wantStatus == 400 && (a.Status != 1 || !strings.HasPrefix(details(a), "Invalid date range")) {
			t.Errorf("%s: %s", query, body)
		}
	}
	_, body := e.request(http.MethodGet, LoginReportPath+"?from_date=2022-03-29&to_date=2022-07-01", nil)
	if !strings.Contains(string(body), "120 days") {
		t.Errorf("retention error %s", body)
	}
}

func TestAuth(t *testing.T) {
	const wantBody = `{"status":9,"details":"EPMCSS-00301: Failed to authenticate. Invalid credentials."}` + "\n"
	basic := func(u, p string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(u, p) }
	}
	tests := []struct {
		name string
		cfg  Config
		auth func(e *env) func(*http.Request)
		ok   bool
	}{
		{"OCI plain user", Config{}, func(*env) func(*http.Request) { return basic(DefaultUsername, DefaultPassword) }, true},
		{"OCI domain.user", Config{}, func(*env) func(*http.Request) { return basic("acme."+DefaultUsername, DefaultPassword) }, false},
		{"classic domain.user", Config{IdentityDomain: "acme"}, func(*env) func(*http.Request) { return basic("acme."+DefaultUsername, DefaultPassword) }, true},
		{"classic plain user", Config{IdentityDomain: "acme"}, func(*env) func(*http.Request) { return basic(DefaultUsername, DefaultPassword) }, false},
		{"classic other domain", Config{IdentityDomain: "acme"}, func(*env) func(*http.Request) { return basic("other."+DefaultUsername, DefaultPassword) }, false},
		{"wrong password", Config{}, func(*env) func(*http.Request) { return basic(DefaultUsername, "nope") }, false},
		{"custom credentials", Config{Username: "u", Password: "p"}, func(*env) func(*http.Request) { return basic("u", "p") }, true},
		{"MFA refuses Basic", Config{MFA: true}, func(*env) func(*http.Request) { return basic(DefaultUsername, DefaultPassword) }, false},
		{"none", Config{}, func(*env) func(*http.Request) { return func(*http.Request) {} }, false},
		{"bearer", Config{}, func(e *env) func(*http.Request) { return bearer(e.t, e, time.Duration(0)) }, true},
		{"bearer with MFA", Config{MFA: true}, func(e *env) func(*http.Request) { return bearer(e.t, e, time.Duration(0)) }, true},
		{"bearer expired", Config{TokenTTL: time.Minute}, func(e *env) func(*http.Request) { return bearer(e.t, e, time.Minute) }, false},
		{"bearer unknown", Config{}, func(*env) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Authorization", "Bearer made-up") }
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, quiet(tt.cfg))
			e.auth = tt.auth(e)
			resp, body := e.request(http.MethodGet, LoginReportPath+"?from_date=2022-07-28&to_date=2022-07-28", nil)
			if tt.ok {
				if resp.StatusCode != 200 {
					t.Errorf("got %d %s", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != 401 || string(body) != wantBody || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("got %d %v %s", resp.StatusCode, resp.Header, body)
			}
			if e.sim.Stats().Unauthorized != 1 {
				t.Error("Unauthorized not counted")
			}
		})
	}
}

// bearer gets a token from the token endpoint, lets the clock run age, and
// returns a request editor that sends it.
func bearer(t *testing.T, e *env, age time.Duration) func(*http.Request) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	e.clock.Add(age)
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) }
}

func TestTokenEndpointRejects(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {"wrong"}}
	resp, err := e.ts.Client().PostForm(e.ts.URL+TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d", resp.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, quiet(Config{RateLimit: 2}))
	path := LoginReportPath + "?from_date=2022-07-28&to_date=2022-07-28"
	for i := range 2 {
		if resp, body := e.request(http.MethodGet, path, nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := e.request(http.MethodGet, path, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/json" || decode(t, body).Status != 1 {
		t.Errorf("over the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Even an unauthenticated request or a submit counts.
	if resp, _ := e.submit("a.csv", "2022-07-28", "2022-07-28"); resp.StatusCode != 429 {
		t.Errorf("submit over the limit: %d", resp.StatusCode)
	}
	e.clock.Add(time.Second)
	if resp, _ := e.request(http.MethodGet, path, nil); resp.StatusCode != 200 {
		t.Errorf("after a second: %d", resp.StatusCode)
	}
	if st := e.sim.Stats(); st.RateLimited != 2 || st.Jobs != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDefaultRateLimit(t *testing.T) {
	e := newEnv(t, Config{JobFailRate: -1})
	n := 0
	for range 30 {
		if resp, _ := e.request(http.MethodGet, "/interop/rest/nothing", nil); resp.StatusCode == 429 {
			n++
		}
	}
	if n != 20 {
		t.Errorf("%d of 30 instant requests limited, want 20 (burst 10)", n)
	}
}

func TestLostSubmit(t *testing.T) {
	for name, cfg := range map[string]Config{"rate": {LostSubmitRate: 1}, "queued": {}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, quiet(cfg))
			e.sim.LoseNextSubmits(1)
			e.sim.Add(Row{Login: "a@example.com", IP: "192.0.2.1", Time: at("2022-07-27 10:00:00")})
			resp, body := e.submit("lost.csv", "2022-07-27", "2022-07-27")
			if resp.StatusCode != 502 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("502 Bad Gateway")) {
				t.Fatalf("lost submit: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			if e.sim.JobsFor("2022-07-27", "2022-07-27") != 1 {
				t.Error("the lost submit made no job")
			}
			// Retrying the same name is refused while the job runs...
			if resp, _ := e.submit("lost.csv", "2022-07-27", "2022-07-27"); resp.StatusCode != 400 {
				t.Errorf("retry with the same name: %d", resp.StatusCode)
			}
			e.clock.Add(time.Second)
			// ... and once the file exists, which can be fetched by name.
			if resp, _ := e.submit("lost.csv", "2022-07-27", "2022-07-27"); resp.StatusCode != 400 {
				t.Errorf("retry after the job ended: %d", resp.StatusCode)
			}
			if got := e.sim.Snapshots(); !reflect.DeepEqual(got, []string{"lost.csv"}) {
				t.Errorf("snapshots %v", got)
			}
			resp, body = e.download("lost.csv")
			if resp.StatusCode != 200 || len(readReport(t, body).rows) != 1 {
				t.Errorf("download of the lost job's file: %d", resp.StatusCode)
			}
			st := e.sim.Stats()
			if st.LostSubmits != 1 || st.Jobs != 1 || st.ServerErrors != 1 || st.Snapshots != 1 {
				t.Errorf("stats %+v", st)
			}
			if jobs := e.sim.Jobs(); !jobs[0].Lost {
				t.Errorf("job %+v", jobs[0])
			}
		})
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		status     int
		html       bool
		retryAfter string
	}{
		{500, false, ""},
		{502, true, ""},
		{503, false, "1"},
		{504, true, ""},
		{429, false, "1"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			e := newEnv(t, quiet(Config{}))
			e.sim.FailNext(1, tt.status)
			resp, body := e.submit("a.csv", "2022-07-28", "2022-07-28")
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter ||
				strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") != tt.html {
				t.Errorf("got %d %v %s", resp.StatusCode, resp.Header, body)
			}
			if !tt.html && decode(t, body).Status != 1 {
				t.Errorf("body %s", body)
			}
			if e.sim.Stats().Jobs != 0 {
				t.Error("a failed submit made a job")
			}
			if resp, _ := e.submit("a.csv", "2022-07-28", "2022-07-28"); resp.StatusCode != 200 {
				t.Errorf("next request: %d", resp.StatusCode)
			}
		})
	}
	e := newEnv(t, quiet(Config{FaultRate: 1, FaultStatuses: []int{503}}))
	for range 5 {
		if resp, _ := e.download("x.csv"); resp.StatusCode != 503 {
			t.Errorf("fault rate 1: %d", resp.StatusCode)
		}
	}
	if e.sim.Stats().ServerErrors != 5 {
		t.Errorf("stats %+v", e.sim.Stats())
	}
}

func TestFileNamesInPaths(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	const name = "user audit+1 ü.csv"
	e.mustSubmit(name, "2022-07-28", "2022-07-28")
	e.clock.Add(time.Second)
	for target, want := range map[string]int{
		snapshotPath(name) + "/contents": 200, // user%20audit+1%20%C3%BC.csv
		"/interop/rest/11.1.2.3.600/applicationsnapshots/" + url.QueryEscape(name) + "/contents": 404, // user+audit%2B1+%C3%BC.csv
		"/interop/rest/v1/applicationsnapshots/" + url.PathEscape(name) + "/contents":            404,
	} {
		resp, body := e.request(http.MethodGet, target, nil)
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", target, resp.StatusCode, want)
		}
		if want == 200 && readReport(t, body).entry != name {
			t.Errorf("entry %q", readReport(t, body).entry)
		}
	}
	if resp, _ := e.request(http.MethodPost, snapshotPath(name)+"/contents", nil); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST contents: %d", resp.StatusCode)
	}
	if resp, _ := e.request(http.MethodDelete, snapshotPath(name), nil); resp.StatusCode != 200 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
}

func TestSnapshotsCounted(t *testing.T) {
	e := newEnv(t, quiet(Config{}))
	for _, n := range []string{"b.csv", "a.csv", "c.csv"} {
		e.mustSubmit(n, "2022-07-28", "2022-07-28")
	}
	if st := e.sim.Stats(); st.Snapshots != 0 {
		t.Errorf("snapshots while running: %d", st.Snapshots)
	}
	e.clock.Add(time.Second)
	if got := e.sim.Snapshots(); !reflect.DeepEqual(got, []string{"a.csv", "b.csv", "c.csv"}) || e.sim.Stats().Snapshots != 3 {
		t.Errorf("snapshots %v", got)
	}
	e.request(http.MethodDelete, snapshotPath("b.csv"), nil)
	if got := e.sim.Snapshots(); !reflect.DeepEqual(got, []string{"a.csv", "c.csv"}) || e.sim.Stats().Snapshots != 2 || e.sim.Stats().Deletes != 1 {
		t.Errorf("snapshots after delete %v", got)
	}
}

func TestPublicURL(t *testing.T) {
	e := newEnv(t, quiet(Config{PublicURL: "https://epm.example.com/"}))
	href := e.mustSubmit("a.csv", "2022-07-28", "2022-07-28")
	if !strings.HasPrefix(href, "https://epm.example.com/interop/rest/11.1.2.3.600/jobs/") {
		t.Errorf("href %s", href)
	}
	u, _ := url.Parse(href)
	if status, _ := e.jobStatus(u.RequestURI()); status != -1 {
		t.Errorf("status %d", status)
	}
}

func TestLargeDay(t *testing.T) {
	e := newEnv(t, quiet(Config{Seed: 9}))
	d := date("2022-07-27")
	start := time.Now()
	e.sim.Generate(d, d.AddDate(0, 0, 1), 100000) // over 50,000 rows after the merge
	gen := time.Since(start)

	start = time.Now()
	e.mustSubmit("big.csv", "2022-07-27", "2022-07-27")
	e.clock.Add(time.Second)
	resp, body := e.download("big.csv")
	serve := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	rep := readReport(t, body)
	rows := e.sim.Rows(d, d.AddDate(0, 0, 1))
	if len(rep.rows) != len(rows) || len(rows) < 50000 {
		t.Errorf("%d CSV rows, %d merged rows of 100000 logins", len(rep.rows), len(rows))
	}
	start = time.Now()
	resp, _ = e.request(http.MethodGet, LoginReportPath+"?from_date=2022-07-27&to_date=2022-07-27", nil)
	sync := time.Since(start)
	t.Logf("100000 logins: generate %v, report job + download %v (%d rows, %d KiB zipped), login report %v", gen, serve, len(rows), len(body)>>10, sync)
	if resp.StatusCode != 200 || gen+serve+sync > 5*time.Second {
		t.Errorf("too slow or failed: %d, %v", resp.StatusCode, gen+serve+sync)
	}
}

func TestStartGrowing(t *testing.T) {
	clock := &fakeClock{t: testNow}
	s := New(Config{Clock: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := s.StartGrowing(ctx, time.Millisecond, 3)
	deadline := time.Now().Add(5 * time.Second)
	for s.Logins() < 9 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if s.Logins() < 9 {
		t.Fatalf("%d logins after growing", s.Logins())
	}
	rows := s.Rows(testNow, testNow.Add(time.Second))
	if len(rows) == 0 || !rows[0].Time.Equal(testNow) {
		t.Errorf("grown rows %v", rows)
	}
}

func TestGrowAtPrunes(t *testing.T) {
	s := New(Config{RetentionDays: 10})
	s.Add(Row{Login: "a@example.com", IP: "192.0.2.1", Time: testNow.AddDate(0, 0, -30)})
	s.GrowAt(testNow, 1)
	if s.Logins() != 1 {
		t.Errorf("%d logins after pruning", s.Logins())
	}
}

func TestValidate(t *testing.T) {
	for _, cfg := range []Config{{HeaderStyle: "fancy"}, {LoginReportKey: "rows"}, {JobFailRate: 2}, {FaultStatuses: []int{200}}} {
		if cfg.Validate() == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Error(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a bad Config")
		}
	}()
	New(Config{HeaderStyle: "fancy"})
}
