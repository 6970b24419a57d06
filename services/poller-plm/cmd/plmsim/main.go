// Command plmsim serves a simulated Autodesk Fusion Manage system-logs API
// (see package plmsim) with a generated history that keeps growing, until
// SIGINT or SIGTERM.
//
//	go run ./services/poller-plm/cmd/plmsim -records 20000 -rate 2 -fault-rate 0.05
//
// A client obtains a token with
//
//	curl -u plmsim-client:plmsim-secret -d grant_type=client_credentials http://127.0.0.1:9401/authentication/v2/token
//
// and then reads
//
//	curl -H "Authorization: Bearer $TOKEN" -H "X-user-id: integration@example.com" \
//	  'http://127.0.0.1:9401/api/v3/tenants/DEMO/system-logs?type=item&sort=timestamp%20asc'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/simkit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "plmsim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, tenant, zone, altZones, clientID, clientSecret, userIDs, staticToken, logLevel string
	seed                                                                                 int64
	records, burst, maxLimit                                                             int
	history, tokenTTL, slowDelay, lateBy                                                 time.Duration
	rate, altZoneRate, rateLimit, faultRate, slowRate, lateRate                          float64
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9401", "listen address")
	flag.StringVar(&o.tenant, "tenant", plmsim.DefaultTenant, "tenant name in /api/v3/tenants/{TENANT}")
	flag.StringVar(&o.zone, "zone", plmsim.DefaultZone, "tenant time zone (IANA name)")
	flag.StringVar(&o.altZones, "alt-zones", "Asia/Kolkata", "comma-separated IANA zones some records are rendered in")
	flag.Float64Var(&o.altZoneRate, "alt-zone-rate", 0.02, "share of records rendered in -alt-zones (0 to 1)")
	flag.Int64Var(&o.seed, "seed", 1, "seed of generated records and injected faults")
	flag.IntVar(&o.records, "records", 5000, "records of each type (item, system) in the generated history")
	flag.DurationVar(&o.history, "history", 90*24*time.Hour, "length of the generated history, ending now")
	flag.Float64Var(&o.rate, "rate", 0.5, "records per second added while running (0: the log does not grow)")
	flag.StringVar(&o.clientID, "client-id", plmsim.DefaultClientID, "OAuth2 client id")
	flag.StringVar(&o.clientSecret, "client-secret", plmsim.DefaultClientSecret, "OAuth2 client secret (or env PLMSIM_CLIENT_SECRET)")
	flag.StringVar(&o.userIDs, "user-ids", plmsim.DefaultUserID, "comma-separated e-mails accepted in X-user-id")
	flag.DurationVar(&o.tokenTTL, "token-ttl", plmsim.DefaultTokenTTL, "lifetime of issued access tokens")
	flag.StringVar(&o.staticToken, "static-token", "", "a bearer token accepted forever (or env PLMSIM_STATIC_TOKEN; empty: none)")
	flag.Float64Var(&o.rateLimit, "rate-limit", 0, "system-logs requests per second per token (0: unlimited)")
	flag.IntVar(&o.burst, "burst", 0, "rate-limit bucket size (0: ceil(rate-limit))")
	flag.Float64Var(&o.faultRate, "fault-rate", 0, "share of requests answered 500, 502 or 503 (0 to 1)")
	flag.Float64Var(&o.slowRate, "slow-rate", 0, "share of requests answered after -slow-delay (0 to 1)")
	flag.DurationVar(&o.slowDelay, "slow-delay", plmsim.DefaultSlowDelay, "delay of slow responses")
	flag.Float64Var(&o.lateRate, "late-rate", 0, "share of added records indexed late (0 to 1)")
	flag.DurationVar(&o.lateBy, "late-by", plmsim.DefaultLateBy, "largest lateness of late records")
	flag.IntVar(&o.maxLimit, "max-limit", plmsim.DefaultMaxLimit, "largest accepted limit")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug logs every request")
	flag.Parse()
	if v := os.Getenv("PLMSIM_CLIENT_SECRET"); v != "" {
		o.clientSecret = v
	}
	if v := os.Getenv("PLMSIM_STATIC_TOKEN"); v != "" {
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

	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		return fmt.Errorf("load -zone: %w", err)
	}
	var alt []*time.Location
	for _, name := range splitList(o.altZones) {
		l, err := time.LoadLocation(name)
		if err != nil {
			return fmt.Errorf("load -alt-zones: %w", err)
		}
		alt = append(alt, l)
	}
	sim := plmsim.New(plmsim.Config{
		Tenant:          o.tenant,
		Location:        loc,
		AltLocations:    alt,
		AltLocationRate: o.altZoneRate,
		ClientID:        o.clientID,
		ClientSecret:    o.clientSecret,
		UserIDs:         splitList(o.userIDs),
		TokenTTL:        o.tokenTTL,
		StaticToken:     o.staticToken,
		RateLimit:       o.rateLimit,
		Burst:           o.burst,
		FaultRate:       o.faultRate,
		SlowRate:        o.slowRate,
		SlowDelay:       o.slowDelay,
		LateRate:        o.lateRate,
		LateBy:          o.lateBy,
		Seed:            o.seed,
		MaxLimit:        o.maxLimit,
		Logger:          log,
	})
	now := time.Now()
	sim.Generate(now.Add(-o.history), now, map[string]int{plmsim.TypeItem: o.records, plmsim.TypeSystem: o.records})

	return simkit.Serve(log, simkit.Command{
		Name:    "plmsim",
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
			slog.String("tenant", o.tenant),
			slog.String("zone", o.zone),
			slog.Int("records_per_type", o.records),
			slog.Float64("growth_per_second", o.rate),
			slog.Float64("fault_rate", o.faultRate),
			slog.Float64("rate_limit", o.rateLimit),
			slog.Bool("has_static_token", o.staticToken != ""),
		},
		Stopped: func() []slog.Attr {
			st := sim.Stats()
			return []slog.Attr{
				slog.Int64("requests", st.Requests),
				slog.Int64("ok", st.OK),
				slog.Int64("unauthorized", st.Unauthorized),
				slog.Int64("rate_limited", st.RateLimited),
				slog.Int64("server_errors", st.ServerErrors),
				slog.Int("records", len(sim.Records(""))),
			}
		},
	})
}

// splitList splits a comma-separated flag value, dropping empty elements.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
