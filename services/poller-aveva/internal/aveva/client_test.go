package aveva

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
)

// fastHTTP returns an httpx configuration that retries without waiting.
func fastHTTP() httpx.Config {
	return httpx.Config{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: 5 * time.Second}
}

func mustReport(t *testing.T, name string) Report {
	t.Helper()
	r, ok := LookupReport(name)
	if !ok {
		t.Fatalf("no report %s", name)
	}
	return r
}

func TestClientRequest(t *testing.T) {
	hc := httpx.New(fastHTTP())
	from, to := time.Date(2023, 9, 15, 13, 30, 0, 0, time.UTC), time.Date(2023, 9, 15, 14, 30, 0, 0, time.UTC)
	ist := time.FixedZone("IST", 5*3600+1800)
	tests := []struct {
		base, params string
		q            Query
		method, url  string
		body         string
	}{
		{"https://services.connect.aveva.com", ParamsInBody,
			Query{Report: mustReport(t, ReportCreditsTransaction), From: from, To: to, Params: map[string]string{"hostingType": "Cloud", "productName": "Product 1"}},
			"POST", "https://services.connect.aveva.com/reports/v1/integration/creditsTransaction",
			`{"fromDate":"2023-09-15T13:30:00","hostingType":"Cloud","productName":"Product 1","toDate":"2023-09-15T14:30:00"}`},
		{"http://127.0.0.1:9402/aveva/", ParamsInQuery,
			Query{Report: mustReport(t, ReportUserUsage), From: from.In(ist), To: to, Params: map[string]string{"user": "test-user@example.com"}},
			"POST", "http://127.0.0.1:9402/aveva/reports/v1/integration/userUsage?fromDate=2023-09-15T13%3A30%3A00&toDate=2023-09-15T14%3A30%3A00&user=test-user%40example.com", ""},
		{"https://services.connect.aveva.com?x=1#f", ParamsInBody,
			Query{Report: mustReport(t, ReportAudit), From: from, To: to, Params: map[string]string{"locale": "en-US", "folder": "Folder 5"}},
			"GET", "https://services.connect.aveva.com/reports/v1/audit?folder=Folder%205&from=2023-09-15T13%3A30%3A00&locale=en-US&offset=0&range=Custom&to=2023-09-15T14%3A30%3A00", ""},
	}
	for _, tt := range tests {
		c, err := NewClient(hc, tt.base, tt.params)
		if err != nil {
			t.Fatal(err)
		}
		method, url, body := c.Request(tt.q)
		if method != tt.method || url != tt.url || string(body) != tt.body {
			t.Errorf("Request(%s) =\n %s %s %s\nwant\n %s %s %s", tt.q.Report.Name, method, url, body, tt.method, tt.url, tt.body)
		}
	}
	for _, base := range []string{"", "services.connect.aveva.com", "ftp://x.example", "https://u:secret-pw@"} {
		if _, err := NewClient(hc, base, ParamsInBody); err == nil || strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("NewClient(%q): error %v, want one without the password", base, err)
		}
	}
	if _, err := NewClient(hc, DefaultBaseURL, "form"); err == nil {
		t.Error("NewClient accepted usage parameters in a form")
	}
}

func TestClientRecords(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok-123" || r.Header.Get("Accept") != "application/json" ||
			r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost:
			http.Error(w, "bad request headers", http.StatusBadRequest)
		case !json.Valid(body) || !strings.Contains(string(body), `"fromDate":"2024-03-04T10:00:00"`):
			http.Error(w, "bad body "+string(body), http.StatusBadRequest)
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable) // retried
		case n == 2:
			// A body cut off: retried, and the records read are dropped.
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"data":[{"a":1},{"a":2},`))
		default:
			_, _ = w.Write([]byte(`{"data":[{"a":1},{"a":2},{"a":3}],"count":3}`))
		}
	}))
	defer srv.Close()
	hc := httpx.New(fastHTTP(), httpx.WithAuthorizer(httpx.NewStaticToken("Bearer", "tok-123", nil)), httpx.WithLogger(discardLogger()))
	c, err := NewClient(hc, srv.URL, ParamsInBody)
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Report: mustReport(t, ReportUserUsage), From: time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 4, 11, 0, 0, 0, time.UTC)}
	recs, err := c.Records(context.Background(), q, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || string(recs[2]) != `{"a":3}` || calls.Load() != 3 {
		t.Fatalf("records %q after %d calls", recs, calls.Load())
	}
	recs, err = c.Records(context.Background(), q, 2)
	if err != nil || len(recs) != 2 {
		t.Fatalf("with limit 2: %q, %v", recs, err)
	}
}

func TestClientRecordsErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		retries bool
	}{
		{"bad request", http.StatusBadRequest, `{"status":400,"detail":"fromDate is required"}`, "400 Bad Request", false},
		{"not JSON", http.StatusOK, `<html>hi</html>`, "decode report response", false},
		{"no records", http.StatusOK, `{"message":"too large"}`, "no records array", false},
		{"gateway", http.StatusBadGateway, `<html>502</html>`, "502 Bad Gateway", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			cfg := fastHTTP()
			cfg.MaxElapsed = 50 * time.Millisecond
			c, err := NewClient(httpx.New(cfg, httpx.WithLogger(discardLogger())), srv.URL, ParamsInBody)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Records(context.Background(), Query{Report: mustReport(t, ReportAudit), From: t0, To: t0.Add(time.Hour)}, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "fetch aveva audit 2024-03-04T00:00:00 to 2024-03-04T01:00:00: ") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if (calls.Load() > 1) != tt.retries {
				t.Errorf("%d calls; retried = %v, want %v", calls.Load(), calls.Load() > 1, tt.retries)
			}
		})
	}
}
