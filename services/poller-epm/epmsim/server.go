package epmsim

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// dateLayout is the only accepted form of DateFrom and DateTo.
const dateLayout = "2006-01-02T15:04:05Z"

// versionPattern is the form of the optional version path segment.
var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,3}$`)

// Server simulates the EPM API of one tenant. It is an http.Handler; its
// methods are safe for concurrent use.
type Server struct {
	cfg     Config
	st      store
	limiter *limiter

	authMu     sync.Mutex
	sessions   map[string]*session // token → session
	sessionSeq int64

	faults  *simkit.Faults
	handler http.Handler // route, logged

	stats struct {
		requests, ok, badRequests, unauthorized, forbidden, rateLimited, serverErrors,
		dispatcherMisses, logons, logonFailures, auditCalls, setsCalls atomic.Int64
	}
}

// Stats counts what the server has answered.
type Stats struct {
	// Requests is the number of manager API requests received.
	Requests int64
	// OK is the number answered 200.
	OK int64
	// BadRequests is the number answered 400 or 404 (an unknown path).
	BadRequests int64
	// Unauthorized is the number answered 401 (no, unknown or expired token).
	Unauthorized int64
	// Forbidden is the number answered 403 (a set the account cannot see).
	Forbidden int64
	// RateLimited is the number answered 429, by a limit or FailNext.
	RateLimited int64
	// ServerErrors is the number answered 5xx (all injected).
	ServerErrors int64
	// DispatcherMisses counts API calls sent to the dispatcher instead of
	// the manager.
	DispatcherMisses int64
	// Logons and LogonFailures count the logons answered 200 and not.
	Logons, LogonFailures int64
	// AuditCalls and SetsCalls count the admin audit and set list calls
	// answered 200.
	AuditCalls, SetsCalls int64
}

// New returns a Server with no sets. Add them with AddSet and fill them
// with Generate, Append or Grow.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		limiter:  newLimiter(cfg.Limits),
		sessions: map[string]*session{},
		faults:   simkit.NewFaults(simkit.FaultConfig{Seed: cfg.Seed, Rate: cfg.FaultRate, Statuses: cfg.FaultStatuses}),
	}
	s.handler = simkit.Logged(cfg.Logger, http.HandlerFunc(s.route))
	s.st.byID = map[string]*simSet{}
	s.st.gen = newGenerator(cfg.Seed)
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:         s.stats.requests.Load(),
		OK:               s.stats.ok.Load(),
		BadRequests:      s.stats.badRequests.Load(),
		Unauthorized:     s.stats.unauthorized.Load(),
		Forbidden:        s.stats.forbidden.Load(),
		RateLimited:      s.stats.rateLimited.Load(),
		ServerErrors:     s.stats.serverErrors.Load(),
		DispatcherMisses: s.stats.dispatcherMisses.Load(),
		Logons:           s.stats.logons.Load(),
		LogonFailures:    s.stats.logonFailures.Load(),
		AuditCalls:       s.stats.auditCalls.Load(),
		SetsCalls:        s.stats.setsCalls.Load(),
	}
}

// FailNext makes the next n authorized manager calls within the rate
// limits fail with status (429 and 503 carry Retry-After: 1, 502 and 504 an
// HTML body). Calls queue up in order.
func (s *Server) FailNext(n int, status int) { s.faults.FailNext(n, status) }

// ServeHTTP routes a request to the dispatcher or the manager.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// apiPath splits the path after "EPM/API/" into the optional version and
// the rest; ok is false for a path outside the API.
func apiPath(path string) (version string, rest []string, ok bool) {
	tail, found := strings.CutPrefix(path, "/EPM/API/")
	if !found {
		return "", nil, false
	}
	rest = strings.Split(strings.TrimSuffix(tail, "/"), "/")
	if len(rest) > 0 && versionPattern.MatchString(rest[0]) {
		version, rest = rest[0], rest[1:]
	}
	return version, rest, true
}

// is reports whether the path segments are names, case-insensitively (ASP.NET
// routes ignore case); "*" matches any segment.
func is(rest []string, names ...string) bool {
	if len(rest) != len(names) {
		return false
	}
	for i, n := range names {
		if n != "*" && !strings.EqualFold(rest[i], n) {
			return false
		}
	}
	return true
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if tail, ok := strings.CutPrefix(r.URL.Path, s.cfg.ManagerPath); ok && strings.HasPrefix(tail, "/") {
		s.serveManager(w, r, tail)
		return
	}
	_, rest, ok := apiPath(r.URL.Path)
	switch {
	case ok && is(rest, "Auth", "EPM", "Logon"):
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "EPM000005E", "The logon takes POST.")
			return
		}
		s.handleLogon(w, r)
	case ok:
		s.stats.dispatcherMisses.Add(1)
		writeError(w, http.StatusNotFound, "EPM000004E", "This is the dispatcher: it serves only the logon. Send API calls to the ManagerURL the logon returned.")
	default:
		http.NotFound(w, r)
	}
}

// serveManager answers the manager API; path is the request path after
// the manager prefix.
func (s *Server) serveManager(w http.ResponseWriter, r *http.Request, path string) {
	s.stats.requests.Add(1)
	_, rest, ok := apiPath(path)
	setsCall := ok && is(rest, "Sets")
	auditCall := ok && is(rest, "Sets", "*", "AdminAudit")
	if !setsCall && !auditCall {
		s.fail(w, http.StatusNotFound, "EPM000005E", "No such API.")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.fail(w, http.StatusMethodNotAllowed, "EPM000005E", "This API takes GET.")
		return
	}
	ses := s.authorize(w, r)
	if ses == nil {
		return
	}
	if retryAfter, ok := s.limiter.allow(s.cfg.Clock()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		s.fail(w, http.StatusTooManyRequests, "EPM000008E", fmt.Sprintf("Too many requests; retry after %d s.", retryAfter))
		return
	}
	if status, _ := s.faults.Next(); status != 0 {
		s.fail(w, status, "EPM000009E", http.StatusText(status))
		return
	}
	if bad := unsupportedValue(r); bad != "" {
		s.fail(w, http.StatusBadRequest, "EPM000006E", "The following characters are not supported in URL values: + & % (in "+bad+").")
		return
	}
	if setsCall {
		s.handleSets(w, r)
		return
	}
	s.handleAdminAudit(w, r, rest[1], ses)
}

// unsupportedValue returns the URL value or path segment holding '+', '&'
// or '%' as sent, or "".
func unsupportedValue(r *http.Request) string {
	if p := r.URL.EscapedPath(); strings.ContainsAny(p, "+%") {
		return "the path"
	}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(v, "+%") {
			return k
		}
	}
	return ""
}

// queryValues returns the query parameters by lower-cased name (ASP.NET
// binds them case-insensitively), the first value of each. Callers have
// checked that values hold no escapes.
func queryValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if _, dup := out[k]; !dup {
			out[k] = v
		}
	}
	return out
}

// intParam returns the integer parameter name, def when absent, or an
// error message.
func intParam(q map[string]string, name string, def, lo, hi int) (int, string) {
	v, ok := q[strings.ToLower(name)]
	if !ok || v == "" {
		return def, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Sprintf("%s must be an integer from %d to %d, got %q.", name, lo, hi, v)
	}
	return n, ""
}

// setJSON is one set of the Sets answer.
type setJSON struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
	IsNPVDI     bool   `json:"IsNPVDI"`
	IsVDI       bool   `json:"IsVDI"`
}

// handleSets answers GET …/Sets.
func (s *Server) handleSets(w http.ResponseWriter, r *http.Request) {
	q := queryValues(r)
	offset, msg := intParam(q, "Offset", 0, 0, 1<<30)
	if msg == "" {
		var limit int
		limit, msg = intParam(q, "Limit", DefaultSetsLimit, 1, DefaultSetsLimit)
		if msg == "" {
			sets := s.Sets()
			out := []setJSON{}
			for i := offset; i < len(sets) && i < offset+limit; i++ {
				out = append(out, setJSON{ID: sets[i].ID, Name: sets[i].Name, Description: "Set " + sets[i].Name})
			}
			s.stats.ok.Add(1)
			s.stats.setsCalls.Add(1)
			writeJSON(w, http.StatusOK, map[string]any{"Sets": out, "SetsCount": len(sets)})
			return
		}
	}
	s.fail(w, http.StatusBadRequest, "EPM000005E", msg)
}

// auditQuery is a parsed admin audit query.
type auditQuery struct {
	from, to      time.Time // zero: absent
	offset, limit int
}

// parseAuditQuery reads the parameters of an admin audit call.
func (s *Server) parseAuditQuery(r *http.Request, now time.Time) (auditQuery, string) {
	q := queryValues(r)
	var aq auditQuery
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"DateFrom", &aq.from}, {"DateTo", &aq.to}} {
		v, ok := q[strings.ToLower(p.name)]
		if !ok || v == "" {
			continue
		}
		t, err := time.Parse(dateLayout, v)
		if err != nil || len(v) != len(dateLayout) {
			return aq, fmt.Sprintf("%s must be an ISO 8601 UTC date YYYY-MM-DDThh:mm:ssZ, got %q.", p.name, v)
		}
		*p.dst = t
	}
	var msg string
	if aq.offset, msg = intParam(q, "Offset", 0, 0, 1<<30); msg != "" {
		return aq, msg
	}
	if aq.limit, msg = intParam(q, "Limit", DefaultLimit, 1, s.cfg.MaxLimit); msg != "" {
		return aq, msg
	}
	if aq.from.IsZero() && aq.to.IsZero() {
		// As the vendor documents: without dates, the last day.
		aq.from, aq.to = now.Add(-24*time.Hour).Truncate(time.Second), now.Truncate(time.Second)
	}
	return aq, ""
}

// handleAdminAudit answers GET …/Sets/{SetID}/AdminAudit.
func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request, setID string, ses *session) {
	now := s.cfg.Clock()
	q, msg := s.parseAuditQuery(r, now)
	if msg != "" {
		s.fail(w, http.StatusBadRequest, "EPM000005E", msg)
		return
	}
	var total int
	var page []Record
	s.st.mu.Lock()
	set := s.st.setLocked(setID)
	if set != nil {
		var sel []Record
		if q.to.IsZero() || q.from.IsZero() || !q.from.After(q.to) {
			sel = set.selection(q.from, q.to)
		}
		total = len(sel)
		if q.offset < total {
			page = sel[q.offset:min(total, q.offset+q.limit)]
		}
		// The page is copied out before the API call's own record may be
		// inserted into the log.
		body := auditBody(total, page)
		if s.cfg.AuditAPICalls {
			ip, _, _ := net.SplitHostPort(r.RemoteAddr)
			s.st.insertLocked(set, apiCallRecord(set, now, strings.TrimPrefix(r.URL.Path, s.cfg.ManagerPath), r.URL.RawQuery, ses.user, ip, ses.id, ses.issued, q))
		}
		s.st.mu.Unlock()
		s.stats.ok.Add(1)
		s.stats.auditCalls.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	s.st.mu.Unlock()
	s.fail(w, http.StatusForbidden, "EPM000007E", "The set does not exist or the user has no permission to view it.")
}

// auditBody returns {"TotalCount":total,"AdminAudits":[…]} with the raw
// records copied byte for byte.
func auditBody(total int, page []Record) []byte {
	size := 48
	for _, rec := range page {
		size += len(rec.Raw) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"TotalCount":`...)
	buf = strconv.AppendInt(buf, int64(total), 10)
	buf = append(buf, `,"AdminAudits":[`...)
	for i, rec := range page {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, rec.Raw...)
	}
	return append(buf, "]}"...)
}

// apiError is one element of an error answer.
type apiError struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// writeJSON writes v as JSON with status, as application/json in UTF-8.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	simkit.WriteJSON(w, status, v)
}

// writeError writes the vendor's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []apiError{{ErrorCode: code, ErrorMessage: msg}})
}

// fail answers a manager request with status and counts it.
func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	switch {
	case status == http.StatusUnauthorized:
		s.stats.unauthorized.Add(1)
	case status == http.StatusForbidden:
		s.stats.forbidden.Add(1)
	case status == http.StatusTooManyRequests:
		s.stats.rateLimited.Add(1)
	case status >= 500:
		s.stats.serverErrors.Add(1)
	default:
		s.stats.badRequests.Add(1)
	}
	if !simkit.WriteFailure(w, status) {
		writeError(w, status, code, msg)
	}
}
