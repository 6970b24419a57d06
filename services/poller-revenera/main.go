// Command poller-revenera polls Revenera Usage Intelligence (Reporting API
// 3.0.0) — the raw custom event and exception files and the daily event
// usage and client activity reports of every product — and publishes them
// to Kafka as io.auditstream.UsageEvent values.
//
// Run poller-revenera -help for every setting.
package main

import (
	"context"
	"fmt"

	"github.com/auditstream/auditstream/services/poller-revenera/internal/revenera"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
)

// Config is poller-revenera's configuration: the common settings and
// REVENERA_*.
type Config struct {
	config.Common
	revenera.Config
}

// Validate reports every problem of the common and the Revenera settings.
func (c *Config) Validate() []string {
	return append(c.Common.Validate(), c.Config.Validate()...)
}

const description = `poller-revenera reads Revenera Usage Intelligence through one cookie
session (GET /v3/request-csrf, POST /v3/auth/web; logged out on SIGTERM):
for every product of REVENERA_PRODUCT_IDS, or of the logon answer, the raw
custom event and exception files (daily files of closed days, monthly
files of older months, each row once) and the daily event usage and client
activity reports of closed UTC days. Each product's stream —
revenera/<product>/custom-events, …/exceptions, …/event-usage,
…/client-activity — has its own checkpoint; every event goes to
REVENERA_TOPIC as io.auditstream.UsageEvent.`

func main() {
	var cfg Config
	poller.Main(service(&cfg))
}

// service describes poller-revenera around cfg, which poller.Main or a
// test loads. Build, Discover and Shutdown share one client: one session
// per process, logged out when the service stops.
func service(cfg *Config) poller.Service {
	var client *revenera.Client
	var account *revenera.Account
	accountOf := func(env poller.Env) (*revenera.Account, error) {
		if account == nil {
			c, err := revenera.NewClientFromConfig(&cfg.Config, revenera.ClientOptions{HTTP: httpx.CommonConfig(&cfg.Common), Logger: env.Logger})
			if err != nil {
				return nil, fmt.Errorf("revenera client: %w", err)
			}
			client = c
			account = revenera.NewAccount(c, c.Session().Products, revenera.AccountConfig{
				Tenant: cfg.Tenant, Topic: cfg.Topic, Streams: cfg.Streams, Start: env.Start,
				SafetyLag: cfg.SafetyLag, ReportDays: cfg.ReportDays, Logger: env.Logger,
			})
		}
		return account, nil
	}
	return poller.Service{
		Name:        "poller-revenera",
		Description: description,
		Config:      cfg,
		Common:      &cfg.Common,
		// With REVENERA_PRODUCT_IDS, the streams of those products;
		// otherwise none: discovery finds them after the logon.
		Build: func(env poller.Env) ([]pipeline.Stream, error) {
			a, err := accountOf(env)
			if err != nil || len(cfg.ProductIDs) == 0 {
				return nil, err
			}
			return a.StreamsOf(cfg.ProductIDs), nil
		},
		Discover: func(env poller.Env) (*poller.Discovery, error) {
			if len(cfg.ProductIDs) > 0 {
				return nil, nil
			}
			a, err := accountOf(env)
			if err != nil {
				return nil, err
			}
			return &poller.Discovery{
				Find:     a.Discover,
				Interval: revenera.DiscoveryInterval,
				Outputs:  []poller.Output{{Topic: cfg.Topic, Schema: event.UsageSchema}},
			}, nil
		},
		// The session is logged out once the streams have stopped, so
		// that the next process can log on at once.
		Shutdown: func(ctx context.Context) error {
			if client == nil {
				return nil
			}
			return client.Session().Logout(ctx)
		},
	}
}
