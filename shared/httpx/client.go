// Package httpx is the one HTTP client every vendor package uses. A Client
// adds to net/http: a timeout per attempt, retries with exponential backoff
// and jitter that honour Retry-After, a client-side rate limit,
// authorization with one re-authentication after a 401, a cap on response
// bodies, an OpenTelemetry span per HTTP call and metrics per vendor.
//
// Retries: an attempt is retried after a network error (but not after the
// caller's context ends or a certificate error), after its Timeout, and
// after 408, 425, 429, 500, 502, 503 and 504 — when the request is
// idempotent. GET, HEAD, OPTIONS, TRACE, PUT and DELETE are; a POST or
// PATCH is only when its caller declares it safe to repeat with
// Idempotent (a query, a logon). A request that is not idempotent is
// retried only where the server cannot have acted on it (a 429, a
// connection that was never made, a 401 refreshed); any other failure is
// returned to the caller at once, wrapping ErrOutcomeUnknown when the
// server may have acted on it, so that the caller decides (Oracle's report
// submit: a retried POST would create a second job). The wait is the larger of the
// exponential backoff (with jitter) and the Retry-After header (seconds or
// HTTP date); when that wait would end past MaxElapsed or the context's
// deadline, the last error is returned at once instead. Other statuses are
// permanent, except 401 with an Authorizer: it is refreshed and the request
// retried once.
//
// The round-tripper chain of a Client is, from the outside in:
// otelhttp (span per call) → redaction of the span's url.full → the base
// transport (WithTransport, or a clone of http.DefaultTransport).
//
// Errors and logs never hold credentials: URLs are shown without userinfo
// and with the values of secret-looking query parameters redacted, and
// request headers are never logged.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxElapsed      = 2 * time.Minute
	DefaultInitialInterval = 500 * time.Millisecond
	DefaultMaxInterval     = 30 * time.Second
	DefaultMaxBodyBytes    = 64 << 20
	DefaultUserAgent       = "auditstream"
)

// Config tunes a Client. Zero fields take their defaults.
type Config struct {
	// Timeout bounds one attempt. For Do it covers sending the request and
	// reading the whole body; for DoStream it covers waiting for the
	// response headers and then each wait for more body bytes, so a long
	// download that keeps flowing is not cut off. Default 30s.
	Timeout time.Duration
	// MaxElapsed is the retry budget of one Do: no retry starts after it,
	// and the last error is returned instead. Default 2m.
	MaxElapsed time.Duration
	// InitialInterval is the first backoff wait. Default 500ms.
	InitialInterval time.Duration
	// MaxInterval caps the backoff wait (before jitter). Default 30s.
	MaxInterval time.Duration
	// RateLimit is the number of attempts per second across the Client;
	// 0 means unlimited. WithLimiter overrides it. Default 0.
	RateLimit float64
	// Burst is the rate limiter's burst. Default 1.
	Burst int
	// MaxBodyBytes caps a response body; a larger one fails permanently with
	// a *BodyTooLargeError. Default 64 MiB.
	MaxBodyBytes int64
	// UserAgent is sent when the request has none. Default "auditstream".
	UserAgent string
}

func (c Config) withDefaults() Config {
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.MaxElapsed, DefaultMaxElapsed)
	setDefault(&c.InitialInterval, DefaultInitialInterval)
	setDefault(&c.MaxInterval, DefaultMaxInterval)
	setDefault(&c.Burst, 1)
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.UserAgent, DefaultUserAgent)
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Authorizer adds credentials to requests and can re-authenticate.
type Authorizer interface {
	// Authorize adds credentials to req. An error fails the attempt; it is
	// retried only if it is a network error or wraps one marked temporary
	// (as ClientCredentials does for an unavailable token endpoint).
	Authorize(ctx context.Context, req *http.Request) error
	// Refresh is called after a 401; the request is then rebuilt and
	// retried once. A second 401 is permanent.
	Refresh(ctx context.Context) error
}

// Option configures a Client.
type Option func(*Client)

// WithAuthorizer makes the Client authorize every attempt with a.
func WithAuthorizer(a Authorizer) Option { return func(c *Client) { c.auth = a } }

// WithTransport sets the base transport, which the Client wraps with
// otelhttp. Tests use it to inject faults.
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.base = rt } }

// WithLimiter shares one rate limiter, e.g. per tenant, between clients.
// It replaces Config.RateLimit and Config.Burst.
func WithLimiter(l *rate.Limiter) Option { return func(c *Client) { c.limiter = l } }

// WithCookieJar makes the Client keep cookies in jar: it is the Jar of the
// underlying http.Client, so every attempt sends the jar's cookies for its
// URL and stores the cookies of every response (a vendor's cookie session).
// Default: no jar, no cookies.
func WithCookieJar(jar http.CookieJar) Option { return func(c *Client) { c.jar = jar } }

// WithLogger sets the logger of retries. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithName sets the vendor label of metrics and logs, e.g. "plm".
// Default "unknown".
func WithName(vendor string) Option { return func(c *Client) { c.name = vendor } }

// Client sends requests to one vendor API. It is safe for concurrent use.
type Client struct {
	cfg     Config
	name    string
	base    http.RoundTripper
	http    *http.Client
	auth    Authorizer
	jar     http.CookieJar
	limiter *rate.Limiter
	log     *slog.Logger
	metrics *metrics
	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Client for cfg.
func New(cfg Config, opts ...Option) *Client {
	c := &Client{
		cfg:   cfg.withDefaults(),
		name:  "unknown",
		log:   slog.Default(),
		sleep: sleep,
	}
	for _, o := range opts {
		o(c)
	}
	if c.base == nil {
		c.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if c.limiter == nil && c.cfg.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(c.cfg.RateLimit), c.cfg.Burst)
	}
	c.http = &http.Client{Transport: otelhttp.NewTransport(spanURLRedactor{next: c.base}), Jar: c.jar}
	c.metrics = newMetrics(c.name)
	return c
}

// Response is a whole response of a successful Do.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Do sends the request that build returns, calling build again for every
// attempt so that bodies can be re-sent; the context build receives ends
// with the attempt. Do waits for the rate limiter before each attempt,
// authorizes the request, retries as the package documents, and returns
// the whole 2xx body (at most MaxBodyBytes). A non-2xx response that is
// not retried, or still fails when the budget is spent, gives a
// *StatusError.
func (c *Client) Do(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	var out *Response
	err := c.retry(ctx, build, false, func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		out = &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DoStream is Do for large bodies: handle reads resp.Body itself and is
// called only for a 2xx response. The body is capped by MaxBodyBytes:
// reading past it fails with a *BodyTooLargeError. An error from handle
// is permanent unless it wraps the network or I/O error that reading the
// body returned (a connection dropped mid-body); then the request is
// retried and handle is called again with the new response, so handle
// must discard what it got from a failed attempt.
func (c *Client) DoStream(ctx context.Context, build func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	return c.retry(ctx, build, true, handle)
}

// GetJSON sends a GET of rawURL with header (Accept: application/json
// unless header sets it) and decodes the 2xx JSON body into out.
func (c *Client) GetJSON(ctx context.Context, rawURL string, header http.Header, out any) error {
	resp, err := c.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = slices.Clone(v)
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		return req, nil
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("decode JSON of GET %s: %w", RedactURLString(rawURL), err)
	}
	return nil
}

// errAttemptTimeout is the cause of an attempt's context when
// Config.Timeout ends it.
var errAttemptTimeout = errors.New("attempt timed out")

// outcome is the result of one attempt.
type outcome struct {
	err          error
	retryable    bool
	reason       string        // label of a retry: "status_503", "network", "timeout", "body_read"
	retryAfter   time.Duration // from a Retry-After header
	status       int           // HTTP status, 0 when none was received
	unauthorized bool          // a 401
	idempotent   bool          // the request may be repeated (Idempotent)
	unsent       bool          // the request never reached the server (dial failed)
	method, url  string        // url redacted
}

// attempt sends one request and hands a 2xx response to consume.
func (c *Client) attempt(ctx context.Context, build func(context.Context) (*http.Request, error), stream bool, consume func(*http.Response) error) outcome {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(c.cfg.Timeout, func() { cancel(errAttemptTimeout) })
	defer timer.Stop()

	req, err := build(actx)
	if err == nil && req == nil {
		err = errors.New("build returned no request")
	}
	if err != nil {
		return outcome{err: fmt.Errorf("build request: %w", unwrapURLError(err))}
	}
	o := outcome{method: req.Method, url: RedactURL(req.URL), idempotent: isIdempotent(req)}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	if c.auth != nil {
		if err := c.auth.Authorize(actx, req); err != nil {
			o.err = fmt.Errorf("authorize %s %s: %w", o.method, o.url, err)
			o.retryable, o.reason = classify(ctx, actx, err)
			return o
		}
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.metrics.request(ctx, "error", time.Since(start))
		inner := unwrapURLError(err)
		o.retryable, o.reason = classify(ctx, actx, inner)
		o.unsent = neverSent(inner)
		if o.reason == "timeout" {
			o.err = fmt.Errorf("%s %s: no response within %s: %w", o.method, o.url, c.cfg.Timeout, inner)
		} else {
			o.err = fmt.Errorf("%s %s: %w", o.method, o.url, inner)
		}
		return o
	}
	c.metrics.request(ctx, strconv.Itoa(resp.StatusCode), time.Since(start))
	defer resp.Body.Close()
	o.status = resp.StatusCode

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := newStatusError(o.method, o.url, resp, time.Now())
		o.err = se
		o.unauthorized = resp.StatusCode == http.StatusUnauthorized
		if retryableStatus(resp.StatusCode) {
			o.retryable, o.reason, o.retryAfter = true, "status_"+strconv.Itoa(resp.StatusCode), se.RetryAfter
		}
		return o
	}

	body := &cappedBody{body: resp.Body, left: c.cfg.MaxBodyBytes, limit: c.cfg.MaxBodyBytes}
	if stream {
		body.idle, body.timeout = timer, c.cfg.Timeout
	}
	resp.Body = body
	err = consume(resp)
	if err == nil {
		return o
	}
	verb := "read response of"
	if stream {
		verb = "handle response of"
	}
	o.err = fmt.Errorf("%s %s %s: %w", verb, o.method, o.url, err)
	var tooLarge *BodyTooLargeError
	if body.readErr != nil && errors.Is(err, body.readErr) && !errors.As(err, &tooLarge) {
		o.retryable, o.reason = classify(ctx, actx, body.readErr)
		if o.reason == "network" {
			o.reason = "body_read"
		}
	}
	return o
}

// retry runs attempts until one succeeds, one fails permanently, the
// budget is spent or ctx is done.
func (c *Client) retry(ctx context.Context, build func(context.Context) (*http.Request, error), stream bool, consume func(*http.Response) error) error {
	start := time.Now()
	b := c.newBackOff()
	refreshed := false
	for attempt := 1; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return fmt.Errorf("wait for the %s rate limiter: %w", c.name, err)
			}
		}
		o := c.attempt(ctx, build, stream, consume)
		if o.err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return o.err
		}
		if o.unauthorized && c.auth != nil && !refreshed {
			refreshed = true
			if err := c.auth.Refresh(ctx); err != nil {
				return fmt.Errorf("%w (refresh credentials: %w)", o.err, err)
			}
			c.logRetry(ctx, o, attempt, 0, "unauthorized")
			continue
		}
		if !o.retryable {
			return o.err
		}
		if !o.idempotent && !o.unsent && o.status != http.StatusTooManyRequests {
			// The server may have acted on it: repeating a request that
			// is not idempotent could do it twice.
			return fmt.Errorf("%w (%w)", o.err, ErrOutcomeUnknown)
		}
		wait := b.NextBackOff()
		if wait == backoffStop {
			return o.err
		}
		wait = max(wait, o.retryAfter)
		if time.Since(start)+wait > c.cfg.MaxElapsed {
			return o.err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return o.err
		}
		c.logRetry(ctx, o, attempt, wait, o.reason)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", o.err, err)
		}
	}
}

// logRetry records a retry in the log and the retries counter.
func (c *Client) logRetry(ctx context.Context, o outcome, attempt int, wait time.Duration, reason string) {
	c.metrics.retry(ctx, reason)
	attrs := []slog.Attr{
		slog.String("vendor", c.name),
		slog.String("method", o.method),
		slog.String("url", o.url),
		slog.Int("attempt", attempt),
		slog.Duration("wait", wait),
		slog.String("reason", reason),
	}
	if o.status != 0 {
		attrs = append(attrs, slog.Int("status", o.status))
	}
	if !strings.HasPrefix(reason, "status_") && reason != "unauthorized" {
		attrs = append(attrs, slog.String("error", o.err.Error()))
	}
	// Debug: the caller that handles the final error logs it once; the
	// retries are counted in auditstream_http_retries_total.
	c.log.LogAttrs(ctx, slog.LevelDebug, "http retry", attrs...)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
