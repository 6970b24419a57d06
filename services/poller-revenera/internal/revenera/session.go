package revenera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/httpx"
)

// The session's headers and paths.
const (
	HeaderClient        = "RUI-Client"
	HeaderClientVersion = "RUI-Client-Version"
	csrfPath            = "v3/request-csrf"
	logonPath           = "v3/auth/web"
	logoutPath          = "v3/auth/logout"
)

// Bounds of one logon.
const (
	// maxLogonAttempts bounds the logons tried for one session: each
	// "Cookie Missing" or refused active session costs one.
	maxLogonAttempts = 6
	// maxActiveLogouts bounds the logouts of the user's other sessions
	// one logon sends after 409 answers.
	maxActiveLogouts = 2
	// logonBackoff is the first wait after a "Cookie Missing"; it doubles.
	logonBackoff = 200 * time.Millisecond
)

// ErrCredentials is wrapped by the error of a logon the vendor refused for
// the user name or password. It is permanent: the stream stops.
var ErrCredentials = errors.New("the vendor refused the user name or password")

// SessionConfig configures a Session.
type SessionConfig struct {
	// BaseURL is the API root (REVENERA_BASE_URL).
	BaseURL string
	// Username and Password are the logon credentials.
	Username, Password string
	// ReadPassword, when set, tells the current password at every logon
	// (config.Reader re-reads REVENERA_PASSWORD_FILE, so a rotated Secret
	// is used from the next logon on). Default: Password.
	ReadPassword func() (string, error)
	// Origin, Client and ClientVersion are the Origin, RUI-Client and
	// RUI-Client-Version headers of every call.
	Origin, Client, ClientVersion string
	// Logger receives one record per logon and logout. Default
	// slog.Default().
	Logger *slog.Logger
	// Sleep waits between logon attempts. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Session is the one cookie session of a process: the RUI-Csrf and
// RUI-Session-Token cookies in a jar, shared by every call of every
// stream. It is the httpx.Authorizer of the API calls: Authorize adds the
// Origin and RUI-Client headers (the jar adds the cookies), and Refresh,
// called after a 401, logs on again. One logon runs at a time; calls that
// meet one expired session together log on once.
type Session struct {
	http     *httpx.Client // no authorizer; the jar
	base     *url.URL
	username string
	password string
	readPass func() (string, error)
	header   http.Header
	log      *slog.Logger
	sleep    func(ctx context.Context, d time.Duration) error

	// logonMu serializes logons and the logout.
	logonMu sync.Mutex

	mu       sync.Mutex
	gen      int // the session's number; 0: none
	products []Product
	refused  error // a permanent logon failure, returned from then on
	logons   int
	logouts  int
}

// NewSession returns a Session that logs on with hc, whose cookie jar
// (httpx.WithCookieJar) must be the one of the API client.
func NewSession(hc *httpx.Client, cfg SessionConfig) (*Session, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("revenera base URL %q is not an absolute http(s) URL", httpx.RedactURLString(cfg.BaseURL))
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s := &Session{
		http:     hc,
		base:     u,
		username: cfg.Username,
		password: cfg.Password,
		readPass: cfg.ReadPassword,
		header: http.Header{
			"Origin":            {cfg.Origin},
			HeaderClient:        {cfg.Client},
			HeaderClientVersion: {cfg.ClientVersion},
		},
		log:   cfg.Logger,
		sleep: cfg.Sleep,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// url returns the API URL of path (relative, without a leading slash).
func (s *Session) url(path ...string) string { return s.base.JoinPath(path...).String() }

// setHeaders adds the headers every call carries.
func (s *Session) setHeaders(req *http.Request) {
	for k, v := range s.header {
		req.Header[k] = v
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
}

// Ensure logs on unless there is a session.
func (s *Session) Ensure(ctx context.Context) error {
	s.mu.Lock()
	gen, refused := s.gen, s.refused
	s.mu.Unlock()
	if refused != nil {
		return refused
	}
	if gen != 0 {
		return nil
	}
	return s.logon(ctx, "no session", 0)
}

// Products returns the products of the logon answer, logging on first
// when there is no session.
func (s *Session) Products(ctx context.Context) ([]Product, error) {
	if err := s.Ensure(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Product(nil), s.products...), nil
}

// call is one API call through the session: the session number its latest
// attempt carried.
type call struct{ gen int }

type callKey struct{}

// withCall marks ctx as one call, so that Refresh can tell whether the
// session refused to it has been replaced meanwhile.
func withCall(ctx context.Context) context.Context {
	return context.WithValue(ctx, callKey{}, &call{})
}

// Authorize adds the Origin, RUI-Client and RUI-Client-Version headers;
// the cookie jar adds the session's cookies.
func (s *Session) Authorize(ctx context.Context, req *http.Request) error {
	s.setHeaders(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != nil {
		return s.refused
	}
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		c.gen = s.gen
	}
	return nil
}

// Refresh logs on again after a 401, unless another call has already
// replaced the session the refused attempt carried.
func (s *Session) Refresh(ctx context.Context) error {
	stale := 0
	s.mu.Lock()
	stale = s.gen
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		stale = c.gen
	}
	s.mu.Unlock()
	return s.logon(ctx, "unauthorized", stale)
}

// Logons returns the number of successful logons so far.
func (s *Session) Logons() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logons
}

// String describes s without its secrets.
func (s *Session) String() string {
	return fmt.Sprintf("Revenera session of %q at %s", s.username, httpx.RedactURL(s.base))
}

// credentials is the body of the logon and of a logout by credentials.
type credentials struct {
	UserName string `json:"userName"`
	Password string `json:"password"`
}

// logon logs on and replaces the session numbered stale; when another
// logon has replaced it meanwhile, it returns at once. It requests a CSRF
// cookie before every attempt; a "Cookie Missing" answer is retried with
// backoff, a refusal because a session is active logs the user's sessions
// out first, and a refusal of the credentials or of the Origin is
// permanent.
func (s *Session) logon(ctx context.Context, reason string, stale int) error {
	s.logonMu.Lock()
	defer s.logonMu.Unlock()
	s.mu.Lock()
	gen, refused := s.gen, s.refused
	s.mu.Unlock()
	if refused != nil {
		return refused
	}
	if gen != stale {
		return nil
	}
	password := s.password
	if s.readPass != nil {
		p, err := s.readPass()
		if err != nil {
			return fmt.Errorf("revenera logon as %q: %w", s.username, err)
		}
		password = p
	}
	body, err := json.Marshal(credentials{UserName: s.username, Password: password})
	if err != nil {
		return fmt.Errorf("encode revenera logon: %w", err)
	}
	wait := logonBackoff
	cookieMissing, activeLogouts := 0, 0
	for attempt := 1; ; attempt++ {
		if _, err := s.send(ctx, http.MethodGet, s.url(csrfPath), nil); err != nil {
			return fmt.Errorf("revenera logon as %q: request a CSRF cookie: %w", s.username, s.permanent(err))
		}
		resp, err := s.send(ctx, http.MethodPost, s.url(logonPath), body)
		if err == nil {
			res, err := DecodeLogon(resp.Body)
			if err != nil {
				return fmt.Errorf("revenera logon as %q: %w", s.username, err)
			}
			s.mu.Lock()
			s.gen = max(s.gen, stale) + 1
			s.products = res.Products
			s.logons++
			s.mu.Unlock()
			s.log.InfoContext(ctx, "revenera logon", "user", s.username, "reason", reason, "products", len(res.Products),
				"cookie_missing", cookieMissing, "active_sessions_ended", activeLogouts, "has_session_cookie", true)
			return nil
		}
		var se *httpx.StatusError
		if !errors.As(err, &se) {
			return fmt.Errorf("revenera logon as %q: %w", s.username, err)
		}
		switch {
		case se.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(se.Body), "cookie missing"):
			cookieMissing++
		case se.StatusCode == http.StatusConflict && activeLogouts < maxActiveLogouts:
			// A session of the user is still active: a predecessor
			// killed without its logout, say. End it, then log on.
			activeLogouts++
			if err := s.logoutUser(ctx, body); err != nil {
				return fmt.Errorf("revenera logon as %q: a session is already active and its logout failed: %w", s.username, err)
			}
			continue
		default:
			return fmt.Errorf("revenera logon as %q: %w", s.username, s.permanent(err))
		}
		if attempt >= maxLogonAttempts {
			return fmt.Errorf("revenera logon as %q: %d attempts answered %q: %w", s.username, attempt, "Cookie Missing", err)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("revenera logon as %q: %w", s.username, err)
		}
		wait *= 2
	}
}

// permanent returns err marked permanent, remembered and logged once,
// when it is a refusal no retry can fix: 401 (wrong user name or
// password) or 403 (an Origin the vendor rejects). Other errors are
// returned as they are.
func (s *Session) permanent(err error) error {
	var msg string
	switch {
	case httpx.IsStatus(err, http.StatusUnauthorized):
		msg = fmt.Sprintf("%v: %s; correct REVENERA_USERNAME (%q) or REVENERA_PASSWORD", err, ErrCredentials, s.username)
		err = fmt.Errorf("%w: %w", ErrCredentials, err)
	case httpx.IsStatus(err, http.StatusForbidden):
		msg = fmt.Sprintf("%v: the vendor refused the Origin %q; REVENERA_ORIGIN must be https://analytics.revenera.com", err, s.header.Get("Origin"))
	default:
		return err
	}
	perm := backoff.Permanent(fmt.Errorf("revenera logon as %q refused: %s (%w)", s.username, msg, err))
	s.mu.Lock()
	first := s.refused == nil
	s.refused = perm
	s.mu.Unlock()
	if first {
		s.log.Error("revenera logon refused; the streams stop", "user", s.username, "error", msg)
	}
	return perm
}

// logoutUser ends every session of the user (POST /v3/auth/logout with
// the credentials; the jar holds no live session cookie when a logon is
// refused for an active session).
func (s *Session) logoutUser(ctx context.Context, creds []byte) error {
	if _, err := s.send(ctx, http.MethodPost, s.url(logoutPath), creds); err != nil {
		return err
	}
	s.mu.Lock()
	s.logouts++
	s.mu.Unlock()
	s.log.InfoContext(ctx, "revenera active session logged out", "user", s.username, "reason", "logon refused: a session is already active")
	return nil
}

// Logout ends the session (POST /v3/auth/logout with its cookies), when
// there is one. The service calls it on shutdown, with a deadline.
func (s *Session) Logout(ctx context.Context) error {
	s.logonMu.Lock()
	defer s.logonMu.Unlock()
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	if gen == 0 {
		return nil
	}
	if _, err := s.send(ctx, http.MethodPost, s.url(logoutPath), []byte("{}")); err != nil {
		return fmt.Errorf("revenera logout of %q: %w", s.username, err)
	}
	s.mu.Lock()
	s.gen = 0
	s.logouts++
	s.mu.Unlock()
	s.log.InfoContext(ctx, "revenera logout", "user", s.username)
	return nil
}

// send sends one request of the session with the headers of every call;
// a POST carries body as JSON and is declared idempotent: the logon, the
// logout and the CSRF request are safe to repeat.
func (s *Session) send(ctx context.Context, method, rawURL string, body []byte) (*httpx.Response, error) {
	return s.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		var rd *bytes.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		var req *http.Request
		var err error
		if rd != nil {
			req, err = http.NewRequestWithContext(ctx, method, rawURL, rd)
		} else {
			req, err = http.NewRequestWithContext(ctx, method, rawURL, nil)
		}
		if err != nil {
			return nil, err
		}
		s.setHeaders(req)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			httpx.Idempotent(req)
		}
		return req, nil
	})
}
