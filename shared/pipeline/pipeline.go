package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/telemetry"
)

// Producer writes a batch of messages synchronously: it returns nil only when
// every message is acknowledged (acks=all). *kafka.Writer satisfies it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Encoder encodes values of one topic in the Confluent wire format.
// *serde.Encoder satisfies it.
type Encoder interface {
	AppendEncode(dst []byte, v any) ([]byte, error)
}

// Options are what a Runner needs besides its streams.
type Options struct {
	// Producer writes events and dead letters. Required.
	Producer Producer
	// Checkpoints stores each stream's cursor. Required.
	Checkpoints checkpoint.Store
	// Encoders maps each stream topic to its value encoder. Required.
	Encoders map[string]Encoder
	// DeadLetterTopic receives records that fail to normalize or encode.
	DeadLetterTopic string
	// DeadLetterEncoder encodes event.DeadLetter values. Required.
	DeadLetterEncoder Encoder
	// PollInterval is the wait after a stream has caught up. Default 1m.
	PollInterval time.Duration
	// RetryInitial and RetryMax bound the backoff between retries of a
	// failed fetch, produce or checkpoint. Defaults 1s and 1m. Retries go
	// on until the context ends: a poller waits out an outage.
	RetryInitial, RetryMax time.Duration
	// Metrics, when set, records the pipeline's metrics.
	Metrics *telemetry.PipelineMetrics
	// Health, when set, is told whether Kafka and the vendor answer.
	Health *telemetry.Health
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock defaults to time.Now; tests fix it.
	Clock func() time.Time
	// Discover, when set, finds streams while the runner runs (a vendor's
	// sets, say): it is called when Run starts and every DiscoverInterval,
	// and every stream it returns that is not running yet (by name) starts,
	// resuming from its checkpoint. Streams are never stopped by discovery.
	// An error is logged and retried at the next interval.
	Discover DiscoverFunc
	// DiscoverInterval is the time between discoveries. Default 5m.
	DiscoverInterval time.Duration
}

// DiscoverFunc returns the streams that should run now.
type DiscoverFunc func(ctx context.Context) ([]Stream, error)

// Runner runs streams until its context ends.
type Runner struct {
	opts    Options
	streams []Stream
	tracer  trace.Tracer
}

// New checks the options and returns a Runner for streams.
func New(opts Options, streams ...Stream) (*Runner, error) {
	var problems []string
	if opts.Producer == nil {
		problems = append(problems, "no producer")
	}
	if opts.Checkpoints == nil {
		problems = append(problems, "no checkpoint store")
	}
	if opts.DeadLetterEncoder == nil || opts.DeadLetterTopic == "" {
		problems = append(problems, "no dead-letter topic or encoder")
	}
	seen := map[string]bool{}
	for _, s := range streams {
		name := s.Source.Stream()
		if seen[name] {
			problems = append(problems, fmt.Sprintf("stream %q appears twice", name))
		}
		seen[name] = true
		problems = append(problems, opts.streamProblems(s)...)
	}
	if len(streams) == 0 && opts.Discover == nil {
		problems = append(problems, "no streams")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pipeline: %s", joinProblems(problems))
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Minute
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.DiscoverInterval <= 0 {
		opts.DiscoverInterval = 5 * time.Minute
	}
	return &Runner{opts: opts, streams: streams, tracer: otel.Tracer("github.com/auditstream/auditstream/shared/pipeline")}, nil
}

func joinProblems(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// Run runs every stream in its own goroutine until ctx ends, then waits for
// all of them. A page in flight when ctx ends is abandoned without moving its
// cursor. Run returns nil on a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	running := map[string]bool{}
	start := func(s Stream) {
		running[s.Source.Stream()] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runStream(ctx, s)
		}()
	}
	for _, s := range r.streams {
		start(s)
	}
	if r.opts.Discover != nil {
		r.discover(ctx, running, start)
	}
	wg.Wait()
	return nil
}

// discover runs the discovery loop until ctx ends, starting the streams it
// finds that are not running.
func (r *Runner) discover(ctx context.Context, running map[string]bool, start func(Stream)) {
	ticker := time.NewTicker(r.opts.DiscoverInterval)
	defer ticker.Stop()
	for {
		streams, err := r.opts.Discover(ctx)
		if r.opts.Health != nil && ctx.Err() == nil {
			r.opts.Health.Set(DiscoveryComponent, err)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.opts.Logger.Warn("stream discovery failed", "error", err, "retry_in", r.opts.DiscoverInterval)
		}
		for _, s := range streams {
			name := s.Source.Stream()
			if running[name] {
				continue
			}
			if p := r.opts.streamProblems(s); len(p) > 0 {
				r.opts.Logger.Error("discovered stream not started", "stream", name, "problems", joinProblems(p))
				running[name] = true // reported once
				continue
			}
			r.opts.Logger.Info("stream discovered", "stream", name)
			start(s)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// streamProblems lists what keeps s from running with these options.
func (o Options) streamProblems(s Stream) []string {
	var p []string
	name := s.Source.Stream()
	if s.Normalize == nil {
		p = append(p, fmt.Sprintf("stream %q has no normalizer", name))
	}
	if o.Encoders[s.Topic] == nil {
		p = append(p, fmt.Sprintf("stream %q: no encoder for topic %q", name, s.Topic))
	}
	return p
}

// streamState is one stream's position as the loop sees it.
type streamState struct {
	cursor  Cursor
	records int64
}

func (r *Runner) runStream(ctx context.Context, s Stream) {
	name := s.Source.Stream()
	log := r.opts.Logger.With("stream", name)
	var st streamState
	err := r.retry(ctx, name, "checkpoint", func() error {
		cp, err := r.opts.Checkpoints.Get(ctx, name)
		if errors.Is(err, checkpoint.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st.cursor, st.records = Cursor(cp.Cursor), cp.Records
		if r.opts.Metrics != nil && !cp.Position.IsZero() {
			r.opts.Metrics.SetPosition(name, cp.Position)
		}
		return nil
	})
	if err != nil {
		return // ctx ended
	}
	if r.opts.Health != nil {
		r.opts.Health.Expect(StreamComponent(name))
	}
	log.Info("stream started", "has_checkpoint", st.cursor != nil, "records", st.records)
	// One page of lookahead: while a page is produced and checkpointed, the
	// next one is fetched from its Next cursor.
	pending := r.startFetch(ctx, s, st.cursor)
	defer func() { <-pending }() // the fetch goroutine ends with ctx
	for ctx.Err() == nil {
		var done bool
		done, pending, err = r.cycle(ctx, s, &st, pending, log)
		if err != nil {
			if ctx.Err() == nil {
				// A permanent error: the stream cannot go on, the others
				// do. /readyz names it until the process restarts.
				log.Error("stream stopped on a permanent error", "error", err)
				r.streamHealth(ctx, name, err)
			}
			break
		}
		if done {
			select {
			case <-ctx.Done():
			case <-time.After(r.opts.PollInterval):
			}
			<-pending // a closed, empty channel after a Done page
			pending = r.startFetch(ctx, s, st.cursor)
		}
	}
	log.Info("stream stopped", "records", st.records)
}

// fetched is the outcome of one Fetch and its retries.
type fetched struct {
	page Page
	took time.Duration
	err  error // only ctx's error: fetches are retried until ctx ends
}

// startFetch fetches the page after cur in a goroutine, retrying until it
// succeeds or ctx ends, and delivers the outcome on the returned channel.
func (r *Runner) startFetch(ctx context.Context, s Stream, cur Cursor) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		var f fetched
		start := r.opts.Clock()
		f.err = r.retry(ctx, s.Source.Stream(), "fetch", func() error {
			p, err := s.Source.Fetch(ctx, cur)
			if ctx.Err() == nil {
				if err == nil && p.Refused != nil {
					r.streamHealth(ctx, s.Source.Stream(), p.Refused)
				} else {
					r.streamHealth(ctx, s.Source.Stream(), err)
				}
			}
			if err != nil {
				return err
			}
			f.page = p
			return nil
		})
		f.took = r.opts.Clock().Sub(start)
		ch <- f
	}()
	return ch
}

// idleFetch is the pending fetch after a Done page: nothing is fetched
// until the poll interval has passed.
var idleFetch = func() <-chan fetched {
	ch := make(chan fetched)
	close(ch)
	return ch
}()

// cycle produces and checkpoints the page pending delivers, starting the
// fetch of the page after it first. It returns done when the stream has
// caught up, the next pending fetch, and an error only when ctx ended.
func (r *Runner) cycle(ctx context.Context, s Stream, st *streamState, pending <-chan fetched, log *slog.Logger) (done bool, next <-chan fetched, err error) {
	name := s.Source.Stream()
	ctx, span := r.tracer.Start(ctx, "poll "+name, trace.WithAttributes(attribute.String("auditstream.stream", name)))
	defer span.End()
	streamAttr := metric.WithAttributes(attribute.String("stream", name))

	f := <-pending
	if f.err != nil {
		span.SetStatus(codes.Error, "stopped during fetch")
		return false, idleFetch, f.err
	}
	page := f.page
	if !page.Done && len(page.Records) == 0 && len(page.DeadLetters) == 0 && bytes.Equal(page.Next, st.cursor) {
		// A page that moves nothing and says there is more would have the
		// stream hammer the vendor in a tight loop: wait instead.
		log.Warn("source made no progress, waiting the poll interval")
		page.Done = true
	}
	next = idleFetch
	if !page.Done {
		next = r.startFetch(ctx, s, page.Next)
	}
	if m := r.opts.Metrics; m != nil {
		m.FetchDuration.Record(ctx, f.took.Seconds(), streamAttr)
		m.RecordsFetched.Add(ctx, int64(len(page.Records)), streamAttr)
	}

	observed := r.opts.Clock().UTC()
	msgs, produced, dead, err := r.messages(s, page, st.cursor, observed, log)
	if err != nil {
		span.SetStatus(codes.Error, "dead letter not encodable")
		return false, next, err
	}
	span.SetAttributes(attribute.Int("auditstream.records", len(page.Records)), attribute.Int("auditstream.dead_letters", dead))

	if len(msgs) > 0 {
		if err := r.produce(ctx, name, msgs); err != nil {
			span.SetStatus(codes.Error, "stopped before the page was acknowledged")
			log.Info("page abandoned", "records", len(msgs), "reason", "shutdown before acknowledgement")
			return false, next, err
		}
		if m := r.opts.Metrics; m != nil {
			m.RecordsProduced.Add(ctx, int64(produced), metric.WithAttributes(attribute.String("stream", name), attribute.String("topic", s.Topic)))
			m.RecordsDeadLettered.Add(ctx, int64(dead), streamAttr)
			m.PagesProduced.Add(ctx, 1, streamAttr)
		}
	}

	if !bytes.Equal(page.Next, st.cursor) {
		cp := checkpoint.Checkpoint{
			Stream:    name,
			Cursor:    append([]byte(nil), page.Next...),
			Position:  page.Position,
			UpdatedAt: r.opts.Clock().UTC(),
			Topic:     s.Topic,
			Records:   st.records + int64(produced),
		}
		if err := r.saveCheckpoint(ctx, cp); err != nil {
			span.SetStatus(codes.Error, "stopped before the checkpoint was saved")
			return false, next, err
		}
		st.cursor = cp.Cursor
		st.records = cp.Records
	}
	if r.opts.Metrics != nil && !page.Position.IsZero() {
		r.opts.Metrics.SetPosition(name, page.Position)
	}
	if produced > 0 || dead > 0 {
		log.Debug("page produced", "records", produced, "dead_letters", dead, "done", page.Done)
	}
	return page.Done, next, nil
}

// messages normalizes and encodes a page. Records that fail go to the
// dead-letter topic with the reason; they never stop the page. Large pages
// are normalized and encoded by several goroutines (normalizers are pure and
// encoders safe for concurrent use); the messages keep the page's order.
func (r *Runner) messages(s Stream, page Page, cur Cursor, observed time.Time, log *slog.Logger) (msgs []kafka.Message, produced, dead int, err error) {
	name := s.Source.Stream()
	results := make([]encoded, len(page.Records))
	r.encodeAll(s, page.Records, observed, results)

	msgs = make([]kafka.Message, 0, len(page.Records)+len(page.DeadLetters))
	var first *event.DeadLetter
	deadLetter := func(stage event.Stage, reason string, raw []byte) error {
		dl := &event.DeadLetter{
			Vendor:       s.Vendor,
			Stream:       name,
			TenantID:     s.Tenant,
			Topic:        s.Topic,
			Stage:        stage,
			Reason:       reason,
			ObservedTime: observed,
			Raw:          raw,
		}
		if len(cur) > 0 {
			c := string(cur)
			dl.Cursor = &c
		}
		value, err := r.opts.DeadLetterEncoder.AppendEncode(nil, dl)
		if err != nil {
			// The dead-letter schema is ours: this is a bug, not bad
			// input. Writing something else to an Avro topic would break
			// its consumers, and dropping the record would lose it.
			return fmt.Errorf("encode the dead letter of a record (stage %s, reason %q): %w", stage, reason, err)
		}
		if first == nil {
			first = dl
		}
		msgs = append(msgs, kafka.Message{Topic: r.opts.DeadLetterTopic, Key: []byte(name), Value: value})
		dead++
		return nil
	}
	for i, res := range results {
		if res.err != nil {
			if err := deadLetter(res.stage, res.err.Error(), page.Records[i].Raw); err != nil {
				return nil, 0, 0, backoff.Permanent(err)
			}
			continue
		}
		msgs = append(msgs, kafka.Message{Topic: s.Topic, Key: res.key, Value: res.value})
		produced++
	}
	for _, d := range page.DeadLetters {
		if err := deadLetter(event.StageFetch, d.Reason, d.Raw); err != nil {
			return nil, 0, 0, backoff.Permanent(err)
		}
	}
	if first != nil {
		// One line a page, however many records it dead-letters: the
		// first reason stands for them; the topic holds every one.
		log.Warn("records dead-lettered", "records", dead, "stage", string(first.Stage), "reason", first.Reason)
	}
	return msgs, produced, dead, nil
}

// encoded is one record after normalize and encode: its key and value, or
// the stage that failed and why.
type encoded struct {
	key, value []byte
	stage      event.Stage
	err        error
}

// parallelMin is the page size from which encodeAll splits the work.
const parallelMin = 128

// encodeAll fills out[i] with records[i] normalized and encoded. Keys and
// values of one worker share a buffer (capped sub-slices, so none can
// overwrite another): a page costs a few allocations, not two per record.
func (r *Runner) encodeAll(s Stream, records []Record, observed time.Time, out []encoded) {
	enc := r.opts.Encoders[s.Topic]
	one := func(i int, buf []byte) []byte {
		ev, err := s.Normalize(records[i], observed)
		if err != nil {
			out[i] = encoded{stage: event.StageNormalize, err: err}
			return buf
		}
		start := len(buf)
		buf = append(buf, ev.Key()...)
		keyEnd := len(buf)
		buf, err = enc.AppendEncode(buf, ev)
		if err != nil {
			out[i] = encoded{stage: event.StageEncode, err: err}
			return buf[:start]
		}
		out[i] = encoded{key: buf[start:keyEnd:keyEnd], value: buf[keyEnd:len(buf):len(buf)]}
		return buf
	}
	run := func(lo, hi int) {
		buf := make([]byte, 0, (hi-lo)*encodedSizeHint)
		for i := lo; i < hi; i++ {
			buf = one(i, buf)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(records)/(parallelMin/2))
	if workers <= 1 {
		run(0, len(records))
		return
	}
	var wg sync.WaitGroup
	chunk := (len(records) + workers - 1) / workers
	for lo := 0; lo < len(records); lo += chunk {
		hi := min(lo+chunk, len(records))
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(lo, hi)
		}()
	}
	wg.Wait()
}

// encodedSizeHint is a typical encoded event with its key, in bytes: the
// initial buffer per record. A bigger event only grows the buffer.
const encodedSizeHint = 1024

// produce writes the page with one synchronous call, retrying until Kafka
// acknowledges it or ctx ends.
func (r *Runner) produce(ctx context.Context, name string, msgs []kafka.Message) error {
	ctx, span := r.tracer.Start(ctx, "produce", trace.WithAttributes(attribute.Int("messaging.batch.message_count", len(msgs))))
	defer span.End()
	return r.retry(ctx, name, "produce", func() error {
		start := r.opts.Clock()
		err := r.opts.Producer.WriteMessages(ctx, msgs...)
		if r.opts.Health != nil && ctx.Err() == nil {
			r.opts.Health.Set("kafka", err)
		}
		if m := r.opts.Metrics; m != nil && err == nil {
			m.ProduceDuration.Record(ctx, r.opts.Clock().Sub(start).Seconds(), metric.WithAttributes(attribute.String("stream", name)))
		}
		return err
	})
}

// saveCheckpoint saves cp, retrying. The page is already acknowledged, so a
// shutdown arriving now still gets a few seconds to record it: that spares a
// replay of the page after the restart.
func (r *Runner) saveCheckpoint(ctx context.Context, cp checkpoint.Checkpoint) error {
	err := r.retry(ctx, cp.Stream, "checkpoint", func() error {
		return r.opts.Checkpoints.Save(ctx, cp)
	})
	if err == nil || ctx.Err() == nil {
		return err
	}
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.opts.Checkpoints.Save(final, cp); err != nil {
		r.opts.Logger.Warn("final checkpoint not saved", "stream", cp.Stream, "error", err)
		return ctx.Err()
	}
	return ctx.Err()
}

// retry calls op until it succeeds or ctx ends, logging and counting each
// retry of the stream's stage. It returns nil or ctx's error.
func (r *Runner) retry(ctx context.Context, name, stage string, op func() error) error {
	failed := false
	err := Retry(ctx, r.opts.RetryInitial, r.opts.RetryMax, op, func(err error, attempt int, wait time.Duration) {
		// One line when a stage starts failing and one when it recovers,
		// not one per retry (debug has them all; the counter counts them).
		level := slog.LevelDebug
		if !failed {
			failed, level = true, slog.LevelWarn
		}
		r.opts.Logger.Log(ctx, level, "stage failed, retrying", "stream", name, "stage", stage, "attempt", attempt, "wait", wait, "error", err)
		if m := r.opts.Metrics; m != nil {
			m.Retries.Add(ctx, 1, metric.WithAttributes(attribute.String("stream", name), attribute.String("stage", stage)))
		}
	})
	if failed && err == nil {
		r.opts.Logger.Info("stage recovered", "stream", name, "stage", stage)
	}
	return err
}

// Retry calls op until it succeeds, returns a backoff.Permanent error, or
// ctx ends, waiting with exponential backoff and jitter (initial to max)
// between attempts and calling notify before each wait. It is the one
// unbounded retry loop of the product: an outage is waited out. It returns
// nil, ctx's error, or the permanent error.
func Retry(ctx context.Context, initial, max time.Duration, op func() error, notify func(err error, attempt int, wait time.Duration)) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = initial
	b.MaxInterval = max
	b.MaxElapsedTime = 0 // retry until ctx ends
	attempt := 0
	err := backoff.RetryNotify(func() error {
		err := op()
		if err != nil && ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		return err
	}, backoff.WithContext(b, ctx), func(err error, wait time.Duration) {
		attempt++
		if notify != nil {
			notify(err, attempt, wait)
		}
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// DiscoveryComponent is the health component of stream discovery.
const DiscoveryComponent = "discovery"

// StreamComponent is the health component of a stream: "stream <name>".
// It is ready once the stream's last fetch succeeded and was not refused.
func StreamComponent(stream string) string { return "stream " + stream }

// streamHealth records the outcome of a stream's latest fetch (nil: up) in
// the health and the stream-up gauge, logging the change of state once.
func (r *Runner) streamHealth(ctx context.Context, name string, err error) {
	if r.opts.Health != nil {
		r.opts.Health.Set(StreamComponent(name), err)
	}
	if m := r.opts.Metrics; m != nil {
		m.SetStreamUp(name, err)
	}
}
