package revenerasim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fake clock's start: a Thursday afternoon, so that the
// last 40 days reach into October and November has ended.
var testNow = time.Date(2026, 12, 3, 14, 5, 9, 0, time.UTC)

// Products of the default Config.
var (
	large = DefaultProducts[0].ID
	small = DefaultProducts[1].ID
)

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

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a simulator behind an httptest server, with a fake clock.
type env struct {
	t     *testing.T
	sim   *Server
	ts    *httptest.Server
	clock *fakeClock
}

// newEnv returns an env with cfg; unless cfg sets them, Cookie Missing
// never happens at random and the rate limit is off, so that tests that
// are not about them are not disturbed.
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := &fakeClock{t: testNow}
	cfg.Clock = clock.Now
	if cfg.CookieMissingRate == 0 {
		cfg.CookieMissingRate = -1
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	sim := New(cfg)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, sim: sim, ts: ts, clock: clock}
}

// apiClient is an API client with its own cookie jar.
type apiClient struct {
	e    *env
	http *http.Client
}

func (e *env) client() *apiClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &apiClient{e: e, http: &http.Client{Jar: jar}}
}

// call sends a /v3 request with the headers the vendor requires (Origin
// DefaultOrigin unless origin is given) and returns the status and body.
func (c *apiClient) call(method, path, body string, origin ...string) (*http.Response, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	o := DefaultOrigin
	if len(origin) > 0 {
		o = origin[0]
	}
	if o != "" {
		req.Header.Set("Origin", o)
	}
	req.Header.Set(HeaderClient, "auditstream-test")
	req.Header.Set(HeaderClientVersion, "0.0.1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp, b
}

// credentials is the logon body of the default user.
func credentials(password string) string {
	return fmt.Sprintf(`{"userName":%q,"password":%q}`, DefaultUsername, password)
}

// csrf gets a CSRF cookie.
func (c *apiClient) csrf() {
	c.e.t.Helper()
	if resp, body := c.call(http.MethodGet, CSRFPath, ""); resp.StatusCode != http.StatusNoContent {
		c.e.t.Fatalf("request-csrf: %d %s", resp.StatusCode, body)
	}
}

// logon gets a CSRF cookie and logs on; it fails the test unless the
// logon answers 200.
func (c *apiClient) logon() LogonResponse {
	c.e.t.Helper()
	c.csrf()
	resp, body := c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	var lr LogonResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &lr) != nil {
		c.e.t.Fatalf("logon: %d %s", resp.StatusCode, body)
	}
	return lr
}

// messageOf returns the message of an error body.
func messageOf(t *testing.T, body []byte) string {
	t.Helper()
	var m message
	if err := json.Unmarshal(body, &m); err != nil || m.Message == "" {
		t.Fatalf("error body %s is not {\"message\"}", body)
	}
	return m.Message
}

// wantStatus fails the test unless resp has status (and, when msg is not
// empty, the message msg).
func wantStatus(t *testing.T, what string, resp *http.Response, body []byte, status int, msg string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, body)
	}
	if msg != "" {
		if got := messageOf(t, body); got != msg {
			t.Fatalf("%s: message %q, want %q", what, got, msg)
		}
	}
}

// listing is a decoded listFiles answer with object entries.
type listing struct {
	Open    []fileJSON `json:"openDailyFiles"`
	Daily   []fileJSON `json:"dailyFiles"`
	Monthly []fileJSON `json:"monthlyFiles"`
}

// list calls listFiles of kind.
func (c *apiClient) list(product int64, kind string) listing {
	c.e.t.Helper()
	resp, body := c.call(http.MethodGet, fmt.Sprintf("/v3/%s/listFiles/%d", kindPath(kind), product), "")
	wantStatus(c.e.t, "listFiles", resp, body, http.StatusOK, "")
	var l listing
	if err := json.Unmarshal(body, &l); err != nil {
		c.e.t.Fatalf("listFiles answer %s: %v", body, err)
	}
	return l
}

// url asks for the download URL of name.
func (c *apiClient) url(product int64, kind, name string) DownloadURLResponse {
	c.e.t.Helper()
	resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/%s/getDownloadUrl/%d", kindPath(kind), product), fmt.Sprintf(`{"fileName":%q}`, name))
	wantStatus(c.e.t, "getDownloadUrl "+name, resp, body, http.StatusOK, "")
	var u DownloadURLResponse
	if err := json.Unmarshal(body, &u); err != nil {
		c.e.t.Fatal(err)
	}
	return u
}

// fetch downloads url with no cookies and no headers.
func (e *env) fetch(url string) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// download gets a URL for name and downloads it.
func (c *apiClient) download(product int64, kind, name string) []byte {
	c.e.t.Helper()
	resp, body := c.e.fetch(c.url(product, kind, name).URL)
	if resp.StatusCode != http.StatusOK {
		c.e.t.Fatalf("download %s: %d %s", name, resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Type") != "application/zip" || resp.ContentLength != int64(len(body)) {
		c.e.t.Fatalf("download %s: Content-Type %q, Content-Length %d for %d bytes", name, resp.Header.Get("Content-Type"), resp.ContentLength, len(body))
	}
	return body
}

// unzipCSV checks that data is a ZIP holding exactly entry, Deflate, and
// returns its raw CSV and its records.
func unzipCSV(t *testing.T, data []byte, entry string) (raw []byte, records [][]string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != entry || zr.File[0].Method != zip.Deflate {
		t.Fatalf("ZIP entries %v, want exactly %s, Deflate", zr.File, entry)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	raw, err = io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(raw))
	records, err = r.ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	return raw, records
}

// fieldsOf returns the fields of rows.
func fieldsOf(rows []Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Fields
	}
	return out
}

// day returns the UTC midnight of t's day plus n days.
func day(t time.Time, n int) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day()+n, 0, 0, 0, 0, time.UTC)
}

// fileName returns the name of a daily (period "2006-01-02") or monthly
// ("2006-01") file.
func fileName(product int64, kind, period string) string {
	return fmt.Sprintf("%d_%s_%s.zip", product, kind, period)
}
