package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleSpec is a service configuration as a poller declares it.
type sampleSpec struct {
	Common
	BaseURL      string        `envconfig:"PLM_BASE_URL" required:"true" desc:"Root URL of the PLM API."`
	ClientID     string        `envconfig:"PLM_CLIENT_ID" required:"true" desc:"OAuth2 client id."`
	ClientSecret string        `envconfig:"PLM_CLIENT_SECRET" required:"true" secret:"true" desc:"OAuth2 client secret."`
	PageSize     int           `envconfig:"PLM_PAGE_SIZE" default:"100" desc:"Records per page."`
	Window       time.Duration `envconfig:"PLM_WINDOW" default:"1h" desc:"Longest time window of one fetch."`
	Tenants      []string      `envconfig:"PLM_TENANTS" desc:"Tenants to poll."`
}

func (s *sampleSpec) Validate() []string {
	p := s.Common.Validate()
	if msg := CheckHTTPURL(s.BaseURL); msg != "" {
		p = append(p, "PLM_BASE_URL: "+msg)
	}
	if s.PageSize < 1 || s.PageSize > 1000 {
		p = append(p, "PLM_PAGE_SIZE: must be between 1 and 1000")
	}
	return p
}

// clearEnv unsets every variable of spec and its _FILE alternative for the
// duration of the test, so that the ambient environment cannot leak in.
func clearEnv(t *testing.T, spec any) {
	t.Helper()
	vars, err := variables(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		for _, k := range []string{v.key, v.key + FileSuffix} {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

var requiredEnv = map[string]string{
	"PLM_BASE_URL":      "https://plm.example.com/api",
	"PLM_CLIENT_ID":     "client",
	"PLM_CLIENT_SECRET": "s3cret",
}

func TestLoadDefaults(t *testing.T) {
	clearEnv(t, &sampleSpec{})
	setEnv(t, requiredEnv)
	var got sampleSpec
	if err := Load(&got); err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := sampleSpec{
		Common:       validCommon(),
		BaseURL:      "https://plm.example.com/api",
		ClientID:     "client",
		ClientSecret: "s3cret",
		PageSize:     100,
		Window:       time.Hour,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load filled\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadValues(t *testing.T) {
	clearEnv(t, &sampleSpec{})
	setEnv(t, requiredEnv)
	setEnv(t, map[string]string{
		"KAFKA_BROKERS":          "a:9092,b:9093",
		"KAFKA_SASL_MECHANISM":   "PLAIN",
		"KAFKA_SASL_USERNAME":    "poller",
		"KAFKA_SASL_PASSWORD":    "pw",
		"POLL_INTERVAL":          "15s",
		"HTTP_MAX_BODY_BYTES":    "1024",
		"PLM_TENANTS":            "t1,t2",
		"KAFKA_TOPIC_PARTITIONS": "6",
	})
	var got sampleSpec
	if err := Load(&got); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.KafkaBrokers, []string{"a:9092", "b:9093"}) || got.KafkaSASLPassword != "pw" ||
		got.PollInterval != 15*time.Second || got.HTTPMaxBodyBytes != 1024 ||
		!reflect.DeepEqual(got.Tenants, []string{"t1", "t2"}) || got.KafkaTopicPartitions != 6 {
		t.Errorf("Load filled %+v", got)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // prefixes of the expected problems, in order
	}{
		{
			name: "parse, required, sasl and url together",
			env: map[string]string{
				"PLM_CLIENT_ID":        "client",
				"PLM_CLIENT_SECRET":    "s3cret",
				"POLL_INTERVAL":        "soon",
				"KAFKA_SASL_MECHANISM": "X",
				"SCHEMA_REGISTRY_URL":  "ftp://registry",
			},
			want: []string{
				`POLL_INTERVAL: invalid value "soon"; want a duration`,
				"PLM_BASE_URL: required but not set; set PLM_BASE_URL (Root URL of the PLM API)",
				`KAFKA_SASL_MECHANISM: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "X"`,
				"SCHEMA_REGISTRY_URL: ",
			},
		},
		{
			name: "every parse error, each once",
			env: map[string]string{
				"PLM_BASE_URL":           "https://plm.example.com",
				"PLM_CLIENT_ID":          "client",
				"PLM_CLIENT_SECRET":      "s3cret",
				"KAFKA_TLS_ENABLED":      "maybe",
				"KAFKA_TOPIC_PARTITIONS": "three",
				"HTTP_TIMEOUT":           "30",
				"PLM_PAGE_SIZE":          "1e3",
			},
			want: []string{
				`KAFKA_TLS_ENABLED: invalid value "maybe"; want true or false`,
				`KAFKA_TOPIC_PARTITIONS: invalid value "three"; want an integer`,
				`HTTP_TIMEOUT: invalid value "30"; want a duration`,
				`PLM_PAGE_SIZE: invalid value "1e3"; want an integer`,
			},
		},
		{
			name: "required but empty",
			env:  map[string]string{"PLM_BASE_URL": " ", "PLM_CLIENT_ID": "", "PLM_CLIENT_SECRET": ""},
			want: []string{
				"PLM_BASE_URL: required but not set",
				"PLM_CLIENT_ID: required but not set",
				"PLM_CLIENT_SECRET: required but not set; set PLM_CLIENT_SECRET or PLM_CLIENT_SECRET_FILE",
			},
		},
		{
			name: "validation of a loaded service field",
			env: map[string]string{
				"PLM_BASE_URL": "https://plm.example.com", "PLM_CLIENT_ID": "c", "PLM_CLIENT_SECRET": "s",
				"PLM_PAGE_SIZE": "0", "LOG_LEVEL": "loud",
			},
			want: []string{`LOG_LEVEL: must be debug, info, warn or error, got "loud"`, "PLM_PAGE_SIZE: must be between 1 and 1000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t, &sampleSpec{})
			setEnv(t, tt.env)
			err := Load(&sampleSpec{})
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load = %v, want *Error", err)
			}
			assertProblems(t, cerr.Problems, tt.want)
			if !strings.HasPrefix(err.Error(), "invalid configuration:\n  - ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	secretFile := write("secret", "from-file \n\n")
	emptyFile := write("empty", "\n")
	saslFile := write("sasl", "sasl-pw\r\n")
	base := map[string]string{"PLM_BASE_URL": "https://plm.example.com", "PLM_CLIENT_ID": "client"}

	tests := []struct {
		name       string
		env        map[string]string
		wantSecret string
		want       []string // problem prefixes; nil means Load succeeds
	}{
		{name: "read and trimmed", env: map[string]string{"PLM_CLIENT_SECRET_FILE": secretFile}, wantSecret: "from-file"},
		{name: "embedded common secret", env: map[string]string{
			"PLM_CLIENT_SECRET": "inline-secret", "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD_FILE": saslFile,
		}, wantSecret: "inline-secret"},
		{name: "empty _FILE is ignored", env: map[string]string{"PLM_CLIENT_SECRET": "inline-secret", "PLM_CLIENT_SECRET_FILE": ""}, wantSecret: "inline-secret"},
		{name: "both set", env: map[string]string{"PLM_CLIENT_SECRET": "inline-secret", "PLM_CLIENT_SECRET_FILE": secretFile},
			want: []string{"PLM_CLIENT_SECRET: both PLM_CLIENT_SECRET and PLM_CLIENT_SECRET_FILE are set"}},
		{name: "missing file", env: map[string]string{"PLM_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")},
			want: []string{"PLM_CLIENT_SECRET_FILE: cannot read the secret file: open "}},
		{name: "empty file for a required secret", env: map[string]string{"PLM_CLIENT_SECRET_FILE": emptyFile},
			want: []string{"PLM_CLIENT_SECRET: required but the file named by PLM_CLIENT_SECRET_FILE is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t, &sampleSpec{})
			setEnv(t, base)
			setEnv(t, tt.env)
			var got sampleSpec
			err := Load(&got)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got.ClientSecret != tt.wantSecret {
					t.Errorf("ClientSecret = %q, want %q", got.ClientSecret, tt.wantSecret)
				}
				if tt.env["KAFKA_SASL_PASSWORD_FILE"] != "" && got.KafkaSASLPassword != "sasl-pw" {
					t.Errorf("KafkaSASLPassword = %q, want sasl-pw", got.KafkaSASLPassword)
				}
				return
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load = %v, want *Error", err)
			}
			assertProblems(t, cerr.Problems, tt.want)
			for _, s := range []string{"inline-secret", "from-file"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error echoes the secret %q: %v", s, err)
				}
			}
		})
	}
}

func TestLoadNeverEchoesSecrets(t *testing.T) {
	const secret = "hunter2"
	clearEnv(t, &sampleSpec{})
	setEnv(t, map[string]string{
		"PLM_BASE_URL":             "https://plm.example.com",
		"PLM_CLIENT_ID":            "client",
		"PLM_CLIENT_SECRET":        secret,
		"PLM_CLIENT_SECRET_FILE":   "/also/set",
		"KAFKA_SASL_PASSWORD":      secret,
		"SCHEMA_REGISTRY_PASSWORD": secret,
		"SCHEMA_REGISTRY_URL":      "http://user:" + secret + "@registry",
	})
	err := Load(&sampleSpec{})
	if err == nil {
		t.Fatal("Load succeeded, want problems")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error echoes a secret:\n%v", err)
	}
	if n := len(err.(*Error).Problems); n != 4 {
		t.Errorf("got %d problems, want 4:\n%v", n, err)
	}
}

type badSecretSpec struct {
	Port int `envconfig:"BAD_PORT" secret:"true"`
}

func (*badSecretSpec) Validate() []string { return nil }

func TestLoadRejectsBadSpecs(t *testing.T) {
	clearEnv(t, &badSecretSpec{})
	t.Setenv("BAD_PORT", "1")
	if err := Load(&badSecretSpec{}); err == nil || !strings.Contains(err.Error(), "only supported on string fields") {
		t.Errorf("Load of a non-string secret = %v", err)
	}
	var nilSpec *sampleSpec
	if err := Load(nilSpec); err == nil {
		t.Error("Load of a nil spec succeeded")
	}
}

// nestedSpec checks that variable names follow envconfig's rules.
type nestedSpec struct {
	*Common
	Inner struct {
		Value string `envconfig:"VALUE"`
	}
	SplitMe  string `split_words:"true"`
	Skipped  string `ignored:"true"`
	internal string
}

func TestVariablesFollowEnvconfigNames(t *testing.T) {
	spec := &nestedSpec{}
	vars, err := variables(spec)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range vars {
		keys = append(keys, v.key)
	}
	got := strings.Join(keys[len(keys)-2:], ",")
	if got != "INNER_VALUE,SPLIT_ME" || keys[0] != "KAFKA_BROKERS" {
		t.Errorf("keys = %v", keys)
	}
	if spec.Common == nil {
		t.Error("embedded *Common was not allocated")
	}
	_ = spec.internal
}
