package simkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// NewLogger returns a JSON logger to stderr at level ("debug", "info",
// "warn" or "error"; debug logs every request).
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("parse -log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// Command is a simulator served by a command until SIGINT or SIGTERM.
type Command struct {
	// Name names the simulator in the logs, e.g. "plmsim".
	Name string
	// Addr is the listen address.
	Addr string
	// Handler is the simulator.
	Handler http.Handler
	// Start, when not nil, starts the simulator's background goroutines
	// (a growing history) with the command's context and returns channels
	// closed when each has returned after that context is done.
	Start func(ctx context.Context) []<-chan struct{}
	// Listening are attributes of the "simulator listening" record, after
	// the address.
	Listening []slog.Attr
	// Stopped, when not nil, returns attributes of the "simulator
	// stopped" record: the simulator's counters.
	Stopped func() []slog.Attr
}

// Serve listens on c.Addr and serves c.Handler until SIGINT or SIGTERM (or
// until serving fails), then shuts the server down gracefully, waits for
// the goroutines of c.Start and returns.
func Serve(log *slog.Logger, c Command) error {
	log = log.With(slog.String("simulator", c.Name))
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var background []<-chan struct{}
	if c.Start != nil {
		background = c.Start(ctx)
	}
	srv := &http.Server{Handler: c.Handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.LogAttrs(ctx, slog.LevelInfo, "simulator listening", append([]slog.Attr{slog.String("addr", ln.Addr().String())}, c.Listening...)...)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shut down: %w", err))
	}
	for _, done := range background {
		<-done
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	var attrs []slog.Attr
	if c.Stopped != nil {
		attrs = c.Stopped()
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "simulator stopped", attrs...)
	return nil
}
