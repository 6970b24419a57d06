// Command poller-aveva polls the AVEVA CONNECT Report data REST API — the
// creditsTransaction, userUsage, serviceUsage and resourceUsage reports and
// the audit report — and publishes them to Kafka as io.auditstream.UsageEvent
// and io.auditstream.AuditEvent values.
//
// Run poller-aveva -help for every setting.
package main

import (
	"fmt"

	"github.com/auditstream/auditstream/services/poller-aveva/internal/aveva"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
)

// Config is poller-aveva's configuration: the common settings and AVEVA_*.
type Config struct {
	config.Common
	aveva.Config
}

// Validate reports every problem of the common and the AVEVA settings.
func (c *Config) Validate() []string {
	return append(c.Common.Validate(), c.Config.Validate()...)
}

const description = `poller-aveva reads the AVEVA CONNECT Report data REST API of one account:
the usage reports creditsTransaction, userUsage, serviceUsage and resourceUsage
(POST /reports/v1/integration/{report}) to io.auditstream.UsageEvent values on
AVEVA_USAGE_TOPIC, and the audit report (GET /reports/v1/audit) to
io.auditstream.AuditEvent values on AVEVA_AUDIT_TOPIC, each report a stream with
its cursor in the checkpoint topic. Windows whose response holds the API's
20,000-record cap are split in halves until every piece comes back under it.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-aveva around cfg, which poller.Main or a test loads.
func service(cfg *Config) poller.Service {
	return poller.Service{
		Name:        "poller-aveva",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			client, err := aveva.NewClientFromConfig(&cfg.Config, httpx.CommonConfig(&cfg.Common), httpx.WithLogger(env.Logger))
			if err != nil {
				return nil, fmt.Errorf("aveva client: %w", err)
			}
			return cfg.Config.Streams(client, env.Start, cfg.SafetyLag, env.Logger), nil
		},
	}
}
