package main

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
)

func init() {
	register(vendor{name: "oracle", binary: "poller-oracle", topics: []string{"oracle.audit"}, startSim: startOracle})
}

// startOracle runs an Oracle EPM Cloud instance (classic, with an identity
// domain) whose user audit report jobs take a second or three and
// sometimes fail, whose submit answers are sometimes lost after the job
// was created, with occasional 5xx, and whose current day grows: the
// poller reads every closed day of the history once, then re-reads the
// open day, and leaves no report file behind.
func startOracle(ctx context.Context, start time.Time) (sim, error) {
	const (
		tenant   = "acme"
		domain   = "acme"
		user     = "svc-audit@acme.example"
		password = "demo-password"
	)
	s := oraclesim.New(oraclesim.Config{
		IdentityDomain: domain,
		Username:       user,
		Password:       password,
		JobMin:         time.Second,
		JobMax:         3 * time.Second,
		JobFailRate:    0.05,
		LostSubmitRate: 0.03,
		FaultRate:      0.02,
		RateLimit:      20,
		Seed:           1,
	})
	now := time.Now().UTC()
	s.Generate(start, now, 6000)
	grown := s.StartGrowing(ctx, time.Second, 1)
	return sim{
		handler: s.Handler(),
		done:    grown,
		env: func(base string) map[string]string {
			return map[string]string{
				"ORACLE_BASE_URL":          base,
				"ORACLE_TENANT":            tenant,
				"ORACLE_IDENTITY_DOMAIN":   domain,
				"ORACLE_USERNAME":          user,
				"ORACLE_PASSWORD":          password,
				"ORACLE_JOB_POLL_INTERVAL": "1s",
				"ORACLE_REPORT_INTERVAL":   "30s",
			}
		},
	}, nil
}
