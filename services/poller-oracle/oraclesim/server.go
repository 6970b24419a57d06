package oraclesim

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/auditstream/auditstream/shared/simkit"
)

// Status values of the "status" member of every JSON answer.
const (
	statusRunning  = -1 // the job is running (and a submit's answer)
	statusOK       = 0
	statusError    = 1 // a failed job, a bad request, a limit or a fault
	statusNotFound = 8 // no such snapshot, job or resource
	statusAuth     = 9 // authentication failed
)

// authFailed is the details of every 401.
const authFailed = "EPMCSS-00301: Failed to authenticate. Invalid credentials."

// Server simulates the EPM Cloud REST API of one service instance as far
// as the User Audit Report needs it. It is an http.Handler; its methods
// are safe for concurrent use.
type Server struct {
	cfg       Config
	basicUser string // the Basic user name: [domain.]username
	appID     string // the encrypted application id on the report's first line

	st  store
	gen *generator // guarded by st.mu

	tokens  *simkit.Tokens
	faults  *simkit.Faults
	limitMu sync.Mutex
	limiter *rate.Limiter // nil: no rate limit
	handler http.Handler  // route, logged

	mu        sync.Mutex // guards the fields below
	rng       *rand.Rand // job run times and outcomes, lost submits
	jobs      map[string]*job
	order     []*job // every job in creation order
	running   []*job // jobs not yet ended (including hung ones)
	snapshots map[string]*snapshot
	perRange  map[[2]string]int
	queued    []outcome // FailNextJobs, HangNextJobs
	loseNext  int       // LoseNextSubmits

	stats struct {
		requests, badRequests, unauthorized, rateLimited, serverErrors,
		jobs, duplicateJobs, jobsSucceeded, jobsFailed, jobsHung, lostSubmits,
		downloads, notReady, deletes, loginReports atomic.Int64
	}
}

// snapshot is a report file ready for download.
type snapshot struct {
	name    string
	zip     []byte
	rows    int
	created time.Time
}

// Stats counts what the server has answered and done.
type Stats struct {
	// Requests is the number of API requests received (every path under
	// /interop/rest/; not the token endpoint).
	Requests int64
	// BadRequests is the number answered 400, 404, 405 or 415, except the
	// downloads answered 404 (NotReady).
	BadRequests int64
	// Unauthorized is the number answered 401.
	Unauthorized int64
	// RateLimited is the number answered 429, by the rate limit or
	// FailNext.
	RateLimited int64
	// ServerErrors is the number answered 5xx: injected faults and lost
	// submits.
	ServerErrors int64
	// Jobs is the number of report jobs created, lost submits included.
	Jobs int64
	// DuplicateJobs is the number of jobs created for a (since, until)
	// range that already had a job.
	DuplicateJobs int64
	// JobsSucceeded, JobsFailed and JobsHung count the jobs that ended
	// with a file, ended with status 1, and were chosen never to end.
	JobsSucceeded, JobsFailed, JobsHung int64
	// LostSubmits is the number of submits that created a job and were
	// answered 502.
	LostSubmits int64
	// Downloads is the number of files downloaded (answered 200).
	Downloads int64
	// NotReady is the number of downloads answered 404: a name without a
	// file (job running, failed, file deleted, never submitted).
	NotReady int64
	// Deletes is the number of files deleted (answered 200).
	Deletes int64
	// Snapshots is the number of files that exist now (not deleted).
	Snapshots int64
	// LoginReports is the number of User Login Reports answered 200.
	LoginReports int64
	// TokensIssued is the number of OAuth2 access tokens issued.
	TokensIssued int64
}

// New returns a Server with no logins; fill it with Generate, Add or
// StartGrowing. It panics on a Config that Validate rejects.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic("oraclesim: " + err.Error())
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		basicUser: cfg.Username,
		tokens: simkit.NewTokens(simkit.TokenConfig{
			Realm: "oraclesim", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			TTL: cfg.TokenTTL, Clock: cfg.Clock,
		}),
		faults:    simkit.NewFaults(simkit.FaultConfig{Seed: cfg.Seed, Rate: cfg.FaultRate, Statuses: cfg.FaultStatuses}),
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6a6f6273)),
		jobs:      map[string]*job{},
		snapshots: map[string]*snapshot{},
		perRange:  map[[2]string]int{},
		gen:       newGenerator(cfg.Seed),
	}
	if cfg.IdentityDomain != "" {
		s.basicUser = cfg.IdentityDomain + "." + cfg.Username
	}
	if cfg.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.Burst)
	}
	id := make([]byte, 40)
	for i := range id {
		id[i] = byte(s.rng.UintN(256))
	}
	s.appID = base64.StdEncoding.EncodeToString(id)
	s.st.days = map[int64]*day{}
	s.handler = simkit.Logged(cfg.Logger, http.HandlerFunc(s.route))
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP answers the token endpoint and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ApplicationID returns the encrypted application id the report's second
// line holds, without its quotes.
func (s *Server) ApplicationID() string { return s.appID }

// FailNext makes the next n API requests within the rate limit fail with
// status before anything else happens (429 and 503 carry Retry-After: 1,
// 502 and 504 a gateway's HTML page, others the JSON error body). Calls
// queue up in order.
func (s *Server) FailNext(n int, status int) { s.faults.FailNext(n, status) }

// Stats returns the counters so far, after ending the jobs whose time has
// come.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	s.advanceLocked(s.cfg.Clock())
	snaps := len(s.snapshots)
	s.mu.Unlock()
	return Stats{
		Requests:      s.stats.requests.Load(),
		BadRequests:   s.stats.badRequests.Load(),
		Unauthorized:  s.stats.unauthorized.Load(),
		RateLimited:   s.stats.rateLimited.Load(),
		ServerErrors:  s.stats.serverErrors.Load(),
		Jobs:          s.stats.jobs.Load(),
		DuplicateJobs: s.stats.duplicateJobs.Load(),
		JobsSucceeded: s.stats.jobsSucceeded.Load(),
		JobsFailed:    s.stats.jobsFailed.Load(),
		JobsHung:      s.stats.jobsHung.Load(),
		LostSubmits:   s.stats.lostSubmits.Load(),
		Downloads:     s.stats.downloads.Load(),
		NotReady:      s.stats.notReady.Load(),
		Deletes:       s.stats.deletes.Load(),
		Snapshots:     int64(snaps),
		LoginReports:  s.stats.loginReports.Load(),
		TokensIssued:  s.tokens.Issued(),
	}
}

// Snapshots returns the names of the files that exist (created by a job
// and not deleted), sorted.
func (s *Server) Snapshots() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.cfg.Clock())
	out := make([]string, 0, len(s.snapshots))
	for name := range s.snapshots {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// errorBody is every JSON error answer.
type errorBody struct {
	Status  int    `json:"status"`
	Details string `json:"details"`
}

// fail answers an API request with status and counts it: the gateway's
// page for 502 and 504, otherwise {"status":code,"details":details}.
func (s *Server) fail(w http.ResponseWriter, status, code int, details string) {
	switch {
	case status == http.StatusUnauthorized:
		s.stats.unauthorized.Add(1)
	case status == http.StatusTooManyRequests:
		s.stats.rateLimited.Add(1)
	case status >= 500:
		s.stats.serverErrors.Add(1)
	default:
		s.stats.badRequests.Add(1)
	}
	if !simkit.WriteFailure(w, status) {
		simkit.WriteJSON(w, status, errorBody{Status: code, Details: details})
	}
}

// route answers a request: the token endpoint, or an API path after the
// rate limit, injected faults and authentication.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			simkit.WriteJSON(w, http.StatusMethodNotAllowed, simkit.OAuthError{Error: "invalid_request", ErrorDescription: "the token endpoint takes POST"})
			return
		}
		s.tokens.ServeHTTP(w, r)
		return
	}
	tail, ok := strings.CutPrefix(r.URL.EscapedPath(), RESTPrefix)
	if !ok {
		s.fail(w, http.StatusNotFound, statusNotFound, "EPMCSS-00404: Resource not found: "+r.URL.Path)
		return
	}
	s.stats.requests.Add(1)
	if !s.admit(w, r) {
		return
	}
	segs := strings.Split(tail, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			s.fail(w, http.StatusBadRequest, statusError, "EPMCSS-00400: Malformed URL path: "+err.Error())
			return
		}
		segs[i] = v
	}
	switch {
	case is(segs, "security", "v1", "report", "userloginreport"):
		if s.method(w, r, http.MethodGet) {
			s.handleLoginReport(w, r)
		}
	case is(segs, "*", "reports"):
		if s.version(w, segs[0], APIVersion, "reports") && s.method(w, r, http.MethodPost) {
			s.handleSubmit(w, r)
		}
	case is(segs, "*", "jobs", "*"):
		if s.version(w, segs[0], LCMVersion, "jobs") && s.method(w, r, http.MethodGet) {
			s.handleJobStatus(w, r, segs[2])
		}
	case is(segs, "*", "applicationsnapshots", "*", "contents"):
		if s.version(w, segs[0], LCMVersion, "applicationsnapshots") && s.method(w, r, http.MethodGet) {
			s.handleDownload(w, segs[2])
		}
	case is(segs, "*", "applicationsnapshots", "*"):
		if s.version(w, segs[0], LCMVersion, "applicationsnapshots") && s.method(w, r, http.MethodDelete) {
			s.handleDelete(w, segs[2])
		}
	default:
		s.fail(w, http.StatusNotFound, statusNotFound, "EPMCSS-00404: Resource not found: "+r.URL.Path)
	}
}

// is reports whether the path segments are names exactly; "*" matches any
// non-empty segment.
func is(segs []string, names ...string) bool {
	if len(segs) != len(names) {
		return false
	}
	for i, n := range names {
		if (n == "*" && segs[i] == "") || (n != "*" && segs[i] != n) {
			return false
		}
	}
	return true
}

// version answers 404 and reports false unless got is want.
func (s *Server) version(w http.ResponseWriter, got, want, resource string) bool {
	if got == want {
		return true
	}
	s.fail(w, http.StatusNotFound, statusNotFound, fmt.Sprintf("EPMCSS-00404: Resource not found: version %q of %s; this resource is version %s.", got, resource, want))
	return false
}

// method answers 405 and reports false unless r uses method.
func (s *Server) method(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	s.fail(w, http.StatusMethodNotAllowed, statusError, fmt.Sprintf("EPMCSS-00405: Method %s is not allowed; this resource takes %s.", r.Method, method))
	return false
}

// admit applies the rate limit, injected faults and authentication, and
// answers the request when one of them stops it.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if retryAfter, limited := s.limit(); limited {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		s.fail(w, http.StatusTooManyRequests, statusError, fmt.Sprintf("EPMCSS-00429: Too many requests. Retry after %d seconds.", retryAfter))
		return false
	}
	if status, _ := s.faults.Next(); status != 0 {
		s.fail(w, status, statusError, fmt.Sprintf("EPMCSS-00500: %s. Try again later.", http.StatusText(status)))
		return false
	}
	return s.authorize(w, r)
}

// limit takes one request from the bucket; when it is empty it reports
// true and the whole seconds after which a request will pass.
func (s *Server) limit() (retryAfter int, limited bool) {
	if s.limiter == nil {
		return 0, false
	}
	now := s.cfg.Clock()
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	res := s.limiter.ReserveN(now, 1)
	if !res.OK() {
		return 1, true
	}
	d := res.DelayFrom(now)
	if d <= 0 {
		return 0, false
	}
	res.CancelAt(now)
	return max(1, int(math.Ceil(d.Seconds()))), true
}

// baseURL returns the scheme and host links start with.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// link is one element of "links".
type link struct {
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Data   any    `json:"data"`
	Action string `json:"action"`
}

// handleDownload answers GET …/applicationsnapshots/{name}/contents.
func (s *Server) handleDownload(w http.ResponseWriter, name string) {
	s.mu.Lock()
	s.advanceLocked(s.cfg.Clock())
	snap := s.snapshots[name]
	s.mu.Unlock()
	if snap == nil {
		s.stats.notReady.Add(1)
		simkit.WriteJSON(w, http.StatusNotFound, errorBody{Status: statusNotFound, Details: fmt.Sprintf("EPMCSS-20700: Snapshot %s not found.", name)})
		return
	}
	s.stats.downloads.Add(1)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(snap.zip)))
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(snap.zip)
}

// handleDelete answers DELETE …/applicationsnapshots/{name}.
func (s *Server) handleDelete(w http.ResponseWriter, name string) {
	s.mu.Lock()
	s.advanceLocked(s.cfg.Clock())
	_, ok := s.snapshots[name]
	delete(s.snapshots, name)
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, statusNotFound, fmt.Sprintf("EPMCSS-20700: Snapshot %s not found.", name))
		return
	}
	s.stats.deletes.Add(1)
	simkit.WriteJSON(w, http.StatusOK, struct {
		Status  int     `json:"status"`
		Details *string `json:"details"`
	}{Status: statusOK})
}

// loginItem is one row of the User Login Report.
type loginItem struct {
	UserLogin  string `json:"userLogin"`
	UserName   string `json:"userName"`
	IPAddress  string `json:"ipAddress"`
	AccessTime string `json:"accessTime"`
}

// handleLoginReport answers GET /interop/rest/security/v1/report/userloginreport.
func (s *Server) handleLoginReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.cfg.Clock()
	fromV, toV := q.Get("from_date"), q.Get("to_date")
	if fromV == "" || toV == "" {
		s.fail(w, http.StatusBadRequest, statusError, "Invalid date range: from_date and to_date are required, as YYYY-MM-DD.")
		return
	}
	from, err1 := time.Parse(DateLayout, fromV)
	to, err2 := time.Parse(DateLayout, toV)
	if err1 != nil || err2 != nil {
		s.fail(w, http.StatusBadRequest, statusError, fmt.Sprintf("Invalid date range: from_date %q and to_date %q must be dates YYYY-MM-DD.", fromV, toV))
		return
	}
	if msg := s.checkRange(from, to, now, "from_date", "to_date"); msg != "" {
		s.fail(w, http.StatusBadRequest, statusError, msg)
		return
	}
	rows := s.st.report(from, to, now)
	s.stats.loginReports.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(`{"status":0,"details":null,"` + s.cfg.LoginReportKey + `":[`)
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	enc.SetEscapeHTML(false)
	for i, row := range rows {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		item.Reset()
		_ = enc.Encode(loginItem{UserLogin: row.Login, UserName: row.Name, IPAddress: row.IP, AccessTime: row.Time.UTC().Format(AccessTimeLayout)})
		_, _ = bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}

// checkRange returns the details of a 400 for the report range of the
// days since to until at now, or "" when it is valid: until not before
// since, since not older than the retention, until not after today (UTC).
func (s *Server) checkRange(since, until, now time.Time, sinceName, untilName string) string {
	today := dayStart(now)
	oldest := today.AddDate(0, 0, -s.cfg.RetentionDays)
	prefix := "Invalid date range"
	if sinceName == "since" {
		prefix = "EPMCSS-20641: Invalid date range"
	}
	switch {
	case until.Before(since):
		return fmt.Sprintf("%s: %s %s is before %s %s.", prefix, untilName, until.Format(DateLayout), sinceName, since.Format(DateLayout))
	case since.Before(oldest):
		return fmt.Sprintf("%s: %s %s is older than %d days; the oldest day available is %s.", prefix, sinceName, since.Format(DateLayout), s.cfg.RetentionDays, oldest.Format(DateLayout))
	case until.After(today):
		return fmt.Sprintf("%s: %s %s is in the future; the latest day available is today, %s (UTC).", prefix, untilName, until.Format(DateLayout), today.Format(DateLayout))
	}
	return ""
}
