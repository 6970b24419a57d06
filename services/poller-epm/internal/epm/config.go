package epm

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
)

// MaxPageSize is the largest EPM_PAGE_SIZE accepted: the documented maximum
// Limit of the admin audit endpoint.
const MaxPageSize = 500

// Config holds the EPM vendor settings. A service embeds it next to
// config.Common; every variable carries the EPM_ prefix.
type Config struct {
	// BaseURL is the dispatcher the logon goes to. Required.
	BaseURL string `envconfig:"EPM_BASE_URL" required:"true" desc:"Dispatcher URL the logon is sent to, e.g. https://login.epm.cyberark.com (a simulator can stand in); every other call goes to the ManagerURL the logon returns."`
	// APIVersion is the version path segment, e.g. 24.12.0.4372; empty
	// means the vendor's latest (no segment). Default empty.
	APIVersion string `envconfig:"EPM_API_VERSION" desc:"API version in the URL path, x.x.x.x such as 24.12.0.4372; empty uses the vendor's latest version (no version segment)."`
	// Tenant names the EPM account in stream names and event ids. Required.
	Tenant string `envconfig:"EPM_TENANT" required:"true" desc:"Stable name of the EPM tenant (account), e.g. ACME: the events' tenant_id and part of the stream name and event ids; keep it when credentials change."`
	// Username is the logon user. Required.
	Username string `envconfig:"EPM_USERNAME" required:"true" desc:"EPM user name of the logon; the user needs permission to view the admin audit of the sets."`
	// Password is the logon password. Required.
	Password string `envconfig:"EPM_PASSWORD" required:"true" secret:"true" desc:"Password of EPM_USERNAME."`
	// ApplicationID is sent with the logon. Default auditstream.
	ApplicationID string `envconfig:"EPM_APPLICATION_ID" default:"auditstream" desc:"ApplicationID sent with the logon, identifying this integration to EPM."`
	// SetIDs restricts polling to these sets; empty means every set the
	// account can see, discovered every SetDiscoveryInterval. Default
	// empty.
	SetIDs []string `envconfig:"EPM_SET_IDS" desc:"Comma-separated ids of the sets to poll, one stream each; empty polls every set the account can see and picks up new ones without a restart."`
	// SetDiscoveryInterval is the time between two listings of the sets
	// (GET …/Sets) when SetIDs is empty. Default 5m.
	SetDiscoveryInterval time.Duration `envconfig:"EPM_SET_DISCOVERY_INTERVAL" default:"5m" desc:"How often the sets are listed to find new ones (one call each time), at least 1s; a set created later starts at START_TIME. Unused when EPM_SET_IDS is set."`
	// PageSize is the Limit of each admin audit request, 1..500. Default 500.
	PageSize int `envconfig:"EPM_PAGE_SIZE" default:"500" desc:"Records requested per admin audit call (Limit), from 1 to 500."`
	// RateLimit lists the client-side call budgets, each <calls>/<period>.
	// Default 4/1s,950/5m: under the vendor's 5 per second and 1,000 per 5
	// minutes per tenant.
	RateLimit []string `envconfig:"EPM_RATE_LIMIT" default:"4/1s,950/5m" desc:"Comma-separated call budgets per tenant, each <calls>/<period> as a sliding window; the default stays under the vendor's 5 calls per second and 1,000 per 5 minutes."`
	// SessionTimeout is the tenant's inactivity timeout; the session is
	// renewed shortly before it. Default 20m.
	SessionTimeout time.Duration `envconfig:"EPM_SESSION_TIMEOUT" default:"20m" desc:"The tenant's timeout for inactive sessions; the poller logs on again 30s before an idle session would expire."`
	// MaxWindow is the widest time window one scan of a set covers.
	// Default 168h.
	MaxWindow time.Duration `envconfig:"EPM_MAX_WINDOW" default:"168h" desc:"Widest DateFrom/DateTo window one scan of a set covers during a backfill; at least 1s."`
	// Topic receives the audit events. Default epm.audit.
	Topic string `envconfig:"EPM_TOPIC" default:"epm.audit" desc:"Kafka topic that receives the EPM admin audit events."`
}

// versionPattern is the documented API version form, x.x.x.x (two to four
// numbers are accepted).
var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,3}$`)

// setIDPattern accepts set ids that can be sent in a URL path unescaped.
var setIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate returns every problem of c, each starting with the variable name
// and saying how to fix it. Secret values never appear in the messages.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if msg := config.CheckHTTPURL(c.BaseURL); msg != "" {
		add("EPM_BASE_URL: %s", msg)
	}
	if c.APIVersion != "" && !versionPattern.MatchString(c.APIVersion) {
		add("EPM_API_VERSION: %q is not a version x.x.x.x such as 24.12.0.4372; leave it empty for the latest", c.APIVersion)
	}
	if msg := checkTenant(c.Tenant); msg != "" {
		add("EPM_TENANT: %s", msg)
	}
	if c.Username == "" {
		add("EPM_USERNAME: empty; set the EPM user name of the logon")
	}
	if c.Password == "" {
		add("EPM_PASSWORD: empty; set it or EPM_PASSWORD_FILE")
	}
	if c.ApplicationID == "" {
		add("EPM_APPLICATION_ID: empty; set the application id sent with the logon, e.g. auditstream")
	}
	for i, id := range c.SetIDs {
		switch {
		case !setIDPattern.MatchString(id):
			add("EPM_SET_IDS: %q is not a set id (letters, digits, '-', '_' and '.'); separate ids with commas only", id)
		case slices.Contains(c.SetIDs[:i], id):
			add("EPM_SET_IDS: %q is listed twice; list each set once", id)
		}
	}
	if c.SetDiscoveryInterval < time.Second {
		add("EPM_SET_DISCOVERY_INTERVAL: must be at least 1s, got %s; e.g. 5m", c.SetDiscoveryInterval)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		add("EPM_PAGE_SIZE: must be from 1 to %d, got %d", MaxPageSize, c.PageSize)
	}
	if len(c.RateLimit) == 0 {
		add("EPM_RATE_LIMIT: empty; set budgets such as 4/1s,950/5m")
	}
	if _, err := httpx.ParseLimits(c.RateLimit); err != nil {
		add("EPM_RATE_LIMIT: %v", err)
	}
	if c.SessionTimeout < 0 {
		add("EPM_SESSION_TIMEOUT: must not be negative, got %s; use the tenant's inactivity timeout, e.g. 20m, or 0 to renew only after a 401", c.SessionTimeout)
	}
	if c.MaxWindow < time.Second {
		add("EPM_MAX_WINDOW: must be at least 1s, got %s; e.g. 168h", c.MaxWindow)
	}
	if msg := config.CheckTopic(c.Topic); msg != "" {
		add("EPM_TOPIC: %s", msg)
	}
	return p
}

// checkTenant returns why name is not a usable tenant name, or "" if it is.
// The name becomes part of the stream name and event ids, so only letters,
// digits, '.', '_' and '-' are accepted.
func checkTenant(name string) string {
	switch name {
	case "":
		return "empty; set a stable name of the EPM tenant, e.g. ACME"
	case ".", "..":
		return fmt.Sprintf("%q is not a tenant name; set a name such as ACME", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q contains %q; a tenant name holds only letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}
