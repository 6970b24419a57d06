package avevasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

const testToken = "sim-token"

// h0 is the start of the test histories.
var h0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

// newSim returns a simulator accepting testToken, with cfg's other settings.
func newSim(cfg Config) *Server {
	cfg.StaticToken = testToken
	return New(cfg)
}

// call sends a request to s and returns the status and body.
func call(t *testing.T, s *Server, method, target, body string, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

// usage posts a usage report request with params in the body.
func usage(t *testing.T, s *Server, report string, params map[string]string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(params)
	code, body, _ := call(t, s, http.MethodPost, IntegrationPath+report, string(b), nil)
	return code, body
}

// audit gets the audit report with params in the query.
func audit(t *testing.T, s *Server, params map[string]string) (int, []byte) {
	t.Helper()
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	code, body, _ := call(t, s, http.MethodGet, AuditPath+"?"+v.Encode(), "", nil)
	return code, body
}

// window returns the parameters of a usage window.
func window(from, to time.Time) map[string]string {
	return map[string]string{"fromDate": from.Format("2006-01-02T15:04:05"), "toDate": to.Format("2006-01-02T15:04:05")}
}

// auditWindow returns the parameters of an audit window.
func auditWindow(from, to time.Time) map[string]string {
	return map[string]string{"range": "Custom", "from": from.Format("2006-01-02T15:04:05"), "to": to.Format("2006-01-02T15:04:05")}
}

// records extracts the records of a response body in any of the shapes.
func records(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var arr []json.RawMessage
	if err := json.Unmarshal(body, &arr); err == nil {
		return arr
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatalf("body is neither array nor object: %s", body)
	}
	for _, k := range []string{"data", "items", "value", "result"} {
		if v, ok := obj[k]; ok {
			if err := json.Unmarshal(v, &arr); err != nil {
				t.Fatal(err)
			}
			return arr
		}
	}
	t.Fatalf("no records member in %s", body)
	return nil
}

func TestShapes(t *testing.T) {
	s := newSim(Config{Seed: 1})
	for _, r := range Reports {
		s.Add(r, h0, h0.Add(time.Hour), 3)
	}
	want := map[string]string{
		CreditsTransaction: `[{"transactionId":`,
		UserUsage:          `{"data":[{"user":`,
		ServiceUsage:       `{"count":3,"items":[{"folder":`,
		ResourceUsage:      `{"@odata.context":`,
		Audit:              `{"status":"OK","result":[{"id":`,
	}
	for _, r := range Reports {
		var code int
		var body []byte
		if r == Audit {
			code, body = audit(t, s, auditWindow(h0, h0.Add(time.Hour)))
		} else {
			code, body = usage(t, s, r, window(h0, h0.Add(time.Hour)))
		}
		if code != http.StatusOK || !bytes.HasPrefix(body, []byte(want[r])) || !json.Valid(body) {
			t.Errorf("%s: %d %s", r, code, body)
			continue
		}
		got := records(t, body)
		truth := s.Records(r)
		if len(got) != 3 || len(truth) != 3 {
			t.Fatalf("%s: %d records served, %d stored", r, len(got), len(truth))
		}
		for i := range got {
			if !bytes.Equal(got[i], truth[i].Raw) {
				t.Errorf("%s record %d served as %s, ground truth %s", r, i, got[i], truth[i].Raw)
			}
		}
	}
}

// TestCapAndBounds checks the cap (the first MaxRecords of the window by
// instant, nothing said about the rest) and the window bounds.
func TestCapAndBounds(t *testing.T) {
	for _, inclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("inclusive=%v", inclusive), func(t *testing.T) {
			s := newSim(Config{MaxRecords: 50, InclusiveTo: inclusive, Seed: 2})
			s.Add(CreditsTransaction, h0, h0.Add(time.Hour), 120)
			s.AddAt(CreditsTransaction, h0, h0.Add(time.Hour)) // on both bounds
			truth := s.Records(CreditsTransaction)
			code, body := usage(t, s, CreditsTransaction, window(h0, h0.Add(time.Hour)))
			got := records(t, body)
			if code != http.StatusOK || len(got) != 50 {
				t.Fatalf("%d, %d records", code, len(got))
			}
			for i := range got {
				if !bytes.Equal(got[i], truth[i].Raw) {
					t.Fatalf("record %d is not the %d-th of the window", i, i)
				}
			}
			if bytes.Contains(body, []byte("more")) || bytes.Contains(body, []byte("total")) || bytes.Contains(body, []byte("next")) {
				t.Errorf("the response hints at truncation")
			}
			// The last half-minute holds few records: the upper bound shows.
			code, body = usage(t, s, CreditsTransaction, window(h0.Add(59*time.Minute), h0.Add(time.Hour)))
			got = records(t, body)
			lastIsBound := len(got) > 0 && bytes.Equal(got[len(got)-1], truth[len(truth)-1].Raw)
			if code != http.StatusOK || lastIsBound != inclusive {
				t.Errorf("record at toDate served = %v, want %v", lastIsBound, inclusive)
			}
			st := s.Stats()
			served := s.Served()
			if st.Truncated != 1 || len(served) != 2 || !served[0].Truncated || served[0].Records != 50 || served[1].Truncated {
				t.Errorf("stats %+v, served %+v", st, served)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	s := newSim(Config{Seed: 3})
	s.Add(CreditsTransaction, h0, h0.Add(time.Hour), 400)
	s.Add(ResourceUsage, h0, h0.Add(time.Hour), 200)
	s.Add(Audit, h0, h0.Add(time.Hour), 200)
	count := func(report, member, value string) int {
		n := 0
		for _, r := range s.Records(report) {
			var m map[string]any
			_ = json.Unmarshal(r.Raw, &m)
			if strings.EqualFold(fmt.Sprint(m[member]), value) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		report, param, value string
	}{
		{CreditsTransaction, "hostingType", "cloud"},
		{CreditsTransaction, "productCode", "UE-002"},
		{CreditsTransaction, "user", "ANA.SILVA@example.com"},
		{CreditsTransaction, "creditsAgreementId", "0002"},
		{CreditsTransaction, "folder", "Folder 3"},
		{ResourceUsage, "resourceId", "RES-007"},
		{ResourceUsage, "service", "Service 2"},
		{Audit, "operation", "add"},
		{Audit, "function", "authm"},
	}
	for _, tt := range tests {
		var body []byte
		if tt.report == Audit {
			p := auditWindow(h0, h0.Add(time.Hour))
			p[tt.param] = tt.value
			_, body = audit(t, s, p)
		} else {
			p := window(h0, h0.Add(time.Hour))
			p[tt.param] = tt.value
			_, body = usage(t, s, tt.report, p)
		}
		got, want := len(records(t, body)), count(tt.report, tt.param, tt.value)
		if got != want || want == 0 {
			t.Errorf("%s %s=%s: %d records, want %d (>0)", tt.report, tt.param, tt.value, got, want)
		}
	}
}

func TestParametersInQueryOrBody(t *testing.T) {
	s := newSim(Config{Seed: 4})
	s.Add(ServiceUsage, h0, h0.Add(time.Hour), 10)
	s.Add(ServiceUsage, h0.Add(time.Hour), h0.Add(2*time.Hour), 7)
	q := "?fromDate=2024-03-04T10:00:00&toDate=2024-03-04T11:00:00"
	code, body, _ := call(t, s, http.MethodPost, IntegrationPath+ServiceUsage+q, "", map[string]string{"Content-Type": ""})
	if code != http.StatusOK || len(records(t, body)) != 10 {
		t.Fatalf("query parameters: %d %s", code, body)
	}
	// The body wins over the query.
	code, body, _ = call(t, s, http.MethodPost, IntegrationPath+ServiceUsage+q, `{"fromDate":"2024-03-04T11:00:00","toDate":"2024-03-04T12:00:00"}`, nil)
	if code != http.StatusOK || len(records(t, body)) != 7 {
		t.Fatalf("body parameters: %d %s", code, body)
	}
}

func TestBadRequests(t *testing.T) {
	s := newSim(Config{})
	tests := []struct {
		name, method, target, body, detail string
		status                             int
	}{
		{"no parameters", "POST", IntegrationPath + CreditsTransaction, "", "fromDate is required", 400},
		{"no toDate", "POST", IntegrationPath + UserUsage, `{"fromDate":"2023-09-15T13:30:00"}`, "toDate is required", 400},
		{"bad DateTime", "POST", IntegrationPath + UserUsage, `{"fromDate":"15/09/2023","toDate":"2023-09-15T13:30:00"}`, `fromDate "15/09/2023" is not a DateTime`, 400},
		{"from after to", "POST", IntegrationPath + UserUsage, `{"fromDate":"2023-09-16","toDate":"2023-09-15"}`, "is after toDate", 400},
		{"filter of another report", "POST", IntegrationPath + ServiceUsage, `{"fromDate":"2023-09-15","toDate":"2023-09-16","user":"x"}`, `parameter "user" is not accepted by the serviceUsage report`, 400},
		{"number parameter", "POST", IntegrationPath + ServiceUsage, `{"fromDate":"2023-09-15","toDate":20230916}`, "toDate must be a string", 400},
		{"body not an object", "POST", IntegrationPath + ServiceUsage, `["2023-09-15"]`, "not a JSON object", 400},
		{"unknown report", "POST", IntegrationPath + "costs", `{}`, `no report "costs"`, 404},
		{"audit by POST", "POST", IntegrationPath + Audit, `{}`, `no report "audit"`, 404},
		{"audit without parameters", "GET", AuditPath, "", "range is required", 400},
		{"audit range", "GET", AuditPath + "?range=Last7Days&from=2023-12-13&to=2023-12-14", "", `range "Last7Days" is not supported`, 400},
		{"audit no to", "GET", AuditPath + "?range=Custom&from=2023-12-13", "", "to is required", 400},
		{"audit offset", "GET", AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14&offset=-900", "", `offset "-900"`, 400},
		{"audit locale", "GET", AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14&locale=en_US!", "", "not a culture name", 400},
		{"audit filter of another report", "GET", AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14&resourceId=R", "", `parameter "resourceId" is not accepted by the audit report`, 400},
		{"audit repeated", "GET", AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14&to=2023-12-15", "", "given 2 times", 400},
	}
	for _, tt := range tests {
		code, body, _ := call(t, s, tt.method, tt.target, tt.body, nil)
		var p problem
		_ = json.Unmarshal(body, &p)
		if code != tt.status || p.Status != tt.status || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("%s: %d %s; want %d with %q", tt.name, code, body, tt.status, tt.detail)
		}
	}
	// The reference's own examples pass.
	for _, target := range []string{
		AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14",
		AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14&locale=en-US&offset=-330",
	} {
		if code, body, _ := call(t, s, "GET", target, "", nil); code != http.StatusOK {
			t.Errorf("%s: %d %s", target, code, body)
		}
	}
	if st := s.Stats(); st.BadRequests != int64(len(tests)) {
		t.Errorf("stats %+v", st)
	}
}

// TestAuditOffsetAndLocale checks that offset shifts the returned times
// (−330 is India, UTC+5:30) and locale formats them, while the window stays
// UTC.
func TestAuditOffsetAndLocale(t *testing.T) {
	s := newSim(Config{Seed: 5})
	at := h0.Add(5*time.Hour + 45*time.Minute + 30*time.Second) // 15:45:30 UTC
	s.AddAt(Audit, at)
	tests := []struct {
		offset, locale, want string
	}{
		{"", "", "2024-03-04T15:45:30"},
		{"0", "", "2024-03-04T15:45:30"},
		{"-330", "", "2024-03-04T21:15:30"},
		{"300", "", "2024-03-04T10:45:30"},
		{"0", "en-US", "3/4/2024 3:45:30 PM"},
		{"-60", "de-DE", "04.03.2024 16:45:30"},
		{"0", "ja-JP", "2024/03/04 15:45:30"},
		{"0", "en-GB", "04/03/2024 15:45:30"},
	}
	for _, tt := range tests {
		p := auditWindow(h0.Add(5*time.Hour), h0.Add(6*time.Hour))
		if tt.offset != "" {
			p["offset"] = tt.offset
		}
		if tt.locale != "" {
			p["locale"] = tt.locale
		}
		code, body := audit(t, s, p)
		recs := records(t, body)
		if code != http.StatusOK || len(recs) != 1 {
			t.Fatalf("offset %s locale %s: %d %s", tt.offset, tt.locale, code, body)
		}
		var r auditJSON
		if err := json.Unmarshal(recs[0], &r); err != nil || r.DateTime != tt.want {
			t.Errorf("offset %s locale %s: dateTime %q, want %q", tt.offset, tt.locale, r.DateTime, tt.want)
		}
	}
}

func TestAuth(t *testing.T) {
	now := h0
	s := New(Config{TokenTTL: time.Minute, Clock: func() time.Time { return now }})
	target := AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14"
	for _, auth := range []string{"", "Basic abc", "Bearer nope"} {
		code, _, hdr := call(t, s, "GET", target, "", map[string]string{"Authorization": auth})
		if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d", auth, code)
		}
	}
	token := func(form url.Values, basic bool) (int, simkit.TokenResponse) {
		req := httptest.NewRequest("POST", TokenPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var tr simkit.TokenResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &tr)
		return rec.Code, tr
	}
	if code, _ := token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}}, false); code != http.StatusUnauthorized {
		t.Errorf("wrong client: %d", code)
	}
	if code, _ := token(url.Values{"grant_type": {"password"}}, true); code != http.StatusBadRequest {
		t.Errorf("wrong grant: %d", code)
	}
	code, tr := token(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}, false)
	if code != http.StatusOK || tr.TokenType != "Bearer" || tr.ExpiresIn != 60 || tr.AccessToken == "" {
		t.Fatalf("token: %d %+v", code, tr)
	}
	if code, _, _ := call(t, s, "GET", target, "", map[string]string{"Authorization": "Bearer " + tr.AccessToken}); code != http.StatusOK {
		t.Errorf("issued token: %d", code)
	}
	now = now.Add(time.Minute)
	code, body, _ := call(t, s, "GET", target, "", map[string]string{"Authorization": "Bearer " + tr.AccessToken})
	if code != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
		t.Errorf("expired token: %d %s", code, body)
	}
	st := s.Stats()
	if st.TokensIssued != 1 || st.TokensRejected != 2 || st.Unauthorized != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaults(t *testing.T) {
	now := h0
	s := newSim(Config{RateLimit: 1, Burst: 2, Clock: func() time.Time { return now }})
	target := AuditPath + "?range=Custom&from=2023-12-13&to=2023-12-14"
	s.FailNext(1, http.StatusBadGateway)
	s.FailNext(1, http.StatusServiceUnavailable)
	code, body, hdr := call(t, s, "GET", target, "", nil)
	if code != http.StatusBadGateway || hdr.Get("Content-Type") != "text/html" || !bytes.Contains(body, []byte("<html>")) {
		t.Errorf("first: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	now = now.Add(10 * time.Second)
	code, _, hdr = call(t, s, "GET", target, "", nil)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" {
		t.Errorf("second: %d Retry-After %q", code, hdr.Get("Retry-After"))
	}
	codes := []int{}
	for range 3 {
		code, _, hdr = call(t, s, "GET", target, "", nil)
		codes = append(codes, code)
	}
	if !slices.Equal(codes, []int{200, 429, 429}) || hdr.Get("Retry-After") != "1" {
		t.Errorf("rate limit: %v, Retry-After %q", codes, hdr.Get("Retry-After"))
	}
	st := s.Stats()
	if st.ServerErrors != 2 || st.RateLimited != 2 || st.OK != 1 || st.Requests != 5 {
		t.Errorf("stats %+v", st)
	}

	r := newSim(Config{FaultRate: 0.5, Seed: 9})
	failed := 0
	for range 200 {
		if code, _, _ := call(t, r, "GET", target, "", nil); code >= 500 {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("%d of 200 requests failed at rate 0.5", failed)
	}
}

// TestDeterministic checks that the same seed and calls give the same
// records, and that duplicates are identical.
func TestDeterministic(t *testing.T) {
	build := func() *Server {
		s := newSim(Config{Seed: 11, DuplicateRate: 0.2})
		for _, r := range Reports {
			s.Add(r, h0, h0.Add(time.Hour), 100)
		}
		return s
	}
	a, b := build(), build()
	dups := 0
	for _, r := range Reports {
		ra, rb := a.Records(r), b.Records(r)
		if len(ra) != len(rb) {
			t.Fatalf("%s: %d and %d records", r, len(ra), len(rb))
		}
		for i := range ra {
			if !bytes.Equal(ra[i].Raw, rb[i].Raw) || !ra[i].Time.Equal(rb[i].Time) {
				t.Fatalf("%s record %d differs", r, i)
			}
			if i > 0 && bytes.Equal(ra[i].Raw, ra[i-1].Raw) {
				dups++
				if r == CreditsTransaction || r == Audit {
					t.Errorf("%s has identical records", r)
				}
			}
		}
	}
	if dups == 0 {
		t.Error("no duplicates at rate 0.2")
	}
}
