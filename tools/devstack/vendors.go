package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
)

// vendor is one poller of the demo and its simulator. Adding a vendor to the
// demo is one entry in vendors.
type vendor struct {
	name   string
	binary string
	topics []string
	// startSim builds the simulator with history from start until now and
	// starts its live activity, owned by ctx.
	startSim func(ctx context.Context, start time.Time) (sim, error)
}

// sim is a running simulator: its handler and the poller settings that
// point at it.
type sim struct {
	handler http.Handler
	env     func(baseURL string) map[string]string
	// done, when not nil, closes once the simulator's background work
	// (owned by the ctx given to startSim) has stopped.
	done <-chan struct{}
}

var vendors = []vendor{
	{name: "plm", binary: "poller-plm", topics: []string{"plm.audit"}, startSim: startPLM},
}

func selectVendors(only string) []vendor {
	if only == "" {
		return vendors
	}
	want := map[string]bool{}
	for _, v := range strings.Split(only, ",") {
		want[strings.TrimSpace(v)] = true
	}
	var out []vendor
	for _, v := range vendors {
		if want[v.name] {
			out = append(out, v)
		}
	}
	return out
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
