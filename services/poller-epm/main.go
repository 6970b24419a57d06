// Command poller-epm polls the admin audit of a CyberArk Endpoint Privilege
// Manager (EPM) tenant, each set as a stream of its own, and publishes it to
// Kafka as io.auditstream.AuditEvent values.
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
dispatcher, then GET …/Sets/{SetID}/AdminAudit at the EPM server it names)
for every set the account can see — or the sets of EPM_SET_IDS — and
publishes it to Kafka as io.auditstream.AuditEvent values. Each set is a
stream of its own, epm/<tenant>/sets/<set id>/admin-audit, with its own
checkpoint; new sets are found by listing the sets every
EPM_SET_DISCOVERY_INTERVAL. All sets share one session and one call budget,
which stays under the tenant's API rate limits.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-epm around cfg, which poller.Main or a test loads.
// Build and Discover share one epm.Tenant, so that every set's stream reads
// through one client: one session and one call budget per tenant.
func service(cfg *Config) poller.Service {
	var tenant *epm.Tenant
	tenantOf := func(env poller.Env) (*epm.Tenant, error) {
		if tenant == nil {
			client, err := epm.NewClientFromConfig(&cfg.Config, epm.ClientOptions{HTTP: httpx.CommonConfig(&cfg.Common), Logger: env.Logger})
			if err != nil {
				return nil, fmt.Errorf("epm client: %w", err)
			}
			tenant = cfg.Config.NewTenant(client, env.Start, cfg.SafetyLag, env.Logger)
		}
		return tenant, nil
	}
	return poller.Service{
		Name:        "poller-epm",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		// With EPM_SET_IDS, the streams of those sets; otherwise none:
		// discovery finds them.
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			t, err := tenantOf(env)
			if err != nil || len(cfg.SetIDs) == 0 {
				return nil, err
			}
			return t.Streams(cfg.SetIDs), nil
		},
		// Without EPM_SET_IDS, the sets are listed at start and every
		// EPM_SET_DISCOVERY_INTERVAL; the pipeline starts the stream of
		// each set it does not run yet.
		Discover: func(env poller.Env) (*poller.Discovery, error) {
			if len(cfg.SetIDs) > 0 {
				return nil, nil
			}
			t, err := tenantOf(env)
			if err != nil {
				return nil, err
			}
			return &poller.Discovery{
				Find:     t.Discover,
				Interval: cfg.SetDiscoveryInterval,
				Outputs:  []poller.Output{{Topic: cfg.Topic, Schema: event.AuditSchema}},
			}, nil
		},
	}
}
