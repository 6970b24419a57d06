package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
)

// loadTestService loads poller-oracle's configuration from env and returns
// the service.
func loadTestService(t *testing.T, env map[string]string) (poller.Service, poller.Env) {
	t.Helper()
	for k, v := range map[string]string{
		"ORACLE_BASE_URL": "https://epm-acme.epm.example.com", "ORACLE_TENANT": "acme",
		"ORACLE_USERNAME": "svc-audit", "ORACLE_PASSWORD": "s3cr3t",
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

// TestServiceStreams checks, without network I/O, that Build returns the
// tenant's one stream on ORACLE_TOPIC with the audit schema, through
// either report API.
func TestServiceStreams(t *testing.T) {
	for _, api := range []string{oracle.APIUserAuditReport, oracle.APIUserLoginReport} {
		t.Run(api, func(t *testing.T) {
			svc, env := loadTestService(t, map[string]string{"ORACLE_REPORT_API": api, "ORACLE_TOPIC": "oracle.logins"})
			streams, err := svc.Build(env)
			if err != nil {
				t.Fatal(err)
			}
			if len(streams) != 1 {
				t.Fatalf("%d streams, want 1", len(streams))
			}
			s := streams[0]
			if s.Source.Stream() != "oracle/acme/user-audit" || s.Topic != "oracle.logins" || s.Schema.Text != event.AuditSchema.Text || s.Vendor != "oracle" || s.Tenant != "acme" {
				t.Errorf("stream %s on %q, vendor %q tenant %q", s.Source.Stream(), s.Topic, s.Vendor, s.Tenant)
			}
			if svc.Discover != nil {
				t.Error("a discovery for a service of one stream")
			}
		})
	}
}
