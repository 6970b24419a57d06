package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// otelEnv lists the variables Setup reads; tests clear them so that the
// environment running the tests cannot change the outcome.
var otelEnv = []string{
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED",
	"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_TRACES_SAMPLER",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION",
}

func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, k := range otelEnv {
		t.Setenv(k, "")
	}
}

// setup runs Setup with logs captured in the returned buffer and shuts it
// down when the test ends.
func setup(t *testing.T, opts Options) (*Telemetry, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.LogWriter == nil {
		opts.LogWriter = logs
	}
	tel, err := Setup(context.Background(), opts)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel, logs
}

// syncBuffer is a bytes.Buffer safe for the server's goroutine to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics status = %d, want 200", rec.Code)
	}
	return rec.Body.String()
}

func TestPipelineMetricsPrometheus(t *testing.T) {
	clearOTelEnv(t)
	tel, _ := setup(t, Options{ServiceName: "poller-test"})
	m, err := NewPipelineMetrics()
	if err != nil {
		t.Fatalf("NewPipelineMetrics: %v", err)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }

	ctx := context.Background()
	stream := metric.WithAttributes(KeyStream.String("plm.system-logs/item"))
	m.RecordsFetched.Add(ctx, 7, stream)
	m.RecordsProduced.Add(ctx, 5, metric.WithAttributes(KeyStream.String("plm.system-logs/item"), KeyTopic.String("plm.audit")))
	m.RecordsDeadLettered.Add(ctx, 2, metric.WithAttributes(KeyStream.String("plm.system-logs/item"), KeyTopic.String("pollers.deadletter")))
	m.PagesProduced.Add(ctx, 1, stream)
	m.Retries.Add(ctx, 3, metric.WithAttributes(KeyStream.String("plm.system-logs/item"), KeyStage.String(StageFetch)))
	m.FetchDuration.Record(ctx, 0.3, stream)
	m.ProduceDuration.Record(ctx, 0.02, stream)
	m.SetPosition("plm.system-logs/item", now.Add(-90*time.Second))
	m.SetPosition("plm.system-logs/user", now.Add(-2500*time.Millisecond))

	body := scrape(t, tel)
	for _, want := range []string{
		`auditstream_records_fetched_total{stream="plm.system-logs/item"} 7`,
		`auditstream_records_produced_total{stream="plm.system-logs/item",topic="plm.audit"} 5`,
		`auditstream_records_dead_lettered_total{stream="plm.system-logs/item",topic="pollers.deadletter"} 2`,
		`auditstream_pages_produced_total{stream="plm.system-logs/item"} 1`,
		`auditstream_retries_total{stage="fetch",stream="plm.system-logs/item"} 3`,
		`auditstream_fetch_duration_seconds_bucket{stream="plm.system-logs/item",le="0.25"} 0`,
		`auditstream_fetch_duration_seconds_bucket{stream="plm.system-logs/item",le="0.5"} 1`,
		`auditstream_produce_duration_seconds_count{stream="plm.system-logs/item"} 1`,
		`auditstream_cursor_lag_seconds{stream="plm.system-logs/item"} 90`,
		`auditstream_cursor_lag_seconds{stream="plm.system-logs/user"} 2.5`,
		`target_info{service_name="poller-test"`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q; got:\n%s", want, body)
		}
	}

	// The lag follows the clock at collection time, not at SetPosition.
	now = now.Add(10 * time.Second)
	if body := scrape(t, tel); !strings.Contains(body, `auditstream_cursor_lag_seconds{stream="plm.system-logs/item"} 100`) {
		t.Errorf("lag did not grow with the clock; got:\n%s", body)
	}

	// The rendered names are part of the product's interface (dashboards,
	// alerts): compare them with the golden file.
	var types []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "# TYPE auditstream_") {
			types = append(types, line)
		}
	}
	sort.Strings(types)
	compareGolden(t, "metric_names.golden", strings.Join(types, "\n")+"\n")
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update if intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestLogsJSON(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		env         map[string]string
		wantService string
		wantVersion string
		wantDebug   bool
	}{
		{name: "options", opts: Options{ServiceName: "poller-plm", Version: "1.2.3"}, wantService: "poller-plm", wantVersion: "1.2.3"},
		{name: "OTEL_SERVICE_NAME overrides", opts: Options{ServiceName: "poller-plm"}, env: map[string]string{"OTEL_SERVICE_NAME": "plm-eu"}, wantService: "plm-eu"},
		{name: "OTEL_SERVICE_NAME alone", env: map[string]string{"OTEL_SERVICE_NAME": "plm-us"}, wantService: "plm-us"},
		{name: "debug level", opts: Options{ServiceName: "poller-epm", Level: -4}, wantService: "poller-epm", wantDebug: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel, logs := setup(t, tt.opts)

			ctx, span := otel.Tracer("test").Start(context.Background(), "op")
			tel.Logger().InfoContext(ctx, "page fetched", "records", 3)
			span.End()
			tel.Logger().Debug("debug line")

			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, lines[0])
			}
			want := map[string]any{
				"level": "INFO", "msg": "page fetched", "records": float64(3),
				LogKeyService: tt.wantService,
				LogKeyTraceID: span.SpanContext().TraceID().String(),
				LogKeySpanID:  span.SpanContext().SpanID().String(),
			}
			if tt.wantVersion != "" {
				want[LogKeyVersion] = tt.wantVersion
			}
			for k, v := range want {
				if rec[k] != v {
					t.Errorf("log %s = %v, want %v (line %s)", k, rec[k], v, lines[0])
				}
			}
			if _, ok := rec[LogKeyVersion]; ok != (tt.wantVersion != "") {
				t.Errorf("log has version = %v, want %v (line %s)", ok, tt.wantVersion != "", lines[0])
			}
			if gotDebug := len(lines) == 2; gotDebug != tt.wantDebug {
				t.Errorf("debug logged = %v, want %v; logs:\n%s", gotDebug, tt.wantDebug, logs)
			}
			// Setup installs the logger as slog's default.
			slog.Warn("via default")
			if !strings.Contains(logs.String(), `"msg":"via default","service":"`+tt.wantService+`"`) {
				t.Errorf("slog.Default() does not log through the Setup logger; logs:\n%s", logs)
			}
		})
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		env     map[string]string
		wantErr string
	}{
		{name: "no service name", opts: Options{}, wantErr: "no service name"},
		{name: "grpc", opts: Options{ServiceName: "p"}, env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
		{name: "grpc traces", opts: Options{ServiceName: "p"}, env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, wantErr: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel, err := Setup(context.Background(), tt.opts)
			if err == nil {
				_ = tel.Shutdown(context.Background())
				t.Fatalf("Setup succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Setup error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestTracesWithoutOTLPAreNotRecorded(t *testing.T) {
	clearOTelEnv(t)
	setup(t, Options{ServiceName: "poller-test"})
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	if span.IsRecording() {
		t.Error("span is recording without an exporter")
	}
	if !span.SpanContext().IsValid() {
		t.Error("span has no valid IDs, so logs cannot correlate")
	}
}

// collector is a fake OTLP/HTTP collector that keeps what it receives.
type collector struct {
	mu      sync.Mutex
	traces  []*coltracepb.ExportTraceServiceRequest
	metrics []*colmetricpb.ExportMetricsServiceRequest
	other   []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.traces = append(c.traces, &req)
	case "/v1/metrics":
		var req colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.metrics = append(c.metrics, &req)
	default:
		c.other = append(c.other, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func TestOTLPExportOnShutdown(t *testing.T) {
	tests := []struct {
		name        string
		env         func(url string) map[string]string
		wantTraces  bool
		wantMetrics bool
	}{
		{
			name:       "common endpoint",
			env:        func(url string) map[string]string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url} },
			wantTraces: true, wantMetrics: true,
		},
		{
			name: "traces endpoint only",
			env: func(url string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/v1/traces"}
			},
			wantTraces: true,
		},
		{
			name: "metrics endpoint only",
			env: func(url string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": url + "/v1/metrics"}
			},
			wantMetrics: true,
		},
		{
			name: "traces exporter none",
			env: func(url string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_TRACES_EXPORTER": "none"}
			},
			wantMetrics: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			col := &collector{}
			srv := httptest.NewServer(col)
			defer srv.Close()
			for k, v := range tt.env(srv.URL) {
				t.Setenv(k, v)
			}

			tel, err := Setup(context.Background(), Options{ServiceName: "poller-otlp", Version: "9.9.9", LogWriter: io.Discard})
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			m, err := NewPipelineMetrics()
			if err != nil {
				t.Fatalf("NewPipelineMetrics: %v", err)
			}
			_, span := otel.Tracer("test").Start(context.Background(), "fetch page")
			m.RecordsFetched.Add(context.Background(), 4)
			span.End()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}

			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.other) > 0 {
				t.Errorf("collector got requests on unexpected paths %v", col.other)
			}
			gotSpan, gotService := false, false
			for _, req := range col.traces {
				for _, rs := range req.GetResourceSpans() {
					for _, a := range rs.GetResource().GetAttributes() {
						if a.GetKey() == "service.name" && a.GetValue().GetStringValue() == "poller-otlp" {
							gotService = true
						}
					}
					for _, ss := range rs.GetScopeSpans() {
						for _, s := range ss.GetSpans() {
							if s.GetName() == "fetch page" {
								gotSpan = true
							}
						}
					}
				}
			}
			if gotSpan != tt.wantTraces || gotService != tt.wantTraces {
				t.Errorf("span exported = %v, service.name exported = %v, want %v (%d trace requests)", gotSpan, gotService, tt.wantTraces, len(col.traces))
			}
			gotMetric := false
			for _, req := range col.metrics {
				for _, rm := range req.GetResourceMetrics() {
					for _, sm := range rm.GetScopeMetrics() {
						for _, mm := range sm.GetMetrics() {
							if mm.GetName() == "auditstream.records.fetched" {
								gotMetric = true
							}
						}
					}
				}
			}
			if gotMetric != tt.wantMetrics {
				t.Errorf("metric exported = %v, want %v (%d metric requests)", gotMetric, tt.wantMetrics, len(col.metrics))
			}
		})
	}
}

func TestShutdownTwice(t *testing.T) {
	clearOTelEnv(t)
	tel, err := Setup(context.Background(), Options{ServiceName: "p", LogWriter: io.Discard})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	for i := range 2 {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown #%d: %v", i+1, err)
		}
	}
}

type statusErr int

func (e statusErr) Error() string   { return "status" }
func (e statusErr) HTTPStatus() int { return int(e) }

func TestErrorClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ClassNone},
		{statusErr(401), ClassUnauthorized},
		{fmt.Errorf("fetch: %w", statusErr(403)), ClassUnauthorized},
		{statusErr(404), ClassRefused},
		{statusErr(429), ClassRateLimited},
		{statusErr(503), ClassVendorError},
		{context.DeadlineExceeded, ClassTimeout},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, ClassNetwork},
		{errors.New("bad JSON"), ClassOther},
	}
	for _, tt := range tests {
		if got := ErrorClass(tt.err); got != tt.want {
			t.Errorf("ErrorClass(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
