package oracle

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// NewReporter returns the Reporter cfg selects over client: the user audit
// report (with the job poll interval and timeout of cfg) or the User Login
// Report.
func (cfg *Config) NewReporter(client *Client, log *slog.Logger) Reporter {
	if cfg.ReportAPI == APIUserLoginReport {
		return NewLoginReporter(client)
	}
	return NewAuditReporter(client, AuditReporterConfig{PollInterval: cfg.JobPollInterval, Timeout: cfg.JobTimeout, Logger: log})
}

// Stream returns the tenant's one stream: its Source over reporter, the
// normalizer, and ORACLE_TOPIC with the audit schema.
func (cfg *Config) Stream(reporter Reporter, start time.Time, safetyLag time.Duration, log *slog.Logger) (pipeline.Stream, error) {
	src, err := NewSource(SourceConfig{
		Tenant: cfg.Tenant, Reporter: reporter, Start: start, SafetyLag: safetyLag,
		ReportInterval: cfg.ReportInterval, JobTimeout: cfg.JobTimeout, OrphanRetry: cfg.JobPollInterval,
		Logger: log,
	})
	if err != nil {
		return pipeline.Stream{}, fmt.Errorf("oracle source: %w", err)
	}
	return pipeline.Stream{
		Source: src, Normalize: NewNormalizer(cfg.Tenant), Topic: cfg.Topic, Schema: event.AuditSchema,
		Vendor: Vendor, Tenant: cfg.Tenant,
	}, nil
}

var _ pipeline.Source = (*Source)(nil)
