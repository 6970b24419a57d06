package aveva

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
)

// Defaults of the settings that have one.
const (
	DefaultBaseURL    = "https://services.connect.aveva.com"
	DefaultMaxRecords = 20000
	DefaultWindow     = time.Hour
	DefaultMinWindow  = time.Second
)

// Ways of sending the parameters of a usage report (AVEVA_USAGE_PARAMS).
const (
	ParamsInBody  = "body"
	ParamsInQuery = "query"
)

// Config holds the AVEVA CONNECT settings. A service embeds it next to
// config.Common; every variable carries the AVEVA_ prefix.
type Config struct {
	// BaseURL is the API root. Default https://services.connect.aveva.com.
	BaseURL string `envconfig:"AVEVA_BASE_URL" default:"https://services.connect.aveva.com" desc:"API root of AVEVA CONNECT (a simulator can stand in)."`
	// Tenant names the CONNECT account the credentials belong to. Required.
	Tenant string `envconfig:"AVEVA_TENANT" required:"true" desc:"Name of the AVEVA CONNECT account the credentials read, e.g. acme; it is the events' tenant_id and part of each stream name."`

	// Token is a static bearer token. Default empty.
	Token string `envconfig:"AVEVA_TOKEN" secret:"true" desc:"Static bearer access token (account- or service-scoped); use it or the client credentials AVEVA_CLIENT_ID/AVEVA_CLIENT_SECRET."`
	// TokenURL is the OAuth2 token endpoint of client credentials. Default empty.
	TokenURL string `envconfig:"AVEVA_TOKEN_URL" desc:"OAuth2 token endpoint for the client credentials grant; required with AVEVA_CLIENT_ID."`
	// ClientID is the OAuth2 client id. Default empty.
	ClientID string `envconfig:"AVEVA_CLIENT_ID" desc:"OAuth2 client id of the CONNECT client credentials; needs AVEVA_CLIENT_SECRET and AVEVA_TOKEN_URL."`
	// ClientSecret is the OAuth2 client secret. Default empty.
	ClientSecret string `envconfig:"AVEVA_CLIENT_SECRET" secret:"true" desc:"OAuth2 client secret; needs AVEVA_CLIENT_ID."`
	// Scopes are the OAuth2 scopes requested. Default none.
	Scopes []string `envconfig:"AVEVA_SCOPES" desc:"Comma-separated OAuth2 scopes requested with client credentials; empty requests none."`

	// Reports are the reports polled, one stream each. Default all five.
	Reports []string `envconfig:"AVEVA_REPORTS" default:"creditsTransaction,userUsage,serviceUsage,resourceUsage,audit" desc:"Comma-separated reports to poll, each its own stream: creditsTransaction, userUsage, serviceUsage, resourceUsage, audit."`
	// Window is the widest window one report request covers. Default 1h.
	Window time.Duration `envconfig:"AVEVA_WINDOW" default:"1h" desc:"Width of the time window of one report request (whole seconds); a window holding AVEVA_MAX_RECORDS records is split in halves."`
	// MinWindow is the narrowest window a split makes. Default 1s.
	MinWindow time.Duration `envconfig:"AVEVA_MIN_WINDOW" default:"1s" desc:"Narrowest window splitting goes down to (whole seconds, at least 1s, the API's DateTime precision); a window this narrow that is still full is published and reported as truncated."`
	// MaxRecords is the API's record cap. Default 20000.
	MaxRecords int `envconfig:"AVEVA_MAX_RECORDS" default:"20000" desc:"Record cap of one API response; a response holding this many records may be truncated and its window is split."`
	// UsageParams says where the usage reports' parameters go. Default body.
	UsageParams string `envconfig:"AVEVA_USAGE_PARAMS" default:"body" desc:"Where the POST usage reports take fromDate, toDate and their filters: body (a JSON object) or query (the URL query string)."`
	// RateLimit is the client-side request rate. Default 5 per second.
	RateLimit float64 `envconfig:"AVEVA_RATE_LIMIT" default:"5" desc:"Most requests per second sent to the AVEVA API (client side)."`

	// HostingType filters creditsTransaction. Default empty.
	HostingType string `envconfig:"AVEVA_HOSTING_TYPE" desc:"hostingType filter (creditsTransaction), e.g. Cloud."`
	// ProductName filters creditsTransaction. Default empty.
	ProductName string `envconfig:"AVEVA_PRODUCT_NAME" desc:"productName filter (creditsTransaction)."`
	// ProductCode filters creditsTransaction. Default empty.
	ProductCode string `envconfig:"AVEVA_PRODUCT_CODE" desc:"productCode filter (creditsTransaction)."`
	// User filters creditsTransaction, userUsage and audit. Default empty.
	User string `envconfig:"AVEVA_USER" desc:"user filter (creditsTransaction, userUsage, audit), e.g. test-user@example.com."`
	// Folder filters every report. Default empty.
	Folder string `envconfig:"AVEVA_FOLDER" desc:"folder filter (every report)."`
	// Service filters every report. Default empty.
	Service string `envconfig:"AVEVA_SERVICE" desc:"service filter (every report)."`
	// CreditsAgreementID filters creditsTransaction. Default empty.
	CreditsAgreementID string `envconfig:"AVEVA_CREDITS_AGREEMENT_ID" desc:"creditsAgreementId filter (creditsTransaction)."`
	// ResourceID filters resourceUsage. Default empty.
	ResourceID string `envconfig:"AVEVA_RESOURCE_ID" desc:"resourceId filter (resourceUsage)."`
	// AuditOperation filters audit. Default empty.
	AuditOperation string `envconfig:"AVEVA_AUDIT_OPERATION" desc:"operation filter (audit), e.g. add."`
	// AuditFunction filters audit. Default empty.
	AuditFunction string `envconfig:"AVEVA_AUDIT_FUNCTION" desc:"function filter (audit), e.g. authm."`
	// Locale is the audit report's locale parameter. Default empty.
	Locale string `envconfig:"AVEVA_LOCALE" desc:"locale of the audit report's DateTime fields, e.g. en-US; empty sends none and gets ISO 8601. The poller parses the formats of en-US, day-first, dotted and year-first locales."`

	// UsageTopic receives the usage events. Default aveva.usage.
	UsageTopic string `envconfig:"AVEVA_USAGE_TOPIC" default:"aveva.usage" desc:"Kafka topic that receives the usage events of the four usage reports."`
	// AuditTopic receives the audit events. Default aveva.audit.
	AuditTopic string `envconfig:"AVEVA_AUDIT_TOPIC" default:"aveva.audit" desc:"Kafka topic that receives the audit events."`
}

// filterSetting ties a filter parameter to its variable and value.
type filterSetting struct {
	param, variable, value string
}

// filters returns the filter settings of c in a fixed order.
func (c *Config) filters() []filterSetting {
	return []filterSetting{
		{ParamHostingType, "AVEVA_HOSTING_TYPE", c.HostingType},
		{ParamProductName, "AVEVA_PRODUCT_NAME", c.ProductName},
		{ParamProductCode, "AVEVA_PRODUCT_CODE", c.ProductCode},
		{ParamUser, "AVEVA_USER", c.User},
		{ParamFolder, "AVEVA_FOLDER", c.Folder},
		{ParamService, "AVEVA_SERVICE", c.Service},
		{ParamCreditsAgreementID, "AVEVA_CREDITS_AGREEMENT_ID", c.CreditsAgreementID},
		{ParamResourceID, "AVEVA_RESOURCE_ID", c.ResourceID},
		{ParamOperation, "AVEVA_AUDIT_OPERATION", c.AuditOperation},
		{ParamFunction, "AVEVA_AUDIT_FUNCTION", c.AuditFunction},
		{ParamLocale, "AVEVA_LOCALE", c.Locale},
	}
}

// Params returns the optional parameters c sets that report accepts: the
// filters, and the locale for the audit report.
func (c *Config) Params(report Report) map[string]string {
	out := map[string]string{}
	for _, f := range c.filters() {
		if f.value != "" && slices.Contains(report.Params, f.param) {
			out[f.param] = f.value
		}
	}
	return out
}

// Validate returns every problem of c, each starting with the variable name
// and saying how to fix it. Secret values never appear in the messages.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if msg := config.CheckHTTPURL(c.BaseURL); msg != "" {
		add("AVEVA_BASE_URL: %s", msg)
	}
	if msg := checkName(c.Tenant); msg != "" {
		add("AVEVA_TENANT: %s", msg)
	}

	clientCreds := c.ClientID != "" || c.ClientSecret != ""
	switch {
	case clientCreds && c.Token != "":
		add("AVEVA_TOKEN: set together with AVEVA_CLIENT_ID/AVEVA_CLIENT_SECRET; use either a static token or client credentials, not both")
	case clientCreds:
		if c.ClientID == "" {
			add("AVEVA_CLIENT_ID: empty but AVEVA_CLIENT_SECRET is set; set the client id")
		}
		if c.ClientSecret == "" {
			add("AVEVA_CLIENT_SECRET: empty but AVEVA_CLIENT_ID is set; set it or AVEVA_CLIENT_SECRET_FILE")
		}
		if c.TokenURL == "" {
			add("AVEVA_TOKEN_URL: required with client credentials; set the OAuth2 token endpoint")
		} else if msg := config.CheckHTTPURL(c.TokenURL); msg != "" {
			add("AVEVA_TOKEN_URL: %s", msg)
		}
		for _, s := range c.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				add("AVEVA_SCOPES: scope %q is empty or holds white space; separate scopes with commas only", s)
			}
		}
	case c.Token == "":
		add("AVEVA_TOKEN: no credentials; set AVEVA_TOKEN (or AVEVA_TOKEN_FILE), or AVEVA_CLIENT_ID, AVEVA_CLIENT_SECRET and AVEVA_TOKEN_URL")
	}

	if len(c.Reports) == 0 {
		add("AVEVA_REPORTS: empty; list at least one of %s", strings.Join(ReportNames(), ", "))
	}
	for i, r := range c.Reports {
		switch _, ok := LookupReport(r); {
		case !ok:
			add("AVEVA_REPORTS: unknown report %q; use %s, separated by commas", r, strings.Join(ReportNames(), ", "))
		case slices.Contains(c.Reports[:i], r):
			add("AVEVA_REPORTS: %q is listed twice; list each report once", r)
		}
	}

	switch {
	case c.Window < time.Second || c.Window%time.Second != 0:
		add("AVEVA_WINDOW: must be whole seconds and at least 1s, got %s; e.g. 1h", c.Window)
	case c.MinWindow < time.Second || c.MinWindow%time.Second != 0:
		add("AVEVA_MIN_WINDOW: must be whole seconds and at least 1s (the API's DateTime precision), got %s", c.MinWindow)
	case c.MinWindow > c.Window:
		add("AVEVA_MIN_WINDOW: %s is wider than AVEVA_WINDOW (%s); make it at most AVEVA_WINDOW", c.MinWindow, c.Window)
	}
	if c.MaxRecords < 1 {
		add("AVEVA_MAX_RECORDS: must be at least 1, got %d; set the API's record cap (20000)", c.MaxRecords)
	}
	if c.UsageParams != ParamsInBody && c.UsageParams != ParamsInQuery {
		add("AVEVA_USAGE_PARAMS: must be body or query, got %q", c.UsageParams)
	}
	if !(c.RateLimit > 0) {
		add("AVEVA_RATE_LIMIT: must be a positive number of requests per second, got %v", c.RateLimit)
	}

	for _, f := range c.filters() {
		if f.value == "" {
			continue
		}
		if strings.ContainsAny(f.value, "\r\n") {
			add("%s: holds a line break; set a single-line value", f.variable)
		}
		var takers []string
		for _, r := range Reports {
			if slices.Contains(r.Params, f.param) {
				takers = append(takers, r.Name)
			}
		}
		if !slices.ContainsFunc(takers, func(r string) bool { return slices.Contains(c.Reports, r) }) {
			add("%s: set but none of its reports (%s) is in AVEVA_REPORTS; unset it or add one of them", f.variable, strings.Join(takers, ", "))
		}
	}
	if c.Locale != "" && !validLocale(c.Locale) {
		add("AVEVA_LOCALE: %q is not a locale name such as en-US", c.Locale)
	}

	for _, t := range []struct{ name, value string }{
		{"AVEVA_USAGE_TOPIC", c.UsageTopic},
		{"AVEVA_AUDIT_TOPIC", c.AuditTopic},
	} {
		if msg := config.CheckTopic(t.value); msg != "" {
			add("%s: %s", t.name, msg)
		}
	}
	return p
}

// Authorizer returns the authorizer of c's credentials: the static bearer
// token when AVEVA_TOKEN is set, else OAuth2 client credentials fetched
// from AVEVA_TOKEN_URL with base (nil means a default client). A secret
// given as a file is read again after a 401 (a rotated Secret).
func (c *Config) Authorizer(base *http.Client) httpx.Authorizer {
	if c.Token != "" {
		return httpx.NewStaticToken("Bearer", c.Token, nil).WithReload(config.Reader("AVEVA_TOKEN", c.Token))
	}
	return httpx.NewClientCredentials(c.TokenURL, c.ClientID, c.ClientSecret, c.Scopes, nil, base).
		WithSecretReload(config.Reader("AVEVA_CLIENT_SECRET", c.ClientSecret))
}

// checkName returns why name is not a usable tenant name, or "" if it is.
// The name becomes part of the stream names, so only letters, digits, '.',
// '_' and '-' are accepted.
func checkName(name string) string {
	switch name {
	case "":
		return "empty; set a name for the CONNECT account, e.g. acme"
	case ".", "..":
		return fmt.Sprintf("%q is not a name; set a name for the CONNECT account, e.g. acme", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q contains %q; a tenant name holds only letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}

// validLocale reports whether s looks like a BCP 47 / .NET culture name:
// letters and digits in parts of 1 to 8 separated by '-'.
func validLocale(s string) bool {
	for _, part := range strings.Split(s, "-") {
		if len(part) < 1 || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}
