package revenerasim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// session is one logged-on session.
type session struct {
	user     string
	csrf     string // the RUI-Csrf the logon set; later calls must carry it
	expires  time.Time
	lastUsed time.Time
	// mu guards the rate limit's token bucket.
	mu     sync.Mutex
	tokens float64
	filled time.Time
}

// allow takes one request from the session's token bucket of rate
// requests per second (holding ceil(rate), at least 1) at now and reports
// whether there was one. A rate of 0 allows everything.
func (ses *session) allow(now time.Time, rate float64) bool {
	if rate <= 0 {
		return true
	}
	ses.mu.Lock()
	defer ses.mu.Unlock()
	burst := math.Max(1, math.Ceil(rate))
	if ses.filled.IsZero() {
		ses.tokens, ses.filled = burst, now
	}
	if d := now.Sub(ses.filled); d > 0 {
		ses.tokens = math.Min(burst, ses.tokens+d.Seconds()*rate)
		ses.filled = now
	}
	if ses.tokens < 1 {
		return false
	}
	ses.tokens--
	return true
}

// logonRequest is the body of the logon and of a logout by credentials.
type logonRequest struct {
	UserName *string `json:"userName"`
	Password *string `json:"password"`
}

// ProductJSON is one product of the logon's answer.
type ProductJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// LogonResponse is the logon's answer. Members beyond userName and
// products echo the seed's sample and are there for tolerant parsing.
type LogonResponse struct {
	UserName     string        `json:"userName"`
	Products     []ProductJSON `json:"products"`
	Account      accountJSON   `json:"account"`
	BeatInterval int           `json:"beatInterval"`
}

// accountJSON is the account member of the logon's answer.
type accountJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// newToken returns a random cookie value.
func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	return hex.EncodeToString(b[:])
}

// setCookie sets cookie name to value for the whole host; an empty value
// deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// cookie returns the value of r's cookie name, or "".
func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// handleCSRF answers GET /v3/request-csrf: 204 and a new RUI-Csrf
// cookie, good for one successful logon within DefaultCSRFTTL.
func (s *Server) handleCSRF(w http.ResponseWriter, r *http.Request) {
	token := newToken()
	now := s.cfg.Clock()
	s.authMu.Lock()
	for t, exp := range s.csrf {
		if !now.Before(exp) {
			delete(s.csrf, t)
		}
	}
	s.csrf[token] = now.Add(DefaultCSRFTTL)
	s.authMu.Unlock()
	s.setCookie(w, CookieCSRF, token)
	w.WriteHeader(http.StatusNoContent)
}

// CookieMissingNext makes the next n logons that would succeed answer 400
// "Cookie Missing" and invalidate their CSRF token, as
// Config.CookieMissingRate does at random.
func (s *Server) CookieMissingNext(n int) {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.cookieMissing += n
}

// activeLocked drops the sessions that have ended by now and returns the
// number left. The caller holds authMu.
func (s *Server) activeLocked(now time.Time) int {
	for t, ses := range s.sessions {
		if s.ended(ses, now) {
			delete(s.sessions, t)
		}
	}
	return len(s.sessions)
}

// ended reports whether ses has expired at now.
func (s *Server) ended(ses *session, now time.Time) bool {
	return !now.Before(ses.expires) || (s.cfg.SessionIdle > 0 && !now.Before(ses.lastUsed.Add(s.cfg.SessionIdle)))
}

// credentials reports whether req names the configured user and password.
func (s *Server) credentials(req logonRequest) bool {
	return req.UserName != nil && req.Password != nil &&
		simkit.Equal(*req.UserName, s.cfg.Username) && simkit.Equal(*req.Password, s.cfg.Password)
}

// handleLogon answers POST /v3/auth/web.
func (s *Server) handleLogon(w http.ResponseWriter, r *http.Request) {
	csrf := cookie(r, CookieCSRF)
	now := s.cfg.Clock()
	s.authMu.Lock()
	exp, known := s.csrf[csrf]
	s.authMu.Unlock()
	if csrf == "" || !known || !now.Before(exp) {
		s.stats.cookieMissing.Add(1)
		writeJSON(w, http.StatusBadRequest, message{"Cookie Missing"})
		return
	}
	var req logonRequest
	if !s.readJSON(w, r, &req) {
		return
	}
	if req.UserName == nil || req.Password == nil {
		s.fail(w, http.StatusBadRequest, "userName and password are required")
		return
	}
	if !s.credentials(req) {
		s.stats.badCredentials.Add(1)
		writeJSON(w, http.StatusUnauthorized, message{"Invalid username or password"})
		return
	}

	s.authMu.Lock()
	if _, still := s.csrf[csrf]; !still {
		// Spent by a concurrent logon.
		s.authMu.Unlock()
		s.stats.cookieMissing.Add(1)
		writeJSON(w, http.StatusBadRequest, message{"Cookie Missing"})
		return
	}
	lose := s.cookieMissing > 0 || (s.cfg.CookieMissingRate > 0 && s.authRand.Float64() < s.cfg.CookieMissingRate)
	if lose {
		if s.cookieMissing > 0 {
			s.cookieMissing--
		}
		delete(s.csrf, csrf)
		s.authMu.Unlock()
		s.stats.cookieMissing.Add(1)
		writeJSON(w, http.StatusBadRequest, message{"Cookie Missing"})
		return
	}
	s.activeLocked(now)
	active := 0
	for _, ses := range s.sessions {
		if ses.user == s.cfg.Username {
			active++
		}
	}
	if s.cfg.MaxSessions > 0 && active >= s.cfg.MaxSessions {
		s.authMu.Unlock()
		s.stats.refusedActive.Add(1)
		writeJSON(w, http.StatusConflict, message{"A session is already active for this user. Log out and try again."})
		return
	}
	delete(s.csrf, csrf)
	token, newCSRF := newToken(), newToken()
	s.sessions[token] = &session{user: s.cfg.Username, csrf: newCSRF, expires: now.Add(s.cfg.SessionTTL), lastUsed: now}
	s.authMu.Unlock()

	s.stats.logons.Add(1)
	resp := LogonResponse{UserName: s.cfg.Username, Account: accountJSON{ID: 1048576, Name: "Acme Corporation"}, BeatInterval: 302}
	for _, p := range s.st.products {
		resp.Products = append(resp.Products, ProductJSON{ID: p.ID, Name: p.Name})
	}
	s.setCookie(w, CookieCSRF, newCSRF)
	s.setCookie(w, CookieSession, token)
	writeJSON(w, http.StatusOK, resp)
}

// handleLogout answers POST /v3/auth/logout: it ends the session of the
// RUI-Session-Token cookie; without a live one, a body with the user's
// credentials ends every session of the user. It answers 204 either way,
// 401 for wrong credentials.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if status, _ := s.faults.Next(); status != 0 {
		s.fail(w, status, http.StatusText(status))
		return
	}
	now := s.cfg.Clock()
	token := cookie(r, CookieSession)
	s.authMu.Lock()
	ses, ok := s.sessions[token]
	if ok && s.ended(ses, now) {
		delete(s.sessions, token)
		ok = false
	}
	if ok {
		delete(s.sessions, token)
	}
	s.authMu.Unlock()
	if !ok {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		var req logonRequest
		if err == nil && json.Unmarshal(body, &req) == nil && (req.UserName != nil || req.Password != nil) {
			if !s.credentials(req) {
				s.stats.badCredentials.Add(1)
				writeJSON(w, http.StatusUnauthorized, message{"Invalid username or password"})
				return
			}
			s.authMu.Lock()
			for t, ses := range s.sessions {
				if ses.user == *req.UserName {
					delete(s.sessions, t)
				}
			}
			s.authMu.Unlock()
		}
	}
	s.stats.logouts.Add(1)
	s.setCookie(w, CookieSession, "")
	w.WriteHeader(http.StatusNoContent)
}

// authenticate returns the live session of r's RUI-Session-Token cookie,
// renewing its idle timeout, when r also carries the session's RUI-Csrf
// cookie; otherwise it answers 401 and returns nil.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *session {
	now := s.cfg.Clock()
	token, csrf := cookie(r, CookieSession), cookie(r, CookieCSRF)
	s.authMu.Lock()
	ses, ok := s.sessions[token]
	expired := ok && s.ended(ses, now)
	if expired {
		delete(s.sessions, token)
	}
	valid := ok && !expired && simkit.Equal(csrf, ses.csrf)
	if valid {
		ses.lastUsed = now
	}
	s.authMu.Unlock()
	if !valid {
		s.stats.unauthorized.Add(1)
		if expired {
			s.stats.expired.Add(1)
		}
		writeJSON(w, http.StatusUnauthorized, message{"Unauthorized"})
		return nil
	}
	return ses
}

// ExpireSessions ends every session at once, as a service restart would:
// the next call of each client is answered 401.
func (s *Server) ExpireSessions() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	clear(s.sessions)
}
