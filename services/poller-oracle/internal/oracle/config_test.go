package oracle

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// validConfig returns a Config Validate accepts, with Basic credentials.
func validConfig() Config {
	return Config{
		BaseURL: "https://epm-acme.epm.example.com", Tenant: "acme", Username: "svc-audit", Password: "s3cr3t",
		ReportAPI: APIUserAuditReport, APIVersion: DefaultAPIVersion, LCMVersion: DefaultLCMVersion,
		JobPollInterval: DefaultJobPollInterval, JobTimeout: DefaultJobTimeout, ReportInterval: DefaultReportInterval,
		RateLimit: DefaultRateLimit, Topic: DefaultTopic,
	}
}

func TestConfigValidate(t *testing.T) {
	oauth := func(c *Config) {
		c.Username, c.Password = "", ""
		c.ClientID, c.ClientSecret, c.TokenURL, c.Scope = "cid", "csecret", "https://idcs.example.com/oauth2/v1/token", "urn:opc:x"
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings, one per problem; none: valid
	}{
		{"basic", func(*Config) {}, nil},
		{"basic with domain", func(c *Config) { c.IdentityDomain = "idcs-acme" }, nil},
		{"oauth", oauth, nil},
		{"successor", func(c *Config) { c.ReportAPI = APIUserLoginReport }, nil},
		{"no base URL", func(c *Config) { c.BaseURL = "" }, []string{"ORACLE_BASE_URL: empty"}},
		{"base URL with password", func(c *Config) { c.BaseURL = "https://u:pw@h" }, []string{"ORACLE_BASE_URL"}},
		{"bad tenant", func(c *Config) { c.Tenant = "acme corp" }, []string{"ORACLE_TENANT"}},
		{"no credentials", func(c *Config) { c.Username, c.Password = "", "" }, []string{"ORACLE_USERNAME: no credentials"}},
		{"no password", func(c *Config) { c.Password = "" }, []string{"ORACLE_PASSWORD"}},
		{"domain without user", func(c *Config) { c.Username, c.Password = "", "x"; c.IdentityDomain = "d" }, []string{"ORACLE_USERNAME: empty"}},
		{"dotted domain", func(c *Config) { c.IdentityDomain = "a.b" }, []string{"ORACLE_IDENTITY_DOMAIN"}},
		{"both", func(c *Config) { c.ClientID = "cid" }, []string{"one or the other"}},
		{"oauth without secret and url", func(c *Config) { oauth(c); c.ClientSecret, c.TokenURL = "", "" }, []string{"ORACLE_CLIENT_SECRET", "ORACLE_TOKEN_URL"}},
		{"oauth bad url", func(c *Config) { oauth(c); c.TokenURL = "idcs/token" }, []string{"ORACLE_TOKEN_URL"}},
		{"report api", func(c *Config) { c.ReportAPI = "audit" }, []string{"ORACLE_REPORT_API"}},
		{"versions", func(c *Config) { c.APIVersion, c.LCMVersion = "", "a/b" }, []string{"ORACLE_API_VERSION", "ORACLE_LCM_VERSION"}},
		{"poll interval", func(c *Config) { c.JobPollInterval = time.Millisecond }, []string{"ORACLE_JOB_POLL_INTERVAL"}},
		{"timeout", func(c *Config) { c.JobTimeout = time.Second }, []string{"ORACLE_JOB_TIMEOUT"}},
		{"report interval", func(c *Config) { c.ReportInterval = 0 }, []string{"ORACLE_REPORT_INTERVAL"}},
		{"rate", func(c *Config) { c.RateLimit = 0 }, []string{"ORACLE_RATE_LIMIT"}},
		{"topic", func(c *Config) { c.Topic = "a b" }, []string{"ORACLE_TOPIC"}},
		{"everything", func(c *Config) { c.BaseURL, c.Tenant, c.Topic, c.RateLimit = "", "", "", -1 },
			[]string{"ORACLE_BASE_URL", "ORACLE_TENANT", "ORACLE_RATE_LIMIT", "ORACLE_TOPIC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			got := c.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("Validate = %q, want %d problems %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, got[i], w)
				}
			}
			for _, p := range got {
				if strings.Contains(p, "s3cr3t") || strings.Contains(p, "csecret") || strings.Contains(p, ":pw@") {
					t.Errorf("problem %q shows a secret", p)
				}
			}
		})
	}
}

func TestConfigAuthorizer(t *testing.T) {
	c := validConfig()
	c.IdentityDomain = "idcs-acme"
	req, _ := http.NewRequest(http.MethodGet, "https://h/", nil)
	if err := c.Authorizer(nil).Authorize(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if u, p, ok := req.BasicAuth(); !ok || u != "idcs-acme.svc-audit" || p != "s3cr3t" {
		t.Errorf("Basic %q %q %v", u, p, ok)
	}
	if c.Principal() != "user idcs-acme.svc-audit" {
		t.Errorf("principal %q", c.Principal())
	}
	c.IdentityDomain = ""
	if c.BasicUser() != "svc-audit" {
		t.Errorf("user without domain %q", c.BasicUser())
	}
}
