// Command avevasim serves a simulated AVEVA CONNECT Report data REST API
// (see package avevasim) with a generated history that keeps growing, until
// SIGINT or SIGTERM. Each report has one busy hour holding more records than
// the cap.
//
//	go run ./services/poller-aveva/cmd/avevasim -records 5000 -busy-records 45000 -fault-rate 0.05
//
// A client obtains a token with
//
//	curl -u avevasim-client:avevasim-secret -d grant_type=client_credentials http://127.0.0.1:9402/identity/connect/token
//
// and then reads
//
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	  -d '{"fromDate":"2024-03-04T10:00:00","toDate":"2024-03-04T11:00:00"}' \
//	  http://127.0.0.1:9402/reports/v1/integration/creditsTransaction
//	curl -H "Authorization: Bearer $TOKEN" \
//	  'http://127.0.0.1:9402/reports/v1/audit?range=Custom&from=2024-03-04T10:00:00&to=2024-03-04T11:00:00&offset=0'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/auditstream/auditstream/services/poller-aveva/avevasim"
	"github.com/auditstream/auditstream/shared/simkit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "avevasim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, clientID, clientSecret, staticToken, logLevel string
	seed                                                int64
	records, busyRecords, maxRecords, burst, growth     int
	history, tokenTTL                                   time.Duration
	rateLimit, faultRate, duplicateRate                 float64
	inclusiveTo                                         bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9402", "listen address")
	flag.Int64Var(&o.seed, "seed", 1, "seed of generated records and injected faults")
	flag.IntVar(&o.records, "records", 2000, "records of each report spread over the history")
	flag.IntVar(&o.busyRecords, "busy-records", 25000, "records of each report in its busy hour (one hour per report, in the middle of the history)")
	flag.DurationVar(&o.history, "history", 72*time.Hour, "length of the generated history, ending now")
	flag.IntVar(&o.growth, "growth", 1, "records of each report added every second while running (0: no growth)")
	flag.IntVar(&o.maxRecords, "max-records", avevasim.DefaultMaxRecords, "record cap of one response")
	flag.BoolVar(&o.inclusiveTo, "inclusive-to", false, "select [from, to] instead of [from, to)")
	flag.StringVar(&o.clientID, "client-id", avevasim.DefaultClientID, "OAuth2 client id")
	flag.StringVar(&o.clientSecret, "client-secret", avevasim.DefaultClientSecret, "OAuth2 client secret (or env AVEVASIM_CLIENT_SECRET)")
	flag.DurationVar(&o.tokenTTL, "token-ttl", avevasim.DefaultTokenTTL, "lifetime of issued access tokens")
	flag.StringVar(&o.staticToken, "static-token", "", "a bearer token accepted forever (or env AVEVASIM_STATIC_TOKEN; empty: none)")
	flag.Float64Var(&o.rateLimit, "rate-limit", 0, "report requests per second per token (0: unlimited)")
	flag.IntVar(&o.burst, "burst", 0, "rate-limit bucket size (0: ceil(rate-limit))")
	flag.Float64Var(&o.faultRate, "fault-rate", 0, "share of requests answered 500, 502 or 503 (0 to 1)")
	flag.Float64Var(&o.duplicateRate, "duplicate-rate", 0.01, "share of records of the reports without id served twice, identical (0 to 1)")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug logs every request")
	flag.Parse()
	if v := os.Getenv("AVEVASIM_CLIENT_SECRET"); v != "" {
		o.clientSecret = v
	}
	if v := os.Getenv("AVEVASIM_STATIC_TOKEN"); v != "" {
		o.staticToken = v
	}
	return o
}

func run() error {
	o := parseFlags()
	log, err := simkit.NewLogger(o.logLevel)
	if err != nil {
		return err
	}

	sim := avevasim.New(avevasim.Config{
		ClientID:      o.clientID,
		ClientSecret:  o.clientSecret,
		TokenTTL:      o.tokenTTL,
		StaticToken:   o.staticToken,
		MaxRecords:    o.maxRecords,
		InclusiveTo:   o.inclusiveTo,
		DuplicateRate: o.duplicateRate,
		RateLimit:     o.rateLimit,
		Burst:         o.burst,
		FaultRate:     o.faultRate,
		Seed:          o.seed,
		Logger:        log,
	})
	now := time.Now().UTC()
	from := now.Add(-o.history)
	total := 0
	for i, r := range avevasim.Reports {
		total += sim.Add(r, from, now, o.records)
		busy := from.Add(o.history / 2).Truncate(time.Hour).Add(time.Duration(i) * time.Hour)
		total += sim.Add(r, busy, busy.Add(time.Hour), o.busyRecords)
	}

	return simkit.Serve(log, simkit.Command{
		Name:    "avevasim",
		Addr:    o.addr,
		Handler: sim,
		Start: func(ctx context.Context) []<-chan struct{} {
			if o.growth <= 0 {
				return nil
			}
			return []<-chan struct{}{sim.StartGrowing(ctx, time.Second, o.growth)}
		},
		Listening: []slog.Attr{
			slog.Int("records", total),
			slog.Int("max_records", o.maxRecords),
			slog.Bool("inclusive_to", o.inclusiveTo),
			slog.Float64("fault_rate", o.faultRate),
			slog.Float64("rate_limit", o.rateLimit),
			slog.Bool("has_static_token", o.staticToken != ""),
		},
		Stopped: func() []slog.Attr {
			st := sim.Stats()
			return []slog.Attr{
				slog.Int64("requests", st.Requests),
				slog.Int64("ok", st.OK),
				slog.Int64("truncated", st.Truncated),
				slog.Int64("unauthorized", st.Unauthorized),
				slog.Int64("rate_limited", st.RateLimited),
				slog.Int64("server_errors", st.ServerErrors),
			}
		},
	})
}
