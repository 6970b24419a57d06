package main

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
)

func init() {
	register(vendor{name: "revenera", binary: "poller-revenera", topics: []string{"revenera.usage"}, startSim: startRevenera})
}

// startRevenera runs a Revenera Usage Intelligence account with two
// products, one much larger, whose sessions expire and whose logons now and
// then answer "Cookie Missing", and whose raw files are behind download
// URLs that expire in seconds. Daily files exist for the last ten days
// only, so the poller, starting at the first day of the previous month,
// reads the older days from that month's monthly file and the rest from
// daily files, without a day read twice. Today's open file grows; its rows
// arrive when it closes at midnight UTC.
func startRevenera(ctx context.Context, _ time.Time) (sim, error) {
	const (
		tenant   = "acme"
		user     = "svc-usage@acme.example"
		password = "demo-password"
	)
	s := revenerasim.New(revenerasim.Config{
		Username:          user,
		Password:          password,
		CookieMissingRate: 0.1,
		SessionTTL:        2 * time.Minute,
		URLTTL:            20 * time.Second,
		DailyDays:         10,
		FaultRate:         0.02,
		RateLimit:         20,
		Seed:              1,
	})
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	s.Generate(start, now, 300)
	grown := s.StartGrowing(ctx, 5*time.Second, 1)
	return sim{
		handler: s.Handler(),
		done:    grown,
		env: func(base string) map[string]string {
			return map[string]string{
				"REVENERA_BASE_URL": base,
				"REVENERA_TENANT":   tenant,
				"REVENERA_USERNAME": user,
				"REVENERA_PASSWORD": password,
				"START_TIME":        start.Format(time.RFC3339),
			}
		},
	}, nil
}
