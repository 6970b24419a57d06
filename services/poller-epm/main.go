// Command poller-epm polls the admin audit of a CyberArk Endpoint Privilege
// Manager (EPM) tenant, every set of it, and publishes it to Kafka as
// io.auditstream.AuditEvent values.
//
// Run poller-epm -help for every setting.
package main

import (
	"fmt"

	"github.com/auditstream/auditstream/services/poller-epm/internal/epm"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
)

// Config is poller-epm's configuration: the common settings and EPM_*.
type Config struct {
	config.Common
	epm.Config
}

// Validate reports every problem of the common and the EPM settings.
func (c *Config) Validate() []string {
	return append(c.Common.Validate(), c.Config.Validate()...)
}

const description = `poller-epm reads the admin audit of a CyberArk EPM tenant (logon at the
dispatcher, then GET …/Sets and GET …/Sets/{SetID}/AdminAudit at the EPM
server it names) for every set the account can see, and publishes it to
Kafka as io.auditstream.AuditEvent values, with each set's position in the
checkpoint topic. It stays under the tenant's API rate limits.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-epm around cfg, which poller.Main or a test loads.
func service(cfg *Config) poller.Service {
	return poller.Service{
		Name:        "poller-epm",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			client, err := epm.NewClientFromConfig(&cfg.Config, epm.ClientOptions{HTTP: httpConfig(&cfg.Common), Logger: env.Logger})
			if err != nil {
				return nil, fmt.Errorf("epm client: %w", err)
			}
			stream := cfg.Config.Stream(client, env.Start, cfg.SafetyLag, env.Logger)
			stream.Schema = event.AuditSchema
			return []pipeline.Stream{stream}, nil
		},
	}
}

// httpConfig is the vendor HTTP client's share of the common settings.
func httpConfig(c *config.Common) httpx.Config {
	return httpx.Config{Timeout: c.HTTPTimeout, MaxElapsed: c.HTTPRetryMaxElapsed, MaxBodyBytes: c.HTTPMaxBodyBytes}
}
