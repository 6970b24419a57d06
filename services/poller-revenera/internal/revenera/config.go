package revenera

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/auditstream/auditstream/shared/config"
)

// The streams of a product, as REVENERA_STREAMS names them and as the last
// segment of their stream names.
const (
	StreamCustomEvents   = "custom-events"
	StreamExceptions     = "exceptions"
	StreamEventUsage     = "event-usage"
	StreamClientActivity = "client-activity"
)

// AllStreams lists the streams of a product in the order they are built.
var AllStreams = []string{StreamCustomEvents, StreamExceptions, StreamEventUsage, StreamClientActivity}

// MaxReportDays is the longest date range the vendor answers in one report
// request (longer ranges are refused with 400).
const MaxReportDays = 31

// DefaultBaseURL is the Reporting API's host. The seed (Reporting API
// 3.0.0) names no server; this is the host Revulytics, now Revenera,
// publishes the Usage Intelligence Reporting API under.
const DefaultBaseURL = "https://api.revulytics.com"

// Config holds the Revenera vendor settings. A service embeds it next to
// config.Common; every variable carries the REVENERA_ prefix.
type Config struct {
	// BaseURL is the API root. Default DefaultBaseURL.
	BaseURL string `envconfig:"REVENERA_BASE_URL" default:"https://api.revulytics.com" desc:"Root of the Usage Intelligence Reporting API (the /v3 paths go below it); a simulator can stand in."`
	// Tenant names the account in event ids and tenant_id. Required.
	Tenant string `envconfig:"REVENERA_TENANT" required:"true" desc:"Stable name of the Usage Intelligence account, e.g. ACME: the events' tenant_id and part of their event ids; keep it when credentials change."`
	// Username is the logon user. Required.
	Username string `envconfig:"REVENERA_USERNAME" required:"true" desc:"User name (e-mail) of the logon (POST /v3/auth/web); the user needs access to the products' raw data and reports."`
	// Password is the logon password. Required.
	Password string `envconfig:"REVENERA_PASSWORD" required:"true" secret:"true" desc:"Password of REVENERA_USERNAME."`
	// ProductIDs restricts polling to these products; empty means every
	// product the logon answer lists. Default empty.
	ProductIDs []string `envconfig:"REVENERA_PRODUCT_IDS" desc:"Comma-separated product ids to poll; empty polls every product the logon answer lists (and finds new ones without a restart)."`
	// Origin is sent as the Origin header of every call. Default
	// https://analytics.revenera.com, the only value the vendor accepts.
	Origin string `envconfig:"REVENERA_ORIGIN" default:"https://analytics.revenera.com" desc:"Origin header of every call; the vendor rejects any value but https://analytics.revenera.com."`
	// Client is the RUI-Client header. Default auditstream.
	Client string `envconfig:"REVENERA_CLIENT" default:"auditstream" desc:"RUI-Client header of every call, naming this integration."`
	// ClientVersion is the RUI-Client-Version header. Default: the build's
	// version (config.Version).
	ClientVersion string `envconfig:"REVENERA_CLIENT_VERSION" desc:"RUI-Client-Version header of every call; empty sends the build's version."`
	// Streams lists the streams of each product. Default all four.
	Streams []string `envconfig:"REVENERA_STREAMS" default:"custom-events,exceptions,event-usage,client-activity" desc:"Comma-separated streams of each product: custom-events, exceptions (raw data files), event-usage, client-activity (daily reports)."`
	// ReportDays is the widest date range of one report request, 1..31.
	// Default 31.
	ReportDays int `envconfig:"REVENERA_REPORT_DAYS" default:"31" desc:"Days per report request during a backfill, from 1 to 31 (the vendor refuses longer ranges)."`
	// RateLimit is the number of API calls per second across all streams
	// (downloads from the storage URLs are not counted). Default 5.
	RateLimit float64 `envconfig:"REVENERA_RATE_LIMIT" default:"5" desc:"API calls per second across all streams of the process (downloads from the file URLs are not counted); the vendor documents no limit and answers 429 with Retry-After above its own, which is honoured; 0 means no client-side limit."`
	// Topic receives the usage events. Default revenera.usage.
	Topic string `envconfig:"REVENERA_TOPIC" default:"revenera.usage" desc:"Kafka topic that receives the Revenera usage events."`
}

// tenantPattern accepts tenant names: letters, digits, '.', '_' and '-'.
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate returns every problem of c, each starting with the variable name
// and saying how to fix it. Secret values never appear in the messages.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if msg := config.CheckHTTPURL(c.BaseURL); msg != "" {
		add("REVENERA_BASE_URL: %s", msg)
	}
	if c.Tenant == "" {
		add("REVENERA_TENANT: empty; set a stable name of the Usage Intelligence account, e.g. ACME")
	} else if !tenantPattern.MatchString(c.Tenant) {
		add("REVENERA_TENANT: %q is not a tenant name; use letters, digits, '.', '_' and '-', e.g. ACME", c.Tenant)
	}
	if c.Username == "" {
		add("REVENERA_USERNAME: empty; set the user name of the logon")
	}
	if c.Password == "" {
		add("REVENERA_PASSWORD: empty; set it or REVENERA_PASSWORD_FILE")
	}
	for i, id := range c.ProductIDs {
		switch {
		case !validProductID(id):
			add("REVENERA_PRODUCT_IDS: %q is not a product id (a positive number); separate ids with commas only", id)
		case slices.Contains(c.ProductIDs[:i], id):
			add("REVENERA_PRODUCT_IDS: %q is listed twice; list each product once", id)
		}
	}
	if msg := config.CheckHTTPURL(c.Origin); c.Origin == "" || msg != "" {
		add("REVENERA_ORIGIN: %q is not an origin; use https://analytics.revenera.com", c.Origin)
	}
	if c.Client == "" {
		add("REVENERA_CLIENT: empty; set the RUI-Client header, e.g. auditstream")
	}
	if len(c.Streams) == 0 {
		add("REVENERA_STREAMS: empty; list some of %s", joinStreams())
	}
	for i, s := range c.Streams {
		switch {
		case !slices.Contains(AllStreams, s):
			add("REVENERA_STREAMS: %q is not a stream; use %s", s, joinStreams())
		case slices.Contains(c.Streams[:i], s):
			add("REVENERA_STREAMS: %q is listed twice; list each stream once", s)
		}
	}
	if c.ReportDays < 1 || c.ReportDays > MaxReportDays {
		add("REVENERA_REPORT_DAYS: must be from 1 to %d, got %d", MaxReportDays, c.ReportDays)
	}
	if c.RateLimit < 0 {
		add("REVENERA_RATE_LIMIT: must not be negative, got %g; e.g. 5, or 0 for no limit", c.RateLimit)
	}
	if msg := config.CheckTopic(c.Topic); msg != "" {
		add("REVENERA_TOPIC: %s", msg)
	}
	return p
}

// validProductID reports whether id is a positive decimal number, as the
// vendor's product ids are.
func validProductID(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

func joinStreams() string {
	s := ""
	for i, n := range AllStreams {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// UserAgentVersion returns the RUI-Client-Version to send: ClientVersion,
// or the build's version when it is empty.
func (c *Config) UserAgentVersion() string {
	if c.ClientVersion != "" {
		return c.ClientVersion
	}
	return config.Version
}
