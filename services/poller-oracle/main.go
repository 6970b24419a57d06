// Command poller-oracle polls the user audit of an Oracle EPM Cloud
// instance — the asynchronous User Audit Report, or its synchronous
// successor the User Login Report — and publishes it to Kafka as
// io.auditstream.AuditEvent values.
//
// Run poller-oracle -help for every setting.
package main

import (
	"fmt"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
)

// Config is poller-oracle's configuration: the common settings and ORACLE_*.
type Config struct {
	config.Common
	oracle.Config
}

// Validate reports every problem of the common and the Oracle settings.
func (c *Config) Validate() []string {
	return append(c.Common.Validate(), c.Config.Validate()...)
}

const description = `poller-oracle reads the user audit of one Oracle EPM Cloud instance, a day
at a time: with ORACLE_REPORT_API=userauditreport it submits a User Audit Report
job (POST /interop/rest/{v1}/reports), polls its Job Status link, downloads the
ZIP (…/applicationsnapshots/{file}/contents) and deletes it; with
userloginreport it calls the synchronous User Login Report. Every login row
becomes an io.auditstream.AuditEvent on ORACLE_TOPIC, in one stream
oracle/<tenant>/user-audit. Closed days are read once, oldest first, within the
vendor's 120-day retention; the current day is read again every
ORACLE_REPORT_INTERVAL.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-oracle around cfg, which poller.Main or a test
// loads.
func service(cfg *Config) poller.Service {
	return poller.Service{
		Name:        "poller-oracle",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			client, err := oracle.NewClientFromConfig(&cfg.Config, httpx.CommonConfig(&cfg.Common), httpx.WithLogger(env.Logger))
			if err != nil {
				return nil, fmt.Errorf("oracle client: %w", err)
			}
			stream, err := cfg.Config.Stream(cfg.Config.NewReporter(client, env.Logger), env.Start, cfg.SafetyLag, env.Logger)
			if err != nil {
				return nil, err
			}
			return []pipeline.Stream{stream}, nil
		},
	}
}
