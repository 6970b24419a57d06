package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentials is an Authorizer for the OAuth2 client credentials
// grant. It caches the bearer token and fetches a new one shortly before it
// expires: one minute before, or a tenth of the token's lifetime before
// when that is shorter. A token without expiry is kept until Refresh.
// Extra static headers (e.g. X-User-Id) are added to every request.
type ClientCredentials struct {
	cfg      clientcredentials.Config
	reload   func() (string, error) // the client secret, re-read per token fetch
	base     *http.Client
	extra    http.Header
	tokenURL string // redacted, for errors
	now      func() time.Time

	mu      sync.Mutex
	token   *oauth2.Token
	renewAt time.Time // zero: never
}

// NewClientCredentials returns a ClientCredentials that fetches tokens from
// tokenURL with base (a client with a 30s timeout when nil). extraHeader
// may be nil.
func NewClientCredentials(tokenURL, clientID, clientSecret string, scopes []string, extraHeader http.Header, base *http.Client) *ClientCredentials {
	if base == nil {
		base = &http.Client{Timeout: DefaultTimeout}
	}
	return &ClientCredentials{
		cfg: clientcredentials.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			TokenURL:     tokenURL,
			Scopes:       scopes,
		},
		base:     base,
		extra:    extraHeader.Clone(),
		tokenURL: RedactURLString(tokenURL),
		now:      time.Now,
	}
}

// Authorize sets the Authorization header to the cached bearer token,
// fetching one if needed, and adds the extra headers.
func (c *ClientCredentials) Authorize(ctx context.Context, req *http.Request) error {
	c.mu.Lock()
	tok := c.token
	var err error
	if tok == nil || !c.renewAt.IsZero() && !c.now().Before(c.renewAt) {
		tok, err = c.fetchLocked(ctx)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	addHeaders(req, c.extra)
	return nil
}

// Refresh fetches a new token, replacing the cached one.
func (c *ClientCredentials) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.fetchLocked(ctx)
	return err
}

// String describes c without its secret.
func (c *ClientCredentials) String() string {
	return fmt.Sprintf("OAuth2 client credentials of client %q at %s", c.cfg.ClientID, c.tokenURL)
}

// WithSecretReload makes c read its client secret with read before every
// token fetch (for a secret given as <NAME>_FILE, config.Reader re-reads
// the file), so that a rotated Secret is used from the next token on, and
// at once after a 401. It returns c.
func (c *ClientCredentials) WithSecretReload(read func() (string, error)) *ClientCredentials {
	c.reload = read
	return c
}

func (c *ClientCredentials) fetchLocked(ctx context.Context) (*oauth2.Token, error) {
	if c.reload != nil {
		secret, err := c.reload()
		if err != nil {
			return nil, fmt.Errorf("client secret of %q: %w", c.cfg.ClientID, err)
		}
		c.cfg.ClientSecret = secret
	}
	obtained := c.now()
	tok, err := c.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, c.base))
	if err != nil {
		err = fmt.Errorf("fetch OAuth2 token from %s: %w", c.tokenURL, err)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && !retryableStatus(re.Response.StatusCode) {
			return nil, err // rejected credentials: permanent
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, &temporary{err: err}
	}
	c.token = tok
	c.renewAt = time.Time{}
	if !tok.Expiry.IsZero() {
		// oauth2 sets Expiry from expires_in with the wall clock.
		lifetime := time.Until(tok.Expiry)
		margin := min(time.Minute, lifetime/10)
		c.renewAt = obtained.Add(lifetime - margin)
	}
	return tok, nil
}

// StaticToken is an Authorizer with a fixed "Authorization: <scheme>
// <token>" header and extra static headers. It cannot re-authenticate,
// but with WithReload it re-reads its token after a 401 (a rotated
// Kubernetes Secret) and retries when the token changed.
type StaticToken struct {
	scheme string
	extra  http.Header
	reload func() (string, error)

	mu            sync.Mutex
	authorization string
}

// NewStaticToken returns a StaticToken. With an empty scheme the header is
// the bare token; with an empty token no Authorization header is sent.
// extraHeader may be nil.
func NewStaticToken(scheme, token string, extraHeader http.Header) *StaticToken {
	return &StaticToken{scheme: scheme, authorization: authorization(scheme, token), extra: extraHeader.Clone()}
}

func authorization(scheme, token string) string {
	if scheme != "" && token != "" {
		return scheme + " " + token
	}
	return token
}

// WithReload makes Refresh call read for the current token (for a token
// given as <NAME>_FILE, config.Reader re-reads the file) and returns s.
func (s *StaticToken) WithReload(read func() (string, error)) *StaticToken {
	s.reload = read
	return s
}

// Authorize sets the Authorization and extra headers.
func (s *StaticToken) Authorize(_ context.Context, req *http.Request) error {
	s.mu.Lock()
	auth := s.authorization
	s.mu.Unlock()
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	addHeaders(req, s.extra)
	return nil
}

// ErrStaticTokenRejected is returned by StaticToken.Refresh.
var ErrStaticTokenRejected = errors.New("the static token was rejected; configure a valid token")

// Refresh returns ErrStaticTokenRejected unless the token reloads (see
// WithReload) to a different value, which the retried request then
// carries.
func (s *StaticToken) Refresh(context.Context) error {
	if s.reload == nil {
		return ErrStaticTokenRejected
	}
	tok, err := s.reload()
	if err != nil {
		return fmt.Errorf("%w (%w)", ErrStaticTokenRejected, err)
	}
	auth := authorization(s.scheme, tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if auth == s.authorization {
		return fmt.Errorf("%w (it is unchanged since it was last read)", ErrStaticTokenRejected)
	}
	s.authorization = auth
	return nil
}

// String describes s without its token.
func (s *StaticToken) String() string { return "static token" }

func addHeaders(req *http.Request, h http.Header) {
	for k, vs := range h {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}
