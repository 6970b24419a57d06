package plmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// Paths the server answers.
const (
	TokenPath      = "/authentication/v2/token"
	systemLogsPath = "/api/v3/tenants/{tenant}/system-logs"
)

// Server simulates the Fusion Manage system-logs API of one tenant. It is an
// http.Handler; its methods are safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux
	st  store

	tokens  *simkit.Tokens
	faults  *simkit.Faults
	handler http.Handler // mux, logged

	stats struct {
		requests, ok, badRequests, unauthorized, rateLimited, serverErrors, slow atomic.Int64
	}
}

// Stats counts what the server has answered.
type Stats struct {
	// Requests is the number of system-logs requests received.
	Requests int64
	// OK is the number of system-logs requests answered 200.
	OK int64
	// BadRequests is the number answered 400, 404 (wrong tenant) or 406.
	BadRequests int64
	// Unauthorized is the number answered 401.
	Unauthorized int64
	// RateLimited is the number answered 429, by the rate limit or FailNext.
	RateLimited int64
	// ServerErrors is the number answered 5xx (all injected).
	ServerErrors int64
	// Slow is the number of responses delayed on purpose.
	Slow int64
	// TokensIssued is the number of access tokens issued.
	TokensIssued int64
	// TokensRejected is the number of token requests answered 400 or 401.
	TokensRejected int64
}

// New returns a Server with an empty log. Fill it with Generate, Append or
// Grow.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg,
		mux: http.NewServeMux(),
		tokens: simkit.NewTokens(simkit.TokenConfig{
			Realm: "plmsim", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TTL: cfg.TokenTTL,
			StaticToken: cfg.StaticToken, RateLimit: cfg.RateLimit, Burst: cfg.Burst, Clock: cfg.Clock,
		}),
		faults: simkit.NewFaults(simkit.FaultConfig{
			Seed: cfg.Seed, Rate: cfg.FaultRate, Statuses: cfg.FaultStatuses, SlowRate: cfg.SlowRate, SlowDelay: cfg.SlowDelay,
		}),
	}
	s.st.logs = map[string][]*entry{}
	s.st.gen = newGenerator(cfg)
	s.mux.Handle("POST "+TokenPath, s.tokens)
	s.mux.HandleFunc("GET "+systemLogsPath, s.handleSystemLogs)
	s.handler = simkit.Logged(cfg.Logger, s.mux)
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP answers the token endpoint and the system-logs endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:       s.stats.requests.Load(),
		OK:             s.stats.ok.Load(),
		BadRequests:    s.stats.badRequests.Load(),
		Unauthorized:   s.stats.unauthorized.Load(),
		RateLimited:    s.stats.rateLimited.Load(),
		ServerErrors:   s.stats.serverErrors.Load(),
		Slow:           s.stats.slow.Load(),
		TokensIssued:   s.tokens.Issued(),
		TokensRejected: s.tokens.Rejected(),
	}
}

// FailNext makes the next n authorized system-logs requests fail with status
// (any status; 429 and 503 carry Retry-After: 1, 502 and 504 an HTML body).
// Calls queue up: FailNext(1, 502) then FailNext(1, 503) fails one request
// with each, in that order.
func (s *Server) FailNext(n int, status int) { s.faults.FailNext(n, status) }

// SlowNext delays the answer to each of the next n authorized system-logs
// requests by d (real time), or until the client goes away.
func (s *Server) SlowNext(n int, d time.Duration) { s.faults.SlowNext(n, d) }

// apiError is the JSON body of every non-200 system-logs answer but the
// gateway errors 502 and 504.
type apiError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// fail answers a system-logs request with status and counts it.
func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
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
		simkit.WriteJSON(w, status, apiError{ErrorCode: code, Message: msg})
	}
}

// page is the JSON body of a system-logs answer. Items is always written
// last and empty; writePage splices the records in.
type page struct {
	Self       string            `json:"__self__"`
	Offset     int               `json:"offset"`
	Limit      int               `json:"limit"`
	TotalCount int               `json:"totalCount"`
	First      pageLink          `json:"first"`
	Next       pageLink          `json:"next"`
	Last       pageLink          `json:"last"`
	Items      []json.RawMessage `json:"items"`
}

// pageLink is a first, next or last link of a page.
type pageLink struct {
	Link    string `json:"link"`
	Title   string `json:"title"`
	Deleted bool   `json:"deleted"`
	Count   int    `json:"count"`
}

// handleSystemLogs answers GET /api/v3/tenants/{tenant}/system-logs.
func (s *Server) handleSystemLogs(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	token, ok := s.authorize(w, r)
	if !ok {
		return
	}
	if !strings.EqualFold(r.PathValue("tenant"), s.cfg.Tenant) {
		s.fail(w, http.StatusNotFound, "TENANT_NOT_FOUND", fmt.Sprintf("tenant %q not found", r.PathValue("tenant")))
		return
	}
	if d, limited := s.tokens.Limit(token); limited {
		w.Header().Set("Retry-After", fmt.Sprint(d))
		s.fail(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", fmt.Sprintf("rate limit exceeded, retry after %d s", d))
		return
	}
	status, delay := s.faults.Next()
	if delay > 0 {
		s.stats.slow.Add(1)
		if !simkit.Sleep(r.Context(), delay) {
			return
		}
	}
	if status != 0 {
		s.fail(w, status, "INJECTED_FAULT", http.StatusText(status))
		return
	}
	if !acceptsJSON(r.Header.Values("Accept")) {
		s.fail(w, http.StatusNotAcceptable, "NOT_ACCEPTABLE", "this endpoint answers Accept: application/json")
		return
	}
	q, err := parseQuery(r.URL.RawQuery, s.cfg.Location, s.cfg.MaxLimit)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}

	total, entries := s.execute(q, s.cfg.Clock())
	link := func(offset int) string {
		return fmt.Sprintf("/api/v3/tenants/%s/system-logs?offset=%d&limit=%d%s", s.cfg.Tenant, offset, q.limit, q.linkQuery)
	}
	count := func(offset int) int { return max(0, min(q.limit, total-offset)) }
	next := 0 // The vendor's quirk: from the last page, next points to the first.
	if q.offset < total-q.limit {
		next = q.offset + q.limit
	}
	last := 0
	if total > 0 {
		last = (total - 1) / q.limit * q.limit
	}
	s.stats.ok.Add(1)
	writePage(w, page{
		Self:       link(q.offset),
		Offset:     q.offset,
		Limit:      q.limit,
		TotalCount: total,
		First:      pageLink{Link: link(0), Title: "First", Count: count(0)},
		Next:       pageLink{Link: link(next), Title: "Next", Count: count(next)},
		Last:       pageLink{Link: link(last), Title: "Last", Count: count(last)},
	}, entries)
}

// writePage writes p with the raw records of entries as its items, copied
// byte for byte rather than re-encoded.
func writePage(w http.ResponseWriter, p page, entries []*entry) {
	p.Items = []json.RawMessage{}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	// head ends with "[]}": keep the "[" and splice the items in.
	head := bytes.TrimSuffix(hb.Bytes(), []byte("\n"))
	size := len(head) + len(entries)
	for _, e := range entries {
		size += len(e.rec.Raw)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, head[:len(head)-2]...)
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.rec.Raw...)
	}
	buf = append(buf, "]}"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

// acceptsJSON reports whether the Accept header values allow application/json.
// A request without Accept accepts anything.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/json", "application/*", "*/*":
				return true
			}
		}
	}
	return false
}
