package simkit

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// expiredTokenMemory is how long an expired token is remembered, so that it
// is told apart from a token never issued.
const expiredTokenMemory = 24 * time.Hour

// TokenConfig configures Tokens. Every field but the credentials is
// optional.
type TokenConfig struct {
	// Realm names the simulator in WWW-Authenticate challenges.
	Realm string
	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts.
	ClientID, ClientSecret string
	// TTL is the lifetime of issued access tokens, reported as expires_in
	// (whole seconds, at least 1). Default 1h.
	TTL time.Duration
	// StaticToken, when not empty, is a bearer token accepted forever in
	// addition to issued ones. Default "" (none).
	StaticToken string
	// RateLimit is the sustained number of requests per second Limit
	// allows per access token. Default 0: no limit.
	RateLimit float64
	// Burst is the token-bucket size of the rate limit. Default
	// max(1, ceil(RateLimit)).
	Burst int
	// Clock tells the time of expiries and of the rate limit. Default
	// time.Now.
	Clock func() time.Time
}

// Tokens is an OAuth2 client-credentials token endpoint (an http.Handler)
// and the bookkeeping of the tokens it issued: their expiry and a rate
// limit per token. Its methods are safe for concurrent use.
type Tokens struct {
	cfg      TokenConfig
	mu       sync.Mutex
	tokens   map[string]time.Time // access token → expiry
	limiters map[string]*rate.Limiter
	issued   atomic.Int64
	rejected atomic.Int64
}

// NewTokens returns Tokens that have issued nothing yet.
func NewTokens(cfg TokenConfig) *Tokens {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RateLimit)))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Tokens{cfg: cfg, tokens: map[string]time.Time{}, limiters: map[string]*rate.Limiter{}}
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// OAuthError is the token endpoint's error answer (RFC 6749 section
// 5.2).
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// ServeHTTP answers a token request: the client-credentials grant, with the
// client authenticated by HTTP Basic or by the form fields client_id and
// client_secret.
func (t *Tokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		t.rejected.Add(1)
		WriteJSON(w, http.StatusBadRequest, OAuthError{"invalid_request", "the body is not a valid form"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !Equal(id, t.cfg.ClientID) || !Equal(secret, t.cfg.ClientSecret) {
		t.rejected.Add(1)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", t.cfg.Realm))
		WriteJSON(w, http.StatusUnauthorized, OAuthError{"invalid_client", "the client credentials are not valid"})
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		t.rejected.Add(1)
		WriteJSON(w, http.StatusBadRequest, OAuthError{"unsupported_grant_type", "grant_type must be client_credentials"})
		return
	}

	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	token := hex.EncodeToString(b[:])
	now := t.cfg.Clock()
	t.mu.Lock()
	for tok, exp := range t.tokens {
		if now.Sub(exp) > expiredTokenMemory {
			delete(t.tokens, tok)
			delete(t.limiters, tok)
		}
	}
	t.tokens[token] = now.Add(t.cfg.TTL)
	t.mu.Unlock()
	t.issued.Add(1)
	WriteJSON(w, http.StatusOK, TokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   max(1, int64(t.cfg.TTL.Seconds())),
	})
}

// RotateStaticToken replaces StaticToken, as an operator rotating a
// tenant's token does: the old one is refused from now on.
func (t *Tokens) RotateStaticToken(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.StaticToken = token
}

// Issued returns the number of access tokens issued.
func (t *Tokens) Issued() int64 { return t.issued.Load() }

// Rejected returns the number of token requests answered 400 or 401.
func (t *Tokens) Rejected() int64 { return t.rejected.Load() }

// TokenState is what Authenticate found of a request's bearer token.
type TokenState int

// The states of a bearer token.
const (
	// TokenValid is an issued token that has not expired, or StaticToken.
	TokenValid TokenState = iota
	// TokenMissing is a request without Authorization: Bearer.
	TokenMissing
	// TokenUnknown is a token never issued (or long forgotten).
	TokenUnknown
	// TokenExpired is an issued token past its expiry.
	TokenExpired
)

// Authenticate returns the bearer token of r and its state. For any state
// but TokenValid it sets the WWW-Authenticate challenge of the 401 the
// caller answers.
func (t *Tokens) Authenticate(w http.ResponseWriter, r *http.Request) (string, TokenState) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", t.cfg.Realm))
		return "", TokenMissing
	}
	t.mu.Lock()
	static := t.cfg.StaticToken
	t.mu.Unlock()
	if static != "" && Equal(token, static) {
		return token, TokenValid
	}
	t.mu.Lock()
	exp, known := t.tokens[token]
	t.mu.Unlock()
	switch {
	case !known:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token", error_description="unknown token"`, t.cfg.Realm))
		return "", TokenUnknown
	case !t.cfg.Clock().Before(exp):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token", error_description="token expired"`, t.cfg.Realm))
		return "", TokenExpired
	}
	return token, TokenValid
}

// Limit takes one request from token's bucket. When the bucket is empty it
// reports true and the whole seconds after which a request will pass.
func (t *Tokens) Limit(token string) (retryAfter int, limited bool) {
	if t.cfg.RateLimit <= 0 {
		return 0, false
	}
	now := t.cfg.Clock()
	t.mu.Lock()
	lim, ok := t.limiters[token]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(t.cfg.RateLimit), t.cfg.Burst)
		t.limiters[token] = lim
	}
	t.mu.Unlock()
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

// Equal compares secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
