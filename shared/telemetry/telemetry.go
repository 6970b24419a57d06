package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Options configures [Setup].
type Options struct {
	// ServiceName names the process in logs, traces and metrics, for example
	// "poller-plm". OTEL_SERVICE_NAME, when set, overrides it. Required unless
	// OTEL_SERVICE_NAME is set.
	ServiceName string

	// Version is the build's version, reported as service.version. Default:
	// empty, which leaves it out.
	Version string

	// Level is the lowest level logged. Default: the zero value, slog.LevelInfo.
	Level slog.Level

	// LogWriter receives the JSON log lines, one per record. Default:
	// os.Stdout, where Kubernetes and container runtimes collect structured
	// logs from (stderr is collected too, but stdout keeps the log stream
	// separate from Go runtime crash output).
	LogWriter io.Writer
}

// Telemetry is what [Setup] installed. Its Shutdown flushes and stops it.
type Telemetry struct {
	logger   *slog.Logger
	registry *prometheus.Registry
	tracers  *sdktrace.TracerProvider
	meters   *sdkmetric.MeterProvider

	shutdownOnce sync.Once
	shutdownErr  error
}

// Setup installs the process-wide OpenTelemetry providers, the W3C trace
// context and baggage propagators, the OpenTelemetry error handler and the
// default slog logger.
//
// The meter provider always has a Prometheus reader on a registry of its own
// (not prometheus.DefaultRegisterer), served by [Telemetry.MetricsHandler]
// together with the Go runtime and process collectors. When OTLP export is
// configured (see the package documentation), it also exports metrics
// periodically over OTLP/HTTP, and the tracer provider exports spans through a
// batch span processor. Without OTLP the tracer provider has no exporter and
// samples nothing: spans still carry trace and span IDs (so logs correlate and
// trace context propagates) but record nothing, and no goroutine is started.
//
// The default slog logger writes JSON to opts.LogWriter with the attributes
// service and, when set, version; records logged with a context holding a
// span also carry trace_id and span_id.
func Setup(ctx context.Context, opts Options) (*Telemetry, error) {
	if opts.ServiceName == "" && os.Getenv("OTEL_SERVICE_NAME") == "" {
		return nil, errors.New("telemetry setup: no service name: set Options.ServiceName or OTEL_SERVICE_NAME")
	}
	if err := checkOTLPProtocol(); err != nil {
		return nil, err
	}
	res, err := newResource(ctx, opts)
	if err != nil {
		return nil, err
	}
	serviceName, _ := res.Set().Value(semconv.ServiceNameKey)

	w := opts.LogWriter
	if w == nil {
		w = os.Stdout
	}
	logger := newLogger(w, opts.Level, serviceName.AsString(), opts.Version)

	registry := prometheus.NewRegistry()
	if err := registry.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	promReader, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}

	// Create both exporters before any reader or processor: those start
	// goroutines, which a later error would leave running.
	var metricExp sdkmetric.Exporter
	if otlpEnabled("METRICS") {
		if metricExp, err = otlpmetrichttp.New(ctx); err != nil {
			return nil, fmt.Errorf("create otlp metric exporter: %w", err)
		}
	}
	var spanExp sdktrace.SpanExporter
	if otlpEnabled("TRACES") {
		if spanExp, err = otlptracehttp.New(ctx); err != nil {
			return nil, fmt.Errorf("create otlp trace exporter: %w", err)
		}
	}

	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promReader)}
	if metricExp != nil {
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	}
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if spanExp != nil {
		traceOpts = append(traceOpts, sdktrace.WithBatcher(spanExp))
	} else {
		traceOpts = append(traceOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}

	t := &Telemetry{
		logger:   logger,
		registry: registry,
		meters:   sdkmetric.NewMeterProvider(meterOpts...),
		tracers:  sdktrace.NewTracerProvider(traceOpts...),
	}

	slog.SetDefault(logger)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry error", "error", err)
	}))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetMeterProvider(t.meters)
	otel.SetTracerProvider(t.tracers)
	return t, nil
}

// Logger returns the JSON logger Setup installed as slog's default.
func (t *Telemetry) Logger() *slog.Logger {
	return t.logger
}

// MetricsHandler serves this process's metrics in the Prometheus text
// exposition format: the OpenTelemetry instruments (names in
// [PipelineMetrics]) plus go_* and process_* runtime metrics.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(t.logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Shutdown flushes pending spans and metrics to the OTLP collector, if any,
// and stops the providers. It returns every error met; calls after the first
// return the first call's result. ctx bounds how long flushing may take.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		var errs []error
		if err := t.tracers.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down tracer provider: %w", err))
		}
		if err := t.meters.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down meter provider: %w", err))
		}
		t.shutdownErr = errors.Join(errs...)
	})
	return t.shutdownErr
}

// newResource describes the process: Options first, then the standard
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, which win.
func newResource(ctx context.Context, opts Options) (*resource.Resource, error) {
	kvs := []attribute.KeyValue{semconv.ServiceName(opts.ServiceName)}
	if opts.Version != "" {
		kvs = append(kvs, semconv.ServiceVersion(opts.Version))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(kvs...),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("build telemetry resource: %w", err)
	}
	return res, nil
}

// otlpEnabled reports whether OTLP export is configured for signal
// ("TRACES" or "METRICS") by the standard environment variables.
func otlpEnabled(signal string) bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_"+signal+"_EXPORTER")), "none") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// checkOTLPProtocol rejects the gRPC protocol, which the HTTP exporters would
// otherwise silently replace by http/protobuf and send to a gRPC port.
func checkOTLPProtocol() error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"} {
		if strings.EqualFold(strings.TrimSpace(os.Getenv(name)), "grpc") {
			return fmt.Errorf("telemetry setup: %s=grpc is not supported: use http/protobuf and the collector's OTLP/HTTP port (usually 4318)", name)
		}
	}
	return nil
}
