package kafkax

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// pingTimeout bounds a Ping whose ctx has no earlier deadline.
const pingTimeout = 10 * time.Second

// Ping checks that a broker accepts a connection (TLS and SASL included) and
// answers a metadata request. It tries the brokers in order and succeeds at
// the first that answers.
func Ping(ctx context.Context, cfg Config) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("ping kafka: no brokers configured")
	}
	dialer, err := cfg.Dialer()
	if err != nil {
		return fmt.Errorf("ping kafka: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	var errs []error
	for _, b := range cfg.Brokers {
		err := pingBroker(ctx, dialer, b, deadline)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("ping kafka: %w", errors.Join(errs...))
}

func pingBroker(ctx context.Context, dialer *kafka.Dialer, broker string, deadline time.Time) error {
	conn, err := dialer.DialContext(ctx, "tcp", broker)
	if err != nil {
		return fmt.Errorf("broker %s: %w", broker, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("broker %s: %w", broker, err)
	}
	if _, err := conn.Brokers(); err != nil {
		return fmt.Errorf("broker %s: metadata: %w", broker, err)
	}
	return nil
}
