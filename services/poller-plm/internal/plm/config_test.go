package plm

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// validConfig returns a complete configuration with client credentials.
func validConfig() Config {
	return Config{
		BaseURL:      "https://acme.autodeskplm360.net",
		Tenant:       "ACME",
		TokenURL:     "https://developer.api.autodesk.com/authentication/v2/token",
		ClientID:     "id",
		ClientSecret: "s3cr3t-value",
		Scopes:       []string{"data:read"},
		UserID:       "svc@acme.com",
		LogTypes:     []string{"item", "system"},
		PageSize:     1000,
		Topic:        "plm.audit",
		MaxWindow:    24 * time.Hour,
		RateLimit:    5,
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // one substring per expected problem, in order
	}{
		{"valid client credentials", func(c *Config) {}, nil},
		{"valid static token", func(c *Config) {
			c.ClientID, c.ClientSecret, c.UserID, c.AccessToken = "", "", "", "tok-value"
		}, nil},
		{"valid static token with user", func(c *Config) {
			c.ClientID, c.ClientSecret, c.AccessToken = "", "", "tok-value"
		}, nil},
		{"one log type", func(c *Config) { c.LogTypes = []string{"system"} }, nil},
		{"relative base URL", func(c *Config) { c.BaseURL = "acme.autodeskplm360.net" }, []string{"PLM_BASE_URL:"}},
		{"base URL with credentials", func(c *Config) { c.BaseURL = "https://u:pw@acme.example" }, []string{"PLM_BASE_URL:"}},
		{"no tenant", func(c *Config) { c.Tenant = "" }, []string{"PLM_TENANT: empty"}},
		{"tenant with a slash", func(c *Config) { c.Tenant = "a/b" }, []string{"PLM_TENANT:"}},
		{"tenant dot-dot", func(c *Config) { c.Tenant = ".." }, []string{"PLM_TENANT:"}},
		{"no credentials", func(c *Config) { c.ClientID, c.ClientSecret, c.UserID = "", "", "" }, []string{"PLM_CLIENT_ID: no credentials"}},
		{"both modes", func(c *Config) { c.AccessToken = "tok-value" }, []string{"PLM_ACCESS_TOKEN: set together"}},
		{"secret without id", func(c *Config) { c.ClientID = "" }, []string{"PLM_CLIENT_ID: empty"}},
		{"id without secret", func(c *Config) { c.ClientSecret = "" }, []string{"PLM_CLIENT_SECRET: empty"}},
		{"client credentials without user", func(c *Config) { c.UserID = "" }, []string{"PLM_USER_ID: required"}},
		{"user not an e-mail", func(c *Config) { c.UserID = "svc" }, []string{"PLM_USER_ID:"}},
		{"user with a newline", func(c *Config) { c.UserID = "svc@acme.com\r\nX-Evil: 1" }, []string{"PLM_USER_ID:"}},
		{"bad token URL", func(c *Config) { c.TokenURL = "/token" }, []string{"PLM_TOKEN_URL:"}},
		{"no scopes", func(c *Config) { c.Scopes = nil }, []string{"PLM_SCOPES: empty"}},
		{"scope with a space", func(c *Config) { c.Scopes = []string{"data:read data:write"} }, []string{"PLM_SCOPES:"}},
		{"no log types", func(c *Config) { c.LogTypes = nil }, []string{"PLM_LOG_TYPES: empty"}},
		{"unknown log type", func(c *Config) { c.LogTypes = []string{"item", "audit"} }, []string{`PLM_LOG_TYPES: unknown type "audit"`}},
		{"duplicate log type", func(c *Config) { c.LogTypes = []string{"item", "item"} }, []string{`PLM_LOG_TYPES: "item" is listed twice`}},
		{"page size 0", func(c *Config) { c.PageSize = 0 }, []string{"PLM_PAGE_SIZE:"}},
		{"page size too big", func(c *Config) { c.PageSize = 1001 }, []string{"PLM_PAGE_SIZE: must be from 1 to 1000"}},
		{"bad topic", func(c *Config) { c.Topic = "plm audit" }, []string{"PLM_TOPIC:"}},
		{"tiny window", func(c *Config) { c.MaxWindow = time.Millisecond }, []string{"PLM_MAX_WINDOW:"}},
		{"no rate", func(c *Config) { c.RateLimit = 0 }, []string{"PLM_RATE_LIMIT:"}},
		{"everything wrong", func(c *Config) {
			*c = Config{LogTypes: []string{"x"}}
		}, []string{"PLM_BASE_URL", "PLM_TENANT", "PLM_CLIENT_ID", "PLM_LOG_TYPES", "PLM_PAGE_SIZE", "PLM_TOPIC", "PLM_MAX_WINDOW", "PLM_RATE_LIMIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			got := c.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			for _, p := range got {
				for _, secret := range []string{"s3cr3t-value", "tok-value", ":pw@"} {
					if strings.Contains(p, secret) {
						t.Errorf("problem %q reveals a secret", p)
					}
				}
			}
		})
	}
}

// TestConfigTags checks that every field is documented for -help, and that
// the secrets are marked secret.
func TestConfigTags(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("envconfig")
		if !strings.HasPrefix(name, "PLM_") {
			t.Errorf("%s: envconfig name %q lacks the PLM_ prefix", f.Name, name)
		}
		if d := f.Tag.Get("desc"); len(d) < 20 || !strings.HasSuffix(d, ".") {
			t.Errorf("%s: desc %q is not a sentence", f.Name, d)
		}
		secret := f.Tag.Get("secret") == "true"
		if want := f.Name == "ClientSecret" || f.Name == "AccessToken"; secret != want {
			t.Errorf("%s: secret tag %v, want %v", f.Name, secret, want)
		}
	}
}
