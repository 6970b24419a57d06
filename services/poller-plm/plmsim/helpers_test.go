package plmsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// testNow is the fake clock's start: a Sunday noon in New York.
var testNow = time.Date(2024, 12, 1, 17, 0, 0, 0, time.UTC)

// newYork is the default tenant zone.
var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

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

// env is a simulator behind an httptest server, with a fake clock and a token.
type env struct {
	t     *testing.T
	sim   *Server
	ts    *httptest.Server
	clock *fakeClock
	token string
}

// newEnv starts a simulator with cfg (its Clock replaced by a fake one at
// testNow) and obtains a token.
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := &fakeClock{t: testNow}
	cfg.Clock = clock.Now
	sim := New(cfg)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, sim: sim, ts: ts, clock: clock}
	e.token = e.newToken()
	return e
}

// newToken obtains an access token with the default credentials.
func (e *env) newToken() string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"data:read"}}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	resp, body := e.do(req)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: status %d: %s", resp.StatusCode, body)
	}
	var tr simkit.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		e.t.Fatalf("token: %v", err)
	}
	return tr.AccessToken
}

// do sends req and returns the response with its body read.
func (e *env) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// logsRequest builds an authorized system-logs request with query q, which
// is a raw query string or a link starting with /api/.
func (e *env) logsRequest(q string) *http.Request {
	target := e.ts.URL + "/api/v3/tenants/DEMO/system-logs?" + q
	if strings.HasPrefix(q, "/api/") {
		target = e.ts.URL + q
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("X-user-id", DefaultUserID)
	return req
}

// get sends an authorized system-logs request and returns status and body.
func (e *env) get(q string) (int, []byte) {
	e.t.Helper()
	resp, body := e.do(e.logsRequest(q))
	return resp.StatusCode, body
}

// testPage is a decoded system-logs answer.
type testPage struct {
	Self       string            `json:"__self__"`
	Offset     int               `json:"offset"`
	Limit      int               `json:"limit"`
	TotalCount int               `json:"totalCount"`
	First      pageLink          `json:"first"`
	Next       pageLink          `json:"next"`
	Last       pageLink          `json:"last"`
	Items      []json.RawMessage `json:"items"`
}

// page requests q and fails the test unless the answer is a 200 page.
func (e *env) page(q string) testPage {
	e.t.Helper()
	status, body := e.get(q)
	if status != http.StatusOK {
		e.t.Fatalf("GET ?%s: status %d: %s", q, status, body)
	}
	var p testPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatalf("GET ?%s: %v", q, err)
	}
	return p
}

// decoded is the part of a record tests look at.
type decoded struct {
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
	Action      string `json:"action"`
	User        struct {
		Link  string `json:"link"`
		Title string `json:"title"`
		Email string `json:"email"`
	} `json:"user"`
	Item *refJSON `json:"item"`
}

// decode decodes a served record.
func decode(t *testing.T, raw []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return d
}

// instant parses a served timestamp.
func instant(t *testing.T, raw []byte) time.Time {
	t.Helper()
	ts, err := time.Parse(timestampLayout, decode(t, raw).Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// pageAll follows offsets from 0 until totalCount with query q (without
// offset), and returns every item.
func (e *env) pageAll(q string, limit int) [][]byte {
	e.t.Helper()
	var out [][]byte
	for offset := 0; ; offset += limit {
		p := e.page(q + "&limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(offset))
		for _, it := range p.Items {
			out = append(out, []byte(it))
		}
		if offset+limit >= p.TotalCount {
			return out
		}
	}
}

// raws returns the Raw of each record.
func raws(recs []Record) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.Raw
	}
	return out
}

// sameRaws fails the test unless got and want are the same records in order.
func sameRaws(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}
