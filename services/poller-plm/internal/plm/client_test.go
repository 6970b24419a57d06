package plm

import (
	"errors"
	"fmt"
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

func TestClientURL(t *testing.T) {
	hc := httpx.New(fastHTTP())
	tests := []struct {
		base, tenant string
		q            Query
		want         string
	}{
		{"https://acme.autodeskplm360.net", "ACME",
			Query{Type: "item", Offset: 2000, Limit: 1000, FromDate: "2024-03-03", ToDate: "2024-03-05"},
			"https://acme.autodeskplm360.net/api/v3/tenants/ACME/system-logs?filter%5Bfrom.date%5D=2024-03-03&filter%5Bto.date%5D=2024-03-05&limit=1000&offset=2000&sort=timestamp%20asc&type=item"},
		{"http://127.0.0.1:8090/plm/", "DEMO",
			Query{Type: "system", Limit: 10},
			"http://127.0.0.1:8090/plm/api/v3/tenants/DEMO/system-logs?limit=10&offset=0&sort=timestamp%20asc&type=system"},
		{"https://acme.example?x=1#frag", "A-1.b_c",
			Query{Type: "system", Limit: 1},
			"https://acme.example/api/v3/tenants/A-1.b_c/system-logs?limit=1&offset=0&sort=timestamp%20asc&type=system"},
	}
	for _, tt := range tests {
		c, err := NewClient(hc, tt.base, tt.tenant, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.URL(tt.q); got != tt.want {
			t.Errorf("URL(%+v) =\n %s\nwant\n %s", tt.q, got, tt.want)
		}
	}
	for _, base := range []string{"", "acme.example", "ftp://acme.example", "https://u:secret-pw@"} {
		if _, err := NewClient(hc, base, "ACME", ""); err == nil || strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("NewClient(%q): error %v, want one without the password", base, err)
		}
	}
}

func TestClientSystemLogs(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok-123" || r.Header.Get("X-user-id") != "svc@acme.com" ||
			r.Header.Get("Accept") != "application/json":
			http.Error(w, "missing headers", http.StatusBadRequest)
		case r.URL.Query().Get("sort") != "timestamp asc" || r.URL.Query().Get("filter[from.date]") != "2024-01-01":
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
		case n == 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
		default:
			fmt.Fprint(w, `{"offset":0,"limit":2,"totalCount":1,"items":[{"timestamp":"2024-01-01T01:02:03.004+01:00","action":"Log In"}]}`)
		}
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.BaseURL, cfg.ClientID, cfg.ClientSecret, cfg.AccessToken = srv.URL, "", "", "tok-123"
	c, err := NewClientFromConfig(&cfg, fastHTTP(), httpx.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.SystemLogs(t.Context(), Query{Type: "item", Limit: 2, FromDate: "2024-01-01", ToDate: "2024-01-02"})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want a retry after the 429", calls.Load())
	}
	if len(p.Items) != 1 || !p.Items[0].Time.Equal(time.Date(2024, 1, 1, 0, 2, 3, 4e6, time.UTC)) {
		t.Errorf("page %+v", p)
	}
}

func TestClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("type") {
		case "item":
			http.Error(w, `{"errorCode":"NOT_FOUND"}`, http.StatusNotFound)
		default:
			fmt.Fprint(w, `<html>gateway</html>`)
		}
	}))
	defer srv.Close()
	c, err := NewClient(httpx.New(fastHTTP(), httpx.WithLogger(discardLogger())), srv.URL, "ACME", "svc@acme.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SystemLogs(t.Context(), Query{Type: "item", Offset: 3000, Limit: 1000})
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || !strings.HasPrefix(err.Error(), "fetch system logs item offset 3000: ") {
		t.Errorf("404: error %v, want a wrapped *httpx.StatusError", err)
	}
	_, err = c.SystemLogs(t.Context(), Query{Type: "system", Offset: 0, Limit: 1000})
	if err == nil || !strings.HasPrefix(err.Error(), "fetch system logs system offset 0: decode system logs page: ") {
		t.Errorf("HTML body: error %v, want a wrapped decode error", err)
	}
}
