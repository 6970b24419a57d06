package avevasim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"math"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// expiredTokenMemory is how long an expired token is remembered, so that it
// is answered "expired" rather than "unknown".
const expiredTokenMemory = 24 * time.Hour

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// oauthError is an OAuth2 error answer (RFC 6749 section 5.2).
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// handleToken answers POST /identity/connect/token: the client-credentials
// grant, with the client authenticated by HTTP Basic or by the form fields
// client_id and client_secret.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		s.stats.tokensRejected.Add(1)
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "the body is not a valid form"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !equal(id, s.cfg.ClientID) || !equal(secret, s.cfg.ClientSecret) {
		s.stats.tokensRejected.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="avevasim"`)
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "the client credentials are not valid"})
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		s.stats.tokensRejected.Add(1)
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "grant_type must be client_credentials"})
		return
	}

	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	token := hex.EncodeToString(b[:])
	now := s.cfg.Clock()
	s.authMu.Lock()
	for t, exp := range s.tokens {
		if now.Sub(exp) > expiredTokenMemory {
			delete(s.tokens, t)
			delete(s.limiters, t)
		}
	}
	s.tokens[token] = now.Add(s.cfg.TokenTTL)
	s.authMu.Unlock()
	s.stats.tokensIssued.Add(1)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   max(1, int64(s.cfg.TokenTTL.Seconds())),
	})
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authorize checks the bearer token of a report request and returns it, or
// answers 401 and reports false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="avevasim"`)
		s.fail(w, http.StatusUnauthorized, "the request has no Authorization: Bearer token")
		return "", false
	}
	if s.cfg.StaticToken != "" && equal(token, s.cfg.StaticToken) {
		return token, true
	}
	s.authMu.Lock()
	exp, known := s.tokens[token]
	s.authMu.Unlock()
	switch {
	case !known:
		w.Header().Set("WWW-Authenticate", `Bearer realm="avevasim", error="invalid_token", error_description="unknown token"`)
		s.fail(w, http.StatusUnauthorized, "the bearer token is not valid")
		return "", false
	case !s.cfg.Clock().Before(exp):
		w.Header().Set("WWW-Authenticate", `Bearer realm="avevasim", error="invalid_token", error_description="token expired"`)
		s.fail(w, http.StatusUnauthorized, "the bearer token has expired")
		return "", false
	}
	return token, true
}

// limit takes one request from token's bucket. When the bucket is empty it
// reports true and the whole seconds after which a request will pass.
func (s *Server) limit(token string) (retryAfter int, limited bool) {
	if s.cfg.RateLimit <= 0 {
		return 0, false
	}
	now := s.cfg.Clock()
	s.authMu.Lock()
	lim, ok := s.limiters[token]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.Burst)
		s.limiters[token] = lim
	}
	s.authMu.Unlock()
	res := lim.ReserveN(now, 1)
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
