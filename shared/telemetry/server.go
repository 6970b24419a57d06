package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server timeouts. Scrapes and probes are small; these only bound slow or
// stuck clients.
const (
	serverReadHeaderTimeout = 5 * time.Second
	serverReadTimeout       = 10 * time.Second
	serverWriteTimeout      = 30 * time.Second
	serverIdleTimeout       = 60 * time.Second
)

// defaultHealthcheckTimeout bounds [Healthcheck] when its context has no
// deadline.
const defaultHealthcheckTimeout = 5 * time.Second

// Server serves the operations endpoints:
//
//   - GET /livez: 200 "ok" while the process runs (the server answers).
//   - GET /readyz: 200 {"status":"ready"} when [Health.Ready], else 503
//     {"status":"not ready","components":{"<name>":"<reason>",...}} naming
//     each component not ready and why.
//   - GET /metrics: [Telemetry.MetricsHandler].
type Server struct {
	addr   string
	logger *slog.Logger
	srv    *http.Server

	mu       sync.Mutex
	ln       net.Listener
	done     chan struct{} // closed when the serving goroutine returns
	serveErr error         // the serving goroutine's error, read after done
}

// NewServer returns a Server for addr (for example ":8080", or ":0" for any
// free port) with the metrics of t and the readiness of h. t and h must not
// be nil. It does not listen until Start.
func NewServer(addr string, t *Telemetry, h *Health) *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", readyHandler(h))
	mux.Handle("GET /metrics", t.MetricsHandler())
	return &Server{
		addr:   addr,
		logger: t.Logger(),
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: serverReadHeaderTimeout,
			ReadTimeout:       serverReadTimeout,
			WriteTimeout:      serverWriteTimeout,
			IdleTimeout:       serverIdleTimeout,
			ErrorLog:          slog.NewLogLogger(t.Logger().Handler(), slog.LevelWarn),
		},
	}
}

// readyResponse is the JSON body of /readyz.
type readyResponse struct {
	Status     string            `json:"status"`
	Components map[string]string `json:"components,omitempty"`
}

// readyHandler answers /readyz from h.
func readyHandler(h *Health) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ready, notReady := h.Ready()
		resp, code := readyResponse{Status: "ready"}, http.StatusOK
		if !ready {
			resp, code = readyResponse{Status: "not ready", Components: notReady}, http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// Start listens on the Server's address, so that a bad or busy address is an
// error here, and serves in a goroutine that Shutdown stops and waits for.
// A Server starts once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("start operations server on %s: already started", s.addr)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("start operations server: listen on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("operations server stopped", "addr", ln.Addr().String(), "error", err)
			s.serveErr = fmt.Errorf("serve operations endpoints on %s: %w", ln.Addr(), err)
		}
	}()
	s.logger.Info("operations server listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the Server listens on, with the port chosen for
// ":0", or the configured address before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.addr
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections, lets requests in flight finish until
// ctx ends (then closes their connections), and waits for the serving
// goroutine. It returns ctx's error if requests had to be cut off, or the
// error that stopped serving early. Shutdown before Start does nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		err = fmt.Errorf("shut down operations server: %w", err)
	}
	<-done
	return errors.Join(err, s.serveErr)
}

// Healthcheck asks the Server listening on addr (the configured address, for
// example ":8080") whether it is ready: GET http://127.0.0.1:<port>/readyz,
// nil on 200. When addr names a specific host other than a wildcard
// ("0.0.0.0", "::") or localhost, that host is asked instead. It is the
// -healthcheck mode of a binary in a distroless image, which has no shell or
// curl. Without a deadline on ctx, it gives up after 5 seconds.
func Healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: parse address %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return fmt.Errorf("healthcheck: address %q has no fixed port", addr)
	}
	if ip := net.ParseIP(host); host == "" || host == "localhost" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultHealthcheckTimeout)
		defer cancel()
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: build request for %s: %w", url, err)
	}
	// A transport of its own: no proxy from the environment, no pooled
	// connection left behind.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: status %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
