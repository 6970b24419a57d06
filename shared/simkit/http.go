package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// WriteJSON writes v as JSON with status, without escaping HTML characters
// (vendors do not). The Content-Type is application/json unless the caller
// set one.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// WriteFailure prepares the answer of a failed request as vendors' front
// ends give it: a 429 carries Retry-After: 1 unless the caller set one, a
// 503 carries Retry-After: 1, and a 502 or 504 is the gateway's HTML page,
// which WriteFailure writes and reports true. For any other status it
// writes nothing and reports false: the caller writes the vendor's error
// body.
func WriteFailure(w http.ResponseWriter, status int) (written bool) {
	switch status {
	case http.StatusTooManyRequests:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		text := fmt.Sprintf("%d %s", status, http.StatusText(status))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", text, text)
		return true
	}
	return false
}

// Logged serves h and logs every request to log at debug level: method,
// path, query, status, whether it carried an Authorization header (never
// its value) and duration.
func Logged(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelDebug, "request served",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("query", r.URL.RawQuery),
			slog.Int("status", sw.status),
			slog.Bool("has_token", r.Header.Get("Authorization") != ""),
			slog.Duration("duration", time.Since(start)))
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records status and passes it on.
func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Sleep waits d and reports true, or reports false when ctx ends first
// (the client went away).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
