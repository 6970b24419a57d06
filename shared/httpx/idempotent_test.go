package httpx

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestIdempotency checks which failed requests are retried: every failure
// of an idempotent request that is retried at all, and for a POST not
// declared idempotent only the failures the server cannot have acted on.
func TestIdempotency(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	fail := func(status int, err error) func(*http.Request) (*http.Response, error) {
		return func(r *http.Request) (*http.Response, error) {
			if err != nil {
				return nil, err
			}
			return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("x")), Header: http.Header{"Retry-After": {"0"}}, Request: r}, nil
		}
	}
	tests := []struct {
		name      string
		method    string
		declared  bool
		first     func(*http.Request) (*http.Response, error)
		wantCalls int32
		unknown   bool // the error wraps ErrOutcomeUnknown
	}{
		{"GET 503 retried", http.MethodGet, false, fail(503, nil), 2, false},
		{"DELETE reset retried", http.MethodDelete, false, fail(0, reset), 2, false},
		{"PUT 500 retried", http.MethodPut, false, fail(500, nil), 2, false},
		{"POST 503 not retried", http.MethodPost, false, fail(503, nil), 1, true},
		{"POST 502 not retried", http.MethodPost, false, fail(502, nil), 1, true},
		{"POST reset not retried", http.MethodPost, false, fail(0, reset), 1, true},
		{"PATCH 500 not retried", http.MethodPatch, false, fail(500, nil), 1, true},
		{"POST 429 retried", http.MethodPost, false, fail(429, nil), 2, false},
		{"POST refused connection retried", http.MethodPost, false, fail(0, refused), 2, false},
		{"POST 400 permanent", http.MethodPost, false, fail(400, nil), 1, false},
		{"declared POST 503 retried", http.MethodPost, true, fail(503, nil), 2, false},
		{"declared POST reset retried", http.MethodPost, true, fail(0, reset), 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if calls.Add(1) == 1 {
					return tt.first(r)
				}
				if v, ok := r.Header[idempotencyKey]; ok && v != nil {
					t.Errorf("the idempotency marker has a value: %q", v)
				}
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("done")), Header: http.Header{}, Request: r}, nil
			})
			c, _ := newTestClient(testConfig(), WithTransport(rt))
			_, err := c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, tt.method, "http://vendor.example/reports", strings.NewReader("q"))
				if err == nil && tt.declared {
					Idempotent(req)
				}
				return req, err
			})
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d (err %v)", got, tt.wantCalls, err)
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got != tt.unknown {
				t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v (err %v)", got, tt.unknown, err)
			}
			if tt.wantCalls == 2 && err != nil {
				t.Errorf("Do = %v, want success after one retry", err)
			}
		})
	}
}

// TestIdempotentMarkerNotSent checks that Idempotent marks a request
// without sending a header to the vendor.
func TestIdempotentMarkerNotSent(t *testing.T) {
	var got atomic.Value
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Clone())
	})
	c, _ := newTestClient(testConfig())
	if _, err := c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
		if err != nil {
			return nil, err
		}
		return Idempotent(req), nil
	}); err != nil {
		t.Fatal(err)
	}
	h := got.Load().(http.Header)
	if _, ok := h[idempotencyKey]; ok {
		t.Errorf("the server received %s: %q", idempotencyKey, h[idempotencyKey])
	}
}

// TestNonIdempotentTimeoutNotRetried checks that a POST whose answer does
// not come within the attempt timeout is not sent again.
func TestNonIdempotentTimeoutNotRetried(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, seq := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	cfg := testConfig()
	cfg.Timeout = 50 * time.Millisecond
	c, _ := newTestClient(cfg)
	_, err := c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("Do = %v, want ErrOutcomeUnknown", err)
	}
	if n := seq.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}
