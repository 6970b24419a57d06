// Command auditctl is the operator's tool for an auditstream installation.
//
//	auditctl tail <topic> [--from-beginning] [-n N]
//	auditctl checkpoints list
//	auditctl checkpoints reset <stream> [--to TIME]
//
// It reads the same environment as the pollers (KAFKA_BROKERS,
// SCHEMA_REGISTRY_URL, CHECKPOINT_TOPIC, the TLS and SASL settings, ...), so
// it points at the same Kafka and registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `auditctl: operate an auditstream installation

Usage:
  auditctl tail <topic> [--from-beginning] [-n N]
      Print the topic's values decoded with their schema from the registry,
      one JSON object per line. Without --from-beginning, only new messages.
      -n N stops after N messages.
  auditctl checkpoints list
      List every stream's checkpoint: records, position, cursor, update time.
  auditctl checkpoints reset <stream> [--to TIME]
      Without --to, delete the stream's checkpoint (a tombstone): the stream
      starts again at START_TIME. With --to (RFC 3339), move the stream so it
      resumes at TIME, inclusive. Stop the stream's poller first: a running
      poller keeps its position in memory and would overwrite the reset.

Environment (as for the pollers): KAFKA_BROKERS, KAFKA_TLS_ENABLED,
KAFKA_TLS_CA_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
KAFKA_SASL_PASSWORD(_FILE), SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_USERNAME,
SCHEMA_REGISTRY_PASSWORD(_FILE), CHECKPOINT_TOPIC.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command line that does not parse; run prints the usage.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "auditctl: %v\n", err)
		return 2
	}
	switch args[0] {
	case "tail":
		err = tail(ctx, cfg, args[1:], stdout)
	case "checkpoints":
		if len(args) < 2 {
			err = errUsage
			break
		}
		switch args[1] {
		case "list":
			err = listCheckpoints(ctx, cfg, stdout)
		case "reset":
			err = resetCheckpoint(ctx, cfg, args[2:], stdout)
		default:
			err = errUsage
		}
	default:
		err = errUsage
	}
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil && ctx.Err() != nil:
		return 0 // interrupted
	case err != nil:
		fmt.Fprintf(stderr, "auditctl: %v\n", err)
		return 1
	}
	return 0
}

// parseInterspersed parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
