// Command epmsim serves a simulated CyberArk EPM API (see package epmsim)
// with a generated admin audit history in several sets that keeps growing,
// until SIGINT or SIGTERM.
//
//	go run ./services/poller-epm/cmd/epmsim -sets 3 -records 20000 -add-set-after 1m
//
// A client logs on at the dispatcher
//
//	curl -d '{"Username":"svc-audit@example.com","Password":"epmsim-password","ApplicationID":"auditstream"}' \
//	  -H 'Content-Type: application/json' http://127.0.0.1:9402/EPM/API/Auth/EPM/Logon
//
// and then calls the ManagerURL it returned with the token:
//
//	curl -H "Authorization: basic $TOKEN" http://127.0.0.1:9402/epm-manager/EPM/API/Sets
//	curl -H "Authorization: basic $TOKEN" \
//	  'http://127.0.0.1:9402/epm-manager/EPM/API/Sets/{SetID}/AdminAudit?DateFrom=2024-01-01T00:00:00Z&Limit=500'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/shared/simkit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "epmsim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, username, password, applicationID, managerPath, managerURL, limits, logLevel string
	seed                                                                               int64
	sets, records, maxLimit                                                            int
	history, sessionTimeout, tokenMaxAge, addSetAfter                                  time.Duration
	rate, faultRate                                                                    float64
	auditAPICalls                                                                      bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9402", "listen address (dispatcher and manager)")
	flag.StringVar(&o.username, "username", epmsim.DefaultUsername, "the only user name the logon accepts")
	flag.StringVar(&o.password, "password", epmsim.DefaultPassword, "the logon password (or env EPMSIM_PASSWORD)")
	flag.StringVar(&o.applicationID, "application-id", "", "the only ApplicationID the logon accepts (empty: any)")
	flag.StringVar(&o.managerPath, "manager-path", epmsim.DefaultManagerPath, "path prefix of the manager API on this listener")
	flag.StringVar(&o.managerURL, "manager-url", "", "ManagerURL the logon returns (empty: this listener + -manager-path)")
	flag.IntVar(&o.sets, "sets", 3, "sets at start")
	flag.IntVar(&o.records, "records", 5000, "records of each set in the generated history")
	flag.DurationVar(&o.history, "history", 30*24*time.Hour, "length of the generated history, ending now")
	flag.Float64Var(&o.rate, "rate", 0.5, "records per second added while running, across sets (0: the log does not grow)")
	flag.DurationVar(&o.addSetAfter, "add-set-after", 0, "add one more set, with its own history, this long after start (0: never)")
	flag.DurationVar(&o.sessionTimeout, "session-timeout", epmsim.DefaultSessionTimeout, "timeout of inactive sessions")
	flag.DurationVar(&o.tokenMaxAge, "token-max-age", epmsim.DefaultTokenMaxAge, "longest life of a token")
	flag.StringVar(&o.limits, "rate-limits", "5/1s,1000/5m", "comma-separated rate limits per tenant, each <calls>/<period>, or off")
	flag.Float64Var(&o.faultRate, "fault-rate", 0, "share of manager calls answered 500, 502 or 503 (0 to 1)")
	flag.BoolVar(&o.auditAPICalls, "audit-api-calls", true, "record every admin audit call as a \"Public API\" record, as the vendor does")
	flag.IntVar(&o.maxLimit, "max-limit", epmsim.DefaultMaxLimit, "largest accepted Limit")
	flag.Int64Var(&o.seed, "seed", 1, "seed of generated records and injected faults")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug logs every request")
	flag.Parse()
	if v := os.Getenv("EPMSIM_PASSWORD"); v != "" {
		o.password = v
	}
	return o
}

// parseLimits reads -rate-limits.
func parseLimits(s string) (limits []epmsim.Limit, off bool, err error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return nil, true, nil
	}
	for _, part := range strings.Split(s, ",") {
		calls, per, ok := strings.Cut(strings.TrimSpace(part), "/")
		n, nerr := strconv.Atoi(calls)
		d, derr := time.ParseDuration(per)
		if !ok || nerr != nil || derr != nil || n < 1 || d <= 0 {
			return nil, false, fmt.Errorf("-rate-limits: %q is not <calls>/<period> such as 5/1s", part)
		}
		limits = append(limits, epmsim.Limit{Calls: n, Per: d})
	}
	return limits, false, nil
}

func run() error {
	o := parseFlags()
	log, err := simkit.NewLogger(o.logLevel)
	if err != nil {
		return err
	}
	limits, off, err := parseLimits(o.limits)
	if err != nil {
		return err
	}
	sim := epmsim.New(epmsim.Config{
		Username:       o.username,
		Password:       o.password,
		ApplicationID:  o.applicationID,
		ManagerPath:    o.managerPath,
		ManagerURL:     o.managerURL,
		SessionTimeout: o.sessionTimeout,
		TokenMaxAge:    o.tokenMaxAge,
		Limits:         limits,
		NoRateLimit:    off,
		FaultRate:      o.faultRate,
		AuditAPICalls:  o.auditAPICalls,
		MaxLimit:       o.maxLimit,
		Seed:           o.seed,
		Logger:         log,
	})
	now := time.Now()
	for range o.sets {
		set := sim.AddSet("", "")
		sim.Generate(set.ID, now.Add(-o.history), now, o.records)
	}

	return simkit.Serve(log, simkit.Command{
		Name:    "epmsim",
		Addr:    o.addr,
		Handler: sim,
		Start: func(ctx context.Context) []<-chan struct{} {
			var done []<-chan struct{}
			if o.rate > 0 {
				every, n := simkit.Growth(o.rate)
				done = append(done, sim.StartGrowing(ctx, every, n))
			}
			if o.addSetAfter > 0 {
				done = append(done, simkit.Start(ctx, func(ctx context.Context) {
					select {
					case <-ctx.Done():
						return
					case <-time.After(o.addSetAfter):
					}
					set := sim.AddSet("", "")
					at := time.Now()
					sim.Generate(set.ID, at.Add(-o.history), at, o.records)
					log.Info("set added", slog.String("set", set.ID), slog.String("name", set.Name), slog.Int("records", o.records))
				}))
			}
			return done
		},
		Listening: []slog.Attr{
			slog.Int("sets", o.sets),
			slog.Int("records_per_set", o.records),
			slog.Float64("growth_per_second", o.rate),
			slog.Float64("fault_rate", o.faultRate),
			slog.String("rate_limits", o.limits),
		},
		Stopped: func() []slog.Attr {
			st := sim.Stats()
			return []slog.Attr{
				slog.Int64("requests", st.Requests),
				slog.Int64("ok", st.OK),
				slog.Int64("logons", st.Logons),
				slog.Int64("unauthorized", st.Unauthorized),
				slog.Int64("rate_limited", st.RateLimited),
				slog.Int64("server_errors", st.ServerErrors),
				slog.Int64("dispatcher_misses", st.DispatcherMisses),
			}
		},
	})
}
