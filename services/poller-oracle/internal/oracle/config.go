package oracle

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
)

// The report APIs ORACLE_REPORT_API selects.
const (
	// APIUserAuditReport is the asynchronous User Audit Report (submit a
	// job, poll it, download the ZIP, delete it): the seed's API, marked
	// deprecated by the vendor.
	APIUserAuditReport = "userauditreport"
	// APIUserLoginReport is its synchronous successor, the User Login
	// Report (one GET answering JSON).
	APIUserLoginReport = "userloginreport"
)

// Defaults of the settings that have one.
const (
	DefaultAPIVersion      = "v1"
	DefaultLCMVersion      = "11.1.2.3.600"
	DefaultJobPollInterval = 5 * time.Second
	DefaultJobTimeout      = 30 * time.Minute
	DefaultReportInterval  = 15 * time.Minute
	DefaultRateLimit       = 5.0
	DefaultTopic           = "oracle.audit"
	// RetentionDays is how far back the vendor keeps the user audit: the
	// oldest day it answers for is today (UTC) minus 120 days.
	RetentionDays = 120
)

// Config holds the Oracle EPM Cloud settings. A service embeds it next to
// config.Common; every variable carries the ORACLE_ prefix.
type Config struct {
	// BaseURL is the service instance's URL. Required: it is the
	// customer's own host.
	BaseURL string `envconfig:"ORACLE_BASE_URL" required:"true" desc:"URL of the EPM Cloud service instance, e.g. https://epm-acme.epm.us-phoenix-1.ocs.oraclecloud.com (a simulator can stand in); there is no default: it is the customer's host."`
	// Tenant names the instance in stream names and event ids. Required.
	Tenant string `envconfig:"ORACLE_TENANT" required:"true" desc:"Stable name of the EPM Cloud instance, e.g. acme: the events' tenant_id and part of the stream name and event ids; keep it when credentials change."`

	// Username is the Basic user. Default empty.
	Username string `envconfig:"ORACLE_USERNAME" desc:"User of HTTP Basic authentication (a service administrator); use it with ORACLE_PASSWORD, or the OAuth2 client credentials instead. Basic does not work for users with MFA."`
	// Password is the Basic password. Default empty.
	Password string `envconfig:"ORACLE_PASSWORD" secret:"true" desc:"Password of ORACLE_USERNAME."`
	// IdentityDomain prefixes the Basic user on classic instances.
	// Default empty.
	IdentityDomain string `envconfig:"ORACLE_IDENTITY_DOMAIN" desc:"Identity domain of a classic EPM Cloud instance: the Basic user is then <domain>.<user>; leave it empty on OCI instances."`
	// TokenURL is the OAuth2 token endpoint. Default empty.
	TokenURL string `envconfig:"ORACLE_TOKEN_URL" desc:"OAuth2 token endpoint of the client credentials grant (the identity domain's /oauth2/v1/token); required with ORACLE_CLIENT_ID."`
	// ClientID is the OAuth2 client id. Default empty.
	ClientID string `envconfig:"ORACLE_CLIENT_ID" desc:"OAuth2 client id (a confidential application of the identity domain); needs ORACLE_CLIENT_SECRET and ORACLE_TOKEN_URL."`
	// ClientSecret is the OAuth2 client secret. Default empty.
	ClientSecret string `envconfig:"ORACLE_CLIENT_SECRET" secret:"true" desc:"OAuth2 client secret; needs ORACLE_CLIENT_ID."`
	// Scope is the OAuth2 scope requested. Default empty.
	Scope string `envconfig:"ORACLE_SCOPE" desc:"OAuth2 scope requested with client credentials, e.g. urn:opc:serviceInstanceID=…urn:opc:resource:consumer::all; space-separated for several; empty requests none."`

	// ReportAPI selects the report API. Default userauditreport.
	ReportAPI string `envconfig:"ORACLE_REPORT_API" default:"userauditreport" desc:"Report API: userauditreport (asynchronous job, ZIP file; the vendor marks it deprecated) or userloginreport (its synchronous successor). Both give the same rows and the same event ids."`
	// APIVersion is the version segment of the report submit. Default v1.
	APIVersion string `envconfig:"ORACLE_API_VERSION" default:"v1" desc:"Version segment of the report submit, POST /interop/rest/{version}/reports."`
	// LCMVersion is the version segment of download and delete. Default
	// 11.1.2.3.600.
	LCMVersion string `envconfig:"ORACLE_LCM_VERSION" default:"11.1.2.3.600" desc:"Version segment of the snapshot download and delete, /interop/rest/{version}/applicationsnapshots/…."`
	// JobPollInterval is the wait between two job status calls. Default 5s.
	JobPollInterval time.Duration `envconfig:"ORACLE_JOB_POLL_INTERVAL" default:"5s" desc:"Wait between two status calls of a running report job."`
	// JobTimeout is how long a report job may run before it is abandoned
	// and submitted again. Default 30m.
	JobTimeout time.Duration `envconfig:"ORACLE_JOB_TIMEOUT" default:"30m" desc:"How long a report job may run; one still running then is abandoned (its file deleted later) and the report submitted again."`
	// ReportInterval is the time between two reads of the current day.
	// Default 15m.
	ReportInterval time.Duration `envconfig:"ORACLE_REPORT_INTERVAL" default:"15m" desc:"How often the current (open) day is read again for its new logins; closed days are read once each, at once."`
	// RateLimit is the client-side request rate. Default 5 per second.
	RateLimit float64 `envconfig:"ORACLE_RATE_LIMIT" default:"5" desc:"Most requests per second sent to the instance (client side). Oracle publishes no rate for these APIs; 5 is ample for one job poll every ORACLE_JOB_POLL_INTERVAL and under oraclesim's 10."`
	// Topic receives the audit events. Default oracle.audit.
	Topic string `envconfig:"ORACLE_TOPIC" default:"oracle.audit" desc:"Kafka topic that receives the user audit events."`
}

// Validate returns every problem of c, each starting with the variable name
// and saying how to fix it. Secret values never appear in the messages.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if msg := config.CheckHTTPURL(c.BaseURL); msg != "" {
		add("ORACLE_BASE_URL: %s", msg)
	}
	if msg := checkName(c.Tenant); msg != "" {
		add("ORACLE_TENANT: %s", msg)
	}

	basic := c.Username != "" || c.Password != "" || c.IdentityDomain != ""
	oauth := c.ClientID != "" || c.ClientSecret != "" || c.TokenURL != "" || c.Scope != ""
	switch {
	case basic && oauth:
		add("ORACLE_USERNAME: Basic credentials (ORACLE_USERNAME/ORACLE_PASSWORD/ORACLE_IDENTITY_DOMAIN) are set together with OAuth2 ones (ORACLE_CLIENT_ID/ORACLE_CLIENT_SECRET/ORACLE_TOKEN_URL/ORACLE_SCOPE); use one or the other")
	case basic:
		if c.Username == "" {
			add("ORACLE_USERNAME: empty but ORACLE_PASSWORD or ORACLE_IDENTITY_DOMAIN is set; set the user name")
		}
		if c.Password == "" {
			add("ORACLE_PASSWORD: empty but ORACLE_USERNAME is set; set it or ORACLE_PASSWORD_FILE")
		}
		if strings.ContainsAny(c.Username, ":\r\n") {
			add("ORACLE_USERNAME: holds ':' or a line break, which HTTP Basic cannot carry")
		}
		if c.IdentityDomain != "" && strings.ContainsAny(c.IdentityDomain, ":. \t\r\n") {
			add("ORACLE_IDENTITY_DOMAIN: %q holds '.', ':' or white space; set the bare identity domain name, e.g. idcs-acme", c.IdentityDomain)
		}
	case oauth:
		if c.ClientID == "" {
			add("ORACLE_CLIENT_ID: empty but ORACLE_CLIENT_SECRET, ORACLE_TOKEN_URL or ORACLE_SCOPE is set; set the client id")
		}
		if c.ClientSecret == "" {
			add("ORACLE_CLIENT_SECRET: empty but ORACLE_CLIENT_ID is set; set it or ORACLE_CLIENT_SECRET_FILE")
		}
		if c.TokenURL == "" {
			add("ORACLE_TOKEN_URL: required with client credentials; set the OAuth2 token endpoint")
		} else if msg := config.CheckHTTPURL(c.TokenURL); msg != "" {
			add("ORACLE_TOKEN_URL: %s", msg)
		}
	default:
		add("ORACLE_USERNAME: no credentials; set ORACLE_USERNAME and ORACLE_PASSWORD (or ORACLE_PASSWORD_FILE), or ORACLE_CLIENT_ID, ORACLE_CLIENT_SECRET and ORACLE_TOKEN_URL")
	}

	if c.ReportAPI != APIUserAuditReport && c.ReportAPI != APIUserLoginReport {
		add("ORACLE_REPORT_API: must be userauditreport or userloginreport, got %q", c.ReportAPI)
	}
	for _, v := range []struct{ name, value string }{{"ORACLE_API_VERSION", c.APIVersion}, {"ORACLE_LCM_VERSION", c.LCMVersion}} {
		if v.value == "" || strings.ContainsAny(v.value, "/?#%& \t\r\n") {
			add("%s: %q is not a version path segment such as %s", v.name, v.value, map[string]string{"ORACLE_API_VERSION": DefaultAPIVersion, "ORACLE_LCM_VERSION": DefaultLCMVersion}[v.name])
		}
	}

	switch {
	case c.JobPollInterval < 100*time.Millisecond:
		add("ORACLE_JOB_POLL_INTERVAL: must be at least 100ms, got %s; e.g. 5s", c.JobPollInterval)
	case c.JobTimeout < c.JobPollInterval:
		add("ORACLE_JOB_TIMEOUT: %s is shorter than ORACLE_JOB_POLL_INTERVAL (%s); give jobs time, e.g. 30m", c.JobTimeout, c.JobPollInterval)
	}
	if c.JobTimeout <= 0 {
		add("ORACLE_JOB_TIMEOUT: must be a positive duration such as 30m, got %s", c.JobTimeout)
	}
	if c.ReportInterval < time.Second {
		add("ORACLE_REPORT_INTERVAL: must be at least 1s, got %s; every read of the current day is a report job, e.g. 15m", c.ReportInterval)
	}
	if !(c.RateLimit > 0) {
		add("ORACLE_RATE_LIMIT: must be a positive number of requests per second, got %v", c.RateLimit)
	}
	if msg := config.CheckTopic(c.Topic); msg != "" {
		add("ORACLE_TOPIC: %s", msg)
	}
	return p
}

// BasicUser returns the Basic user name: <domain>.<user> when
// ORACLE_IDENTITY_DOMAIN is set, else the user.
func (c *Config) BasicUser() string {
	if c.IdentityDomain != "" {
		return c.IdentityDomain + "." + c.Username
	}
	return c.Username
}

// Principal describes who the poller authenticates as, for error messages:
// the Basic user or the OAuth2 client, never a secret.
func (c *Config) Principal() string {
	if c.ClientID != "" {
		return "OAuth2 client " + c.ClientID
	}
	return "user " + c.BasicUser()
}

// Authorizer returns the authorizer of c's credentials: HTTP Basic for
// ORACLE_USERNAME, or OAuth2 client credentials fetched from
// ORACLE_TOKEN_URL with base (nil means a default client).
func (c *Config) Authorizer(base *http.Client) httpx.Authorizer {
	if c.ClientID != "" {
		var scopes []string
		if c.Scope != "" {
			scopes = strings.Fields(c.Scope)
		}
		return httpx.NewClientCredentials(c.TokenURL, c.ClientID, c.ClientSecret, scopes, nil, base).
			WithSecretReload(config.Reader("ORACLE_CLIENT_SECRET", c.ClientSecret))
	}
	user, read := c.BasicUser(), config.Reader("ORACLE_PASSWORD", c.Password)
	return NewBasic(user, c.Password).WithReload(func() (string, error) {
		p, err := read()
		if err != nil {
			return "", err
		}
		return basicToken(user, p), nil
	})
}

// NewBasic returns an Authorizer sending HTTP Basic credentials. After a
// 401 it re-authenticates only when WithReload gives it a new password (a
// rotated ORACLE_PASSWORD_FILE).
func NewBasic(user, password string) *httpx.StaticToken {
	return httpx.NewStaticToken("Basic", basicToken(user, password), nil)
}

// basicToken returns the credentials of an HTTP Basic header.
func basicToken(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// checkName returns why name is not a usable tenant name, or "" if it is.
// The name becomes part of the stream name and of report file names, so
// only letters, digits, '.', '_' and '-' are accepted.
func checkName(name string) string {
	switch name {
	case "":
		return "empty; set a name for the EPM Cloud instance, e.g. acme"
	case ".", "..":
		return fmt.Sprintf("%q is not a name; set a name for the EPM Cloud instance, e.g. acme", name)
	}
	if len(name) > 64 {
		return fmt.Sprintf("%d characters long; use at most 64", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q contains %q; a tenant name holds only letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}
