// Command revenerasim serves a simulated Revenera Usage Intelligence
// Reporting API 3.0.0 (see package revenerasim) with a generated history of
// custom events and exceptions that keeps growing, until SIGINT or
// SIGTERM.
//
//	go run ./services/poller-revenera/cmd/revenerasim -days 400 -rows-per-day 300 -rate 1 -fault-rate 0.02
//
// A client keeps its cookies in a jar (curl -c/-b) and sends the Origin
// and RUI-Client headers on every call:
//
//	H=(-H 'Origin: https://analytics.revenera.com' -H 'RUI-Client: curl' -H 'RUI-Client-Version: 1.0')
//	curl -c jar -b jar "${H[@]}" http://127.0.0.1:9405/v3/request-csrf
//	curl -c jar -b jar "${H[@]}" -H 'Content-Type: application/json' \
//	  -d '{"userName":"svc-usage@example.com","password":"revenerasim-password"}' http://127.0.0.1:9405/v3/auth/web
//	curl -c jar -b jar "${H[@]}" http://127.0.0.1:9405/v3/customEventTracking/listFiles/2876543210
//	curl -c jar -b jar "${H[@]}" -H 'Content-Type: application/json' \
//	  -d '{"fileName":"2876543210_customEvents_2026-12-03.zip"}' http://127.0.0.1:9405/v3/customEventTracking/getDownloadUrl/2876543210
//	curl -o file.zip "$URL"    # within 10 s, no cookies needed
//	curl -c jar -b jar "${H[@]}" -H 'Content-Type: application/json' \
//	  -d '{"startDate":"2026-11-01","stopDate":"2026-11-30","dateSplit":"day","dataView":"usageCounts","events":[{"category":"File","name":"Open"}]}' \
//	  http://127.0.0.1:9405/v3/reporting/eventTracking/basic/timeline/2876543210
//	curl -c jar -b jar "${H[@]}" -X POST http://127.0.0.1:9405/v3/auth/logout
//
// A logon answered 400 "Cookie Missing" (10% of them by default) needs a
// new request-csrf first; one answered 409 (a session is active) is
// recovered with a logout that carries the credentials as its body.
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

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/simkit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "revenerasim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, username, password, origin, publicURL, dateFormat, products, logLevel       string
	seed, downloadRate                                                                int64
	days, rowsPerDay, clients, maxSessions, dailyDays, retentionMonths, maxReportDays int
	sessionTTL, sessionIdle, urlTTL, closeDayEvery                                    time.Duration
	rate, cookieMissingRate, rateLimit, faultRate                                     float64
	bareFileNames, shortFileNames, secureCookies                                      bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9405", "listen address")
	flag.IntVar(&o.days, "days", 400, "days of generated history, ending now")
	flag.IntVar(&o.rowsPerDay, "rows-per-day", 300, "custom events on a weekday of the large product (Scale 1; others scaled, exceptions a tenth)")
	flag.Float64Var(&o.rate, "rate", 1, "custom events per second added while running, for Scale 1 (0: no growth)")
	flag.IntVar(&o.clients, "clients", revenerasim.DefaultClients, "installations alive at a time for Scale 1, the population rows come from")
	flag.StringVar(&o.products, "products", "", "products as ID:Scale:Name,... (empty: 2876543210:1:Acme CAD,2876543211:0.1:Acme Viewer)")
	flag.StringVar(&o.username, "username", revenerasim.DefaultUsername, "the only user name the logon accepts")
	flag.StringVar(&o.password, "password", revenerasim.DefaultPassword, "the logon password (or env REVENERASIM_PASSWORD)")
	flag.StringVar(&o.origin, "origin", revenerasim.DefaultOrigin, "the only Origin accepted")
	flag.Float64Var(&o.cookieMissingRate, "cookie-missing-rate", revenerasim.DefaultCookieMissingRate, "share of good logons answered 400 Cookie Missing (0 to 1)")
	flag.IntVar(&o.maxSessions, "max-sessions", revenerasim.DefaultMaxSessions, "live sessions per user before a logon is refused 409 (0: no limit)")
	flag.DurationVar(&o.sessionTTL, "session-ttl", revenerasim.DefaultSessionTTL, "life of a session from its logon")
	flag.DurationVar(&o.sessionIdle, "session-idle", 0, "end a session unused for this long (0: never)")
	flag.BoolVar(&o.secureCookies, "secure-cookies", false, "mark cookies Secure (clients then send them over https only)")
	flag.DurationVar(&o.urlTTL, "url-ttl", revenerasim.DefaultURLTTL, "life of a download URL")
	flag.StringVar(&o.publicURL, "public-url", "", "scheme://host[/prefix] of download URLs (empty: that of the request)")
	flag.Int64Var(&o.downloadRate, "download-bytes-per-second", 0, "throttle downloads (0: unthrottled)")
	flag.IntVar(&o.dailyDays, "daily-days", revenerasim.DefaultDailyDays, "closed days listed as daily files")
	flag.IntVar(&o.retentionMonths, "retention-months", revenerasim.DefaultRetentionMonths, "ended months listed as monthly files")
	flag.BoolVar(&o.bareFileNames, "bare-file-names", false, "list files as bare names instead of objects")
	flag.BoolVar(&o.shortFileNames, "short-file-names", false, "name files <product>_cust_<period>.zip and <product>_exc_<period>.zip, as the seed's examples")
	flag.IntVar(&o.maxReportDays, "max-report-days", revenerasim.DefaultMaxReportDays, "longest report date range, in days")
	flag.StringVar(&o.dateFormat, "date-format", revenerasim.DateFormatDate, "report dates: date (2026-11-01) or datetime (2026-11-01T00:00:00Z)")
	flag.Float64Var(&o.rateLimit, "rate-limit", revenerasim.DefaultRateLimit, "requests per second per session (0: unlimited)")
	flag.Float64Var(&o.faultRate, "fault-rate", 0, "share of calls answered 500, 502 or 503 (0 to 1)")
	flag.DurationVar(&o.closeDayEvery, "close-day-every", 0, "close the open files this often by jumping the data clock to the next midnight (0: only at real midnights)")
	flag.Int64Var(&o.seed, "seed", 1, "seed of generated rows, Cookie Missing and injected faults")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug logs every request")
	flag.Parse()
	if v := os.Getenv("REVENERASIM_PASSWORD"); v != "" {
		o.password = v
	}
	return o
}

// parseProducts reads -products.
func parseProducts(s string) ([]revenerasim.Product, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []revenerasim.Product
	seen := map[int64]bool{}
	for _, part := range strings.Split(s, ",") {
		f := strings.SplitN(strings.TrimSpace(part), ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("-products: %q is not ID:Scale:Name such as 2876543210:1:Acme CAD", part)
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || id <= 0 || seen[id] {
			return nil, fmt.Errorf("-products: %q needs a positive ID used once", part)
		}
		scale, err := strconv.ParseFloat(f[1], 64)
		if err != nil || scale <= 0 {
			return nil, fmt.Errorf("-products: %q needs a positive Scale", part)
		}
		seen[id] = true
		out = append(out, revenerasim.Product{ID: id, Name: f[2], Scale: scale})
	}
	return out, nil
}

// orOff maps a flag's "0 means off" to the Config's negative value.
func orOff[T int | float64](v T) T {
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
	products, err := parseProducts(o.products)
	if err != nil {
		return err
	}
	if o.dateFormat != revenerasim.DateFormatDate && o.dateFormat != revenerasim.DateFormatDateTime {
		return fmt.Errorf("-date-format %q: use %s or %s", o.dateFormat, revenerasim.DateFormatDate, revenerasim.DateFormatDateTime)
	}
	if o.cookieMissingRate < 0 || o.cookieMissingRate > 1 || o.faultRate < 0 || o.faultRate > 1 {
		return fmt.Errorf("-cookie-missing-rate and -fault-rate are shares from 0 to 1")
	}

	sim := revenerasim.New(revenerasim.Config{
		Username:               o.username,
		Password:               o.password,
		Origin:                 o.origin,
		Products:               products,
		Clients:                o.clients,
		CookieMissingRate:      orOff(o.cookieMissingRate),
		MaxSessions:            orOff(o.maxSessions),
		SessionTTL:             o.sessionTTL,
		SessionIdle:            o.sessionIdle,
		SecureCookies:          o.secureCookies,
		URLTTL:                 o.urlTTL,
		PublicURL:              o.publicURL,
		DownloadBytesPerSecond: o.downloadRate,
		DailyDays:              o.dailyDays,
		RetentionMonths:        o.retentionMonths,
		BareFileNames:          o.bareFileNames,
		ShortFileNames:         o.shortFileNames,
		MaxReportDays:          o.maxReportDays,
		DateFormat:             o.dateFormat,
		RateLimit:              orOff(o.rateLimit),
		FaultRate:              o.faultRate,
		Seed:                   o.seed,
		Logger:                 log,
	})
	now := time.Now()
	start := time.Now()
	rows := sim.Generate(now.AddDate(0, 0, -o.days), now, o.rowsPerDay)
	log.Info("history generated", slog.Int("rows", rows), slog.Int("days", o.days), slog.Duration("took", time.Since(start)))

	var ids []string
	for _, p := range sim.Products() {
		ids = append(ids, fmt.Sprintf("%d (%s)", p.ID, p.Name))
	}
	return simkit.Serve(log, simkit.Command{
		Name:    "revenerasim",
		Addr:    o.addr,
		Handler: sim,
		Start: func(ctx context.Context) []<-chan struct{} {
			var done []<-chan struct{}
			if o.rate > 0 {
				every, n := simkit.Growth(o.rate)
				done = append(done, sim.StartGrowing(ctx, every, n))
			}
			if o.closeDayEvery > 0 {
				done = append(done, simkit.Start(ctx, func(ctx context.Context) {
					t := time.NewTicker(o.closeDayEvery)
					defer t.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
							log.Info("open files closed", slog.Time("data_time", sim.CloseOpenDay()))
						}
					}
				}))
			}
			return done
		},
		Listening: []slog.Attr{
			slog.String("products", strings.Join(ids, ", ")),
			slog.Int("rows", rows),
			slog.Float64("growth_per_second", o.rate),
			slog.Float64("cookie_missing_rate", o.cookieMissingRate),
			slog.Int("max_sessions", o.maxSessions),
			slog.Float64("rate_limit", o.rateLimit),
			slog.Float64("fault_rate", o.faultRate),
			slog.Duration("url_ttl", o.urlTTL),
		},
		Stopped: func() []slog.Attr {
			st := sim.Stats()
			return []slog.Attr{
				slog.Int64("requests", st.Requests),
				slog.Int64("logons", st.Logons),
				slog.Int64("logouts", st.Logouts),
				slog.Int64("cookie_missing", st.CookieMissing),
				slog.Int64("refused_active", st.RefusedActive),
				slog.Int64("bad_credentials", st.BadCredentials),
				slog.Int64("unauthorized", st.Unauthorized),
				slog.Int64("expired", st.Expired),
				slog.Int64("urls_issued", st.URLsIssued),
				slog.Int64("urls_expired", st.URLsExpired),
				slog.Int64("downloads", st.Downloads),
				slog.Int64("rate_limited", st.RateLimited),
				slog.Int64("server_errors", st.ServerErrors),
				slog.Int64("active_sessions", st.ActiveSessions),
			}
		},
	})
}
