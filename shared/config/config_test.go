package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validCommon returns a Common that passes Validate.
func validCommon() Common {
	return Common{
		KafkaBrokers:           []string{"127.0.0.1:9092"},
		KafkaTopicPartitions:   3,
		KafkaReplicationFactor: -1,
		KafkaCompression:       "snappy",
		SchemaRegistryURL:      "http://127.0.0.1:8081",
		CheckpointTopic:        "pollers.checkpoints",
		DeadletterTopic:        "pollers.deadletter",
		PollInterval:           time.Minute,
		SafetyLag:              2 * time.Minute,
		HTTPAddr:               ":8080",
		LogLevel:               "info",
		HTTPTimeout:            30 * time.Second,
		HTTPRetryMaxElapsed:    2 * time.Minute,
		HTTPMaxBodyBytes:       64 << 20,
	}
}

func TestCommonValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(c *Common)
		want   []string // prefixes of the expected problems, in order
	}{
		{name: "valid", modify: func(c *Common) {}},
		{name: "valid with everything", modify: func(c *Common) {
			c.KafkaBrokers = []string{"kafka-0.kafka:9093", "[::1]:9092"}
			c.KafkaTLSEnabled = true
			c.KafkaTLSCAFile = caFile
			c.KafkaSASLMechanism = "SCRAM-SHA-512"
			c.KafkaSASLUsername = "poller"
			c.KafkaSASLPassword = "pw"
			c.SchemaRegistryURL = "https://registry.example.com/base"
			c.SchemaRegistryUsername = "u"
			c.SchemaRegistryPassword = "p"
			c.StartTime = "2024-01-31T10:00:00+01:00"
			c.SafetyLag = 0
			c.LogLevel = "DEBUG"
			c.KafkaReplicationFactor = 3
		}},
		{name: "no brokers", modify: func(c *Common) { c.KafkaBrokers = nil },
			want: []string{"KAFKA_BROKERS: empty"}},
		{name: "bad brokers", modify: func(c *Common) { c.KafkaBrokers = []string{"kafka", ":9092", "k:0", "k:x"} },
			want: []string{`KAFKA_BROKERS: broker "kafka" is not host:port`, `KAFKA_BROKERS: broker ":9092" has no host`,
				`KAFKA_BROKERS: broker "k:0" has no valid port`, `KAFKA_BROKERS: broker "k:x" has no valid port`}},
		{name: "missing CA file without TLS", modify: func(c *Common) { c.KafkaTLSCAFile = filepath.Join(t.TempDir(), "none.pem") },
			want: []string{"KAFKA_TLS_CA_FILE: set but KAFKA_TLS_ENABLED is false", "KAFKA_TLS_CA_FILE: stat "}},
		{name: "CA file is a directory", modify: func(c *Common) { c.KafkaTLSEnabled, c.KafkaTLSCAFile = true, t.TempDir() },
			want: []string{"KAFKA_TLS_CA_FILE: "}},
		{name: "bad SASL mechanism", modify: func(c *Common) { c.KafkaSASLMechanism = "X" },
			want: []string{`KAFKA_SASL_MECHANISM: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "X"`}},
		{name: "SASL without credentials", modify: func(c *Common) { c.KafkaSASLMechanism = "PLAIN" },
			want: []string{"KAFKA_SASL_USERNAME: required", "KAFKA_SASL_PASSWORD: required"}},
		{name: "credentials without SASL", modify: func(c *Common) { c.KafkaSASLUsername = "u" },
			want: []string{"KAFKA_SASL_MECHANISM: empty but SASL credentials are set"}},
		{name: "partitions and replication", modify: func(c *Common) { c.KafkaTopicPartitions, c.KafkaReplicationFactor = 0, 0 },
			want: []string{"KAFKA_TOPIC_PARTITIONS: must be at least 1", "KAFKA_REPLICATION_FACTOR: must be -1"}},
		{name: "registry not http", modify: func(c *Common) { c.SchemaRegistryURL = "ftp://registry" },
			want: []string{`SCHEMA_REGISTRY_URL: "ftp://registry" is not absolute http(s)`}},
		{name: "registry relative", modify: func(c *Common) { c.SchemaRegistryURL = "registry:8081" },
			want: []string{"SCHEMA_REGISTRY_URL: "}},
		{name: "registry empty", modify: func(c *Common) { c.SchemaRegistryURL = "" },
			want: []string{"SCHEMA_REGISTRY_URL: empty"}},
		{name: "registry password without user", modify: func(c *Common) { c.SchemaRegistryPassword = "p" },
			want: []string{"SCHEMA_REGISTRY_USERNAME: empty"}},
		{name: "registry user without password", modify: func(c *Common) { c.SchemaRegistryUsername = "u" },
			want: []string{"SCHEMA_REGISTRY_PASSWORD: empty"}},
		{name: "bad topics", modify: func(c *Common) { c.CheckpointTopic, c.DeadletterTopic = "", "dead letters" },
			want: []string{"CHECKPOINT_TOPIC: empty", `DEADLETTER_TOPIC: "dead letters" contains ' '`}},
		{name: "dot topic and long topic", modify: func(c *Common) { c.CheckpointTopic, c.DeadletterTopic = "..", strings.Repeat("a", 250) },
			want: []string{"CHECKPOINT_TOPIC: \"..\" is not a valid", "DEADLETTER_TOPIC: topic name is 250 characters"}},
		{name: "same topics", modify: func(c *Common) { c.DeadletterTopic = c.CheckpointTopic },
			want: []string{"DEADLETTER_TOPIC: must differ from CHECKPOINT_TOPIC"}},
		{name: "durations", modify: func(c *Common) {
			c.PollInterval, c.HTTPTimeout, c.HTTPRetryMaxElapsed, c.SafetyLag = 0, -time.Second, 0, -time.Second
		}, want: []string{"POLL_INTERVAL: must be a positive duration", "HTTP_TIMEOUT: must be a positive duration",
			"HTTP_RETRY_MAX_ELAPSED: must be a positive duration", "SAFETY_LAG: must not be negative"}},
		{name: "start time", modify: func(c *Common) { c.StartTime = "2024-01-31" },
			want: []string{`START_TIME: "2024-01-31" is not an RFC 3339 time`}},
		{name: "http addr", modify: func(c *Common) { c.HTTPAddr = "8080" },
			want: []string{`HTTP_ADDR: "8080" is not a listen address`}},
		{name: "log level", modify: func(c *Common) { c.LogLevel = "verbose" },
			want: []string{`LOG_LEVEL: must be debug, info, warn or error, got "verbose"`}},
		{name: "body cap", modify: func(c *Common) { c.HTTPMaxBodyBytes = 0 },
			want: []string{"HTTP_MAX_BODY_BYTES: must be a positive number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCommon()
			tt.modify(&c)
			assertProblems(t, c.Validate(), tt.want)
		})
	}
}

// assertProblems checks that got has one problem per prefix in want, in order.
func assertProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestCommonValidateNeverEchoesSecrets(t *testing.T) {
	const secret = "hunter2"
	c := validCommon()
	c.KafkaSASLPassword = secret
	c.SchemaRegistryPassword = secret
	c.SchemaRegistryURL = "https://user:" + secret + "@registry.example.com"
	problems := c.Validate()
	if len(problems) != 3 {
		t.Fatalf("want 3 problems, got %q", problems)
	}
	for _, p := range problems {
		if strings.Contains(p, secret) {
			t.Errorf("problem echoes the secret: %q", p)
		}
	}
}

func TestCommonStart(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		start string
		want  time.Time
	}{
		{"", now.Add(-24 * time.Hour)},
		{"2024-01-31T10:00:00Z", time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)},
		{"2024-01-31T10:00:00+02:00", time.Date(2024, 1, 31, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		c := Common{StartTime: tt.start}
		if got := c.Start(now); !got.Equal(tt.want) {
			t.Errorf("Start with START_TIME=%q = %v, want %v", tt.start, got, tt.want)
		}
	}
}

func TestCommonSlogLevel(t *testing.T) {
	tests := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo,
	}
	for level, want := range tests {
		c := Common{LogLevel: level}
		if got := c.SlogLevel(); got != want {
			t.Errorf("SlogLevel with LOG_LEVEL=%q = %v, want %v", level, got, want)
		}
	}
}
