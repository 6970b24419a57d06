package epmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fake clock's start.
var testNow = time.Date(2024, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind an httptest server, with a fake clock.
type env struct {
	t     *testing.T
	sim   *Server
	ts    *httptest.Server
	clock *fakeClock
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := &fakeClock{t: testNow}
	cfg.Clock = clock.Now
	sim := New(cfg)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, sim: sim, ts: ts, clock: clock}
}

// do sends req and returns the response and its body.
func (e *env) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body
}

// logon posts body to the logon path and returns the response.
func (e *env) logon(path, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

// token logs on with the default credentials and returns the token and
// manager URL.
func (e *env) token() (string, string) {
	e.t.Helper()
	resp, body := e.logon("/EPM/API/Auth/EPM/Logon", fmt.Sprintf(`{"Username":%q,"Password":%q,"ApplicationID":"test"}`, DefaultUsername, DefaultPassword))
	var lr logonResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &lr) != nil || lr.EPMAuthenticationResult == "" {
		e.t.Fatalf("logon: %d %s", resp.StatusCode, body)
	}
	return lr.EPMAuthenticationResult, lr.ManagerURL
}

// get sends a GET of url with token (none when empty).
func (e *env) get(url, token string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "basic "+token)
	}
	return e.do(req)
}

// errorCode returns the ErrorCode of an error answer.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var errs []apiError
	if err := json.Unmarshal(body, &errs); err != nil || len(errs) != 1 {
		t.Fatalf("error body %s is not [{ErrorCode,ErrorMessage}]", body)
	}
	return errs[0].ErrorCode
}

// auditPage is a decoded AdminAudit answer.
type auditPage struct {
	TotalCount  int               `json:"TotalCount"`
	AdminAudits []json.RawMessage `json:"AdminAudits"`
}

func TestLogon(t *testing.T) {
	e := newEnv(t, Config{ApplicationID: "test"})
	good := fmt.Sprintf(`{"Username":%q,"Password":%q,"ApplicationID":"test"}`, DefaultUsername, DefaultPassword)
	tests := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"latest", "/EPM/API/Auth/EPM/Logon", good, 200, ""},
		{"version", "/EPM/API/24.12.0.4372/Auth/EPM/Logon", good, 200, ""},
		{"case-insensitive path", "/EPM/API/auth/epm/logon", good, 200, ""},
		{"wrong password", "/EPM/API/Auth/EPM/Logon", fmt.Sprintf(`{"Username":%q,"Password":"nope","ApplicationID":"test"}`, DefaultUsername), 401, "EPM000001E"},
		{"wrong application", "/EPM/API/Auth/EPM/Logon", fmt.Sprintf(`{"Username":%q,"Password":%q,"ApplicationID":"other"}`, DefaultUsername, DefaultPassword), 401, "EPM000001E"},
		{"no application", "/EPM/API/Auth/EPM/Logon", fmt.Sprintf(`{"Username":%q,"Password":%q}`, DefaultUsername, DefaultPassword), 400, "EPM000005E"},
		{"not JSON", "/EPM/API/Auth/EPM/Logon", "Username=x", 400, "EPM000005E"},
		{"bad version", "/EPM/API/v2/Auth/EPM/Logon", good, 404, "EPM000004E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.logon(tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Errorf("ErrorCode %s, want %s", got, tt.code)
				}
				if strings.Contains(string(body), "nope") {
					t.Errorf("error body %s echoes the password", body)
				}
				return
			}
			var lr logonResponse
			if err := json.Unmarshal(body, &lr); err != nil || lr.ManagerURL != e.ts.URL+DefaultManagerPath || lr.IsPasswordExpired {
				t.Errorf("logon answer %s", body)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/EPM/API/Auth/EPM/Logon", nil)
	if resp, _ := e.do(req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET logon: status %d", resp.StatusCode)
	}
	if st := e.sim.Stats(); st.Logons != 3 || st.LogonFailures != 4 {
		t.Errorf("Stats() = %+v, want 3 logons and 4 failures", st)
	}
}

func TestLogonOptions(t *testing.T) {
	e := newEnv(t, Config{PasswordExpired: true, ManagerURL: "https://na1.epm.example"})
	resp, body := e.logon("/EPM/API/Auth/EPM/Logon", fmt.Sprintf(`{"Username":%q,"Password":%q,"ApplicationID":"any"}`, DefaultUsername, DefaultPassword))
	var lr logonResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &lr) != nil || !lr.IsPasswordExpired || lr.ManagerURL != "https://na1.epm.example" {
		t.Errorf("logon answer %d %s", resp.StatusCode, body)
	}
}

// TestDispatcherServesOnlyLogon answers API calls sent to the dispatcher
// with 404, even with a valid token.
func TestDispatcherServesOnlyLogon(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.AddSet("s", "S")
	token, manager := e.token()
	for _, path := range []string{"/EPM/API/Sets", "/EPM/API/24.12.0.4372/Sets/s/AdminAudit"} {
		resp, body := e.get(e.ts.URL+path, token)
		if resp.StatusCode != http.StatusNotFound || errorCode(t, body) != "EPM000004E" {
			t.Errorf("dispatcher %s: %d %s", path, resp.StatusCode, body)
		}
	}
	if resp, body := e.get(manager+"/EPM/API/Sets", token); resp.StatusCode != 200 {
		t.Errorf("manager: %d %s", resp.StatusCode, body)
	}
	if st := e.sim.Stats(); st.DispatcherMisses != 2 || st.SetsCalls != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestSessions(t *testing.T) {
	e := newEnv(t, Config{SessionTimeout: 10 * time.Minute, TokenMaxAge: 30 * time.Minute})
	_, manager := e.token()
	sets := manager + "/EPM/API/Sets"
	status := func(token string, header ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, sets, nil)
		if len(header) > 0 {
			req.Header.Set("Authorization", header[0])
		} else if token != "" {
			req.Header.Set("Authorization", "basic "+token)
		}
		resp, body := e.do(req)
		if resp.StatusCode == 200 {
			return 200, ""
		}
		return resp.StatusCode, errorCode(t, body)
	}
	tok, _ := e.token()
	for _, tt := range []struct {
		name    string
		advance time.Duration
		token   string
		header  []string
		status  int
		code    string
	}{
		{"fresh", 0, tok, nil, 200, ""},
		{"scheme in capitals", 0, tok, []string{"Basic " + tok}, 200, ""},
		{"bearer scheme", 0, tok, []string{"Bearer " + tok}, 401, "EPM000002E"},
		{"no header", 0, "", nil, 401, "EPM000002E"},
		{"unknown token", 0, "nope", nil, 401, "EPM000003E"},
		{"used within the timeout", 9 * time.Minute, tok, nil, 200, ""},
		{"renewed by the last call", 9 * time.Minute, tok, nil, 200, ""},
		{"idle for the timeout", 10 * time.Minute, tok, nil, 401, "EPM000003E"},
	} {
		e.clock.Add(tt.advance)
		if status, code := status(tt.token, tt.header...); status != tt.status || code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, code, tt.status, tt.code)
		}
	}
	// A token in constant use still ends at its maximum age.
	tok, _ = e.token()
	for range 5 {
		e.clock.Add(5 * time.Minute)
		if s, _ := status(tok); s != 200 {
			t.Fatalf("token in use refused after %d", s)
		}
	}
	e.clock.Add(5 * time.Minute)
	if s, code := status(tok); s != 401 {
		t.Errorf("token past its maximum age: %d %s", s, code)
	}
	tok, _ = e.token()
	e.sim.ExpireSessions()
	if s, _ := status(tok); s != 401 {
		t.Errorf("token after ExpireSessions: %d", s)
	}
}

// newAuditEnv returns an env with one set "s" holding records at the given
// instants, and a token.
func newAuditEnv(t *testing.T, cfg Config, ts ...time.Time) (*env, string, string) {
	t.Helper()
	e := newEnv(t, cfg)
	e.sim.AddSet("s", "Production")
	for _, at := range ts {
		e.sim.Append("s", at, 1, false)
	}
	tok, manager := e.token()
	return e, tok, manager + "/EPM/API/Sets/s/AdminAudit"
}

// eventTimes returns the EventTime of each record of a page.
func eventTimes(t *testing.T, body []byte) (int, []string) {
	t.Helper()
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("page %s: %v", body, err)
	}
	var out []string
	for _, r := range p.AdminAudits {
		var v struct{ EventTime string }
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.EventTime)
	}
	return p.TotalCount, out
}

func TestAdminAuditQuery(t *testing.T) {
	base := testNow.Add(-3 * time.Hour).Truncate(time.Hour)
	at := func(s string) time.Time {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return base.Add(d)
	}
	e, tok, url := newAuditEnv(t, Config{NoRateLimit: true},
		at("-1ms"), at("0s"), at("0s"), at("1s"), at("10s"), at("10s999ms"), at("11s"), at("2h"))
	tests := []struct {
		name   string
		query  string
		status int
		code   string
		total  int
		times  []string
	}{
		{"inclusive both ends", "DateFrom=2024-11-25T09:00:00Z&DateTo=2024-11-25T09:00:10Z", 200, "", 5,
			[]string{"2024-11-25T09:00:00Z", "2024-11-25T09:00:00Z", "2024-11-25T09:00:01Z", "2024-11-25T09:00:10Z", "2024-11-25T09:00:10.999Z"}},
		{"offset and limit", "DateFrom=2024-11-25T09:00:00Z&DateTo=2024-11-25T09:00:10Z&Offset=2&Limit=2", 200, "", 5,
			[]string{"2024-11-25T09:00:01Z", "2024-11-25T09:00:10Z"}},
		{"offset past the end", "DateFrom=2024-11-25T09:00:00Z&Offset=100", 200, "", 7, nil},
		{"case-insensitive names", "datefrom=2024-11-25T11:00:00Z&LIMIT=1", 200, "", 1, []string{"2024-11-25T11:00:00Z"}},
		{"from after to", "DateFrom=2024-11-25T10:00:00Z&DateTo=2024-11-25T09:00:00Z", 200, "", 0, nil},
		{"only to", "DateTo=2024-11-25T08:59:59Z", 200, "", 1, []string{"2024-11-25T08:59:59.999Z"}},
		{"no dates: last day", "", 200, "", 8, nil},
		{"limit above 500", "DateFrom=2024-11-25T09:00:00Z&Limit=501", 400, "EPM000005E", 0, nil},
		{"limit 0", "Limit=0", 400, "EPM000005E", 0, nil},
		{"negative offset", "Offset=-1", 400, "EPM000005E", 0, nil},
		{"milliseconds", "DateFrom=2024-11-25T09:00:00.000Z", 400, "EPM000005E", 0, nil},
		{"offset instead of Z", "DateFrom=2024-11-25T09:00:00+00:00", 400, "EPM000006E", 0, nil},
		{"percent-encoded", "DateFrom=2024-11-25T09%3A00%3A00Z", 400, "EPM000006E", 0, nil},
		{"date only", "DateFrom=2024-11-25", 400, "EPM000005E", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.get(url+"?"+tt.query, tok)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Errorf("ErrorCode %s, want %s", got, tt.code)
				}
				return
			}
			total, times := eventTimes(t, body)
			if total != tt.total || (tt.times != nil || total == 0) && !slices.Equal(times, tt.times) {
				t.Errorf("TotalCount %d, times %v; want %d, %v", total, times, tt.total, tt.times)
			}
		})
	}
	if resp, _ := e.get(url+"?Limit=1", tok); resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if resp, body := e.get(strings.Replace(url, "/s/", "/unknown/", 1), tok); resp.StatusCode != http.StatusForbidden || errorCode(t, body) != "EPM000007E" {
		t.Errorf("unknown set: %d %s", resp.StatusCode, body)
	}
}

// TestAdminAuditDefaultLimit serves 50 records without Limit.
func TestAdminAuditDefaultLimit(t *testing.T) {
	e, tok, url := newAuditEnv(t, Config{NoRateLimit: true})
	e.sim.Append("s", testNow.Add(-time.Hour), 70, false)
	_, body := e.get(url+"?DateFrom=2024-11-25T00:00:00Z", tok)
	if total, times := eventTimes(t, body); total != 70 || len(times) != DefaultLimit {
		t.Errorf("TotalCount %d, %d records; want 70, %d", total, len(times), DefaultLimit)
	}
}

// TestRateLimits enforces both windows with 429 and a Retry-After that,
// waited, lets the next call through.
func TestRateLimits(t *testing.T) {
	e, tok, url := newAuditEnv(t, Config{})
	url += "?Limit=1"
	call := func() *http.Response {
		resp, _ := e.get(url, tok)
		return resp
	}
	for i := range 5 {
		if s := call().StatusCode; s != 200 {
			t.Fatalf("call %d: %d", i, s)
		}
	}
	resp := call()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("6th call in a second: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.clock.Add(time.Second)
	if s := call().StatusCode; s != 200 {
		t.Fatalf("after Retry-After: %d", s)
	}
	// 4 calls a second stay under 5/s; the 1,000th call within 5 minutes
	// is the last one allowed.
	ok := 6
	for ok < 1000 {
		e.clock.Add(250 * time.Millisecond)
		if s := call().StatusCode; s != 200 {
			t.Fatalf("call %d at 4/s: %d", ok, s)
		}
		ok++
	}
	e.clock.Add(250 * time.Millisecond)
	resp = call()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "1" {
		t.Fatalf("1,001st call in 5 minutes: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := e.sim.Stats(); st.RateLimited != 2 || st.OK != 1000 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestFaults(t *testing.T) {
	e, tok, url := newAuditEnv(t, Config{NoRateLimit: true})
	e.sim.FailNext(1, http.StatusBadGateway)
	e.sim.FailNext(1, http.StatusServiceUnavailable)
	resp, body := e.get(url, tok)
	if resp.StatusCode != 502 || !bytes.Contains(body, []byte("<html>")) {
		t.Errorf("first: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.get(url, tok)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := e.get(url, tok); resp.StatusCode != 200 {
		t.Errorf("third: %d", resp.StatusCode)
	}

	r := newEnvWithFaults(t, 0.5)
	if st := r.Stats(); st.ServerErrors < 30 || st.ServerErrors > 70 {
		t.Errorf("fault rate 0.5: %d of 100 calls failed", st.ServerErrors)
	}
}

// newEnvWithFaults sends 100 calls to a simulator with a fault rate and
// returns it.
func newEnvWithFaults(t *testing.T, rate float64) *Server {
	e, tok, url := newAuditEnv(t, Config{NoRateLimit: true, FaultRate: rate, FaultStatuses: []int{500}, Seed: 3})
	for range 100 {
		e.get(url, tok)
	}
	return e.sim
}

// TestGenerate checks the shape of generated records: deterministic, in
// order, documented members, .NET-style times, bursts and identical
// records.
func TestGenerate(t *testing.T) {
	gen := func() []Record {
		s := New(Config{Seed: 5, Clock: func() time.Time { return testNow }})
		set := s.AddSet("", "")
		s.Generate(set.ID, testNow.Add(-48*time.Hour), testNow, 3000)
		return s.Records(set.ID)
	}
	a, b := gen(), gen()
	if len(a) != 3000 || !slices.EqualFunc(a, b, func(x, y Record) bool { return bytes.Equal(x.Raw, y.Raw) }) {
		t.Fatal("Generate is not deterministic")
	}
	shared, identical, wholeSecond, emails, names, v6, empty := 0, 0, 0, 0, 0, 0, 0
	features := map[string]bool{}
	for i, r := range a {
		var v map[string]any
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"SetName", "EventTime", "PermissionDescription", "Description", "Feature", "LoggedAt", "LoggedFrom", "Administrator", "InternalSessionId", "Role"} {
			if _, ok := v[k]; !ok {
				t.Fatalf("record %s lacks %s", r.Raw, k)
			}
		}
		if _, ok := v["InternalSessionId"].(float64); !ok {
			t.Fatalf("InternalSessionId of %s is not a number", r.Raw)
		}
		et := v["EventTime"].(string)
		if got := r.Time.Format(timeLayout); et != got || strings.HasSuffix(strings.TrimSuffix(et, "Z"), "0") && strings.Contains(et, ".") {
			t.Fatalf("EventTime %q of %v is not trimmed .NET style", et, r.Time)
		}
		if la, _ := time.Parse(time.RFC3339Nano, v["LoggedAt"].(string)); la.After(r.Time) {
			t.Fatalf("LoggedAt after EventTime in %s", r.Raw)
		}
		if i > 0 {
			if r.Time.Before(a[i-1].Time) {
				t.Fatal("records out of order")
			}
			if r.Time.Equal(a[i-1].Time) {
				shared++
				if bytes.Equal(r.Raw, a[i-1].Raw) {
					identical++
				}
			}
		}
		if r.Time.Equal(r.Time.Truncate(time.Second)) {
			wholeSecond++
		}
		switch admin := v["Administrator"].(string); {
		case strings.Contains(admin, "@"):
			emails++
		default:
			names++
		}
		switch ip := v["LoggedFrom"].(string); {
		case ip == "":
			empty++
		case strings.Contains(ip, ":"):
			v6++
		}
		features[v["Feature"].(string)] = true
	}
	t.Logf("shared %d, identical %d, whole seconds %d, e-mails %d, names %d, IPv6 %d, no IP %d, features %d",
		shared, identical, wholeSecond, emails, names, v6, empty, len(features))
	if shared < 300 || identical < 50 || wholeSecond < 100 || names < 300 || v6 < 100 || empty < 50 || len(features) < 10 {
		t.Error("generated records lack variety")
	}
}

// TestAddSetWhileRunning lists a set added after the first Sets call.
func TestAddSetWhileRunning(t *testing.T) {
	e := newEnv(t, Config{NoRateLimit: true})
	e.sim.AddSet("a", "A")
	tok, manager := e.token()
	count := func() int {
		_, body := e.get(manager+"/EPM/API/Sets", tok)
		var v struct {
			Sets      []setJSON
			SetsCount int
		}
		if err := json.Unmarshal(body, &v); err != nil || len(v.Sets) != v.SetsCount {
			t.Fatalf("Sets answer %s", body)
		}
		return v.SetsCount
	}
	if count() != 1 {
		t.Fatal("want 1 set")
	}
	if s := e.sim.AddSet("", ""); s.ID == "" || s.Name == "" || e.sim.AddSet("a", "other").Name != "A" {
		t.Fatal("AddSet did not name the set, or replaced one")
	}
	if count() != 2 {
		t.Error("the added set is not listed")
	}
	_, body := e.get(manager+"/EPM/API/Sets?Offset=1&Limit=1", tok)
	if !strings.Contains(string(body), `"SetsCount":2`) || strings.Contains(string(body), `"Id":"a"`) {
		t.Errorf("second page %s", body)
	}
}

// TestAuditAPICalls records each admin audit call in the set's log.
func TestAuditAPICalls(t *testing.T) {
	e, tok, url := newAuditEnv(t, Config{NoRateLimit: true, AuditAPICalls: true})
	e.get(url+"?DateFrom=2024-11-25T00:00:00Z&Limit=10", tok)
	recs := e.sim.Records("s")
	if len(recs) != 1 || recs[0].Feature != "Public API" || !recs[0].Time.Equal(testNow) ||
		!bytes.Contains(recs[0].Raw, []byte(`API Get Admin audit data /API/Sets/s/AdminAudit?DateFrom=2024-11-25T00:00:00Z&Limit=10 GET DateFrom: 2024-11-25T00:00:00Z`)) ||
		!bytes.Contains(recs[0].Raw, []byte(DefaultUsername)) {
		t.Errorf("records after one call: %+v", recs)
	}
}

// TestGrowSpan adds records within the span to the existing sets.
func TestGrowSpan(t *testing.T) {
	s := New(Config{Seed: 2})
	if s.GrowSpan(testNow, testNow, 5) != nil {
		t.Error("GrowSpan without sets added records")
	}
	s.AddSet("a", "A")
	s.AddSet("b", "B")
	recs := s.GrowSpan(testNow.Add(-time.Minute), testNow, 40)
	for _, r := range recs {
		if !r.Time.After(testNow.Add(-time.Minute)) || r.Time.After(testNow) {
			t.Fatalf("record at %v outside the span", r.Time)
		}
	}
	if len(s.Records("a"))+len(s.Records("b")) != 40 || len(s.Records("a")) == 0 || len(s.Records("b")) == 0 {
		t.Errorf("records a=%d b=%d", len(s.Records("a")), len(s.Records("b")))
	}
	if all := s.GrowSpan(testNow, testNow, 3); len(all) != 3 || !all[0].Time.Equal(testNow) {
		t.Errorf("empty span: %+v", all)
	}
}
