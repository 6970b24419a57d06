package aveva

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/event"
)

// validConfig returns a complete configuration with a static token.
func validConfig() Config {
	return Config{
		BaseURL:     DefaultBaseURL,
		Tenant:      "acme",
		Token:       "tok-value",
		Reports:     ReportNames(),
		Window:      time.Hour,
		MinWindow:   time.Second,
		MaxRecords:  DefaultMaxRecords,
		UsageParams: ParamsInBody,
		RateLimit:   5,
		UsageTopic:  "aveva.usage",
		AuditTopic:  "aveva.audit",
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // one substring per expected problem, in order
	}{
		{"valid static token", func(c *Config) {}, nil},
		{"valid client credentials", func(c *Config) {
			c.Token, c.ClientID, c.ClientSecret, c.TokenURL = "", "id", "s3cr3t-value", "https://signin.example/token"
		}, nil},
		{"valid filters", func(c *Config) {
			c.HostingType, c.User, c.Folder, c.ResourceID, c.AuditOperation, c.AuditFunction, c.Locale = "Cloud", "u@x", "F", "RES-1", "add", "authm", "en-US"
		}, nil},
		{"query parameters", func(c *Config) { c.UsageParams = ParamsInQuery }, nil},
		{"relative base URL", func(c *Config) { c.BaseURL = "services.connect.aveva.com" }, []string{"AVEVA_BASE_URL:"}},
		{"no tenant", func(c *Config) { c.Tenant = "" }, []string{"AVEVA_TENANT: empty"}},
		{"tenant with a slash", func(c *Config) { c.Tenant = "a/b" }, []string{"AVEVA_TENANT:"}},
		{"no credentials", func(c *Config) { c.Token = "" }, []string{"AVEVA_TOKEN: no credentials"}},
		{"both modes", func(c *Config) { c.ClientID, c.ClientSecret = "id", "s3cr3t-value" }, []string{"AVEVA_TOKEN: set together"}},
		{"secret without id", func(c *Config) { c.Token, c.ClientSecret, c.TokenURL = "", "s3cr3t-value", "https://t.example" }, []string{"AVEVA_CLIENT_ID: empty"}},
		{"id without secret", func(c *Config) { c.Token, c.ClientID, c.TokenURL = "", "id", "https://t.example" }, []string{"AVEVA_CLIENT_SECRET: empty"}},
		{"no token URL", func(c *Config) { c.Token, c.ClientID, c.ClientSecret = "", "id", "s3cr3t-value" }, []string{"AVEVA_TOKEN_URL: required"}},
		{"bad token URL", func(c *Config) { c.Token, c.ClientID, c.ClientSecret, c.TokenURL = "", "id", "s3cr3t-value", "/token" }, []string{"AVEVA_TOKEN_URL:"}},
		{"scope with a space", func(c *Config) {
			c.Token, c.ClientID, c.ClientSecret, c.TokenURL, c.Scopes = "", "id", "s3cr3t-value", "https://t.example", []string{"a b"}
		}, []string{"AVEVA_SCOPES:"}},
		{"no reports", func(c *Config) { c.Reports = nil }, []string{"AVEVA_REPORTS: empty"}},
		{"unknown report", func(c *Config) { c.Reports = []string{"audit", "costs"} }, []string{`AVEVA_REPORTS: unknown report "costs"`}},
		{"report twice", func(c *Config) { c.Reports = []string{"audit", "audit"} }, []string{`AVEVA_REPORTS: "audit" is listed twice`}},
		{"window not whole seconds", func(c *Config) { c.Window = 1500 * time.Millisecond }, []string{"AVEVA_WINDOW:"}},
		{"window zero", func(c *Config) { c.Window = 0 }, []string{"AVEVA_WINDOW:"}},
		{"min window below a second", func(c *Config) { c.MinWindow = 500 * time.Millisecond }, []string{"AVEVA_MIN_WINDOW:"}},
		{"min window wider than window", func(c *Config) { c.MinWindow = 2 * time.Hour }, []string{"AVEVA_MIN_WINDOW: 2h0m0s is wider"}},
		{"max records zero", func(c *Config) { c.MaxRecords = 0 }, []string{"AVEVA_MAX_RECORDS:"}},
		{"usage params", func(c *Config) { c.UsageParams = "form" }, []string{"AVEVA_USAGE_PARAMS:"}},
		{"rate limit", func(c *Config) { c.RateLimit = 0 }, []string{"AVEVA_RATE_LIMIT:"}},
		{"filter of no polled report", func(c *Config) { c.Reports, c.ResourceID = []string{"audit"}, "RES-1" }, []string{"AVEVA_RESOURCE_ID: set but none of its reports (resourceUsage)"}},
		{"locale without audit", func(c *Config) { c.Reports, c.Locale = []string{"userUsage"}, "en-US" }, []string{"AVEVA_LOCALE: set but none"}},
		{"bad locale", func(c *Config) { c.Locale = "en_US!" }, []string{"AVEVA_LOCALE:"}},
		{"filter with a line break", func(c *Config) { c.Folder = "a\nb" }, []string{"AVEVA_FOLDER: holds a line break"}},
		{"bad topics", func(c *Config) { c.UsageTopic, c.AuditTopic = "", "a b" }, []string{"AVEVA_USAGE_TOPIC:", "AVEVA_AUDIT_TOPIC:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			got := c.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			for _, p := range got {
				if strings.Contains(p, "s3cr3t-value") || strings.Contains(p, "tok-value") {
					t.Errorf("problem %q shows a secret", p)
				}
			}
		})
	}
}

func TestConfigParams(t *testing.T) {
	c := validConfig()
	c.HostingType, c.User, c.Folder, c.ResourceID, c.AuditOperation, c.Locale, c.CreditsAgreementID = "Cloud", "u@x", "F", "RES-1", "add", "en-US", "0001"
	want := map[string]map[string]string{
		ReportCreditsTransaction: {"hostingType": "Cloud", "user": "u@x", "folder": "F", "creditsAgreementId": "0001"},
		ReportUserUsage:          {"user": "u@x", "folder": "F"},
		ReportServiceUsage:       {"folder": "F"},
		ReportResourceUsage:      {"folder": "F", "resourceId": "RES-1"},
		ReportAudit:              {"user": "u@x", "folder": "F", "operation": "add", "locale": "en-US"},
	}
	for _, r := range Reports {
		if got := c.Params(r); !maps.Equal(got, want[r.Name]) {
			t.Errorf("Params(%s) = %v, want %v", r.Name, got, want[r.Name])
		}
	}
}

func TestConfigStreams(t *testing.T) {
	c := validConfig()
	c.Reports = []string{ReportAudit, ReportCreditsTransaction}
	streams := c.Streams(newFakeAPI(10, false), t0, time.Minute, discardLogger())
	if len(streams) != 2 {
		t.Fatalf("%d streams", len(streams))
	}
	audit, credits := streams[0], streams[1]
	if audit.Source.Stream() != "aveva/acme/audit" || audit.Topic != "aveva.audit" || audit.Schema.Text != event.AuditSchema.Text {
		t.Errorf("audit stream %s → %s", audit.Source.Stream(), audit.Topic)
	}
	if credits.Source.Stream() != "aveva/acme/creditsTransaction" || credits.Topic != "aveva.usage" || credits.Schema.Text != event.UsageSchema.Text {
		t.Errorf("credits stream %s → %s", credits.Source.Stream(), credits.Topic)
	}
	for _, s := range streams {
		if s.Vendor != Vendor || s.Tenant != "acme" || s.Normalize == nil {
			t.Errorf("stream %s: %+v", s.Source.Stream(), s)
		}
	}
}
