package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/serde"
)

// ctlConfig is auditctl's configuration: the pollers' common settings.
type ctlConfig struct {
	config.Common
}

// Validate reports the common settings' problems.
func (c *ctlConfig) Validate() []string { return c.Common.Validate() }

func loadConfig() (*ctlConfig, error) {
	var c ctlConfig
	if err := config.Load(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// line is one tailed message as printed.
type line struct {
	Topic     string          `json:"topic"`
	Partition int             `json:"partition"`
	Offset    int64           `json:"offset"`
	Key       string          `json:"key,omitempty"`
	Time      time.Time       `json:"timestamp"`
	SchemaID  int             `json:"schema_id,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Error     string          `json:"error,omitempty"`
}

func tail(ctx context.Context, cfg *ctlConfig, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fromBeginning := fs.Bool("from-beginning", false, "read from the first offset")
	n := fs.Int("n", 0, "stop after N messages (0: never)")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 1 {
		return errUsage
	}
	topic := pos[0]

	kcfg := poller.KafkaConfig(&cfg.Common)
	dialer, err := kcfg.Dialer()
	if err != nil {
		return err
	}
	partitions, err := topicPartitions(ctx, kcfg, topic)
	if err != nil {
		return err
	}
	srCl, err := serde.NewClient(serde.Options{URL: cfg.SchemaRegistryURL, Username: cfg.SchemaRegistryUsername, Password: cfg.SchemaRegistryPassword})
	if err != nil {
		return err
	}
	dec := serde.NewDecoder(srCl)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan kafka.Message)
	errs := make(chan error, len(partitions))
	var wg sync.WaitGroup
	for _, p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   kcfg.Brokers,
			Topic:     topic,
			Partition: p,
			Dialer:    dialer,
			MaxWait:   500 * time.Millisecond,
		})
		start := kafka.LastOffset
		if *fromBeginning {
			start = kafka.FirstOffset
		}
		if err := r.SetOffset(start); err != nil {
			r.Close()
			return fmt.Errorf("seek %s/%d: %w", topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("read %s/%d: %w", topic, p, err)
					}
					return
				}
				select {
				case msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	enc := json.NewEncoder(out)
	printed := 0
	for *n == 0 || printed < *n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return err
		case m := <-msgs:
			l := line{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Time: m.Time.UTC()}
			switch {
			case m.Value == nil:
				l.Error = "tombstone"
			default:
				v, err := dec.DecodeToJSON(ctx, m.Value)
				if err != nil {
					l.Error = err.Error()
				} else {
					l.Value = v
					if id, _, err := (&sr.ConfluentHeader{}).DecodeID(m.Value); err == nil {
						l.SchemaID = id
					}
				}
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
			printed++
		}
	}
	return nil
}

func topicPartitions(ctx context.Context, cfg kafkax.Config, topic string) ([]int, error) {
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr}
	meta, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		if len(meta.Topics) == 1 {
			return nil, fmt.Errorf("topic %s: %w", topic, meta.Topics[0].Error)
		}
		return nil, fmt.Errorf("topic %s not found", topic)
	}
	var ids []int
	for _, p := range meta.Topics[0].Partitions {
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	return ids, nil
}

func openStore(ctx context.Context, cfg *ctlConfig) (*checkpoint.KafkaStore, error) {
	return checkpoint.NewKafkaStore(ctx, poller.KafkaConfig(&cfg.Common), cfg.CheckpointTopic)
}

func listCheckpoints(ctx context.Context, cfg *ctlConfig, out io.Writer) error {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	cps, err := store.List(ctx)
	if err != nil {
		return err
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Stream < cps[j].Stream })
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tTOPIC\tRECORDS\tPOSITION\tUPDATED\tCURSOR")
	for _, cp := range cps {
		pos := "-"
		if !cp.Position.IsZero() {
			pos = cp.Position.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", cp.Stream, cp.Topic, cp.Records, pos, cp.UpdatedAt.UTC().Format(time.RFC3339), cp.Cursor)
	}
	return tw.Flush()
}

func resetCheckpoint(ctx context.Context, cfg *ctlConfig, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "resume at this time (RFC 3339), inclusive")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 1 {
		return errUsage
	}
	stream := pos[0]
	var at time.Time
	if *to != "" {
		at, err = time.Parse(time.RFC3339Nano, *to)
		if err != nil {
			return fmt.Errorf("--to %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z: %w", *to, err)
		}
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	prev, err := store.Get(ctx, stream)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return unknownStream(ctx, store, stream)
	}
	if err != nil {
		return err
	}
	if *to == "" {
		if err := store.Reset(ctx, stream); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: checkpoint deleted; the stream starts again at START_TIME\n", stream)
		return nil
	}
	cp := checkpoint.Checkpoint{
		Stream:    stream,
		Cursor:    pipeline.TimeCursor(at),
		Position:  at.UTC(),
		UpdatedAt: time.Now().UTC(),
		Topic:     prev.Topic,
		Records:   prev.Records,
	}
	if err := store.Save(ctx, cp); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: resumes at %s\n", stream, at.UTC().Format(time.RFC3339Nano))
	return nil
}

// unknownStream is the error of a reset of a stream that has no
// checkpoint: a typo would otherwise report success and change nothing.
// It lists the streams that have one.
func unknownStream(ctx context.Context, store *checkpoint.KafkaStore, stream string) error {
	cps, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("%s has no checkpoint (listing the known streams failed: %w)", stream, err)
	}
	names := make([]string, 0, len(cps))
	for _, cp := range cps {
		names = append(names, cp.Stream)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("%s has no checkpoint, and no stream has one yet: nothing to reset", stream)
	}
	return fmt.Errorf("%s has no checkpoint: nothing to reset; the streams with one are:\n  %s", stream, strings.Join(names, "\n  "))
}
