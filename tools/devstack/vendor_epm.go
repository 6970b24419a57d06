package main

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
)

func init() {
	register(vendor{name: "epm", binary: "poller-epm", topics: []string{"epm.audit"}, startSim: startEPM})
}

// startEPM runs a CyberArk EPM tenant with three sets, the vendor's rate
// limits, sessions that expire, occasional 5xx, administrators at work and
// every API call audited; a fourth set appears 20 seconds in, and the
// poller picks it up without a restart.
func startEPM(ctx context.Context, start time.Time) (sim, error) {
	const (
		tenant   = "ACME"
		user     = "svc-audit@acme.example"
		password = "demo-password"
		timeout  = 2 * time.Minute
	)
	s := epmsim.New(epmsim.Config{
		Username:       user,
		Password:       password,
		SessionTimeout: timeout,
		TokenMaxAge:    10 * time.Minute,
		FaultRate:      0.02,
		FaultStatuses:  []int{500, 502, 504},
		AuditAPICalls:  true,
		Seed:           1,
	})
	now := time.Now()
	for _, n := range []int{4000, 2500, 1500} {
		set := s.AddSet("", "")
		s.Generate(set.ID, start, now, n)
	}
	grown := s.StartGrowing(ctx, time.Second, 2)
	added := make(chan struct{})
	go func() {
		defer close(added)
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Second):
		}
		set := s.AddSet("", "Added during the demo")
		s.Generate(set.ID, start, time.Now(), 1000)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-grown
		<-added
	}()
	return sim{
		handler: s.Handler(),
		done:    done,
		env: func(base string) map[string]string {
			return map[string]string{
				"EPM_BASE_URL":               base,
				"EPM_TENANT":                 tenant,
				"EPM_USERNAME":               user,
				"EPM_PASSWORD":               password,
				"EPM_SESSION_TIMEOUT":        timeout.String(),
				"EPM_SET_DISCOVERY_INTERVAL": "10s",
			}
		},
	}, nil
}
