// Package config loads a poller's configuration from the environment.
//
// Each service declares one struct that embeds Common and adds its vendor
// settings with full, explicit variable names in envconfig tags:
//
//	type Config struct {
//		config.Common
//		BaseURL string `envconfig:"PLM_BASE_URL" required:"true" desc:"Root URL of the PLM API."`
//	}
//
//	func (c *Config) Validate() []string {
//		problems := c.Common.Validate()
//		// ... append the vendor's own problems, each starting with the variable name.
//		return problems
//	}
//
// Load fills such a struct, reads secrets given as <NAME>_FILE, and reports
// every problem at once; Usage and Flags document the variables on the
// command line.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Common holds the settings every poller shares. Their environment names
// carry no prefix.
type Common struct {
	// KafkaBrokers lists the bootstrap brokers as host:port. Default 127.0.0.1:9092.
	KafkaBrokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092" desc:"Comma-separated Kafka bootstrap brokers, each host:port."`
	// KafkaTLSEnabled turns on TLS to the brokers. Default false.
	KafkaTLSEnabled bool `envconfig:"KAFKA_TLS_ENABLED" default:"false" desc:"Connect to the Kafka brokers over TLS."`
	// KafkaTLSCAFile is a PEM file of CAs that verify the brokers; empty
	// means the system roots. Default empty.
	KafkaTLSCAFile string `envconfig:"KAFKA_TLS_CA_FILE" desc:"PEM file of the CA certificates that verify the brokers; empty uses the system roots. Needs KAFKA_TLS_ENABLED=true."`
	// KafkaSASLMechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Default empty (no SASL).
	KafkaSASLMechanism string `envconfig:"KAFKA_SASL_MECHANISM" desc:"SASL mechanism for Kafka: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL."`
	// KafkaSASLUsername is the SASL user. Default empty.
	KafkaSASLUsername string `envconfig:"KAFKA_SASL_USERNAME" desc:"SASL user name for Kafka; required when KAFKA_SASL_MECHANISM is set."`
	// KafkaSASLPassword is the SASL password. Default empty.
	KafkaSASLPassword string `envconfig:"KAFKA_SASL_PASSWORD" secret:"true" desc:"SASL password for Kafka; required when KAFKA_SASL_MECHANISM is set."`
	// KafkaTopicPartitions is the partition count of topics the poller
	// creates. Default 3.
	KafkaTopicPartitions int `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"3" desc:"Number of partitions of the topics the poller creates when they do not exist."`
	// KafkaReplicationFactor is the replication factor of topics the poller
	// creates; -1 means the broker default. Default -1.
	KafkaReplicationFactor int `envconfig:"KAFKA_REPLICATION_FACTOR" default:"-1" desc:"Replication factor of the topics the poller creates; -1 uses the broker default."`
	// KafkaCompression is the codec of produced batches. Default snappy.
	KafkaCompression string `envconfig:"KAFKA_COMPRESSION" default:"snappy" desc:"Compression of produced batches: none, gzip, snappy, lz4 or zstd."`
	// SchemaRegistryURL is the Confluent-compatible Schema Registry. Default http://127.0.0.1:8081.
	SchemaRegistryURL string `envconfig:"SCHEMA_REGISTRY_URL" default:"http://127.0.0.1:8081" desc:"Absolute http(s) URL of the Confluent-compatible Schema Registry."`
	// SchemaRegistryUsername is the registry's basic-auth user. Default empty.
	SchemaRegistryUsername string `envconfig:"SCHEMA_REGISTRY_USERNAME" desc:"Basic-auth user name for the Schema Registry; empty sends no credentials."`
	// SchemaRegistryPassword is the registry's basic-auth password. Default empty.
	SchemaRegistryPassword string `envconfig:"SCHEMA_REGISTRY_PASSWORD" secret:"true" desc:"Basic-auth password for the Schema Registry."`
	// CheckpointTopic is the compacted topic of stream cursors. Default pollers.checkpoints.
	CheckpointTopic string `envconfig:"CHECKPOINT_TOPIC" default:"pollers.checkpoints" desc:"Compacted Kafka topic that stores each stream's cursor."`
	// DeadletterTopic receives records that could not be normalized. Default pollers.deadletter.
	DeadletterTopic string `envconfig:"DEADLETTER_TOPIC" default:"pollers.deadletter" desc:"Kafka topic that receives vendor records that could not be normalized."`
	// PollInterval is the wait after a stream has caught up. Default 1m.
	PollInterval time.Duration `envconfig:"POLL_INTERVAL" default:"1m" desc:"How long a stream that has caught up waits before polling again."`
	// StartTime is where a stream without checkpoint begins (RFC 3339);
	// empty means 24h before the process started. Default empty.
	StartTime string `envconfig:"START_TIME" desc:"RFC 3339 time where a stream without a checkpoint begins; empty means 24 hours before the poller started."`
	// SafetyLag keeps windows this far behind now, for late-indexed
	// records. Default 2m.
	SafetyLag time.Duration `envconfig:"SAFETY_LAG" default:"2m" desc:"How far behind the current time polling windows end, so records the vendor indexes late are not missed."`
	// HTTPAddr is the listen address of /livez, /readyz and /metrics. Default :8080.
	HTTPAddr string `envconfig:"HTTP_ADDR" default:":8080" desc:"Listen address of the /livez, /readyz and /metrics endpoints."`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info" desc:"Minimum log level: debug, info, warn or error."`
	// HTTPTimeout bounds one vendor HTTP attempt. Default 30s.
	HTTPTimeout time.Duration `envconfig:"HTTP_TIMEOUT" default:"30s" desc:"Time limit of one HTTP attempt to the vendor API."`
	// HTTPRetryMaxElapsed is the retry budget of one vendor call. Default 2m.
	HTTPRetryMaxElapsed time.Duration `envconfig:"HTTP_RETRY_MAX_ELAPSED" default:"2m" desc:"Total time one vendor API call may spend retrying before its last error is returned."`
	// HTTPMaxBodyBytes caps the size of a vendor response. Default 64 MiB.
	HTTPMaxBodyBytes int64 `envconfig:"HTTP_MAX_BODY_BYTES" default:"67108864" desc:"Largest vendor response body accepted, in bytes."`
}

// saslMechanisms are the accepted values of KAFKA_SASL_MECHANISM.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// logLevels maps the accepted values of LOG_LEVEL to slog levels.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// Validate returns every problem of c, each starting with the variable
// name and saying how to fix it. It does no network I/O; it only checks
// that KAFKA_TLS_CA_FILE exists. Secret values never appear in the messages.
func (c *Common) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if len(c.KafkaBrokers) == 0 {
		add("KAFKA_BROKERS: empty; set at least one broker as host:port, e.g. 127.0.0.1:9092")
	}
	for _, b := range c.KafkaBrokers {
		if err := checkHostPort(b); err != nil {
			add("KAFKA_BROKERS: broker %q %v; write each broker as host:port, separated by commas without spaces", b, err)
		}
	}

	if c.KafkaTLSCAFile != "" {
		if !c.KafkaTLSEnabled {
			add("KAFKA_TLS_CA_FILE: set but KAFKA_TLS_ENABLED is false; set KAFKA_TLS_ENABLED=true or unset KAFKA_TLS_CA_FILE")
		}
		switch fi, err := os.Stat(c.KafkaTLSCAFile); {
		case err != nil:
			add("KAFKA_TLS_CA_FILE: %v; point it at a readable PEM file", err)
		case fi.IsDir():
			add("KAFKA_TLS_CA_FILE: %q is a directory; point it at a PEM file", c.KafkaTLSCAFile)
		}
	}

	switch {
	case c.KafkaSASLMechanism == "":
		if c.KafkaSASLUsername != "" || c.KafkaSASLPassword != "" {
			add("KAFKA_SASL_MECHANISM: empty but SASL credentials are set; set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, or unset KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
		}
	case !slices.Contains(saslMechanisms, c.KafkaSASLMechanism):
		add("KAFKA_SASL_MECHANISM: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", c.KafkaSASLMechanism)
	default:
		if c.KafkaSASLUsername == "" {
			add("KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is %s; set the SASL user name", c.KafkaSASLMechanism)
		}
		if c.KafkaSASLPassword == "" {
			add("KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is %s; set it or KAFKA_SASL_PASSWORD_FILE", c.KafkaSASLMechanism)
		}
	}

	if c.KafkaTopicPartitions < 1 {
		add("KAFKA_TOPIC_PARTITIONS: must be at least 1, got %d", c.KafkaTopicPartitions)
	}
	switch c.KafkaCompression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		add("KAFKA_COMPRESSION: must be none, gzip, snappy, lz4 or zstd, got %q", c.KafkaCompression)
	}
	if c.KafkaReplicationFactor != -1 && c.KafkaReplicationFactor < 1 {
		add("KAFKA_REPLICATION_FACTOR: must be -1 (broker default) or at least 1, got %d", c.KafkaReplicationFactor)
	}

	if msg := CheckHTTPURL(c.SchemaRegistryURL); msg != "" {
		add("SCHEMA_REGISTRY_URL: %s", msg)
	}
	if c.SchemaRegistryUsername == "" && c.SchemaRegistryPassword != "" {
		add("SCHEMA_REGISTRY_USERNAME: empty but SCHEMA_REGISTRY_PASSWORD is set; set the user name or unset the password")
	}
	if c.SchemaRegistryUsername != "" && c.SchemaRegistryPassword == "" {
		add("SCHEMA_REGISTRY_PASSWORD: empty but SCHEMA_REGISTRY_USERNAME is set; set it or SCHEMA_REGISTRY_PASSWORD_FILE")
	}

	for _, t := range []struct{ name, value string }{
		{"CHECKPOINT_TOPIC", c.CheckpointTopic},
		{"DEADLETTER_TOPIC", c.DeadletterTopic},
	} {
		if msg := CheckTopic(t.value); msg != "" {
			add("%s: %s", t.name, msg)
		}
	}
	if c.CheckpointTopic != "" && c.CheckpointTopic == c.DeadletterTopic {
		add("DEADLETTER_TOPIC: must differ from CHECKPOINT_TOPIC (both are %q)", c.CheckpointTopic)
	}

	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"POLL_INTERVAL", c.PollInterval},
		{"HTTP_TIMEOUT", c.HTTPTimeout},
		{"HTTP_RETRY_MAX_ELAPSED", c.HTTPRetryMaxElapsed},
	} {
		if d.value <= 0 {
			add("%s: must be a positive duration such as 30s or 5m, got %s", d.name, d.value)
		}
	}
	if c.SafetyLag < 0 {
		add("SAFETY_LAG: must not be negative, got %s; use 0 for no lag", c.SafetyLag)
	}
	if c.StartTime != "" {
		if _, err := time.Parse(time.RFC3339, c.StartTime); err != nil {
			add("START_TIME: %q is not an RFC 3339 time; write it like 2024-01-31T00:00:00Z, or leave it empty for 24 hours ago", c.StartTime)
		}
	}

	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		add("HTTP_ADDR: %q is not a listen address; write it as host:port or :port, e.g. :8080", c.HTTPAddr)
	}
	if _, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		add("LOG_LEVEL: must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.HTTPMaxBodyBytes <= 0 {
		add("HTTP_MAX_BODY_BYTES: must be a positive number of bytes, got %d", c.HTTPMaxBodyBytes)
	}
	return p
}

// Start returns the parsed START_TIME, or now minus 24 hours when it is
// empty or invalid (Validate reports an invalid one).
func (c *Common) Start(now time.Time) time.Time {
	if c.StartTime != "" {
		if t, err := time.Parse(time.RFC3339, c.StartTime); err == nil {
			return t
		}
	}
	return now.Add(-24 * time.Hour)
}

// SlogLevel returns LOG_LEVEL as a slog level; an invalid or empty value
// (which Validate reports) gives slog.LevelInfo.
func (c *Common) SlogLevel() slog.Level {
	if l, ok := logLevels[strings.ToLower(c.LogLevel)]; ok {
		return l
	}
	return slog.LevelInfo
}

// CheckTopic returns why name is not a valid Kafka topic name, or "" if it
// is. Services use it for their own topic variables.
func CheckTopic(name string) string {
	switch {
	case name == "":
		return "empty; set a topic name"
	case name == "." || name == "..":
		return fmt.Sprintf("%q is not a valid topic name; use letters, digits, '.', '_' or '-'", name)
	case len(name) > 249:
		return fmt.Sprintf("topic name is %d characters long; use at most 249", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q contains %q; a topic name may hold only letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}

// CheckHTTPURL returns why raw is not an absolute http or https URL, or ""
// if it is. Services use it for their <VENDOR>_BASE_URL. Credentials in the
// URL are rejected and never echoed.
func CheckHTTPURL(raw string) string {
	const want = "want an absolute http(s) URL such as https://api.example.com"
	if raw == "" {
		return "empty; " + want
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The parse error quotes the input, which could hold credentials.
		return "not a valid URL; " + want
	}
	if u.User != nil {
		return fmt.Sprintf("%q holds credentials; remove them from the URL and use the matching USERNAME and PASSWORD variables", u.Redacted())
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("%q is not absolute http(s); %s", raw, want)
	}
	return ""
}

// checkHostPort reports whether s is host:port with a non-empty host and a
// port in 1..65535.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("is not host:port")
	}
	if host == "" {
		return fmt.Errorf("has no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has no valid port (1-65535)")
	}
	return nil
}
