// Package kafkax sets up segmentio/kafka-go for auditstream: TLS and SASL,
// one Transport per writer, topic creation that waits for leaders, writers
// tuned for synchronous page writes, and the reads the checkpoint store needs.
//
// kafka-go traps this package exists to avoid:
//
//   - A Transport serves Metadata from a cache it refreshes every few
//     seconds, so a writer whose transport looked before a topic existed
//     fails with Unknown Topic. Create topics (EnsureTopics) before building
//     writers, and give each writer its own Transport (NewWriter does).
//   - A Transport runs a metadata goroutine until CloseIdleConnections is
//     called; kafka.Writer.Close does not call it. Writer.Close here does.
//   - Writer.BatchTimeout defaults to 1s, which every synchronous write of a
//     partial batch waits for. NewWriter sets a few milliseconds.
//   - Conn.ReadPartitions asks the broker to auto-create the topics it names;
//     this package never uses it for existence checks.
package kafkax

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// DefaultClientID is the client id brokers see when Config.ClientID is empty.
const DefaultClientID = "auditstream"

// dialTimeout bounds establishing one connection, TLS handshake and SASL
// exchange included.
const dialTimeout = 10 * time.Second

// Config is how to reach and authenticate to the Kafka cluster.
type Config struct {
	// Brokers are the bootstrap brokers, each host:port. Required.
	Brokers []string
	// TLSEnabled turns on TLS to the brokers. Default false.
	TLSEnabled bool
	// TLSCAFile is a PEM file of CA certificates trusted in addition to the
	// system roots. Default empty: the system roots only. It needs
	// TLSEnabled.
	TLSCAFile string
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".
	// Default empty: no SASL.
	SASLMechanism string
	// SASLUsername is the SASL user. Required with a SASLMechanism.
	SASLUsername string
	// SASLPassword is the SASL password. Required with a SASLMechanism. It
	// never appears in errors or logs.
	SASLPassword string
	// ClientID is the client id sent to the brokers. Default "auditstream".
	ClientID string
	// Compression is the codec of produced batches: "none", "gzip",
	// "snappy", "lz4" or "zstd". Default (empty) snappy.
	Compression string
}

// LogValue implements slog.LogValuer: the configuration without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("brokers", c.Brokers),
		slog.Bool("tls", c.TLSEnabled),
		slog.String("tls_ca_file", c.TLSCAFile),
		slog.String("sasl_mechanism", c.SASLMechanism),
		slog.String("sasl_username", c.SASLUsername),
		slog.Bool("has_password", c.SASLPassword != ""),
		slog.String("client_id", c.clientID()),
	)
}

func (c Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return DefaultClientID
}

// addr returns the bootstrap address of the cluster.
func (c Config) addr() (net.Addr, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("no kafka brokers configured")
	}
	return kafka.TCP(c.Brokers...), nil
}

// TLSConfig returns the TLS configuration for the brokers, or nil when TLS
// is off. It trusts the system roots plus the certificates of TLSCAFile.
func (c Config) TLSConfig() (*tls.Config, error) {
	if !c.TLSEnabled {
		if c.TLSCAFile != "" {
			return nil, fmt.Errorf("kafka TLS CA file %s is set but TLS is not enabled", c.TLSCAFile)
		}
		return nil, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("read kafka TLS CA file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka TLS CA file %s holds no PEM certificate", c.TLSCAFile)
		}
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// SASL returns the SASL mechanism for the brokers, or nil when SASL is off.
func (c Config) SASL() (sasl.Mechanism, error) {
	if c.SASLMechanism == "" {
		return nil, nil
	}
	if c.SASLUsername == "" || c.SASLPassword == "" {
		return nil, fmt.Errorf("kafka SASL mechanism %s needs a user name and a password", c.SASLMechanism)
	}
	switch c.SASLMechanism {
	case "PLAIN":
		return plain.Mechanism{Username: c.SASLUsername, Password: c.SASLPassword}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if c.SASLMechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASLUsername, c.SASLPassword)
		if err != nil {
			// The error of xdg-go/scram quotes the password it failed to
			// SASLprep, so it is not wrapped.
			return nil, fmt.Errorf("kafka SASL %s: the user name or password has characters SASLprep prohibits", c.SASLMechanism)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("kafka SASL mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASLMechanism)
	}
}

// Transport returns a new Transport with the TLS and SASL settings. Each call
// returns a distinct Transport with its own metadata cache and connections;
// close it with CloseIdleConnections when done, or its metadata goroutine
// runs on.
func (c Config) Transport() (*kafka.Transport, error) {
	tlsCfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.SASL()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		DialTimeout: dialTimeout,
		ClientID:    c.clientID(),
		TLS:         tlsCfg,
		SASL:        mech,
	}, nil
}

// Dialer returns a Dialer with the TLS and SASL settings, for kafka.Conn and
// kafka.Reader.
func (c Config) Dialer() (*kafka.Dialer, error) {
	tlsCfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.SASL()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       dialTimeout,
		TLS:           tlsCfg,
		SASLMechanism: mech,
	}, nil
}
