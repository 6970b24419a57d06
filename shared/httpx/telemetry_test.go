package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(noop.NewMeterProvider()) })

	srv, _ := serve(t, status(http.StatusServiceUnavailable), ok("done"))
	c, _ := newTestClient(testConfig(), WithName("plm"))
	if _, err := c.Do(context.Background(), get(srv.URL)); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{} // metric → "k=v,k=v" → count
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != meterName {
			continue
		}
		for _, m := range sm.Metrics {
			got[m.Name] = map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name][attrString(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name][attrString(p.Attributes)] += int64(p.Count)
				}
			}
		}
	}
	want := map[string]map[string]int64{
		"auditstream.http.requests": {"status_code=200,vendor=plm": 1, "status_code=503,vendor=plm": 1},
		"auditstream.http.retries":  {"reason=status_503,vendor=plm": 1},
		"auditstream.http.duration": {"status_code=200,vendor=plm": 1, "status_code=503,vendor=plm": 1},
	}
	for name, points := range want {
		for attrs, n := range points {
			if got[name][attrs] != n {
				t.Errorf("%s{%s} = %d, want %d (all: %v)", name, attrs, got[name][attrs], n, got[name])
			}
		}
	}
}

func attrString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(parts, ",")
}

func TestSpanPerCallWithRedactedURL(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(tracenoop.NewTracerProvider()) })

	srv, _ := serve(t, status(http.StatusBadGateway), ok("done"))
	c, _ := newTestClient(testConfig())
	if _, err := c.Do(context.Background(), get(srv.URL+"/logs?page=2&access_token=tok-s3cret")); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per HTTP call (2)", len(spans))
	}
	for _, s := range spans {
		found := false
		for _, kv := range s.Attributes() {
			found = found || kv.Key == "url.full"
			if strings.Contains(kv.Value.Emit(), "tok-s3cret") {
				t.Errorf("span attribute %s leaks the token: %s", kv.Key, kv.Value.Emit())
			}
			if kv.Key == "url.full" && !strings.HasSuffix(kv.Value.AsString(), "/logs?page=2&access_token=REDACTED") {
				t.Errorf("url.full = %s", kv.Value.AsString())
			}
		}
		if !found {
			t.Errorf("span %q has no url.full", s.Name())
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	secrets := []string{"tok-s3cret", "key-s3cret", "pw-s3cret", "bearer-s3cret"}
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer bearer-s3cret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "try later\n")
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig()
	cfg.MaxElapsed = 20 * cfg.InitialInterval
	c := New(cfg, WithLogger(logger), WithName("plm"), WithAuthorizer(NewStaticToken("Bearer", "bearer-s3cret", nil)))
	u := strings.Replace(srv.URL, "http://", "http://user:pw-s3cret@", 1) + "/v1/logs?page=2&token=tok-s3cret&api_key=key-s3cret"
	_, err := c.Do(context.Background(), get(u))
	var se *StatusError
	if !IsStatus(err, http.StatusServiceUnavailable) || !errors.As(err, &se) {
		t.Fatalf("Do = %v, want a 503", err)
	}
	wantURL := strings.TrimPrefix(srv.URL, "http://")
	if want := "GET http://" + wantURL + "/v1/logs?page=2&token=REDACTED&api_key=REDACTED: 503 Service Unavailable: try later"; err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
	if logs.Len() == 0 {
		t.Fatal("no retry was logged")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
			t.Errorf("%q leaked:\nerror: %v\nlogs: %s", s, err, logs.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["msg"] != "http retry" || rec["level"] != "DEBUG" || rec["status"] != float64(503) ||
			rec["method"] != "GET" || rec["vendor"] != "plm" || rec["attempt"] == nil || rec["wait"] == nil {
			t.Errorf("retry log = %v", rec)
		}
	}
}
