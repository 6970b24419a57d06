// Package telemetry sets up what a poller reports about itself: OpenTelemetry
// traces and metrics, JSON logs through log/slog, and the HTTP operations
// endpoints /livez, /readyz and /metrics.
//
// A poller calls [Setup] once at start, before anything creates tracers,
// meters or loggers, then [NewPipelineMetrics] for the pipeline's
// instruments, and serves the endpoints with [NewServer]. [Healthcheck] is
// the probe a distroless image runs instead of curl.
//
// Metrics are always served in the Prometheus text format on /metrics (the
// Prometheus exporter is pull-based, so it costs nothing between scrapes).
// OTLP/HTTP export of traces and metrics is switched on only by the standard
// OpenTelemetry variables: OTEL_EXPORTER_OTLP_ENDPOINT, or the signal-specific
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT.
// The exporters read the other OTEL_EXPORTER_OTLP_* variables (headers,
// timeout, compression, TLS) themselves; OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_METRIC_EXPORT_INTERVAL
// are honoured too. OTEL_TRACES_EXPORTER=none, OTEL_METRICS_EXPORTER=none and
// OTEL_SDK_DISABLED=true switch OTLP export off again. Only HTTP is built in:
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc is rejected by Setup.
package telemetry
