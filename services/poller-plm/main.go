// Command poller-plm polls Autodesk Fusion Manage (PLM 360) system logs and
// publishes them to Kafka as io.auditstream.AuditEvent values.
//
// Run poller-plm -help for every setting.
package main

import (
	"fmt"

	"github.com/auditstream/auditstream/services/poller-plm/internal/plm"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
)

// Config is poller-plm's configuration: the common settings and PLM_*.
type Config struct {
	config.Common
	plm.Config
}

// Validate reports every problem of the common and the PLM settings.
func (c *Config) Validate() []string {
	return append(c.Common.Validate(), c.Config.Validate()...)
}

const description = `poller-plm reads the system logs of an Autodesk Fusion Manage (PLM 360)
tenant (GET /api/v3/tenants/{tenant}/system-logs, type=item and type=system as
separate streams) and publishes them to Kafka as io.auditstream.AuditEvent
values, with each stream's cursor in the checkpoint topic.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-plm around cfg, which poller.Main or a test loads.
func service(cfg *Config) poller.Service {
	return poller.Service{
		Name:        "poller-plm",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			client, err := plm.NewClientFromConfig(&cfg.Config, httpx.CommonConfig(&cfg.Common), httpx.WithLogger(env.Logger))
			if err != nil {
				return nil, fmt.Errorf("plm client: %w", err)
			}
			streams := cfg.Config.Streams(client, env.Start, cfg.SafetyLag, env.Logger)
			for i := range streams {
				streams[i].Schema = event.AuditSchema
			}
			return streams, nil
		},
	}
}
