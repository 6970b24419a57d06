package oraclesim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"
)

// Paths and versions the server answers.
const (
	// TokenPath is the OAuth2 client-credentials token endpoint.
	TokenPath = "/oauth2/v1/token"
	// RESTPrefix starts every API path.
	RESTPrefix = "/interop/rest/"
	// APIVersion is the only {api_version} of the User Audit Report
	// submit: POST /interop/rest/v1/reports.
	APIVersion = "v1"
	// LCMVersion is the only version of the job status, download and
	// delete paths: /interop/rest/11.1.2.3.600/....
	LCMVersion = "11.1.2.3.600"
	// LoginReportPath is the successor's synchronous User Login Report.
	LoginReportPath = "/interop/rest/security/v1/report/userloginreport"
)

// The header styles of the report CSV (Config.HeaderStyle).
const (
	// HeaderClassic is `User Login,User Name,IP Address,Access Date and Time`.
	HeaderClassic = "classic"
	// HeaderAlt is `User ID,IP Address,Access Time` (no user name).
	HeaderAlt = "alt"
	// HeaderMixed is `ACCESS DATE AND TIME,ip address,User Login,User Name,Service`:
	// the classic names in other case and order, plus a column.
	HeaderMixed = "mixed"
)

// HeaderStyles lists the accepted Config.HeaderStyle values.
var HeaderStyles = []string{HeaderClassic, HeaderAlt, HeaderMixed}

// LoginReportKeys lists the accepted Config.LoginReportKey values.
var LoginReportKeys = []string{"items", "data", "result"}

// AccessTimeLayout is the Go layout of the access times the report and
// the User Login Report write, always in UTC: "July 28, 2022 18:43:21 UTC"
// (a single-digit day is not padded: "July 8, 2022 08:03:01 UTC").
const AccessTimeLayout = "January 2, 2006 15:04:05 MST"

// DateLayout is the only accepted form of since, until, from_date and
// to_date.
const DateLayout = "2006-01-02"

// Defaults of Config fields left at their zero value.
const (
	DefaultUsername       = "svc-audit@example.com"
	DefaultPassword       = "oraclesim-password"
	DefaultClientID       = "oraclesim-client"
	DefaultClientSecret   = "oraclesim-secret"
	DefaultTokenTTL       = time.Hour
	DefaultRetentionDays  = 120
	DefaultJobMin         = 2 * time.Second
	DefaultJobMax         = 8 * time.Second
	DefaultJobFailRate    = 0.05
	DefaultRateLimit      = 10.0
	DefaultHeaderStyle    = HeaderClassic
	DefaultLoginReportKey = "items"
)

// Config configures a Server. Every field is optional; the zero Config is
// the vendor's behaviour with 5% of jobs failing, 10 requests per second,
// and no injected HTTP faults. JobMin, JobMax, JobFailRate and RateLimit,
// whose defaults are not zero, take a negative value to mean zero
// (RateLimit: no limit).
type Config struct {
	// IdentityDomain, when set, makes the Basic user name
	// "<IdentityDomain>.<Username>" (classic EPM Cloud); when empty the
	// Basic user is Username alone (OCI). Default "".
	IdentityDomain string
	// Username and Password are the only Basic credentials accepted.
	// Defaults "svc-audit@example.com" and "oraclesim-password".
	Username, Password string
	// MFA makes the account one with multi-factor authentication: Basic
	// is refused with 401 and only OAuth2 bearer tokens work. Default
	// false.
	MFA bool

	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts. Defaults "oraclesim-client" and
	// "oraclesim-secret".
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of issued access tokens. Default 1h.
	TokenTTL time.Duration

	// PublicURL, when set, is the scheme and host (and any path prefix)
	// the links of answers start with. Default: the request's scheme and
	// Host.
	PublicURL string

	// RetentionDays is how far back reports reach: the oldest day a
	// report may start on is today (UTC) minus RetentionDays. Default
	// 120.
	RetentionDays int
	// JobMin and JobMax bound the random run time of a report job.
	// Defaults 2s and 8s; negative: 0. A JobMax below JobMin is JobMin.
	JobMin, JobMax time.Duration
	// JobFailRate is the probability in [0,1] that a job ends with status
	// 1 and no file. Default 0.05; negative: 0.
	JobFailRate float64
	// JobHangRate is the probability in [0,1] that a job never ends.
	// Default 0.
	JobHangRate float64
	// LostSubmitRate is the probability in [0,1] that a submit creates its
	// job and is then answered 502 with a gateway's HTML page, as if the
	// answer were lost. Default 0.
	LostSubmitRate float64

	// HeaderStyle picks the report's header row: HeaderClassic,
	// HeaderAlt or HeaderMixed. Default HeaderClassic.
	HeaderStyle string
	// LoginReportKey is the member of the User Login Report answer that
	// holds the rows: "items", "data" or "result". Default "items".
	LoginReportKey string

	// RateLimit is the sustained number of API requests per second the
	// server accepts, across every API path and client (a token bucket);
	// a request over it is answered 429 with Retry-After. Default 10;
	// negative: no limit.
	RateLimit float64
	// Burst is the bucket size of the rate limit. Default
	// max(1, ceil(RateLimit)).
	Burst int
	// FaultRate is the probability in [0,1] that an API request within
	// the rate limit fails with one of FaultStatuses before anything else
	// happens. Default 0.
	FaultRate float64
	// FaultStatuses are the statuses random faults draw from. 502 and 504
	// answer a gateway's HTML page; 503 carries Retry-After: 1. Default
	// [500, 502, 503].
	FaultStatuses []int

	// Seed seeds every random choice: the application id, generated
	// logins, job run times and outcomes, lost submits and faults. The
	// same seed and the same sequence of calls give the same data.
	// Default 0 (itself a fixed seed).
	Seed int64
	// Clock tells the time: today and the retention, job completion,
	// token expiry, the rate limit and the time of grown logins. Default
	// time.Now.
	Clock func() time.Time
	// Logger receives one debug record per request and nothing secret.
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with every zero field set to its default and
// every negative "zero or off" value set to zero.
func (cfg Config) withDefaults() Config {
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = DefaultRetentionDays
	}
	cfg.JobMin = orDefault(cfg.JobMin, DefaultJobMin)
	cfg.JobMax = orDefault(cfg.JobMax, DefaultJobMax)
	if cfg.JobMax < cfg.JobMin {
		cfg.JobMax = cfg.JobMin
	}
	cfg.JobFailRate = orDefault(cfg.JobFailRate, DefaultJobFailRate)
	cfg.JobHangRate = max(cfg.JobHangRate, 0)
	cfg.LostSubmitRate = max(cfg.LostSubmitRate, 0)
	if cfg.HeaderStyle == "" {
		cfg.HeaderStyle = DefaultHeaderStyle
	}
	if cfg.LoginReportKey == "" {
		cfg.LoginReportKey = DefaultLoginReportKey
	}
	cfg.RateLimit = orDefault(cfg.RateLimit, DefaultRateLimit)
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RateLimit)))
	}
	cfg.FaultRate = max(cfg.FaultRate, 0)
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

// orDefault returns def for zero, zero for a negative v, and v otherwise.
func orDefault[T int | float64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Validate reports every setting New would refuse, after defaults.
func (cfg Config) Validate() error {
	c := cfg.withDefaults()
	var errs []error
	if !slices.Contains(HeaderStyles, c.HeaderStyle) {
		errs = append(errs, fmt.Errorf("HeaderStyle %q is not one of %v", c.HeaderStyle, HeaderStyles))
	}
	if !slices.Contains(LoginReportKeys, c.LoginReportKey) {
		errs = append(errs, fmt.Errorf("LoginReportKey %q is not one of %v", c.LoginReportKey, LoginReportKeys))
	}
	if c.RetentionDays < 1 {
		errs = append(errs, fmt.Errorf("RetentionDays %d must be at least 1", c.RetentionDays))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"JobFailRate", c.JobFailRate}, {"JobHangRate", c.JobHangRate}, {"LostSubmitRate", c.LostSubmitRate}, {"FaultRate", c.FaultRate}} {
		if p.v > 1 {
			errs = append(errs, fmt.Errorf("%s %g must be a probability from 0 to 1", p.name, p.v))
		}
	}
	for _, st := range c.FaultStatuses {
		if st < 400 || st > 599 {
			errs = append(errs, fmt.Errorf("FaultStatuses: %d is not an HTTP error status", st))
		}
	}
	return errors.Join(errs...)
}
