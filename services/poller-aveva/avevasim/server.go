package avevasim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// maxBody bounds a request body the server reads.
const maxBody = 1 << 20

// Server simulates the Report data REST API of one AVEVA CONNECT account.
// It is an http.Handler; its methods are safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux
	st  store

	tokens  *simkit.Tokens
	faults  *simkit.Faults
	handler http.Handler // mux, logged

	servedMu sync.Mutex
	served   []Served

	stats struct {
		requests, ok, truncated, badRequests, unauthorized, rateLimited, serverErrors atomic.Int64
	}
}

// Stats counts what the server has answered.
type Stats struct {
	// Requests is the number of report requests received.
	Requests int64
	// OK is the number of report requests answered 200.
	OK int64
	// Truncated is the number of 200 answers that left records of their
	// window out because of the cap.
	Truncated int64
	// BadRequests is the number answered 400 or 404.
	BadRequests int64
	// Unauthorized is the number answered 401.
	Unauthorized int64
	// RateLimited is the number answered 429, by the rate limit or FailNext.
	RateLimited int64
	// ServerErrors is the number answered 5xx (all injected).
	ServerErrors int64
	// TokensIssued is the number of access tokens issued.
	TokensIssued int64
	// TokensRejected is the number of token requests answered 400 or 401.
	TokensRejected int64
}

// Served is one report request answered 200.
type Served struct {
	// Report is the report requested.
	Report string
	// From and To are the window requested, UTC.
	From, To time.Time
	// Records is the number of records returned.
	Records int
	// Truncated reports that more records matched than were returned.
	Truncated bool
}

// New returns a Server with no records. Fill it with Add or Generate.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg,
		mux: http.NewServeMux(),
		tokens: simkit.NewTokens(simkit.TokenConfig{
			Realm: "avevasim", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TTL: cfg.TokenTTL,
			StaticToken: cfg.StaticToken, RateLimit: cfg.RateLimit, Burst: cfg.Burst, Clock: cfg.Clock,
		}),
		faults: simkit.NewFaults(simkit.FaultConfig{Seed: cfg.Seed, Rate: cfg.FaultRate, Statuses: cfg.FaultStatuses}),
	}
	s.st.reports = map[string][]*entry{}
	s.st.gen = newGenerator(cfg)
	s.mux.Handle("POST "+TokenPath, s.tokens)
	s.mux.HandleFunc("POST "+IntegrationPath+"{report}", s.handleUsage)
	s.mux.HandleFunc("GET "+AuditPath, s.handleAudit)
	s.handler = simkit.Logged(cfg.Logger, s.mux)
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP answers the token endpoint and the report endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:       s.stats.requests.Load(),
		OK:             s.stats.ok.Load(),
		Truncated:      s.stats.truncated.Load(),
		BadRequests:    s.stats.badRequests.Load(),
		Unauthorized:   s.stats.unauthorized.Load(),
		RateLimited:    s.stats.rateLimited.Load(),
		ServerErrors:   s.stats.serverErrors.Load(),
		TokensIssued:   s.tokens.Issued(),
		TokensRejected: s.tokens.Rejected(),
	}
}

// Served returns the report requests answered 200 so far, in order.
func (s *Server) Served() []Served {
	s.servedMu.Lock()
	defer s.servedMu.Unlock()
	return slices.Clone(s.served)
}

// RotateStaticToken replaces Config.StaticToken: the old token is
// answered 401 from now on, as after a rotation by the account's admin.
func (s *Server) RotateStaticToken(token string) { s.tokens.RotateStaticToken(token) }

// FailNext makes the next n authorized report requests fail with status
// (any status; 429 and 503 carry Retry-After: 1, 502 and 504 an HTML
// body). Calls queue up.
func (s *Server) FailNext(n int, status int) { s.faults.FailNext(n, status) }

// problem is the JSON body of every non-200 report answer but the gateway
// errors 502 and 504.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// fail answers a report request with status and counts it.
func (s *Server) fail(w http.ResponseWriter, status int, detail string) {
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
		simkit.WriteJSON(w, status, problem{Status: status, Title: http.StatusText(status), Detail: detail})
	}
}

// handleUsage answers POST /reports/v1/integration/{report}.
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	report := r.PathValue("report")
	if report == Audit || !slices.Contains(Reports, report) {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no report %q; the integration reports are creditsTransaction, userUsage, serviceUsage and resourceUsage", report))
		return
	}
	if !s.admit(w, r) {
		return
	}
	params, err := usageParams(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := parseUsage(report, params)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.answer(w, q)
}

// handleAudit answers GET /reports/v1/audit.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	if !s.admit(w, r) {
		return
	}
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 1 {
			s.fail(w, http.StatusBadRequest, fmt.Sprintf("parameter %s is given %d times; give it once", k, len(vs)))
			return
		}
		params[k] = vs[0]
	}
	q, err := parseAudit(params)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.answer(w, q)
}

// admit checks authorization, the rate limit and injected faults, and
// answers the request when one of them stops it.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	token, ok := s.authorize(w, r)
	if !ok {
		return false
	}
	if d, limited := s.tokens.Limit(token); limited {
		w.Header().Set("Retry-After", strconv.Itoa(d))
		s.fail(w, http.StatusTooManyRequests, fmt.Sprintf("rate limit exceeded, retry after %d s", d))
		return false
	}
	if status, _ := s.faults.Next(); status != 0 {
		s.fail(w, status, http.StatusText(status))
		return false
	}
	return true
}

// usageParams returns the parameters of a usage request: the URL query,
// overridden by the members of a JSON object body.
func usageParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 1 {
			return nil, fmt.Errorf("parameter %s is given %d times; give it once", k, len(vs))
		}
		params[k] = vs[0]
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the request body: %v", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the request body is larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, fmt.Errorf("the request body is %s; send parameters as application/json", ct)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, fmt.Errorf("the request body is not a JSON object of parameters")
	}
	for k, v := range members {
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return nil, fmt.Errorf("parameter %s must be a string", k)
		}
		params[k] = str
	}
	return params, nil
}

// parseUsage validates the parameters of a usage report.
func parseUsage(report string, params map[string]string) (query, error) {
	q := query{report: report}
	if err := checkParams(report, params, []string{"fromDate", "toDate"}); err != nil {
		return q, err
	}
	var err error
	if q.from, err = parseDateTime(params, "fromDate"); err != nil {
		return q, err
	}
	if q.to, err = parseDateTime(params, "toDate"); err != nil {
		return q, err
	}
	if q.from.After(q.to) {
		return q, fmt.Errorf("fromDate %s is after toDate %s", params["fromDate"], params["toDate"])
	}
	q.filters = filterValues(report, params)
	return q, nil
}

// parseAudit validates the parameters of the audit report.
func parseAudit(params map[string]string) (query, error) {
	q := query{report: Audit}
	if err := checkParams(Audit, params, []string{"range", "from", "to", "offset", "locale"}); err != nil {
		return q, err
	}
	switch rg, ok := params["range"]; {
	case !ok || rg == "":
		return q, fmt.Errorf("range is required; use range=Custom with from and to")
	case !strings.EqualFold(rg, "Custom"):
		return q, fmt.Errorf("range %q is not supported; use range=Custom with from and to", rg)
	}
	var err error
	if q.from, err = parseDateTime(params, "from"); err != nil {
		return q, err
	}
	if q.to, err = parseDateTime(params, "to"); err != nil {
		return q, err
	}
	if q.from.After(q.to) {
		return q, fmt.Errorf("from %s is after to %s", params["from"], params["to"])
	}
	if v, ok := params["offset"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < -840 || n > 840 {
			return q, fmt.Errorf("offset %q must be whole minutes from -840 to 840, e.g. -330", v)
		}
		q.offset = n
	}
	if v, ok := params["locale"]; ok {
		if !validLocale(v) {
			return q, fmt.Errorf("locale %q is not a culture name such as en-US", v)
		}
		q.locale = v
	}
	q.filters = filterValues(Audit, params)
	return q, nil
}

// checkParams fails on a parameter report does not accept and on a
// missing mandatory one.
func checkParams(report string, params map[string]string, own []string) error {
	for k := range params {
		if !slices.Contains(own, k) && !slices.Contains(filters[report], k) {
			return fmt.Errorf("parameter %q is not accepted by the %s report; it accepts %s", k, report, strings.Join(append(slices.Clone(own), filters[report]...), ", "))
		}
	}
	return nil
}

// filterValues returns the filters set in params, lower-cased.
func filterValues(report string, params map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range filters[report] {
		if v, ok := params[f]; ok && v != "" {
			out[f] = strings.ToLower(v)
		}
	}
	return out
}

// dateTimeLayouts are the DateTime forms the server accepts (all UTC).
var dateTimeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05Z", "2006-01-02"}

// parseDateTime parses the mandatory DateTime parameter name.
func parseDateTime(params map[string]string, name string) (time.Time, error) {
	v, ok := params[name]
	if !ok || v == "" {
		return time.Time{}, fmt.Errorf("%s is required, e.g. %s=2023-09-15T13:30:00", name, name)
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a DateTime; write it in UTC like 2023-09-15T13:30:00", name, v)
}

// validLocale reports whether s looks like a culture name: letters and
// digits in parts of 1 to 8 separated by '-'.
func validLocale(s string) bool {
	for _, part := range strings.Split(s, "-") {
		if len(part) < 1 || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// answer writes the records q selects in the report's shape, at most
// MaxRecords of them.
func (s *Server) answer(w http.ResponseWriter, q query) {
	entries, more := s.execute(q, s.cfg.MaxRecords)
	s.stats.ok.Add(1)
	if more {
		s.stats.truncated.Add(1)
	}
	s.servedMu.Lock()
	s.served = append(s.served, Served{Report: q.report, From: q.from, To: q.to, Records: len(entries), Truncated: more})
	s.servedMu.Unlock()

	head, tail := shape(q.report, len(entries))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(head)
	for i, e := range entries {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		raw := e.raw
		if e.audit != nil && (q.offset != 0 || q.locale != "") {
			raw = renderAudit(e.audit, e.t, q.offset, q.locale)
		}
		_, _ = bw.Write(raw)
	}
	_, _ = bw.WriteString(tail)
	_ = bw.Flush()
}

// shape returns what a report's response holds before and after its
// records, n of them.
func shape(report string, n int) (head, tail string) {
	switch report {
	case UserUsage:
		return `{"data":[`, `],"count":` + strconv.Itoa(n) + `}`
	case ServiceUsage:
		return `{"count":` + strconv.Itoa(n) + `,"items":[`, `]}`
	case ResourceUsage:
		return `{"@odata.context":"https://services.connect.aveva.com/reports/v1/$metadata#resourceUsage","value":[`, `]}`
	case Audit:
		return `{"status":"OK","result":[`, `]}`
	default:
		return `[`, `]`
	}
}
