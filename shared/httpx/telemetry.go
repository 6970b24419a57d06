package httpx

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// meterName is the instrumentation scope of the package's metrics.
const meterName = "github.com/auditstream/auditstream/shared/httpx"

// metrics are a Client's instruments, from the global meter provider.
type metrics struct {
	vendor   attribute.KeyValue
	requests metric.Int64Counter     // auditstream.http.requests{vendor, status_code}
	retries  metric.Int64Counter     // auditstream.http.retries{vendor, reason}
	duration metric.Float64Histogram // auditstream.http.duration{vendor, status_code}, seconds
}

func newMetrics(vendor string) *metrics {
	meter := otel.Meter(meterName)
	m := &metrics{vendor: attribute.String("vendor", vendor)}
	var err error
	if m.requests, err = meter.Int64Counter("auditstream.http.requests",
		metric.WithDescription("HTTP attempts to vendor APIs, by vendor and status code (\"error\" when no response arrived)."),
		metric.WithUnit("{request}")); err != nil {
		otel.Handle(err)
		m.requests, _ = noop.Meter{}.Int64Counter("")
	}
	if m.retries, err = meter.Int64Counter("auditstream.http.retries",
		metric.WithDescription("Retries of HTTP calls to vendor APIs, by vendor and reason."),
		metric.WithUnit("{retry}")); err != nil {
		otel.Handle(err)
		m.retries, _ = noop.Meter{}.Int64Counter("")
	}
	if m.duration, err = meter.Float64Histogram("auditstream.http.duration",
		metric.WithDescription("Time from sending an HTTP attempt to a vendor API until its response headers arrived."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)); err != nil {
		otel.Handle(err)
		m.duration, _ = noop.Meter{}.Float64Histogram("")
	}
	return m
}

// request records one attempt; status is the code or "error".
func (m *metrics) request(ctx context.Context, status string, d time.Duration) {
	attrs := metric.WithAttributes(m.vendor, attribute.String("status_code", status))
	m.requests.Add(ctx, 1, attrs)
	m.duration.Record(ctx, d.Seconds(), attrs)
}

// retry records one retry.
func (m *metrics) retry(ctx context.Context, reason string) {
	m.retries.Add(ctx, 1, metric.WithAttributes(m.vendor, attribute.String("reason", reason)))
}

// spanURLRedactor sits inside otelhttp and overwrites the url.full
// attribute of its span with the redacted URL, so traces carry no tokens
// from query strings.
type spanURLRedactor struct {
	next http.RoundTripper
}

func (t spanURLRedactor) RoundTrip(req *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
		span.SetAttributes(attribute.String("url.full", RedactURL(req.URL)))
	}
	return t.next.RoundTrip(req)
}
