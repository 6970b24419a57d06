package main

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/internal/revenera"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// loadTestService loads poller-revenera's configuration from env and
// returns the service.
func loadTestService(t *testing.T, env map[string]string) (poller.Service, poller.Env) {
	t.Helper()
	for k, v := range map[string]string{
		"REVENERA_TENANT": "ACME", "REVENERA_USERNAME": "svc@acme.example", "REVENERA_PASSWORD": "s3cr3t",
		"REVENERA_PRODUCT_IDS": "",
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

// TestServiceStreams checks both ways of finding the products, without
// network I/O: with REVENERA_PRODUCT_IDS, Build returns their streams in
// the order of REVENERA_STREAMS and there is no discovery; without, Build
// returns none and discovery finds them after the logon.
func TestServiceStreams(t *testing.T) {
	t.Run("REVENERA_PRODUCT_IDS", func(t *testing.T) {
		svc, env := loadTestService(t, map[string]string{"REVENERA_PRODUCT_IDS": "11,12", "REVENERA_STREAMS": "exceptions,event-usage"})
		streams, err := svc.Build(env)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range streams {
			names = append(names, s.Source.Stream())
			if s.Topic != "revenera.usage" || s.Schema.Text != event.UsageSchema.Text || s.Tenant != "ACME" {
				t.Errorf("stream %s: topic %q, tenant %q", s.Source.Stream(), s.Topic, s.Tenant)
			}
		}
		want := []string{"revenera/11/exceptions", "revenera/11/event-usage", "revenera/12/exceptions", "revenera/12/event-usage"}
		if !slices.Equal(names, want) {
			t.Errorf("streams %q, want %q", names, want)
		}
		if d, err := svc.Discover(env); d != nil || err != nil {
			t.Errorf("discovery %+v, %v; want none", d, err)
		}
		if svc.Shutdown == nil {
			t.Error("no Shutdown: the session would not be logged out")
		}
	})
	t.Run("discovery", func(t *testing.T) {
		svc, env := loadTestService(t, map[string]string{"REVENERA_TOPIC": "usage.rui"})
		streams, err := svc.Build(env)
		if err != nil || len(streams) != 0 {
			t.Fatalf("Build = %d streams, %v; want none", len(streams), err)
		}
		d, err := svc.Discover(env)
		if err != nil || d == nil || d.Find == nil || d.Interval != revenera.DiscoveryInterval {
			t.Fatalf("Discover = %+v, %v", d, err)
		}
		if len(d.Outputs) != 1 || d.Outputs[0].Topic != "usage.rui" {
			t.Errorf("outputs %+v", d.Outputs)
		}
	})
}
