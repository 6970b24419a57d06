package main

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
)

func init() {
	register(vendor{name: "plm", binary: "poller-plm", topics: []string{"plm.audit"}, startSim: startPLM})
}

func startPLM(ctx context.Context, start time.Time) (sim, error) {
	const (
		tenant = "ACME"
		client = "demo-client"
		secret = "demo-secret"
		user   = "integration@acme.example"
	)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	s := plmsim.New(plmsim.Config{
		Tenant:       tenant,
		Location:     ny,
		ClientID:     client,
		ClientSecret: secret,
		UserIDs:      []string{user},
		TokenTTL:     10 * time.Minute,
		RateLimit:    20,
		Burst:        20,
		FaultRate:    0.02,
		Seed:         1,
	})
	s.Generate(start, time.Now(), map[string]int{"item": 6000, "system": 3000})
	grown := s.StartGrowing(ctx, time.Second, 3)
	return sim{
		handler: s.Handler(),
		done:    grown,
		env: func(base string) map[string]string {
			return map[string]string{
				"PLM_BASE_URL":      base,
				"PLM_TENANT":        tenant,
				"PLM_TOKEN_URL":     base + "/authentication/v2/token",
				"PLM_CLIENT_ID":     client,
				"PLM_CLIENT_SECRET": secret,
				"PLM_USER_ID":       user,
				"PLM_RATE_LIMIT":    "10",
			}
		},
	}, nil
}
