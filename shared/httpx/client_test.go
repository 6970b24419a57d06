package httpx

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// testConfig has tiny intervals so retries cost milliseconds.
func testConfig() Config {
	return Config{
		Timeout:         2 * time.Second,
		MaxElapsed:      2 * time.Second,
		InitialInterval: time.Millisecond,
		MaxInterval:     2 * time.Millisecond,
	}
}

// sleepRecorder replaces Client.sleep: it records the waits and returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func (r *sleepRecorder) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// newTestClient returns a Client whose waits are recorded, not slept.
func newTestClient(cfg Config, opts ...Option) (*Client, *sleepRecorder) {
	c := New(cfg, append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	rec := &sleepRecorder{}
	c.sleep = rec.sleep
	return c, rec
}

// sequence serves the handlers in turn, repeating the last one, and counts
// the requests.
type sequence struct {
	handlers []http.HandlerFunc
	calls    atomic.Int32
}

func (s *sequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1))
	s.handlers[min(n, len(s.handlers))-1](w, r)
}

func serve(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *sequence) {
	t.Helper()
	seq := &sequence{handlers: handlers}
	srv := httptest.NewServer(seq)
	t.Cleanup(srv.Close)
	return srv, seq
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	}
}

func ok(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
}

func get(url string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name         string
		retryAfter   func() string
		wantMin      time.Duration
		wantMaxWaits time.Duration
	}{
		{name: "delta seconds", retryAfter: func() string { return "1" }, wantMin: time.Second, wantMaxWaits: time.Second},
		{name: "HTTP date", retryAfter: func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) },
			wantMin: time.Second, wantMaxWaits: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seq := serve(t,
				func(w http.ResponseWriter, r *http.Request) {
					status(http.StatusTooManyRequests, "Retry-After", tt.retryAfter())(w, r)
				},
				ok("done"))
			cfg := testConfig()
			cfg.MaxElapsed = time.Minute
			c, rec := newTestClient(cfg)
			resp, err := c.Do(context.Background(), get(srv.URL))
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if string(resp.Body) != "done" || seq.calls.Load() != 2 {
				t.Errorf("body %q after %d calls, want done after 2", resp.Body, seq.calls.Load())
			}
			waits := rec.recorded()
			if len(waits) != 1 || waits[0] < tt.wantMin || waits[0] > tt.wantMaxWaits {
				t.Errorf("waits = %v, want one in [%v, %v]", waits, tt.wantMin, tt.wantMaxWaits)
			}
		})
	}
}

func TestRetryAfterBeyondBudgetReturnsPromptly(t *testing.T) {
	srv, seq := serve(t, status(http.StatusServiceUnavailable, "Retry-After", "120"))
	cfg := testConfig()
	cfg.MaxElapsed = time.Second
	c, rec := newTestClient(cfg)
	_, err := c.Do(context.Background(), get(srv.URL))
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 || se.RetryAfter != 120*time.Second {
		t.Fatalf("Do = %v, want a 503 *StatusError with RetryAfter 2m", err)
	}
	if n := seq.calls.Load(); n != 1 || len(rec.recorded()) != 0 {
		t.Errorf("%d calls and waits %v, want 1 call and no wait", n, rec.recorded())
	}
}

func TestStatusRetries(t *testing.T) {
	tests := []struct {
		code      int
		wantCalls int32
	}{
		{http.StatusRequestTimeout, 2},
		{http.StatusTooEarly, 2},
		{http.StatusTooManyRequests, 2},
		{http.StatusInternalServerError, 2},
		{http.StatusBadGateway, 2},
		{http.StatusServiceUnavailable, 2},
		{http.StatusGatewayTimeout, 2},
		{http.StatusBadRequest, 1},
		{http.StatusForbidden, 1},
		{http.StatusNotFound, 1},
		{http.StatusConflict, 1},
		{http.StatusUnprocessableEntity, 1},
		{http.StatusNotImplemented, 1},
		{http.StatusUnauthorized, 1}, // without an Authorizer
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			srv, seq := serve(t, status(tt.code), ok("done"))
			c, _ := newTestClient(testConfig())
			_, err := c.Do(context.Background(), get(srv.URL))
			if got := seq.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if retried := tt.wantCalls == 2; retried != (err == nil) {
				t.Errorf("Do = %v", err)
			}
			if err != nil && !IsStatus(err, tt.code) {
				t.Errorf("IsStatus(%v, %d) = false", err, tt.code)
			}
		})
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	srv, seq := serve(t, status(http.StatusServiceUnavailable))
	cfg := testConfig()
	cfg.MaxElapsed = 30 * time.Millisecond
	c := New(cfg, WithLogger(slog.New(slog.DiscardHandler))) // real sleeps
	start := time.Now()
	_, err := c.Do(context.Background(), get(srv.URL))
	if !IsStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("Do = %v, want the last 503", err)
	}
	if n := seq.calls.Load(); n < 2 {
		t.Errorf("%d calls, want retries", n)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Do took %v with a 30ms budget", elapsed)
	}
}

// fakeAuth accepts the token "new" only after a Refresh.
type fakeAuth struct {
	refreshes atomic.Int32
}

func (a *fakeAuth) Authorize(_ context.Context, req *http.Request) error {
	tok := "old"
	if a.refreshes.Load() > 0 {
		tok = "new"
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (a *fakeAuth) Refresh(context.Context) error {
	a.refreshes.Add(1)
	return nil
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	tests := []struct {
		name      string
		accept    string // the Authorization the server accepts
		wantErr   bool
		wantCalls int32
	}{
		{name: "refresh fixes it", accept: "Bearer new", wantCalls: 2},
		{name: "second 401 is permanent", accept: "never", wantErr: true, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seq := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != tt.accept {
					status(http.StatusUnauthorized)(w, r)
					return
				}
				io.WriteString(w, "done")
			})
			auth := &fakeAuth{}
			c, _ := newTestClient(testConfig(), WithAuthorizer(auth))
			_, err := c.Do(context.Background(), get(srv.URL))
			if (err != nil) != tt.wantErr || (err != nil && !IsStatus(err, http.StatusUnauthorized)) {
				t.Errorf("Do = %v, want error %v", err, tt.wantErr)
			}
			if got := auth.refreshes.Load(); got != 1 {
				t.Errorf("Refresh called %d times, want 1", got)
			}
			if got := seq.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestStaticTokenRejected(t *testing.T) {
	const token = "static-s3cret"
	srv, seq := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token "+token || r.Header.Get("X-User-Id") != "42" {
			t.Errorf("headers = %v", r.Header)
		}
		status(http.StatusUnauthorized)(w, r)
	})
	c, _ := newTestClient(testConfig(), WithAuthorizer(NewStaticToken("Token", token, http.Header{"X-User-Id": {"42"}})))
	_, err := c.Do(context.Background(), get(srv.URL))
	if !IsStatus(err, http.StatusUnauthorized) || !errors.Is(err, ErrStaticTokenRejected) {
		t.Fatalf("Do = %v, want a 401 and ErrStaticTokenRejected", err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprint(c.auth), token) {
		t.Errorf("the token leaked: %v", err)
	}
	if n := seq.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	srv, seq := serve(t,
		func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close() // the client reads EOF
		},
		ok("done"))
	c, rec := newTestClient(testConfig())
	resp, err := c.Do(context.Background(), get(srv.URL))
	if err != nil || string(resp.Body) != "done" {
		t.Fatalf("Do = %v", err)
	}
	if n, waits := seq.calls.Load(), rec.recorded(); n != 2 || len(waits) != 1 {
		t.Errorf("%d calls, waits %v; want 2 calls after one retry", n, waits)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name      string
		firstErr  error
		wantCalls int32
	}{
		{name: "connection refused is retried", firstErr: refused, wantCalls: 2},
		{name: "reset is retried", firstErr: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, wantCalls: 2},
		{name: "unexpected EOF is retried", firstErr: io.ErrUnexpectedEOF, wantCalls: 2},
		{name: "unknown CA is permanent", firstErr: x509.UnknownAuthorityError{}, wantCalls: 1},
		{name: "other errors are permanent", firstErr: errors.New("unsupported protocol scheme"), wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if calls.Add(1) == 1 {
					return nil, tt.firstErr
				}
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("done")), Header: http.Header{}, Request: r}, nil
			})
			c, _ := newTestClient(testConfig(), WithTransport(rt))
			_, err := c.Do(context.Background(), get("http://vendor.example/api?token=s3cret"))
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d (err %v)", got, tt.wantCalls, err)
			}
			if (err == nil) != (tt.wantCalls == 2) {
				t.Errorf("Do = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestCallerCancellationIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, seq := serve(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	c, rec := newTestClient(testConfig())
	_, err := c.Do(ctx, get(srv.URL))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	if n := seq.calls.Load(); n != 1 || len(rec.recorded()) != 0 {
		t.Errorf("%d calls and waits %v, want 1 call", n, rec.recorded())
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	srv, seq := serve(t,
		func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		ok("done"))
	cfg := testConfig()
	cfg.Timeout = 50 * time.Millisecond
	c, _ := newTestClient(cfg)
	resp, err := c.Do(context.Background(), get(srv.URL))
	if err != nil || string(resp.Body) != "done" {
		t.Fatalf("Do = %v", err)
	}
	if n := seq.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestBodyCap(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name    string
		size    int
		stream  bool
		wantErr bool
	}{
		{name: "Do at the limit", size: limit},
		{name: "Do over the limit", size: limit + 1, wantErr: true},
		{name: "DoStream at the limit", size: limit, stream: true},
		{name: "DoStream over the limit", size: 10 * limit, stream: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seq := serve(t, ok(strings.Repeat("x", tt.size)))
			cfg := testConfig()
			cfg.MaxBodyBytes = limit
			c, _ := newTestClient(cfg)
			var err error
			var got []byte
			if tt.stream {
				err = c.DoStream(context.Background(), get(srv.URL), func(resp *http.Response) error {
					got, err = io.ReadAll(resp.Body)
					return err
				})
			} else {
				var resp *Response
				if resp, err = c.Do(context.Background(), get(srv.URL)); err == nil {
					got = resp.Body
				}
			}
			var tooLarge *BodyTooLargeError
			if tt.wantErr != errors.As(err, &tooLarge) {
				t.Fatalf("err = %v, want *BodyTooLargeError: %v", err, tt.wantErr)
			}
			if !tt.wantErr && len(got) != tt.size {
				t.Errorf("read %d bytes, want %d", len(got), tt.size)
			}
			if n := seq.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1 (a too-large body is permanent)", n)
			}
		})
	}
}

func TestDoStreamErrors(t *testing.T) {
	errHandle := errors.New("bad record")
	truncated := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the client reads an unexpected EOF
	}
	tests := []struct {
		name      string
		first     http.HandlerFunc
		handle    func(body []byte, err error) error
		wantErr   error
		wantCalls int32
	}{
		{
			name:   "dropped connection mid-body is retried",
			first:  truncated,
			handle: func(_ []byte, err error) error { return fmt.Errorf("decode: %w", err) },
			// the retry reads the whole body
			wantCalls: 2,
		},
		{
			name:      "handle's own error is permanent",
			first:     ok("full body"),
			handle:    func([]byte, error) error { return errHandle },
			wantErr:   errHandle,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seq := serve(t, tt.first, ok("full body"))
			c, _ := newTestClient(testConfig())
			var got []byte
			err := c.DoStream(context.Background(), get(srv.URL), func(resp *http.Response) error {
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return tt.handle(body, err)
				}
				got = body
				if tt.wantErr != nil {
					return tt.handle(body, nil)
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("DoStream = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && string(got) != "full body" {
				t.Errorf("handled %q", got)
			}
			if n := seq.calls.Load(); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestDoStreamTimeoutIsPerRead(t *testing.T) {
	// The body takes longer than Timeout in all but flows all the time: the
	// attempt must not be cut off. Gaps between chunks are far below Timeout.
	const chunks = 50
	srv, seq := serve(t, func(w http.ResponseWriter, r *http.Request) {
		for range chunks {
			io.WriteString(w, "chunk\n")
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	cfg := testConfig()
	cfg.Timeout = 300 * time.Millisecond
	c, _ := newTestClient(cfg)
	var got []byte
	err := c.DoStream(context.Background(), get(srv.URL), func(resp *http.Response) error {
		var err error
		got, err = io.ReadAll(resp.Body)
		return err
	})
	if err != nil || len(got) != chunks*len("chunk\n") {
		t.Fatalf("DoStream = %v after %d bytes", err, len(got))
	}
	if n := seq.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestRateLimit(t *testing.T) {
	// The limiters refill so slowly that only the burst is available: the
	// number of requests served shows the limit without timing anything.
	shared := rate.NewLimiter(rate.Limit(0.001), 3)
	tests := []struct {
		name    string
		clients func() []*Client
	}{
		{name: "Config.RateLimit", clients: func() []*Client {
			cfg := testConfig()
			cfg.RateLimit, cfg.Burst = 0.001, 3
			return []*Client{New(cfg)}
		}},
		{name: "limiter shared by two clients", clients: func() []*Client {
			return []*Client{New(testConfig(), WithLimiter(shared)), New(testConfig(), WithLimiter(shared))}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seq := serve(t, ok("done"))
			clients := tt.clients()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var errs int
			for i := range 6 {
				if _, err := clients[i%len(clients)].Do(ctx, get(srv.URL)); err != nil {
					errs++
				}
			}
			if n := seq.calls.Load(); n != 3 || errs != 3 {
				t.Errorf("served %d requests with %d errors, want 3 and 3", n, errs)
			}
		})
	}
}

func TestNoRateLimitByDefault(t *testing.T) {
	srv, seq := serve(t, ok("done"))
	c := New(testConfig())
	for range 20 {
		if _, err := c.Do(context.Background(), get(srv.URL)); err != nil {
			t.Fatal(err)
		}
	}
	if n := seq.calls.Load(); n != 20 {
		t.Errorf("served %d, want 20", n)
	}
}

func TestBuildIsCalledPerAttempt(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv, _ := serve(t,
		func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			status(http.StatusBadGateway)(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			if r.Header.Get("User-Agent") != "test-agent" {
				t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
			}
		})
	cfg := testConfig()
	cfg.UserAgent = "test-agent"
	c, _ := newTestClient(cfg)
	_, err := c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader([]byte(`{"q":1}`)))
		if err != nil {
			return nil, err
		}
		return Idempotent(req), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(bodies, "|") != `{"q":1}|{"q":1}` {
		t.Errorf("bodies = %q, want the body sent twice", bodies)
	}
	if _, err := c.Do(context.Background(), func(context.Context) (*http.Request, error) {
		return nil, errors.New("no such page")
	}); err == nil || !strings.Contains(err.Error(), "build request: no such page") {
		t.Errorf("Do with a failing build = %v", err)
	}
}

func TestGetJSON(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.URL.RawQuery == "" && r.Header.Get("X-Tenant") != "t1" {
			t.Errorf("headers = %v", r.Header)
		}
		io.WriteString(w, `{"items":[{"id":"a"},{"id":"b"}]}`)
	})
	c, _ := newTestClient(testConfig())
	var out struct {
		Items []struct{ ID string } `json:"items"`
	}
	if err := c.GetJSON(context.Background(), srv.URL, http.Header{"X-Tenant": {"t1"}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 || out.Items[1].ID != "b" {
		t.Errorf("decoded %+v", out)
	}
	var bad []int
	err := c.GetJSON(context.Background(), srv.URL+"?api_key=s3cret", nil, &bad)
	if err == nil || !strings.Contains(err.Error(), "decode JSON of GET") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("GetJSON into the wrong type = %v", err)
	}
}

// TestWithCookieJar checks that a Client with a jar stores the cookies a
// response sets and sends them with later requests, and that a Client
// without one sends none.
func TestWithCookieJar(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "S", Value: "v1", Path: "/"})
			return
		}
		c, err := r.Cookie("S")
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, c.Value)
	}))
	defer srv.Close()
	get := func(c *Client, path string) (*Response, error) {
		return c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		})
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Config{}, WithCookieJar(jar))
	if _, err := get(c, "/set"); err != nil {
		t.Fatal(err)
	}
	resp, err := get(c, "/read")
	if err != nil || string(resp.Body) != "v1" {
		t.Fatalf("with a jar: %v, %v; want the cookie sent back", resp, err)
	}
	plain := New(Config{})
	if _, err := get(plain, "/set"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(plain, "/read"); !IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("without a jar: %v, want 401", err)
	}
}
