package revenera

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	valid := testConfig("https://api.revulytics.com")
	valid.RateLimit = 5
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings, one per problem
	}{
		{"valid", func(*Config) {}, nil},
		{"products", func(c *Config) { c.ProductIDs = []string{"2876543210", "2876543211"} }, nil},
		{"bad base", func(c *Config) { c.BaseURL = "api.example" }, []string{"REVENERA_BASE_URL"}},
		{"no tenant", func(c *Config) { c.Tenant = "" }, []string{"REVENERA_TENANT: empty"}},
		{"bad tenant", func(c *Config) { c.Tenant = "a/b" }, []string{"REVENERA_TENANT"}},
		{"no credentials", func(c *Config) { c.Username, c.Password = "", "" }, []string{"REVENERA_USERNAME", "REVENERA_PASSWORD"}},
		{"bad products", func(c *Config) { c.ProductIDs = []string{"12", "x", "12", "012"} }, []string{"\"x\"", "listed twice", "\"012\""}},
		{"bad origin", func(c *Config) { c.Origin = "" }, []string{"REVENERA_ORIGIN"}},
		{"no client", func(c *Config) { c.Client = "" }, []string{"REVENERA_CLIENT"}},
		{"streams", func(c *Config) { c.Streams = []string{"exceptions", "audit", "exceptions"} }, []string{"\"audit\"", "listed twice"}},
		{"no streams", func(c *Config) { c.Streams = nil }, []string{"REVENERA_STREAMS: empty"}},
		{"report days", func(c *Config) { c.ReportDays = 32 }, []string{"REVENERA_REPORT_DAYS"}},
		{"rate", func(c *Config) { c.RateLimit = -1 }, []string{"REVENERA_RATE_LIMIT"}},
		{"topic", func(c *Config) { c.Topic = "bad topic" }, []string{"REVENERA_TOPIC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.mod(&c)
			got := c.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q does not mention %q", got[i], w)
				}
			}
			for _, p := range got {
				if strings.Contains(p, valid.Password) {
					t.Errorf("problem %q shows the password", p)
				}
			}
		})
	}
}

func TestClientVersionDefault(t *testing.T) {
	c := Config{}
	if c.UserAgentVersion() == "" {
		t.Fatal("no default RUI-Client-Version")
	}
	c.ClientVersion = "1.2"
	if c.UserAgentVersion() != "1.2" {
		t.Fatal("RUI-Client-Version not kept")
	}
}
