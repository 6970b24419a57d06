package revenerasim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// maxBody bounds a request body the server reads.
const maxBody = 1 << 20

// Paths the server answers (see the package documentation).
const (
	CSRFPath     = "/v3/request-csrf"
	LogonPath    = "/v3/auth/web"
	LogoutPath   = "/v3/auth/logout"
	DownloadPath = "/download/"
)

// The headers and cookies of the session.
const (
	HeaderClient        = "RUI-Client"
	HeaderClientVersion = "RUI-Client-Version"
	CookieCSRF          = "RUI-Csrf"
	CookieSession       = "RUI-Session-Token"
)

// Server simulates the Usage Intelligence Reporting API 3.0.0 of one
// account. It is an http.Handler; its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	st      store
	faults  *simkit.Faults
	handler http.Handler // route, logged

	// offset is what CloseOpenDay has added to the data clock, in
	// nanoseconds.
	offset atomic.Int64

	authMu        sync.Mutex
	authRand      *rand.Rand           // Cookie Missing draws
	csrf          map[string]time.Time // tokens of request-csrf → expiry
	sessions      map[string]*session  // session token → session
	cookieMissing int                  // logons still to answer Cookie Missing (CookieMissingNext)

	files filesState

	stats struct {
		requests, logons, logouts, cookieMissing, refusedActive, badCredentials,
		unauthorized, expired, forbidden, badRequests, notFound, urlsIssued,
		urlsExpired, urlsRefused, downloads, rateLimited, serverErrors atomic.Int64
	}
}

// Stats counts what the server has answered.
type Stats struct {
	// Requests is the number of /v3 requests received (downloads are not
	// counted here).
	Requests int64
	// Logons is the number of logons answered 200.
	Logons int64
	// Logouts is the number of logouts answered 204.
	Logouts int64
	// CookieMissing is the number of logons answered 400 "Cookie
	// Missing": without a known CSRF cookie, or at random
	// (Config.CookieMissingRate, CookieMissingNext).
	CookieMissing int64
	// RefusedActive is the number of logons answered 409 because the user
	// had Config.MaxSessions active sessions.
	RefusedActive int64
	// BadCredentials is the number of logons and logouts answered 401 for
	// a wrong user name or password.
	BadCredentials int64
	// Unauthorized is the number of calls answered 401 for a missing,
	// unknown or expired session or a missing or wrong CSRF cookie.
	Unauthorized int64
	// Expired is the number of those whose session had expired.
	Expired int64
	// Forbidden is the number of /v3 calls answered 403 for a wrong
	// Origin.
	Forbidden int64
	// BadRequests is the number of /v3 calls answered 400 other than
	// Cookie Missing (missing headers, bad bodies, bad date ranges).
	BadRequests int64
	// NotFound is the number of /v3 calls answered 404 (unknown path,
	// product or file).
	NotFound int64
	// URLsIssued is the number of download URLs issued.
	URLsIssued int64
	// URLsExpired is the number of downloads refused 403 because their
	// URL had expired.
	URLsExpired int64
	// URLsRefused is the number of downloads refused 403 for an unknown
	// token or a URL that was altered.
	URLsRefused int64
	// Downloads is the number of downloads answered 200.
	Downloads int64
	// RateLimited is the number of calls answered 429, by the rate limit
	// or FailNext.
	RateLimited int64
	// ServerErrors is the number answered 5xx (all injected).
	ServerErrors int64
	// ActiveSessions is the number of sessions alive now.
	ActiveSessions int64
}

// New returns a Server with the products of cfg and no rows. Fill it with
// Generate, GrowSpan, StartGrowing or Add. It panics on a Config that
// cannot work: two products with one ID, an ID that is not positive, or
// an unknown DateFormat.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	if cfg.DateFormat != DateFormatDate && cfg.DateFormat != DateFormatDateTime {
		panic(fmt.Sprintf("revenerasim: DateFormat %q is neither %q nor %q", cfg.DateFormat, DateFormatDate, DateFormatDateTime))
	}
	s := &Server{
		cfg:      cfg,
		faults:   simkit.NewFaults(simkit.FaultConfig{Seed: cfg.Seed, Rate: cfg.FaultRate, Statuses: cfg.FaultStatuses}),
		authRand: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x63737266)),
		csrf:     map[string]time.Time{},
		sessions: map[string]*session{},
	}
	s.files.init()
	s.st.byID = map[int64]*product{}
	s.st.gen = &generator{rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x726f7773))}
	for _, p := range cfg.Products {
		if p.ID <= 0 || s.st.byID[p.ID] != nil {
			panic(fmt.Sprintf("revenerasim: product ID %d is not positive or not unique", p.ID))
		}
		pr := &product{Product: p, clients: map[string]*clientSpan{}, events: map[Event]int{}, gen: newPopulation(cfg.Seed, cfg.Clients, p)}
		pr.days[0], pr.days[1] = map[int]*bucket{}, map[int]*bucket{}
		s.st.products = append(s.st.products, pr)
		s.st.byID[p.ID] = pr
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+CSRFPath, s.handleCSRF)
	mux.HandleFunc("POST "+LogonPath, s.handleLogon)
	mux.HandleFunc("POST "+LogoutPath, s.handleLogout)
	for _, k := range Kinds {
		base := "/v3/" + kindPath(k)
		mux.HandleFunc("GET "+base+"/listFiles/{product}", s.authorized(func(w http.ResponseWriter, r *http.Request, p *product) { s.handleListFiles(w, r, p, k) }))
		mux.HandleFunc("POST "+base+"/getDownloadUrl/{product}", s.authorized(func(w http.ResponseWriter, r *http.Request, p *product) { s.handleGetDownloadURL(w, r, p, k) }))
	}
	mux.HandleFunc("GET /v3/event-tracking/{product}", s.authorized(s.handleEventTracking))
	mux.HandleFunc("POST /v3/reporting/eventTracking/basic/timeline/{product}", s.authorized(s.handleTimeline))
	mux.HandleFunc("POST /v3/reporting/generic/dateRange/{product}", s.authorized(s.handleDateRange))
	mux.HandleFunc("/v3/", s.authorized(nil))
	mux.HandleFunc("GET "+DownloadPath+"{token}/{file}", s.handleDownload)
	s.handler = simkit.Logged(cfg.Logger, s.checkV3(mux))
	return s
}

// kindPath returns the path segment of kind's endpoints.
func kindPath(kind string) string {
	if kind == CustomEvents {
		return "customEventTracking"
	}
	return "exceptionTracking"
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP answers the API and the download URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.authMu.Lock()
	active := s.activeLocked(s.cfg.Clock())
	s.authMu.Unlock()
	return Stats{
		Requests:       s.stats.requests.Load(),
		Logons:         s.stats.logons.Load(),
		Logouts:        s.stats.logouts.Load(),
		CookieMissing:  s.stats.cookieMissing.Load(),
		RefusedActive:  s.stats.refusedActive.Load(),
		BadCredentials: s.stats.badCredentials.Load(),
		Unauthorized:   s.stats.unauthorized.Load(),
		Expired:        s.stats.expired.Load(),
		Forbidden:      s.stats.forbidden.Load(),
		BadRequests:    s.stats.badRequests.Load(),
		NotFound:       s.stats.notFound.Load(),
		URLsIssued:     s.stats.urlsIssued.Load(),
		URLsExpired:    s.stats.urlsExpired.Load(),
		URLsRefused:    s.stats.urlsRefused.Load(),
		Downloads:      s.stats.downloads.Load(),
		RateLimited:    s.stats.rateLimited.Load(),
		ServerErrors:   s.stats.serverErrors.Load(),
		ActiveSessions: int64(active),
	}
}

// FailNext makes the next n /v3 calls subject to faults (every call but
// request-csrf and the logon, after the session and rate-limit checks)
// fail with status: 429 and 503 carry Retry-After: 1, 502 and 504 an HTML
// body, any other a JSON {"message"}. Calls queue up in order.
func (s *Server) FailNext(n int, status int) { s.faults.FailNext(n, status) }

// now returns the data clock: Config.Clock plus what CloseOpenDay added.
func (s *Server) now() time.Time {
	return s.cfg.Clock().Add(time.Duration(s.offset.Load())).UTC()
}

// Now returns the data clock: Config.Clock plus what CloseOpenDay added,
// in UTC. Today's file is the open file of Now's day.
func (s *Server) Now() time.Time { return s.now() }

// CloseOpenDay closes the open files early: it moves the data clock to
// the next UTC midnight, by adding the time until then to the offset it
// keeps on Config.Clock, and returns the new data time. Today's files
// become daily files and a new, empty open file begins. Sessions, CSRF
// tokens, download URLs and the rate limit keep following Config.Clock.
func (s *Server) CloseOpenDay() time.Time {
	for {
		old := s.offset.Load()
		now := s.cfg.Clock().Add(time.Duration(old)).UTC()
		next := dayTime(dayNumber(now) + 1)
		if s.offset.CompareAndSwap(old, old+int64(next.Sub(now))) {
			return next
		}
	}
}

// message is the JSON body of every error answer of the API but the
// gateway errors 502 and 504.
type message struct {
	Message string `json:"message"`
}

// writeJSON writes v as JSON with status, as application/json in UTF-8.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	simkit.WriteJSON(w, status, v)
}

// fail answers a /v3 call with status and {"message": msg} and counts it.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	switch {
	case status == http.StatusForbidden:
		s.stats.forbidden.Add(1)
	case status == http.StatusNotFound:
		s.stats.notFound.Add(1)
	case status == http.StatusBadRequest:
		s.stats.badRequests.Add(1)
	case status == http.StatusTooManyRequests:
		s.stats.rateLimited.Add(1)
	case status >= 500:
		s.stats.serverErrors.Add(1)
	}
	if !simkit.WriteFailure(w, status) {
		writeJSON(w, status, message{msg})
	}
}

// checkV3 checks what every /v3 call must carry — the Origin, RUI-Client
// and RUI-Client-Version — before next routes it.
func (s *Server) checkV3(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v3/") {
			next.ServeHTTP(w, r)
			return
		}
		s.stats.requests.Add(1)
		if r.Header.Get("Origin") != s.cfg.Origin {
			s.fail(w, http.StatusForbidden, "Invalid Origin")
			return
		}
		if r.Header.Get(HeaderClient) == "" || r.Header.Get(HeaderClientVersion) == "" {
			s.fail(w, http.StatusBadRequest, "Missing RUI-Client or RUI-Client-Version header")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorized wraps a handler of a product's data: it checks the session
// and the CSRF cookie, the rate limit, injected faults and the product of
// the path, and answers the call when one of them stops it. A nil h
// answers 404 to an authorized call (an unknown path).
func (s *Server) authorized(h func(http.ResponseWriter, *http.Request, *product)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses := s.authenticate(w, r)
		if ses == nil {
			return
		}
		if !ses.allow(s.cfg.Clock(), s.cfg.RateLimit) {
			w.Header().Set("Retry-After", "1")
			s.fail(w, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		if status, _ := s.faults.Next(); status != 0 {
			s.fail(w, status, http.StatusText(status))
			return
		}
		if h == nil {
			s.fail(w, http.StatusNotFound, "Not Found")
			return
		}
		id, err := strconv.ParseInt(r.PathValue("product"), 10, 64)
		p := s.product(id)
		if err != nil || p == nil {
			s.fail(w, http.StatusNotFound, "Product not found")
			return
		}
		h(w, r, p)
	}
}

// readJSON decodes the JSON body of r into v. The body must be
// application/json; unknown members are ignored, as the vendor's service
// does. It answers 400 and reports false otherwise.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody || json.Unmarshal(body, v) != nil {
		s.fail(w, http.StatusBadRequest, "Invalid request body")
		return false
	}
	return true
}
