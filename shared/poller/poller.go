// Package poller wires a vendor's streams to Kafka: it is everything a
// poller's main does besides building its vendor sources. Main handles the
// command line, configuration, signals and exit codes; Run is the in-process
// entry point that tests and the dev stack use.
package poller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/telemetry"
)

// Env is what a vendor's Build function gets from the runner.
type Env struct {
	// Common is the loaded common configuration.
	Common *config.Common
	// Logger is the service's logger.
	Logger *slog.Logger
	// Start is where a stream with no checkpoint begins (START_TIME).
	Start time.Time
}

// BuildFunc builds a vendor's streams. It must not do network I/O: the
// runner reaches Kafka and the registry first, and the vendor is reached by
// the first fetch (with retries).
type BuildFunc func(env Env) ([]pipeline.Stream, error)

// Service describes one poller binary.
type Service struct {
	// Name is the binary's name, e.g. "poller-plm".
	Name string
	// Description is one paragraph for -help.
	Description string
	// Config is a pointer to the service's configuration struct, which
	// embeds config.Common.
	Config config.Spec
	// Common points at the config.Common embedded in Config.
	Common *config.Common
	// Build builds the streams from the loaded configuration.
	Build BuildFunc
	// WrapCheckpoints, when set, wraps the checkpoint store the pipeline
	// uses. Tests inject faults with it (a crash between produce and
	// checkpoint); production leaves it nil.
	WrapCheckpoints func(checkpoint.Store) checkpoint.Store
	// Discover, when set, builds the service's stream discovery: streams
	// found while it runs (a vendor's sets, say), each with its own
	// checkpoint. Like Build, it must not do network I/O itself.
	Discover func(env Env) (*Discovery, error)
	// Shutdown, when set, runs once the streams have stopped (after
	// SIGINT or SIGTERM, or a failed start), with ShutdownTimeout to do
	// its work: a vendor session's logout, say. Its error is logged.
	Shutdown func(ctx context.Context) error
}

// ShutdownTimeout bounds Service.Shutdown.
const ShutdownTimeout = 10 * time.Second

// Discovery finds streams while a service runs.
type Discovery struct {
	// Find returns the streams that should run now; it may call the vendor.
	// It is called at start and every Interval.
	Find pipeline.DiscoverFunc
	// Interval is the time between calls to Find. Default 5m.
	Interval time.Duration
	// Outputs are the topics discovered streams write to, with their
	// schemas: they are created and registered at start.
	Outputs []Output
}

// Output is a topic and the contract of its values.
type Output struct {
	Topic  string
	Schema event.Schema
}

// Main runs the service as a process: it parses the command line, loads and
// validates the configuration (listing every problem), runs until SIGINT or
// SIGTERM and exits. It never returns.
func Main(svc Service) {
	os.Exit(run(svc, os.Args[1:], os.Stdout, os.Stderr))
}

func run(svc Service, args []string, stdout, stderr io.Writer) int {
	flags, err := config.ParseFlags(svc.Name, svc.Description, args, svc.Config, stdout, stderr)
	if err != nil {
		return 2
	}
	if flags.Exit {
		return flags.Code
	}
	if err := config.Load(svc.Config); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", svc.Name, err)
		return 2
	}
	if flags.Healthcheck {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := telemetry.Healthcheck(ctx, svc.Common.HTTPAddr); err != nil {
			fmt.Fprintf(stderr, "%s: not ready: %v\n", svc.Name, err)
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, svc); err != nil {
		slog.Error("poller failed", "error", err)
		return 1
	}
	return 0
}

// Run runs the service until ctx ends, with svc.Config already loaded. It
// returns nil after a clean stop, or the error that kept it from starting.
func Run(ctx context.Context, svc Service) error {
	err := run1(ctx, svc)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// run1 is Run; errStopped means ctx ended before the pipeline started.
func run1(ctx context.Context, svc Service) error {
	c := svc.Common
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceName: svc.Name, Version: config.Version, Level: c.SlogLevel()})
	if err != nil {
		return fmt.Errorf("set up telemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx)
	}()
	log := tel.Logger()

	env := Env{Common: c, Logger: log, Start: c.Start(time.Now())}
	streams, err := svc.Build(env)
	if err != nil {
		return fmt.Errorf("build streams: %w", err)
	}
	if svc.Shutdown != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
			defer cancel()
			if err := svc.Shutdown(sctx); err != nil {
				log.Warn("shutdown of the vendor session failed", "error", err)
			}
		}()
	}
	var discovery *Discovery
	if svc.Discover != nil {
		if discovery, err = svc.Discover(env); err != nil {
			return fmt.Errorf("build stream discovery: %w", err)
		}
	}
	// outputs are the topics the service writes, each once.
	var outputs []Output
	seen := map[string]bool{}
	addOutput := func(o Output) {
		if !seen[o.Topic] {
			seen[o.Topic] = true
			outputs = append(outputs, o)
		}
	}
	for _, s := range streams {
		addOutput(Output{Topic: s.Topic, Schema: s.Schema})
	}
	if discovery != nil {
		for _, o := range discovery.Outputs {
			addOutput(o)
		}
	}

	// Each stream adds its own component when it starts (pipeline.StreamComponent).
	health := telemetry.NewHealth(telemetry.ComponentKafka, telemetry.ComponentRegistry)
	srv := telemetry.NewServer(c.HTTPAddr, tel, health)
	if err := srv.Start(); err != nil {
		return fmt.Errorf("serve %s: %w", c.HTTPAddr, err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	kcfg := KafkaConfig(c)
	topics := []kafkax.TopicSpec{
		kafkax.CheckpointTopicSpec(c.CheckpointTopic, c.KafkaReplicationFactor),
		{Name: c.DeadletterTopic, Partitions: c.KafkaTopicPartitions, ReplicationFactor: c.KafkaReplicationFactor},
	}
	for _, o := range outputs {
		topics = append(topics, kafkax.TopicSpec{Name: o.Topic, Partitions: c.KafkaTopicPartitions, ReplicationFactor: c.KafkaReplicationFactor})
	}
	log.Info("connecting to kafka", "brokers", c.KafkaBrokers, "topics", len(topics))
	if err := waitFor(ctx, log, "kafka", health, func() error { return kafkax.EnsureTopics(ctx, kcfg, topics...) }); err != nil {
		return err
	}

	srClient, err := serde.NewClient(serde.Options{URL: c.SchemaRegistryURL, Username: c.SchemaRegistryUsername, Password: c.SchemaRegistryPassword})
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	encoders := map[string]pipeline.Encoder{}
	var dlEncoder *serde.Encoder
	err = waitFor(ctx, log, "registry", health, func() error {
		for _, o := range outputs {
			if encoders[o.Topic] != nil {
				continue
			}
			enc, err := serde.Register(ctx, srClient, o.Topic, o.Schema.Text, o.Schema.Example)
			if err != nil {
				return permanentIfRejected(err)
			}
			encoders[o.Topic] = enc
		}
		if dlEncoder == nil {
			enc, err := serde.Register(ctx, srClient, c.DeadletterTopic, event.DeadLetterSchema.Text, event.DeadLetterSchema.Example)
			if err != nil {
				return permanentIfRejected(err)
			}
			dlEncoder = enc
		}
		return nil
	})
	if err != nil {
		return err
	}

	var store *checkpoint.KafkaStore
	if err := waitFor(ctx, log, "kafka", health, func() error {
		s, err := checkpoint.NewKafkaStore(ctx, kcfg, c.CheckpointTopic)
		store = s
		return err
	}); err != nil {
		return err
	}
	defer store.Close()

	writer, err := kafkax.NewWriter(kcfg, "", writerBatch)
	if err != nil {
		return fmt.Errorf("kafka writer: %w", err)
	}
	defer writer.Close()

	metrics, err := telemetry.NewPipelineMetrics()
	if err != nil {
		return fmt.Errorf("pipeline metrics: %w", err)
	}
	var checkpoints checkpoint.Store = store
	if svc.WrapCheckpoints != nil {
		checkpoints = svc.WrapCheckpoints(store)
	}
	opts := pipeline.Options{
		Producer:          writer,
		Checkpoints:       checkpoints,
		Encoders:          encoders,
		DeadLetterTopic:   c.DeadletterTopic,
		DeadLetterEncoder: dlEncoder,
		PollInterval:      c.PollInterval,
		Metrics:           metrics,
		Health:            health,
		Logger:            log,
	}
	if discovery != nil {
		opts.Discover, opts.DiscoverInterval = discovery.Find, discovery.Interval
	}
	runner, err := pipeline.New(opts, streams...)
	if err != nil {
		return err
	}
	log.Info("poller running", "streams", len(streams), "version", config.Version)
	err = runner.Run(ctx)
	log.Info("poller stopped")
	return err
}

// writerBatch is the writer's batch size: one vendor page (at most 1000
// records for every vendor so far) plus its dead letters goes out in one
// batch per partition.
const writerBatch = 2000

// KafkaConfig turns the common settings into a kafkax.Config.
func KafkaConfig(c *config.Common) kafkax.Config {
	return kafkax.Config{
		Brokers:       c.KafkaBrokers,
		TLSEnabled:    c.KafkaTLSEnabled,
		TLSCAFile:     c.KafkaTLSCAFile,
		SASLMechanism: c.KafkaSASLMechanism,
		SASLUsername:  c.KafkaSASLUsername,
		SASLPassword:  c.KafkaSASLPassword,
		Compression:   c.KafkaCompression,
	}
}

// waitFor retries op with backoff until it succeeds, fails permanently or
// ctx ends, reporting each failure to health and the log.
func waitFor(ctx context.Context, log *slog.Logger, component string, health *telemetry.Health, op func() error) error {
	failed := false
	err := pipeline.Retry(ctx, 500*time.Millisecond, 30*time.Second, func() error {
		err := op()
		health.Set(component, err)
		return err
	}, func(err error, attempt int, wait time.Duration) {
		// One warning when it goes down, one line when it is back.
		level := slog.LevelDebug
		if !failed {
			failed, level = true, slog.LevelWarn
		}
		log.Log(ctx, level, "dependency unavailable, retrying", "component", component, "attempt", attempt, "wait", wait, "error", err)
	})
	if failed && err == nil {
		log.Info("dependency reachable again", "component", component)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while waiting: a clean stop, not a failure.
			return errStopped
		}
		return fmt.Errorf("%s: %w", component, err)
	}
	return nil
}

// errStopped reports that the service was stopped before it started.
var errStopped = errors.New("stopped during start")

// permanentIfRejected stops retrying when the registry rejected the schema
// (invalid or incompatible): waiting will not fix that.
func permanentIfRejected(err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 409 || re.StatusCode == 422 || re.StatusCode == 401 || re.StatusCode == 403) {
		return backoff.Permanent(err)
	}
	return err
}

var _ pipeline.Producer = (*kafka.Writer)(nil)
