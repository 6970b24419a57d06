package epmsim

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Config fields left at their zero value.
const (
	DefaultUsername       = "svc-audit@example.com"
	DefaultPassword       = "epmsim-password"
	DefaultApplicationID  = "auditstream"
	DefaultManagerPath    = "/epm-manager"
	DefaultSessionTimeout = 20 * time.Minute
	DefaultTokenMaxAge    = 8 * time.Hour
	DefaultLimit          = 50
	DefaultMaxLimit       = 500
	DefaultSetsLimit      = 1000
)

// Limit is one rate limit: at most Calls calls in any interval of length
// Per.
type Limit struct {
	Calls int
	Per   time.Duration
}

// VendorLimits are the limits the vendor documents per tenant: 5 calls per
// second and 1,000 calls per 5 minutes.
var VendorLimits = []Limit{{Calls: 5, Per: time.Second}, {Calls: 1000, Per: 5 * time.Minute}}

// Config configures a Server. Every field is optional: the zero Config is a
// simulator with the vendor's session timeout and rate limits, and no
// injected faults.
type Config struct {
	// Username, Password and ApplicationID are the only logon accepted
	// (ApplicationID must merely be present unless set here). Defaults
	// "svc-audit@example.com", "epmsim-password" and any application id.
	Username, Password, ApplicationID string
	// PasswordExpired makes the logon answer IsPasswordExpired: true.
	// Default false.
	PasswordExpired bool

	// ManagerPath is the path prefix the EPM server (manager) API is
	// served under; the dispatcher serves only the logon at the root.
	// Default "/epm-manager".
	ManagerPath string
	// ManagerURL, when set, is the ManagerURL the logon returns. Default:
	// the scheme and host of the logon request followed by ManagerPath, so
	// that one listener serves both roles.
	ManagerURL string

	// SessionTimeout is the tenant's "timeout for inactive session": a
	// token not used for that long answers 401. Default 20m.
	SessionTimeout time.Duration
	// TokenMaxAge is the longest a token lives, used or not. Default 8h.
	TokenMaxAge time.Duration

	// Limits are the rate limits of the manager API per tenant, each a
	// sliding window over the accepted calls; a call over any of them is
	// answered 429 with Retry-After. Default VendorLimits.
	Limits []Limit
	// NoRateLimit turns the rate limits off. Default false.
	NoRateLimit bool

	// FaultRate is the probability in [0,1] that an authorized manager
	// call within the limits fails with one of FaultStatuses. Default 0.
	FaultRate float64
	// FaultStatuses are the statuses random faults draw from. 502 and 504
	// answer an HTML body as a gateway would; 503 carries Retry-After: 1.
	// Default [500, 502, 503].
	FaultStatuses []int

	// AuditAPICalls makes every admin audit call add a "Public API" record
	// to the set it reads, as the vendor audits API use: the log grows as
	// it is read. Default false.
	AuditAPICalls bool

	// MaxLimit is the largest accepted Limit of the admin audit; a larger
	// one is answered 400. Default 500.
	MaxLimit int
	// Seed seeds every random choice: generated records and faults. The
	// same seed and the same sequence of calls give the same records and,
	// for sequential requests, the same faults. Default 0 (itself a fixed
	// seed).
	Seed int64
	// Clock tells the time: for sessions, rate limits, the default date
	// range and the times of records added by Grow. Default time.Now.
	Clock func() time.Time
	// Logger receives one debug record per request and nothing secret.
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.ManagerPath == "" {
		cfg.ManagerPath = DefaultManagerPath
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.TokenMaxAge <= 0 {
		cfg.TokenMaxAge = DefaultTokenMaxAge
	}
	if cfg.Limits == nil {
		cfg.Limits = VendorLimits
	}
	if cfg.NoRateLimit {
		cfg.Limits = nil
	}
	if len(cfg.FaultStatuses) == 0 {
		cfg.FaultStatuses = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = DefaultMaxLimit
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
