package main

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/services/poller-aveva/avevasim"
)

func init() {
	register(vendor{name: "aveva", binary: "poller-aveva", topics: []string{"aveva.usage", "aveva.audit"}, startSim: startAVEVA})
}

// startAVEVA runs the AVEVA CONNECT simulator with the real 20,000-record
// cap: a modest history of every report, and one busy hour of
// creditsTransaction above the cap (the poller splits it in halves) and one
// of audit.
func startAVEVA(ctx context.Context, start time.Time) (sim, error) {
	const (
		tenant = "acme"
		client = "demo-client"
		secret = "demo-secret"
	)
	s := avevasim.New(avevasim.Config{
		ClientID:      client,
		ClientSecret:  secret,
		TokenTTL:      10 * time.Minute,
		RateLimit:     30,
		Burst:         30,
		FaultRate:     0.02,
		DuplicateRate: 0.01,
		Seed:          1,
	})
	now := time.Now().UTC()
	for _, r := range avevasim.Reports {
		s.Add(r, start, now, 1500)
	}
	busy := start.Add(now.Sub(start) / 2).Truncate(time.Hour)
	s.Add(avevasim.CreditsTransaction, busy, minTime(busy.Add(time.Hour), now), 24000)
	s.Add(avevasim.Audit, busy, minTime(busy.Add(time.Hour), now), 3000)
	grown := s.StartGrowing(ctx, time.Second, 1)
	return sim{
		handler: s.Handler(),
		done:    grown,
		env: func(base string) map[string]string {
			return map[string]string{
				"AVEVA_BASE_URL":      base,
				"AVEVA_TENANT":        tenant,
				"AVEVA_TOKEN_URL":     base + avevasim.TokenPath,
				"AVEVA_CLIENT_ID":     client,
				"AVEVA_CLIENT_SECRET": secret,
				"AVEVA_RATE_LIMIT":    "20",
			}
		},
	}, nil
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
