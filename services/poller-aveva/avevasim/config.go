package avevasim

import (
	"log/slog"
	"math"
	"net/http"
	"time"
)

// The reports the server answers.
const (
	CreditsTransaction = "creditsTransaction"
	UserUsage          = "userUsage"
	ServiceUsage       = "serviceUsage"
	ResourceUsage      = "resourceUsage"
	Audit              = "audit"
)

// Reports lists the five reports in the reference's order.
var Reports = []string{CreditsTransaction, UserUsage, ServiceUsage, ResourceUsage, Audit}

// Paths the server answers.
const (
	TokenPath       = "/identity/connect/token"
	IntegrationPath = "/reports/v1/integration/"
	AuditPath       = "/reports/v1/audit"
)

// Defaults of Config fields left at their zero value.
const (
	DefaultClientID     = "avevasim-client"
	DefaultClientSecret = "avevasim-secret"
	DefaultTokenTTL     = time.Hour
	DefaultMaxRecords   = 20000
)

// Config configures a Server. Every field is optional; the zero Config is a
// quiet simulator with the real cap, no faults and no rate limit.
type Config struct {
	// ClientID and ClientSecret are the only client credentials the token
	// endpoint accepts. Defaults "avevasim-client" and "avevasim-secret".
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of issued access tokens, reported as
	// expires_in (whole seconds, at least 1). Default 1h.
	TokenTTL time.Duration
	// StaticToken, when not empty, is a bearer token accepted forever in
	// addition to issued ones (an account- or service-scoped access
	// token). Default "" (none).
	StaticToken string

	// MaxRecords is the record cap of one response. Default 20000, as the
	// reference documents.
	MaxRecords int
	// InclusiveTo makes windows [from, to] instead of [from, to): the
	// reference does not say which the API does. Default false.
	InclusiveTo bool
	// DuplicateRate is the probability in [0,1] that a generated record of
	// a report without id (userUsage, serviceUsage, resourceUsage) is
	// served twice, identical. Default 0.
	DuplicateRate float64

	// RateLimit is the sustained number of report requests per second
	// allowed per access token; above it requests get 429 with
	// Retry-After. Default 0: no limit.
	RateLimit float64
	// Burst is the token-bucket size of the rate limit. Default
	// max(1, ceil(RateLimit)).
	Burst int
	// FaultRate is the probability in [0,1] that an authorized report
	// request fails with one of FaultStatuses. Default 0.
	FaultRate float64
	// FaultStatuses are the statuses random faults draw from. Default
	// [500, 502, 503].
	FaultStatuses []int

	// Seed seeds every random choice: generated records and which requests
	// fault. The same seed and the same calls give the same records.
	// Default 0 (itself a fixed seed).
	Seed int64
	// Clock tells the time: for token expiry, the rate limit and the
	// records added by Grow. Default time.Now.
	Clock func() time.Time
	// Logger receives one debug record per request and nothing secret.
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RateLimit)))
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

// filters lists the optional filters of each report, as the reference
// does (locale and offset of the audit report are not filters).
var filters = map[string][]string{
	CreditsTransaction: {"hostingType", "productName", "productCode", "user", "folder", "service", "creditsAgreementId"},
	UserUsage:          {"user", "folder", "service"},
	ServiceUsage:       {"folder", "service"},
	ResourceUsage:      {"folder", "service", "resourceId"},
	Audit:              {"user", "operation", "folder", "service", "function"},
}
