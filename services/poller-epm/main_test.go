package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/internal/epm"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
)

// loadTestService loads poller-epm's configuration from env and returns the
// service.
func loadTestService(t *testing.T, env map[string]string) (poller.Service, poller.Env) {
	t.Helper()
	for k, v := range map[string]string{
		"EPM_BASE_URL": "https://login.epm.example", "EPM_TENANT": "ACME",
		"EPM_USERNAME": "svc@acme.example", "EPM_PASSWORD": "s3cr3t", "EPM_SET_IDS": "",
	} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	return service(&cfg), poller.Env{Common: &cfg.Common, Logger: slog.New(slog.DiscardHandler), Start: time.Now().Add(-time.Hour)}
}

// TestServiceStreams checks both ways of finding the sets, without any
// network I/O: with EPM_SET_IDS, Build returns their streams and there is
// no discovery; without, Build returns none and the discovery lists the
// sets every EPM_SET_DISCOVERY_INTERVAL, for epm.audit.
func TestServiceStreams(t *testing.T) {
	t.Run("EPM_SET_IDS", func(t *testing.T) {
		svc, env := loadTestService(t, map[string]string{"EPM_SET_IDS": "s-1,s-2"})
		streams, err := svc.Build(env)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range streams {
			names = append(names, s.Source.Stream())
			if s.Topic != "epm.audit" || s.Schema.Text != event.AuditSchema.Text {
				t.Errorf("stream %s: topic %q", s.Source.Stream(), s.Topic)
			}
		}
		if want := []string{epm.StreamName("ACME", "s-1"), epm.StreamName("ACME", "s-2")}; !slices.Equal(names, want) {
			t.Errorf("streams %q, want %q", names, want)
		}
		if d, err := svc.Discover(env); d != nil || err != nil {
			t.Errorf("discovery %+v, %v; want none with EPM_SET_IDS", d, err)
		}
	})
	t.Run("discovery", func(t *testing.T) {
		svc, env := loadTestService(t, map[string]string{"EPM_SET_DISCOVERY_INTERVAL": "45s", "EPM_TOPIC": "epm.admin"})
		streams, err := svc.Build(env)
		if err != nil || len(streams) != 0 {
			t.Fatalf("Build = %d streams, %v; want none: discovery finds them", len(streams), err)
		}
		d, err := svc.Discover(env)
		if err != nil || d == nil || d.Find == nil {
			t.Fatalf("Discover = %+v, %v", d, err)
		}
		if d.Interval != 45*time.Second || len(d.Outputs) != 1 || d.Outputs[0].Topic != "epm.admin" || d.Outputs[0].Schema.Text != event.AuditSchema.Text {
			t.Errorf("discovery every %s with outputs %+v", d.Interval, d.Outputs)
		}
	})
}
