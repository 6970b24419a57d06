package plm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/config"
)

// MaxPageSize is the largest PLM_PAGE_SIZE accepted: the limit the vendor's
// own examples use for the system logs.
const MaxPageSize = 1000

// The log types of the system-logs endpoint. With a type, the endpoint
// returns the whole history rather than the last 60 days.
const (
	LogTypeItem   = "item"
	LogTypeSystem = "system"
)

// Config holds the PLM vendor settings. A service embeds it next to
// config.Common; every variable carries the PLM_ prefix.
type Config struct {
	// BaseURL is the API root. Required.
	BaseURL string `envconfig:"PLM_BASE_URL" required:"true" desc:"API root of the tenant, e.g. https://acme.autodeskplm360.net (a simulator can stand in)."`
	// Tenant is the tenant name used in the API path and the stream names. Required.
	Tenant string `envconfig:"PLM_TENANT" required:"true" desc:"Tenant name as it appears in /api/v3/tenants/{tenant}, e.g. ACME; also part of each stream name."`
	// TokenURL is the APS OAuth2 token endpoint. Default https://developer.api.autodesk.com/authentication/v2/token.
	TokenURL string `envconfig:"PLM_TOKEN_URL" default:"https://developer.api.autodesk.com/authentication/v2/token" desc:"Autodesk Platform Services OAuth2 token endpoint used with client credentials."`
	// ClientID is the APS app's client id. Default empty.
	ClientID string `envconfig:"PLM_CLIENT_ID" desc:"Client id of the APS app allowed on the tenant (two-legged OAuth2); needs PLM_CLIENT_SECRET and PLM_USER_ID."`
	// ClientSecret is the APS app's client secret. Default empty.
	ClientSecret string `envconfig:"PLM_CLIENT_SECRET" secret:"true" desc:"Client secret of the APS app; needs PLM_CLIENT_ID."`
	// Scopes are the OAuth2 scopes requested. Default data:read.
	Scopes []string `envconfig:"PLM_SCOPES" default:"data:read" desc:"Comma-separated OAuth2 scopes requested with client credentials."`
	// UserID is the X-user-id header. Default empty.
	UserID string `envconfig:"PLM_USER_ID" desc:"X-user-id header: e-mail of the tenant's service user the app acts as; required with client credentials."`
	// AccessToken is a static bearer token used instead of client
	// credentials. Default empty.
	AccessToken string `envconfig:"PLM_ACCESS_TOKEN" secret:"true" desc:"Static bearer token used instead of client credentials (PLM_CLIENT_ID/PLM_CLIENT_SECRET)."`
	// LogTypes are the log types polled, one stream each. Default item,system.
	LogTypes []string `envconfig:"PLM_LOG_TYPES" default:"item,system" desc:"Comma-separated system log types to poll, each its own stream: item, system."`
	// PageSize is the limit of one request, 1..1000. Default 1000.
	PageSize int `envconfig:"PLM_PAGE_SIZE" default:"1000" desc:"Rows requested per page (limit), from 1 to 1000; the vendor documents only its default, 100: when it answers a larger limit with 400, the poller halves it (down to 100) and logs it once."`
	// Topic receives the audit events. Default plm.audit.
	Topic string `envconfig:"PLM_TOPIC" default:"plm.audit" desc:"Kafka topic that receives the PLM audit events."`
	// MaxWindow is the widest time window one scan covers. Default 24h.
	MaxWindow time.Duration `envconfig:"PLM_MAX_WINDOW" default:"24h" desc:"Widest time window one scan covers during backfill; at least 1s."`
	// RateLimit is the client-side request rate. Default 5 per second.
	RateLimit float64 `envconfig:"PLM_RATE_LIMIT" default:"5" desc:"Most requests per second sent to the PLM API (client side)."`
}

// Validate returns every problem of c, each starting with the variable name
// and saying how to fix it. Secret values never appear in the messages.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if msg := config.CheckHTTPURL(c.BaseURL); msg != "" {
		add("PLM_BASE_URL: %s", msg)
	}
	if msg := checkTenant(c.Tenant); msg != "" {
		add("PLM_TENANT: %s", msg)
	}

	clientCreds := c.ClientID != "" || c.ClientSecret != ""
	switch {
	case clientCreds && c.AccessToken != "":
		add("PLM_ACCESS_TOKEN: set together with PLM_CLIENT_ID/PLM_CLIENT_SECRET; use either a static token or client credentials, not both")
	case clientCreds:
		if c.ClientID == "" {
			add("PLM_CLIENT_ID: empty but PLM_CLIENT_SECRET is set; set the APS app's client id")
		}
		if c.ClientSecret == "" {
			add("PLM_CLIENT_SECRET: empty but PLM_CLIENT_ID is set; set it or PLM_CLIENT_SECRET_FILE")
		}
		if c.UserID == "" {
			add("PLM_USER_ID: required with client credentials; set the e-mail of the tenant user the app acts as")
		}
		if msg := config.CheckHTTPURL(c.TokenURL); msg != "" {
			add("PLM_TOKEN_URL: %s", msg)
		}
		if len(c.Scopes) == 0 {
			add("PLM_SCOPES: empty; set at least one scope, e.g. data:read")
		}
		for _, s := range c.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				add("PLM_SCOPES: scope %q is empty or holds white space; separate scopes with commas only", s)
			}
		}
	case c.AccessToken == "":
		add("PLM_CLIENT_ID: no credentials; set PLM_CLIENT_ID, PLM_CLIENT_SECRET and PLM_USER_ID, or PLM_ACCESS_TOKEN")
	}
	if c.UserID != "" {
		if !strings.Contains(c.UserID, "@") || strings.ContainsAny(c.UserID, " \t\r\n") {
			add("PLM_USER_ID: %q is not an e-mail address; set the e-mail of the tenant user the app acts as", c.UserID)
		}
	}

	if len(c.LogTypes) == 0 {
		add("PLM_LOG_TYPES: empty; set item, system or item,system")
	}
	for i, t := range c.LogTypes {
		switch {
		case t != LogTypeItem && t != LogTypeSystem:
			add("PLM_LOG_TYPES: unknown type %q; use item and/or system, separated by a comma", t)
		case slices.Contains(c.LogTypes[:i], t):
			add("PLM_LOG_TYPES: %q is listed twice; list each type once", t)
		}
	}

	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		add("PLM_PAGE_SIZE: must be from 1 to %d, got %d", MaxPageSize, c.PageSize)
	}
	if msg := config.CheckTopic(c.Topic); msg != "" {
		add("PLM_TOPIC: %s", msg)
	}
	if c.MaxWindow < time.Second {
		add("PLM_MAX_WINDOW: must be at least 1s, got %s; e.g. 24h", c.MaxWindow)
	}
	if !(c.RateLimit > 0) {
		add("PLM_RATE_LIMIT: must be a positive number of requests per second, got %v", c.RateLimit)
	}
	return p
}

// checkTenant returns why name is not a usable tenant name, or "" if it is.
// The name becomes part of a URL path and of the stream names, so only
// letters, digits, '.', '_' and '-' are accepted.
func checkTenant(name string) string {
	switch name {
	case "":
		return "empty; set the tenant name, e.g. ACME"
	case ".", "..":
		return fmt.Sprintf("%q is not a tenant name; set the tenant name, e.g. ACME", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q contains %q; a tenant name holds only letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}
