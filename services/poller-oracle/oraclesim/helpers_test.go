package oraclesim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fake clock's start: the open day is 2022-07-28.
var testNow = time.Date(2022, 7, 28, 18, 45, 0, 0, time.UTC)

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
	auth  func(*http.Request) // sets the credentials of every request
}

// quiet is the base Config of the tests: short jobs that do not fail, no
// rate limit.
func quiet(cfg Config) Config {
	if cfg.JobMin == 0 {
		cfg.JobMin, cfg.JobMax = 10*time.Millisecond, 50*time.Millisecond
	}
	if cfg.JobFailRate == 0 {
		cfg.JobFailRate = -1
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	return cfg
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clock := &fakeClock{t: testNow}
	cfg.Clock = clock.Now
	sim := New(cfg)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, sim: sim, ts: ts, clock: clock}
	e.auth = func(r *http.Request) { r.SetBasicAuth(DefaultUsername, DefaultPassword) }
	return e
}

// request sends method to target (a path or an absolute URL) with the
// env's credentials, then edit, and returns the response and its body.
func (e *env) request(method, target string, edit func(*http.Request)) (*http.Response, []byte) {
	e.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = e.ts.URL + target
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.auth(req)
	if edit != nil {
		edit(req)
	}
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

// q returns the URL-encoded q parameter of a submit.
func q(typ, fileName, since, until string) string {
	b, _ := json.Marshal(map[string]string{"type": typ, "fileName": fileName, "since": since, "until": until})
	return url.QueryEscape(string(b))
}

// submitQ posts a submit with the raw q value.
func (e *env) submitQ(rawQ string) (*http.Response, []byte) {
	e.t.Helper()
	return e.request(http.MethodPost, "/interop/rest/v1/reports?q="+rawQ, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
}

// submit posts a valid-looking submit of fileName for since..until.
func (e *env) submit(fileName, since, until string) (*http.Response, []byte) {
	e.t.Helper()
	return e.submitQ(q(ReportType, fileName, since, until))
}

// answer is a decoded JSON answer.
type answer struct {
	Status  int     `json:"status"`
	Details *string `json:"details"`
	Links   []struct {
		Rel, Href, Action string
		Data              any
	} `json:"links"`
	Items json.RawMessage `json:"items"`
}

func decode(t *testing.T, body []byte) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return a
}

func details(a answer) string {
	if a.Details == nil {
		return ""
	}
	return *a.Details
}

// mustSubmit submits and returns the Job Status link.
func (e *env) mustSubmit(fileName, since, until string) string {
	e.t.Helper()
	resp, body := e.submit(fileName, since, until)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("submit %s: %d %s", fileName, resp.StatusCode, body)
	}
	for _, l := range decode(e.t, body).Links {
		if l.Rel == "Job Status" {
			return l.Href
		}
	}
	e.t.Fatalf("no Job Status link in %s", body)
	return ""
}

// jobStatus polls href and returns the status and details.
func (e *env) jobStatus(href string) (int, string) {
	e.t.Helper()
	resp, body := e.request(http.MethodGet, href, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("job status: %d %s", resp.StatusCode, body)
	}
	a := decode(e.t, body)
	return a.Status, details(a)
}

// snapshotPath returns the path of a file name.
func snapshotPath(name string) string {
	return "/interop/rest/" + LCMVersion + "/applicationsnapshots/" + url.PathEscape(name)
}

// download gets the contents of name.
func (e *env) download(name string) (*http.Response, []byte) {
	e.t.Helper()
	return e.request(http.MethodGet, snapshotPath(name)+"/contents", nil)
}

// report is a decoded report file.
type report struct {
	entry  string
	raw    []byte // the CSV as stored
	appID  string
	header []string
	rows   [][]string
}

// readReport unzips a downloaded file and parses its CSV strictly.
func readReport(t *testing.T, z []byte) report {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("zip holds %d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Method != zip.Deflate {
		t.Errorf("entry method %d, want Deflate", f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep := report{entry: f.Name, raw: raw}
	rest, ok := bytes.CutPrefix(raw, []byte(bom))
	if !ok {
		t.Fatalf("no BOM: %q", raw[:min(len(raw), 20)])
	}
	line, rest, ok := bytes.Cut(rest, []byte("\r\n"))
	if !ok || len(line) < 3 || line[0] != '"' || line[len(line)-1] != '"' {
		t.Fatalf("application id line %q", line)
	}
	rep.appID = string(line[1 : len(line)-1])
	if bytes.Contains(bytes.ReplaceAll(rest, []byte("\r\n"), nil), []byte("\n")) {
		// Only quoted fields may hold a bare LF; the generated data has none.
		t.Errorf("a line ends in LF, not CRLF")
	}
	cr := csv.NewReader(bytes.NewReader(rest))
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("no header row")
	}
	rep.header, rep.rows = recs[0], recs[1:]
	return rep
}

// want renders rows as the classic report does, in report order.
func want(rows []Row) [][]string {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, byLogin)
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = fields(HeaderClassic, r)
	}
	return out
}

// date returns 00:00 UTC of the date s.
func date(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// at returns the UTC instant of "2006-01-02 15:04:05".
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}
