package revenerasim

import (
	"log/slog"
	"net/http"
	"time"
)

// The two kinds of raw files, as they appear in file names and as Rows
// and Header take them.
const (
	// CustomEvents are the custom event tracking files.
	CustomEvents = "customEvents"
	// Exceptions are the exception tracking files.
	Exceptions = "exceptions"
)

// Kinds lists the kinds of raw files.
var Kinds = []string{CustomEvents, Exceptions}

// Defaults of Config fields left at their zero value.
const (
	DefaultUsername          = "svc-usage@example.com"
	DefaultPassword          = "revenerasim-password"
	DefaultOrigin            = "https://analytics.revenera.com"
	DefaultCookieMissingRate = 0.1
	DefaultMaxSessions       = 1
	DefaultSessionTTL        = 30 * time.Minute
	DefaultURLTTL            = 10 * time.Second
	DefaultDailyDays         = 40
	DefaultRetentionMonths   = 13
	DefaultMaxReportDays     = 31
	DefaultRateLimit         = 10
	DefaultDaysUntilLost     = 30
	DefaultClients           = 400
	// DefaultCSRFTTL is how long a token from /v3/request-csrf stays
	// good for a logon.
	DefaultCSRFTTL = time.Hour
)

// The values of Config.DateFormat.
const (
	// DateFormatDate writes report dates as "2026-11-01".
	DateFormatDate = "date"
	// DateFormatDateTime writes report dates as "2026-11-01T00:00:00Z".
	DateFormatDateTime = "datetime"
)

// Product is one product of the account.
type Product struct {
	// ID is the product id of the API paths and file names.
	ID int64
	// Name is the product's display name.
	Name string
	// Scale multiplies the rows generated for the product (1 for the
	// large product, 0.1 for a small one) and the size of its client
	// population.
	Scale float64
}

// DefaultProducts are the products of the zero Config: one large and one
// small.
var DefaultProducts = []Product{
	{ID: 2876543210, Name: "Acme CAD", Scale: 1},
	{ID: 2876543211, Name: "Acme Viewer", Scale: 0.1},
}

// Config configures a Server. Every field is optional: the zero Config is
// the vendor as the seed and the vendor notes describe it, with random
// "Cookie Missing" answers on 10% of logons, one session per user, a rate
// limit and no injected server faults.
type Config struct {
	// Username and Password are the only credentials the logon accepts.
	// Defaults "svc-usage@example.com" and "revenerasim-password".
	Username, Password string
	// Origin is the only Origin header any /v3 call is accepted with.
	// Default "https://analytics.revenera.com".
	Origin string
	// Products are the account's products. Default DefaultProducts.
	Products []Product
	// Clients is the number of installations alive at a time of a
	// product of Scale 1 (scaled by each product's Scale), the population
	// generated rows come from: clients join and leave every day. Default
	// 400.
	Clients int

	// CookieMissingRate is the probability in [0,1] that a logon which
	// would succeed is answered 400 "Cookie Missing" and its CSRF token
	// is invalidated. Default 0.1; negative: never.
	CookieMissingRate float64
	// MaxSessions is the number of active sessions a user may have; a
	// logon beyond it is answered 409. Default 1; negative: no limit.
	MaxSessions int
	// SessionTTL is the life of a session from its logon. Default 30m.
	SessionTTL time.Duration
	// SessionIdle, when positive, ends a session not used for that long.
	// Default 0: no idle timeout.
	SessionIdle time.Duration
	// SecureCookies marks the cookies Secure. Default false, because a
	// cookie jar does not send Secure cookies over plain http.
	SecureCookies bool

	// URLTTL is the life of a download URL. Default 10s.
	URLTTL time.Duration
	// PublicURL is the scheme, host and optional path prefix download
	// URLs start with, e.g. "http://revenerasim:8080". Default: the
	// scheme and host of the getDownloadUrl request.
	PublicURL string
	// DownloadBytesPerSecond throttles every download to that rate.
	// Default 0: unthrottled.
	DownloadBytesPerSecond int64
	// DailyDays is the number of closed days that have a daily file.
	// Default 40.
	DailyDays int
	// RetentionMonths is the number of ended months that have a monthly
	// file. Default 13.
	RetentionMonths int
	// BareFileNames lists files as bare file-name strings instead of
	// objects. Default false.
	BareFileNames bool
	// ShortFileNames names files as the seed's examples do,
	// "<product>_cust_<period>.zip" and "<product>_exc_<period>.zip",
	// instead of "<product>_customEvents_<period>.zip" and
	// "<product>_exceptions_<period>.zip". Default false.
	ShortFileNames bool

	// MaxReportDays is the longest date range of a report, in days.
	// Default 31.
	MaxReportDays int
	// DateFormat is the form of the reports' "dates": DateFormatDate
	// ("date", the default) or DateFormatDateTime ("datetime").
	DateFormat string

	// RateLimit is the sustained number of requests per second allowed
	// per session (a token bucket holding ceil(RateLimit)); above it, 429
	// with Retry-After: 1. Default 10; negative: no limit.
	RateLimit float64
	// FaultRate is the probability in [0,1] that a /v3 call other than
	// request-csrf and the logon fails with one of FaultStatuses. Default
	// 0.
	FaultRate float64
	// FaultStatuses are the statuses random faults draw from. 502 and 504
	// answer an HTML body as a gateway would; 503 carries Retry-After: 1.
	// Default [500, 502, 503].
	FaultStatuses []int

	// Seed seeds every random choice: generated rows, Cookie Missing and
	// faults. Default 0 (itself a fixed seed).
	Seed int64
	// Clock tells the time. Default time.Now. The data (today, the open
	// file, closed files, report bounds, the times of grown rows) follows
	// Clock plus the offset CloseOpenDay adds; sessions, CSRF tokens,
	// download URLs and the rate limit follow Clock alone.
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
	if cfg.Origin == "" {
		cfg.Origin = DefaultOrigin
	}
	if len(cfg.Products) == 0 {
		cfg.Products = DefaultProducts
	}
	if cfg.Clients <= 0 {
		cfg.Clients = DefaultClients
	}
	switch {
	case cfg.CookieMissingRate == 0:
		cfg.CookieMissingRate = DefaultCookieMissingRate
	case cfg.CookieMissingRate < 0:
		cfg.CookieMissingRate = 0
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.DailyDays <= 0 {
		cfg.DailyDays = DefaultDailyDays
	}
	if cfg.RetentionMonths <= 0 {
		cfg.RetentionMonths = DefaultRetentionMonths
	}
	if cfg.MaxReportDays <= 0 {
		cfg.MaxReportDays = DefaultMaxReportDays
	}
	if cfg.DateFormat == "" {
		cfg.DateFormat = DateFormatDate
	}
	switch {
	case cfg.RateLimit == 0:
		cfg.RateLimit = DefaultRateLimit
	case cfg.RateLimit < 0:
		cfg.RateLimit = 0
	}
	if len(cfg.FaultStatuses) == 0 {
		cfg.FaultStatuses = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
