package epmsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// session is one issued token.
type session struct {
	id       int64 // InternalSessionId of the records the session's calls add
	user     string
	issued   time.Time
	lastUsed time.Time
}

// logonRequest is the body of the logon.
type logonRequest struct {
	Username      *string `json:"Username"`
	Password      *string `json:"Password"`
	ApplicationID *string `json:"ApplicationID"`
}

// logonResponse is the logon's answer.
type logonResponse struct {
	IsPasswordExpired       bool   `json:"IsPasswordExpired"`
	EPMAuthenticationResult string `json:"EPMAuthenticationResult"`
	ManagerURL              string `json:"ManagerURL"`
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// handleLogon answers POST /EPM/API[/{version}]/Auth/EPM/Logon at the
// dispatcher.
func (s *Server) handleLogon(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var req logonRequest
	if err != nil || json.Unmarshal(body, &req) != nil || req.Username == nil || req.Password == nil || req.ApplicationID == nil {
		s.stats.logonFailures.Add(1)
		writeError(w, http.StatusBadRequest, "EPM000005E", "The request body must be {\"Username\",\"Password\",\"ApplicationID\"}.")
		return
	}
	if !equal(*req.Username, s.cfg.Username) || !equal(*req.Password, s.cfg.Password) ||
		*req.ApplicationID == "" || (s.cfg.ApplicationID != "" && *req.ApplicationID != s.cfg.ApplicationID) {
		s.stats.logonFailures.Add(1)
		writeError(w, http.StatusUnauthorized, "EPM000001E", "Authentication failed: wrong user name, password or application id.")
		return
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.cfg.Clock()
	s.authMu.Lock()
	for t, ses := range s.sessions {
		if s.expired(ses, now) != "" {
			delete(s.sessions, t)
		}
	}
	s.sessionSeq++
	s.sessions[token] = &session{id: 5000 + s.sessionSeq, user: *req.Username, issued: now, lastUsed: now}
	s.authMu.Unlock()
	s.stats.logons.Add(1)
	writeJSON(w, http.StatusOK, logonResponse{
		IsPasswordExpired:       s.cfg.PasswordExpired,
		EPMAuthenticationResult: token,
		ManagerURL:              s.managerURL(r),
	})
}

// managerURL returns the ManagerURL of a logon request.
func (s *Server) managerURL(r *http.Request) string {
	if s.cfg.ManagerURL != "" {
		return s.cfg.ManagerURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cfg.ManagerPath
}

// expired returns why ses is no longer valid at now, or "".
func (s *Server) expired(ses *session, now time.Time) string {
	switch {
	case !now.Before(ses.lastUsed.Add(s.cfg.SessionTimeout)):
		return "The session expired after inactivity."
	case !now.Before(ses.issued.Add(s.cfg.TokenMaxAge)):
		return "The session reached its maximum age."
	}
	return ""
}

// authorize checks the token of a manager request, renews its inactivity
// timeout and returns its session; otherwise it answers 401 and returns nil.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *session {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "basic") || token == "" {
		s.fail(w, http.StatusUnauthorized, "EPM000002E", "The request has no \"Authorization: basic <token>\" header.")
		return nil
	}
	now := s.cfg.Clock()
	s.authMu.Lock()
	ses, ok := s.sessions[token]
	why := ""
	switch {
	case !ok:
		why = "The token is not valid."
	default:
		if why = s.expired(ses, now); why != "" {
			delete(s.sessions, token)
		} else {
			ses.lastUsed = now
		}
	}
	var out session
	if ses != nil {
		out = *ses
	}
	s.authMu.Unlock()
	if why != "" {
		s.fail(w, http.StatusUnauthorized, "EPM000003E", why)
		return nil
	}
	return &out
}

// ExpireSessions ends every session at once, as a tenant restart would:
// the next call of each client is answered 401.
func (s *Server) ExpireSessions() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	clear(s.sessions)
}
