package telemetry

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys that Setup's logger adds to every record, or to records
// logged with a context holding a span.
const (
	LogKeyService = "service"
	LogKeyVersion = "version"
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// newLogger returns a JSON logger writing to w that tags every record with
// the service and version and correlates records with the active span.
func newLogger(w io.Writer, level slog.Level, service, version string) *slog.Logger {
	var h slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	h = traceHandler{next: h}
	attrs := []slog.Attr{slog.String(LogKeyService, service)}
	if version != "" {
		attrs = append(attrs, slog.String(LogKeyVersion, version))
	}
	return slog.New(h.WithAttrs(attrs))
}

// traceHandler adds trace_id and span_id to records logged with a context
// that holds a valid span context. Inside a group (WithGroup) the IDs land in
// that group, like any other attribute added at Handle time.
type traceHandler struct {
	next slog.Handler
}

// Enabled reports whether the wrapped handler handles level.
func (h traceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the span's IDs, if any, and passes the record on.
func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a traceHandler around the wrapped handler with attrs.
func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a traceHandler around the wrapped handler with group name.
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{next: h.next.WithGroup(name)}
}
