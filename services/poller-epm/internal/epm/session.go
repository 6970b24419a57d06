package epm

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

	"github.com/auditstream/auditstream/shared/httpx"
)

// maxRenewMargin is how long before the inactivity timeout a session is
// renewed at most; existing integrations renew 30 s before.
const maxRenewMargin = 30 * time.Second

// Session is an EPM logon: the token and the manager URL that the
// dispatcher returned. It is the httpx.Authorizer of the manager calls:
// Authorize sends "Authorization: basic <token>", and Refresh, called after
// a 401, logs on again. It also logs on again, before a call, when the
// session has been idle long enough that the tenant's inactivity timeout
// would have ended it. It is safe for concurrent use: one logon at a time,
// one logon for calls refused together, and calls with a live session go
// on while a logon is in progress.
type Session struct {
	http     *httpx.Client
	budget   *httpx.Budget
	logonURL string // {dispatcher}/EPM/API[/{version}]/Auth/EPM/Logon
	baseTLS  bool
	username string
	password string
	readPass func() (string, error)
	appID    string
	timeout  time.Duration
	margin   time.Duration
	now      func() time.Time
	log      *slog.Logger

	// logonMu serializes logons. It is held during a logon's I/O, which
	// mu never is, so that calls with a session keep going meanwhile.
	logonMu sync.Mutex

	mu       sync.Mutex
	token    string
	manager  *url.URL
	lastUsed time.Time
	logons   int
}

// SessionConfig configures a Session.
type SessionConfig struct {
	// BaseURL is the dispatcher, e.g. https://login.epm.cyberark.com.
	BaseURL string
	// Version is the API version path segment; empty for the latest.
	Version string
	// Username, Password and ApplicationID are the logon credentials.
	Username, Password, ApplicationID string
	// ReadPassword, when set, tells the current password at every logon
	// (config.Reader re-reads EPM_PASSWORD_FILE, so a rotated Secret is
	// used from the next logon on). Default: Password.
	ReadPassword func() (string, error)
	// Timeout is the tenant's inactivity timeout; the session is renewed
	// min(30s, Timeout/10) before it would expire. 0 disables renewal.
	Timeout time.Duration
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives a record per logon. Default slog.Default().
	Logger *slog.Logger
}

// NewSession returns a Session that logs on with hc (which must have no
// authorizer), taking each logon from budget first (nil: no budget).
func NewSession(hc *httpx.Client, budget *httpx.Budget, cfg SessionConfig) (*Session, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("epm base URL %q is not an absolute http(s) URL", httpx.RedactURLString(cfg.BaseURL))
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s := &Session{
		http:     hc,
		budget:   budget,
		logonURL: u.JoinPath(apiSegments(cfg.Version, "Auth", "EPM", "Logon")...).String(),
		baseTLS:  u.Scheme == "https",
		username: cfg.Username,
		password: cfg.Password,
		readPass: cfg.ReadPassword,
		appID:    cfg.ApplicationID,
		timeout:  cfg.Timeout,
		margin:   min(maxRenewMargin, cfg.Timeout/10),
		now:      cfg.Clock,
		log:      cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// apiSegments returns the path segments EPM/API[/version]/rest.
func apiSegments(version string, rest ...string) []string {
	seg := []string{"EPM", "API"}
	if version != "" {
		seg = append(seg, version)
	}
	return append(seg, rest...)
}

// Manager returns the manager URL of a live session, logging on first when
// there is no session or it has been idle long enough that the tenant's
// inactivity timeout would end it. Callers that need a logon at once wait
// for one logon.
func (s *Session) Manager(ctx context.Context) (*url.URL, error) {
	m, token, reason := s.current()
	if reason == "" {
		return m, nil
	}
	if err := s.logon(ctx, reason, token); err != nil {
		return nil, err
	}
	if m, _, reason = s.current(); m == nil {
		return nil, fmt.Errorf("epm session: %s", reason)
	}
	return m, nil
}

// current returns the manager URL and token of the session, and why it
// needs a logon ("" when it does not). The URL is nil without a session.
func (s *Session) current() (m *url.URL, token, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return nil, "", "no session"
	}
	mc := *s.manager
	if s.timeout > 0 && !s.now().Before(s.lastUsed.Add(s.timeout-s.margin)) {
		reason = "idle session about to expire"
	}
	return &mc, s.token, reason
}

// managerURL returns the manager URL of the current session, without
// logging on: a request is built with the session its call saw live, or
// the one a Refresh after its 401 made.
func (s *Session) managerURL() (*url.URL, error) {
	m, _, _ := s.current()
	if m == nil {
		return nil, errors.New("no EPM session")
	}
	return m, nil
}

// Authorize sets "Authorization: basic <token>" and notes the session as
// used now. It does not log on: the client's call has done so.
func (s *Session) Authorize(ctx context.Context, req *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return errors.New("no EPM session")
	}
	req.Header.Set("Authorization", "basic "+s.token)
	s.lastUsed = s.now()
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		c.token = s.token
	}
	return nil
}

// Refresh logs on again; httpx calls it after a 401 and then retries the
// request once. When the call (withCall) was refused a token that another
// call has replaced since — the sets' streams meet an expired session
// together — it does not log on again: the retry carries the new token.
func (s *Session) Refresh(ctx context.Context) error {
	_, stale, _ := s.current()
	if c, ok := ctx.Value(callKey{}).(*call); ok && c.token != "" {
		s.mu.Lock()
		stale = c.token
		s.mu.Unlock()
	}
	return s.logon(ctx, "unauthorized", stale)
}

// call is one API call through the session: the token its latest attempt
// carried, guarded by the session's mutex.
type call struct {
	token string
}

// callKey is the context key of a *call.
type callKey struct{}

// withCall returns ctx marked as one call, so that Refresh can tell a
// token refused to it from the session's current one.
func withCall(ctx context.Context) context.Context {
	return context.WithValue(ctx, callKey{}, &call{})
}

// Logons returns the number of successful logons so far.
func (s *Session) Logons() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logons
}

// String describes s without its secrets.
func (s *Session) String() string {
	return fmt.Sprintf("EPM session of %q at %s", s.username, httpx.RedactURLString(s.logonURL))
}

// logonRequest is the body of POST …/Auth/EPM/Logon.
type logonRequest struct {
	Username      string `json:"Username"`
	Password      string `json:"Password"`
	ApplicationID string `json:"ApplicationID"`
}

// logon logs on at the dispatcher and replaces the session whose token
// was stale, one logon at a time; when another logon replaced that
// session meanwhile, it returns at once.
func (s *Session) logon(ctx context.Context, reason, stale string) error {
	s.logonMu.Lock()
	defer s.logonMu.Unlock()
	s.mu.Lock()
	replaced := s.token != stale
	s.mu.Unlock()
	if replaced {
		return nil
	}
	password := s.password
	if s.readPass != nil {
		p, err := s.readPass()
		if err != nil {
			return fmt.Errorf("epm logon as %q: %w", s.username, err)
		}
		password = p
	}
	body, err := json.Marshal(logonRequest{Username: s.username, Password: password, ApplicationID: s.appID})
	if err != nil {
		return fmt.Errorf("encode epm logon: %w", err)
	}
	if s.budget != nil {
		// Calls wait for the logon, so it goes first in the budget's
		// line. The call it prepays is used by the logon request, not by
		// an API request whose context ctx may be: the innermost prepaid
		// call is used first.
		var err error
		if ctx, err = s.budget.PrepayFirst(ctx); err != nil {
			return fmt.Errorf("epm logon as %q: %w", s.username, err)
		}
	}
	resp, err := s.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.logonURL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		// A repeated logon only opens another session: safe to retry.
		return httpx.Idempotent(req), nil
	})
	if err != nil {
		return fmt.Errorf("epm logon as %q: %w", s.username, err)
	}
	res, err := DecodeLogon(resp.Body)
	if err != nil {
		return fmt.Errorf("epm logon as %q: %w", s.username, err)
	}
	if res.PasswordExpired {
		return fmt.Errorf("epm logon as %q: the password has expired; change it in EPM and update EPM_PASSWORD", s.username)
	}
	m, err := url.Parse(res.ManagerURL)
	switch {
	case err != nil || m.Host == "" || (m.Scheme != "http" && m.Scheme != "https"):
		return fmt.Errorf("epm logon as %q: ManagerURL %q is not an absolute http(s) URL", s.username, truncate(res.ManagerURL, 200))
	case s.baseTLS && m.Scheme != "https":
		// The token would travel in clear text.
		return fmt.Errorf("epm logon as %q: ManagerURL %s is not https while EPM_BASE_URL is", s.username, httpx.RedactURL(m))
	}
	m.User, m.RawQuery, m.Fragment = nil, "", ""
	m.Path = strings.TrimRight(m.Path, "/")
	m.RawPath = ""
	s.mu.Lock()
	s.token, s.manager, s.lastUsed = res.Token, m, s.now()
	s.logons++
	s.mu.Unlock()
	s.log.InfoContext(ctx, "epm logon", "user", s.username, "manager", m.Host, "reason", reason, "has_token", true)
	return nil
}
