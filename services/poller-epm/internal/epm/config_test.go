package epm

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // one substring per expected problem, in order
	}{
		{"valid", func(c *Config) {}, nil},
		{"valid with version and sets", func(c *Config) {
			c.APIVersion, c.SetIDs = "24.12.0.4372", []string{"47f5830e-383a-4db1-9e5f-b38ed0448a92", "b"}
		}, nil},
		{"short version", func(c *Config) { c.APIVersion = "11.5" }, nil},
		{"relative base URL", func(c *Config) { c.BaseURL = "login.epm.cyberark.com" }, []string{"EPM_BASE_URL:"}},
		{"base URL with credentials", func(c *Config) { c.BaseURL = "https://u:pw@login.example" }, []string{"EPM_BASE_URL:"}},
		{"bad version", func(c *Config) { c.APIVersion = "latest" }, []string{"EPM_API_VERSION:"}},
		{"version with a slash", func(c *Config) { c.APIVersion = "1.2/3" }, []string{"EPM_API_VERSION:"}},
		{"no tenant", func(c *Config) { c.Tenant = "" }, []string{"EPM_TENANT: empty"}},
		{"tenant with a slash", func(c *Config) { c.Tenant = "a/b" }, []string{"EPM_TENANT:"}},
		{"no user", func(c *Config) { c.Username = "" }, []string{"EPM_USERNAME:"}},
		{"no password", func(c *Config) { c.Password = "" }, []string{"EPM_PASSWORD:"}},
		{"no application id", func(c *Config) { c.ApplicationID = "" }, []string{"EPM_APPLICATION_ID:"}},
		{"set id with a plus", func(c *Config) { c.SetIDs = []string{"a+b"} }, []string{"EPM_SET_IDS:"}},
		{"set listed twice", func(c *Config) { c.SetIDs = []string{"a", "a"} }, []string{`EPM_SET_IDS: "a" is listed twice`}},
		{"discovery interval too short", func(c *Config) { c.SetDiscoveryInterval = 500 * time.Millisecond }, []string{"EPM_SET_DISCOVERY_INTERVAL: must be at least 1s"}},
		{"page size 0", func(c *Config) { c.PageSize = 0 }, []string{"EPM_PAGE_SIZE:"}},
		{"page size too big", func(c *Config) { c.PageSize = 501 }, []string{"EPM_PAGE_SIZE: must be from 1 to 500"}},
		{"no rate limit", func(c *Config) { c.RateLimit = nil }, []string{"EPM_RATE_LIMIT: empty"}},
		{"bad rate limit", func(c *Config) { c.RateLimit = []string{"5/1s", "fast"} }, []string{`EPM_RATE_LIMIT: limit "fast"`}},
		{"negative session timeout", func(c *Config) { c.SessionTimeout = -time.Second }, []string{"EPM_SESSION_TIMEOUT:"}},
		{"tiny window", func(c *Config) { c.MaxWindow = time.Millisecond }, []string{"EPM_MAX_WINDOW:"}},
		{"bad topic", func(c *Config) { c.Topic = "epm audit" }, []string{"EPM_TOPIC:"}},
		{"everything wrong", func(c *Config) {
			*c = Config{APIVersion: "x", SetIDs: []string{"?"}, RateLimit: []string{"1"}}
		}, []string{"EPM_BASE_URL", "EPM_API_VERSION", "EPM_TENANT", "EPM_USERNAME", "EPM_PASSWORD", "EPM_APPLICATION_ID",
			"EPM_SET_IDS", "EPM_SET_DISCOVERY_INTERVAL", "EPM_PAGE_SIZE", "EPM_RATE_LIMIT", "EPM_MAX_WINDOW", "EPM_TOPIC"}},
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
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			for _, p := range got {
				for _, secret := range []string{"s3cr3t-value", ":pw@"} {
					if strings.Contains(p, secret) {
						t.Errorf("problem %q reveals a secret", p)
					}
				}
			}
		})
	}
}

// TestConfigTags checks that every field is documented for -help, and that
// the password is marked secret.
func TestConfigTags(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("envconfig")
		if !strings.HasPrefix(name, "EPM_") {
			t.Errorf("%s: envconfig name %q lacks the EPM_ prefix", f.Name, name)
		}
		if d := f.Tag.Get("desc"); len(d) < 20 || !strings.HasSuffix(d, ".") {
			t.Errorf("%s: desc %q is not a sentence", f.Name, d)
		}
		if secret := f.Tag.Get("secret") == "true"; secret != (f.Name == "Password") {
			t.Errorf("%s: secret tag %v", f.Name, secret)
		}
	}
}

// TestDefaultRateLimitIsUnderTheVendors checks that the default budget stays
// under the vendor's 5 calls per second and 1,000 per 5 minutes.
func TestDefaultRateLimitIsUnderTheVendors(t *testing.T) {
	f, _ := reflect.TypeFor[Config]().FieldByName("RateLimit")
	limits, err := httpx.ParseLimits(strings.Split(f.Tag.Get("default"), ","))
	if err != nil {
		t.Fatal(err)
	}
	// The most calls the budget lets through in any interval d.
	most := func(d time.Duration) int {
		n := -1
		for _, l := range limits {
			m := l.Calls * int((d+l.Per-1)/l.Per)
			if n < 0 || m < n {
				n = m
			}
		}
		return n
	}
	if most(time.Second) >= 5 || most(5*time.Minute) >= 1000 {
		t.Errorf("default %v allows %d calls per second and %d per 5 minutes", limits, most(time.Second), most(5*time.Minute))
	}
}
