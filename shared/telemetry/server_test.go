package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
)

func TestHealth(t *testing.T) {
	type report struct {
		c   string
		err error
	}
	down := errors.New("dial tcp 10.0.0.1:9092: connection refused")
	tests := []struct {
		name      string
		set       []report
		wantReady bool
		want      map[string]string
	}{
		{
			name: "nothing reported",
			want: map[string]string{"kafka": "not reached yet", "registry": "not reached yet", "stream plm/ACME/system-logs/item": "not reached yet"},
		},
		{
			name: "two of three ok",
			set:  []report{{"kafka", nil}, {"registry", nil}},
			want: map[string]string{"stream plm/ACME/system-logs/item": "not reached yet"},
		},
		{
			name:      "all ok",
			set:       []report{{"kafka", nil}, {"registry", nil}, {"stream plm/ACME/system-logs/item", nil}},
			wantReady: true,
			want:      map[string]string{},
		},
		{
			name: "last check failed",
			set:  []report{{"kafka", nil}, {"registry", nil}, {"stream plm/ACME/system-logs/item", nil}, {"kafka", down}},
			want: map[string]string{"kafka": down.Error()},
		},
		{
			name: "failed before ever reached",
			set:  []report{{"kafka", nil}, {"registry", nil}, {"stream plm/ACME/system-logs/item", down}},
			want: map[string]string{"stream plm/ACME/system-logs/item": down.Error()},
		},
		{
			name:      "recovered",
			set:       []report{{"kafka", down}, {"registry", nil}, {"stream plm/ACME/system-logs/item", nil}, {"kafka", nil}},
			wantReady: true,
			want:      map[string]string{},
		},
		{
			name: "unknown component counts once reported",
			set:  []report{{"kafka", nil}, {"registry", nil}, {"stream plm/ACME/system-logs/item", nil}, {"oauth", down}},
			want: map[string]string{"oauth": down.Error()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(ComponentKafka, ComponentRegistry, "stream plm/ACME/system-logs/item")
			for _, s := range tt.set {
				h.Set(s.c, s.err)
			}
			ready, got := h.Ready()
			if ready != tt.wantReady || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Ready() = %v, %v; want %v, %v", ready, got, tt.wantReady, tt.want)
			}
		})
	}
	if ready, _ := NewHealth().Ready(); !ready {
		t.Error("Health with no components is not ready")
	}
}

// startServer starts a Server on a free loopback port and stops it when the
// test ends.
func startServer(t *testing.T, tel *Telemetry, h *Health) *Server {
	t.Helper()
	s := NewServer("127.0.0.1:0", tel, h)
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestServerEndpoints(t *testing.T) {
	clearOTelEnv(t)
	tel, _ := setup(t, Options{ServiceName: "poller-test"})
	m, err := NewPipelineMetrics()
	if err != nil {
		t.Fatalf("NewPipelineMetrics: %v", err)
	}
	h := NewHealth(ComponentKafka, ComponentRegistry, "stream plm/ACME/system-logs/item")
	s := startServer(t, tel, h)
	base := "http://" + s.Addr()

	if code, body := get(t, base+"/livez"); code != http.StatusOK {
		t.Errorf("/livez = %d %q, want 200", code, body)
	}

	m.RecordsProduced.Add(context.Background(), 42, metric.WithAttributes(KeyStream.String("epm.audit"), KeyTopic.String("epm.audit")))
	m.SetPosition("epm.audit", time.Now().Add(-time.Hour))
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`auditstream_records_produced_total{stream="epm.audit",topic="epm.audit"} 42`,
		`auditstream_cursor_lag_seconds{stream="epm.audit"} 3600`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q; got:\n%s", want, body)
		}
	}

	vendorDown := errors.New("GET https://plm.example.com/api/logs: 502 Bad Gateway")
	steps := []struct {
		name     string
		set      map[string]error
		wantCode int
		want     readyResponse
	}{
		{
			name:     "nothing reached",
			wantCode: http.StatusServiceUnavailable,
			want: readyResponse{Status: "not ready", Components: map[string]string{
				"kafka": "not reached yet", "registry": "not reached yet", "stream plm/ACME/system-logs/item": "not reached yet",
			}},
		},
		{
			name:     "kafka and registry ok",
			set:      map[string]error{"kafka": nil, "registry": nil},
			wantCode: http.StatusServiceUnavailable,
			want:     readyResponse{Status: "not ready", Components: map[string]string{"stream plm/ACME/system-logs/item": "not reached yet"}},
		},
		{
			name:     "all ok",
			set:      map[string]error{"stream plm/ACME/system-logs/item": nil},
			wantCode: http.StatusOK,
			want:     readyResponse{Status: "ready"},
		},
		{
			name:     "vendor fails",
			set:      map[string]error{"stream plm/ACME/system-logs/item": vendorDown},
			wantCode: http.StatusServiceUnavailable,
			want:     readyResponse{Status: "not ready", Components: map[string]string{"stream plm/ACME/system-logs/item": vendorDown.Error()}},
		},
		{
			name:     "vendor back",
			set:      map[string]error{"stream plm/ACME/system-logs/item": nil},
			wantCode: http.StatusOK,
			want:     readyResponse{Status: "ready"},
		},
	}
	for _, st := range steps {
		for c, err := range st.set {
			h.Set(c, err)
		}
		code, body := get(t, base+"/readyz")
		var got readyResponse
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: /readyz body is not JSON: %v: %q", st.name, err, body)
		}
		if code != st.wantCode || !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: /readyz = %d %+v, want %d %+v", st.name, code, got, st.wantCode, st.want)
		}
		err := Healthcheck(context.Background(), s.Addr())
		if (err == nil) != (st.wantCode == http.StatusOK) {
			t.Errorf("%s: Healthcheck = %v, want error: %v", st.name, err, st.wantCode != http.StatusOK)
		}
	}
}

func TestServerStartErrors(t *testing.T) {
	clearOTelEnv(t)
	tel, _ := setup(t, Options{ServiceName: "poller-test"})
	s := startServer(t, tel, NewHealth())

	busy := NewServer(s.Addr(), tel, NewHealth())
	if err := busy.Start(); err == nil {
		_ = busy.Shutdown(context.Background())
		t.Error("Start on a busy address succeeded")
	}
	if err := NewServer("127.0.0.1:notaport", tel, NewHealth()).Start(); err == nil {
		t.Error("Start on a bad address succeeded")
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := NewServer(":0", tel, NewHealth()).Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Start = %v, want nil", err)
	}
}

func TestServerShutdownStopsServing(t *testing.T) {
	clearOTelEnv(t)
	tel, _ := setup(t, Options{ServiceName: "poller-test"})
	s := NewServer("127.0.0.1:0", tel, NewHealth())
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	addr := s.Addr()
	if err := Healthcheck(context.Background(), addr); err != nil {
		t.Fatalf("Healthcheck while serving: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := Healthcheck(context.Background(), addr); err == nil {
		t.Error("Healthcheck after Shutdown succeeded")
	}
}

func TestHealthcheckAddress(t *testing.T) {
	clearOTelEnv(t)
	tel, _ := setup(t, Options{ServiceName: "poller-test"})
	s := startServer(t, tel, NewHealth())
	_, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr    string
		wantErr string
	}{
		{addr: ":" + port},
		{addr: "0.0.0.0:" + port},
		{addr: "[::]:" + port},
		{addr: "localhost:" + port},
		{addr: "127.0.0.1:" + port},
		{addr: "8080", wantErr: "parse address"},
		{addr: ":0", wantErr: "no fixed port"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := Healthcheck(context.Background(), tt.addr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Healthcheck(%q) = %v, want nil", tt.addr, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Healthcheck(%q) = %v, want error containing %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}
