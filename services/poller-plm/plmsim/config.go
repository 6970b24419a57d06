package plmsim

import (
	"log/slog"
	"math"
	"net/http"
	"time"
	_ "time/tzdata" // The tenant zone must load on hosts without a zoneinfo database.
)

// Record types, the values of the type query parameter.
const (
	TypeItem   = "item"
	TypeSystem = "system"
)

// Defaults of Config fields left at their zero value.
const (
	DefaultTenant       = "DEMO"
	DefaultZone         = "America/New_York"
	DefaultClientID     = "plmsim-client"
	DefaultClientSecret = "plmsim-secret"
	DefaultUserID       = "integration@example.com"
	DefaultTokenTTL     = time.Hour
	DefaultLimit        = 100
	DefaultMaxLimit     = 1000
	DefaultMixedWindow  = 60 * 24 * time.Hour
	DefaultSlowDelay    = 2 * time.Second
	DefaultLateBy       = time.Minute
)

// Config configures a Server. Every field is optional; the zero Config is a
// quiet simulator with no faults and no rate limit.
type Config struct {
	// Tenant is the tenant name in the URL path /api/v3/tenants/{TENANT} and
	// in URNs. Matched case-insensitively. Default "DEMO".
	Tenant string
	// Location is the tenant's time zone: timestamps are rendered with its
	// offset and filter[from.date]/filter[to.date] are days in it.
	// Default America/New_York (offsets -05:00 and -04:00 across DST).
	Location *time.Location
	// AltLocations are other zones some records are rendered in, to exercise
	// clients that compare timestamp strings instead of instants. Default none.
	AltLocations []*time.Location
	// AltLocationRate is the probability in [0,1] that a generated record is
	// rendered in one of AltLocations instead of Location. Default 0.
	AltLocationRate float64

	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts. Defaults "plmsim-client" and "plmsim-secret".
	ClientID, ClientSecret string
	// UserIDs are the e-mail addresses accepted in the X-user-id header
	// (compared case-insensitively). Default ["integration@example.com"].
	UserIDs []string
	// TokenTTL is the lifetime of issued access tokens, reported as
	// expires_in (whole seconds, at least 1). Default 1h.
	TokenTTL time.Duration
	// StaticToken, when not empty, is a bearer token accepted forever in
	// addition to issued ones. Default "" (none).
	StaticToken string

	// RateLimit is the sustained number of system-logs requests per second
	// allowed per access token; above it requests get 429 with Retry-After.
	// Default 0: no limit.
	RateLimit float64
	// Burst is the token-bucket size of the rate limit. Default
	// max(1, ceil(RateLimit)).
	Burst int

	// FaultRate is the probability in [0,1] that an authorized system-logs
	// request fails with one of FaultStatuses. Default 0.
	FaultRate float64
	// FaultStatuses are the statuses random faults draw from. 502 and 504
	// answer an HTML body as a gateway would; the others answer JSON, 503
	// with Retry-After: 1. Default [500, 502, 503].
	FaultStatuses []int
	// SlowRate is the probability in [0,1] that an authorized system-logs
	// request is delayed by SlowDelay before it is answered. Default 0.
	SlowRate float64
	// SlowDelay is the delay of slow responses, in real time (not Clock);
	// the delay ends early when the client goes away. Default 2s.
	SlowDelay time.Duration

	// LateRate is the probability in [0,1] that a record added by Grow or
	// GrowSpan is indexed late: its instant lies up to LateBy before the
	// tick that adds it, so it lands among records already served, as a
	// vendor indexing records late would do. Default 0.
	LateRate float64
	// LateBy is the largest lateness of late records. Default 1m.
	LateBy time.Duration

	// Seed seeds every random choice: generated records, which requests
	// fault, which are slow. The same seed and the same sequence of calls
	// give the same records and, for sequential requests, the same faults.
	// Default 0 (itself a fixed seed).
	Seed int64
	// MaxLimit is the largest accepted limit; a larger one is answered 400.
	// Default 1000 (the vendor documents limit=1000 requests).
	MaxLimit int
	// MixedWindow is how far back a request without type reaches.
	// Default 60 days, as the vendor documents.
	MixedWindow time.Duration
	// Clock tells the time: for token expiry, the rate limit, the mixed
	// window and the timestamps of records added by Grow. Default time.Now.
	Clock func() time.Time
	// Logger receives one debug record per request and nothing secret.
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation(DefaultZone)
		if err != nil {
			// Unreachable: time/tzdata is embedded.
			loc = time.FixedZone("EST", -5*3600)
		}
		cfg.Location = loc
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if len(cfg.UserIDs) == 0 {
		cfg.UserIDs = []string{DefaultUserID}
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RateLimit)))
	}
	if len(cfg.FaultStatuses) == 0 {
		cfg.FaultStatuses = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = DefaultSlowDelay
	}
	if cfg.LateBy <= 0 {
		cfg.LateBy = DefaultLateBy
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = DefaultMaxLimit
	}
	if cfg.MixedWindow <= 0 {
		cfg.MixedWindow = DefaultMixedWindow
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
