// Command oraclesim serves a simulated Oracle EPM Cloud REST API (see
// package oraclesim) — the asynchronous User Audit Report and its
// successor, the User Login Report — with a generated login history that
// keeps growing, until SIGINT or SIGTERM.
//
//	go run ./services/poller-oracle/cmd/oraclesim -days 30 -records-per-day 2000 -job-fail-rate 0.05 -lost-submit-rate 0.02
//
// A client submits a report with HTTP Basic (the user is
// "<identity-domain>.<username>" when -identity-domain is set); since and
// until must be days of the last 120 (-retention-days), until at most
// today (UTC):
//
//	curl -u svc-audit@example.com:oraclesim-password -X POST \
//	  -H 'Content-Type: application/x-www-form-urlencoded' \
//	  'http://127.0.0.1:9404/interop/rest/v1/reports?q=%7B%22type%22%3A%22userauditreport%22%2C%22fileName%22%3A%22audit.csv%22%2C%22since%22%3A%222024-03-01%22%2C%22until%22%3A%222024-03-02%22%7D'
//
// or with a bearer token from
//
//	curl -u oraclesim-client:oraclesim-secret -d grant_type=client_credentials http://127.0.0.1:9404/oauth2/v1/token
//
// then polls the "Job Status" link of the answer until its status is not
// -1, downloads the ZIP and deletes it:
//
//	curl -u svc-audit@example.com:oraclesim-password "$JOB_STATUS_HREF"
//	curl -u svc-audit@example.com:oraclesim-password -o audit.zip \
//	  http://127.0.0.1:9404/interop/rest/11.1.2.3.600/applicationsnapshots/audit.csv/contents
//	curl -u svc-audit@example.com:oraclesim-password -X DELETE \
//	  http://127.0.0.1:9404/interop/rest/11.1.2.3.600/applicationsnapshots/audit.csv
//
// Names with spaces go in the path as %20. The successor answers at once:
//
//	curl -u svc-audit@example.com:oraclesim-password \
//	  'http://127.0.0.1:9404/interop/rest/security/v1/report/userloginreport?from_date=2024-03-01&to_date=2024-03-02'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/simkit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oraclesim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, publicURL, username, password, identityDomain, clientID, clientSecret string
	headerStyle, loginReportKey, logLevel                                       string
	seed                                                                        int64
	days, recordsPerDay, retentionDays, burst                                   int
	jobMin, jobMax, tokenTTL                                                    time.Duration
	rate, jobFailRate, jobHangRate, lostSubmitRate, faultRate, rateLimit        float64
	mfa                                                                         bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9404", "listen address")
	flag.StringVar(&o.publicURL, "public-url", "", "scheme and host the links of answers start with (empty: the request's)")
	flag.StringVar(&o.username, "username", oraclesim.DefaultUsername, "the only user name Basic accepts")
	flag.StringVar(&o.password, "password", oraclesim.DefaultPassword, "the Basic password (or env ORACLESIM_PASSWORD)")
	flag.StringVar(&o.identityDomain, "identity-domain", "", "identity domain: the Basic user is <domain>.<username> (classic); empty: the user name alone (OCI)")
	flag.BoolVar(&o.mfa, "mfa", false, "the user has multi-factor authentication: refuse Basic, accept only OAuth2 tokens")
	flag.StringVar(&o.clientID, "client-id", oraclesim.DefaultClientID, "OAuth2 client id")
	flag.StringVar(&o.clientSecret, "client-secret", oraclesim.DefaultClientSecret, "OAuth2 client secret (or env ORACLESIM_CLIENT_SECRET)")
	flag.DurationVar(&o.tokenTTL, "token-ttl", oraclesim.DefaultTokenTTL, "lifetime of issued access tokens")
	flag.IntVar(&o.days, "days", 30, "days of generated history, ending now")
	flag.IntVar(&o.recordsPerDay, "records-per-day", 2000, "raw logins per day of the generated history")
	flag.Float64Var(&o.rate, "rate", 0.5, "logins per second added while running (0: the history does not grow)")
	flag.IntVar(&o.retentionDays, "retention-days", oraclesim.DefaultRetentionDays, "how many days back a report may start")
	flag.DurationVar(&o.jobMin, "job-min", oraclesim.DefaultJobMin, "shortest run time of a report job")
	flag.DurationVar(&o.jobMax, "job-max", oraclesim.DefaultJobMax, "longest run time of a report job")
	flag.Float64Var(&o.jobFailRate, "job-fail-rate", oraclesim.DefaultJobFailRate, "share of jobs that end with status 1 and no file (0 to 1)")
	flag.Float64Var(&o.jobHangRate, "job-hang-rate", 0, "share of jobs that never end (0 to 1)")
	flag.Float64Var(&o.lostSubmitRate, "lost-submit-rate", 0, "share of submits that create their job and answer 502 (0 to 1)")
	flag.Float64Var(&o.faultRate, "fault-rate", 0, "share of API requests answered 500, 502 or 503 (0 to 1)")
	flag.Float64Var(&o.rateLimit, "rate-limit", oraclesim.DefaultRateLimit, "API requests per second across all clients (0: unlimited)")
	flag.IntVar(&o.burst, "burst", 0, "rate-limit bucket size (0: ceil(rate-limit))")
	flag.StringVar(&o.headerStyle, "header-style", oraclesim.DefaultHeaderStyle, "header row of the report: classic, alt or mixed")
	flag.StringVar(&o.loginReportKey, "login-report-key", oraclesim.DefaultLoginReportKey, "member holding the rows of the User Login Report: items, data or result")
	flag.Int64Var(&o.seed, "seed", 1, "seed of generated logins, job outcomes and injected faults")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug logs every request")
	flag.Parse()
	if v := os.Getenv("ORACLESIM_PASSWORD"); v != "" {
		o.password = v
	}
	if v := os.Getenv("ORACLESIM_CLIENT_SECRET"); v != "" {
		o.clientSecret = v
	}
	return o
}

// zeroIsOff turns a flag's "0: none" into the Config's "negative: none".
func zeroIsOff[T float64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

func run() error {
	o := parseFlags()
	log, err := simkit.NewLogger(o.logLevel)
	if err != nil {
		return err
	}
	cfg := oraclesim.Config{
		IdentityDomain: o.identityDomain,
		Username:       o.username,
		Password:       o.password,
		MFA:            o.mfa,
		ClientID:       o.clientID,
		ClientSecret:   o.clientSecret,
		TokenTTL:       o.tokenTTL,
		PublicURL:      o.publicURL,
		RetentionDays:  o.retentionDays,
		JobMin:         zeroIsOff(o.jobMin),
		JobMax:         zeroIsOff(o.jobMax),
		JobFailRate:    zeroIsOff(o.jobFailRate),
		JobHangRate:    o.jobHangRate,
		LostSubmitRate: o.lostSubmitRate,
		HeaderStyle:    o.headerStyle,
		LoginReportKey: o.loginReportKey,
		RateLimit:      zeroIsOff(o.rateLimit),
		Burst:          o.burst,
		FaultRate:      o.faultRate,
		Seed:           o.seed,
		Logger:         log,
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid flags: %w", err)
	}
	sim := oraclesim.New(cfg)
	now := time.Now().UTC()
	logins := sim.Generate(now.AddDate(0, 0, -o.days), now, o.days*o.recordsPerDay)

	return simkit.Serve(log, simkit.Command{
		Name:    "oraclesim",
		Addr:    o.addr,
		Handler: sim,
		Start: func(ctx context.Context) []<-chan struct{} {
			if o.rate <= 0 {
				return nil
			}
			every, n := simkit.Growth(o.rate)
			return []<-chan struct{}{sim.StartGrowing(ctx, every, n)}
		},
		Listening: []slog.Attr{
			slog.Int("logins", logins),
			slog.Int("days", o.days),
			slog.Float64("growth_per_second", o.rate),
			slog.Bool("identity_domain", o.identityDomain != ""),
			slog.Bool("mfa", o.mfa),
			slog.String("header_style", o.headerStyle),
			slog.Float64("job_fail_rate", o.jobFailRate),
			slog.Float64("job_hang_rate", o.jobHangRate),
			slog.Float64("lost_submit_rate", o.lostSubmitRate),
			slog.Float64("fault_rate", o.faultRate),
			slog.Float64("rate_limit", o.rateLimit),
		},
		Stopped: func() []slog.Attr {
			st := sim.Stats()
			return []slog.Attr{
				slog.Int64("requests", st.Requests),
				slog.Int64("jobs", st.Jobs),
				slog.Int64("duplicate_jobs", st.DuplicateJobs),
				slog.Int64("jobs_succeeded", st.JobsSucceeded),
				slog.Int64("jobs_failed", st.JobsFailed),
				slog.Int64("jobs_hung", st.JobsHung),
				slog.Int64("lost_submits", st.LostSubmits),
				slog.Int64("downloads", st.Downloads),
				slog.Int64("not_ready", st.NotReady),
				slog.Int64("deletes", st.Deletes),
				slog.Int64("login_reports", st.LoginReports),
				slog.Int64("unauthorized", st.Unauthorized),
				slog.Int64("rate_limited", st.RateLimited),
				slog.Int64("server_errors", st.ServerErrors),
				slog.Int64("snapshots", st.Snapshots),
				slog.Any("undeleted_snapshots", sim.Snapshots()),
			}
		},
	})
}
