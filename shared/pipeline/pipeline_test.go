package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/telemetry"
)

// listSource serves records 0..n-1 in pages of size; its cursor is the next
// index as JSON. Records whose index is in bad carry a value the normalizer
// rejects.
type listSource struct {
	n, size   int
	bad       map[int]bool
	mu        sync.Mutex
	failFetch int // fail this many fetches first
	fetches   int
}

func (s *listSource) Stream() string { return "test/list" }

func (s *listSource) Fetch(ctx context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	s.mu.Lock()
	s.fetches++
	if s.failFetch > 0 {
		s.failFetch--
		s.mu.Unlock()
		return pipeline.Page{}, errors.New("vendor unavailable")
	}
	s.mu.Unlock()
	next := 0
	if cur != nil {
		if err := json.Unmarshal(cur, &next); err != nil {
			return pipeline.Page{}, err
		}
	}
	var p pipeline.Page
	for i := next; i < next+s.size && i < s.n; i++ {
		raw := []byte(fmt.Sprintf(`{"i":%d}`, i))
		if s.bad[i] {
			p.Records = append(p.Records, pipeline.Record{Raw: raw, Value: -1})
			continue
		}
		p.Records = append(p.Records, pipeline.Record{Raw: raw, Value: i})
	}
	end := min(next+s.size, s.n)
	p.Next, _ = json.Marshal(end)
	p.Done = end == s.n
	p.Position = time.Unix(int64(end), 0)
	return p, nil
}

func normalize(rec pipeline.Record, observed time.Time) (event.Event, error) {
	i := rec.Value.(int)
	if i < 0 {
		return nil, errors.New("record is not usable")
	}
	return &event.AuditEvent{EventID: strconv.Itoa(i), EventTime: time.Unix(int64(i), 0), ObservedTime: observed}, nil
}

// textEncoder "encodes" an event as its id, and a dead letter as its reason.
type textEncoder struct{}

func (textEncoder) AppendEncode(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case *event.AuditEvent:
		return append(dst, v.EventID...), nil
	case *event.DeadLetter:
		return append(dst, string(v.Stage)+":"+v.Reason+":"+string(v.Raw)...), nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// memProducer records acknowledged messages. It can fail writes, or block
// until the context ends.
type memProducer struct {
	mu       sync.Mutex
	msgs     []kafka.Message
	failNext int
	block    bool
	onWrite  func()
}

func (p *memProducer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	if p.block {
		p.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	if p.failNext > 0 {
		p.failNext--
		p.mu.Unlock()
		return errors.New("broker unavailable")
	}
	p.msgs = append(p.msgs, msgs...)
	hook := p.onWrite
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (p *memProducer) byTopic(topic string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs {
		if m.Topic == topic {
			out = append(out, string(m.Value))
		}
	}
	return out
}

// failingStore fails Save on demand, to stop a run between produce and
// checkpoint as a crash would.
type failingStore struct {
	checkpoint.Store
	save func(cp checkpoint.Checkpoint) error
}

func (s *failingStore) Save(ctx context.Context, cp checkpoint.Checkpoint) error {
	if s.save != nil {
		if err := s.save(cp); err != nil {
			return err
		}
	}
	return s.Store.Save(ctx, cp)
}

func newRunner(t *testing.T, src pipeline.Source, prod pipeline.Producer, store checkpoint.Store) *pipeline.Runner {
	t.Helper()
	r, err := pipeline.New(pipeline.Options{
		Producer:          prod,
		Checkpoints:       store,
		Encoders:          map[string]pipeline.Encoder{"out": textEncoder{}},
		DeadLetterTopic:   "dlq",
		DeadLetterEncoder: textEncoder{},
		PollInterval:      time.Hour,
		RetryInitial:      time.Millisecond,
		RetryMax:          5 * time.Millisecond,
	}, pipeline.Stream{Source: src, Normalize: normalize, Topic: "out", Vendor: "test", Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntil runs r until cond holds (checked every millisecond), then stops it.
func runUntil(t *testing.T, r *pipeline.Runner, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-deadline:
			cancel()
			<-done
			t.Fatal("condition not reached in 10s")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func savedCursor(t *testing.T, store checkpoint.Store) int {
	t.Helper()
	cp, err := store.Get(context.Background(), "test/list")
	if errors.Is(err, checkpoint.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := json.Unmarshal(cp.Cursor, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunDeliversEveryRecordInOrderAndCheckpoints(t *testing.T) {
	src := &listSource{n: 95, size: 10, failFetch: 3}
	prod := &memProducer{failNext: 2}
	store := checkpoint.NewMemoryStore()
	r := newRunner(t, src, prod, store)
	runUntil(t, r, func() bool { return savedCursor(t, store) == 95 })

	got := prod.byTopic("out")
	if len(got) != 95 {
		t.Fatalf("produced %d records, want 95", len(got))
	}
	for i, v := range got {
		if v != strconv.Itoa(i) {
			t.Fatalf("record %d = %s: order broken", i, v)
		}
	}
	cp, err := store.Get(context.Background(), "test/list")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Records != 95 || cp.Topic != "out" || !cp.Position.Equal(time.Unix(95, 0)) {
		t.Fatalf("checkpoint = %+v", cp)
	}
}

func TestRunDeadLettersBadRecordsAndCompletesThePage(t *testing.T) {
	src := &listSource{n: 20, size: 10, bad: map[int]bool{3: true, 15: true}}
	prod := &memProducer{}
	store := checkpoint.NewMemoryStore()
	r := newRunner(t, src, prod, store)
	runUntil(t, r, func() bool { return savedCursor(t, store) == 20 })

	if got := len(prod.byTopic("out")); got != 18 {
		t.Fatalf("produced %d good records, want 18", got)
	}
	dl := prod.byTopic("dlq")
	want := []string{`NORMALIZE:record is not usable:{"i":3}`, `NORMALIZE:record is not usable:{"i":15}`}
	if fmt.Sprint(dl) != fmt.Sprint(want) {
		t.Fatalf("dead letters = %q, want %q", dl, want)
	}
}

func TestCursorNeverAdvancesPastAnUnacknowledgedPage(t *testing.T) {
	src := &listSource{n: 50, size: 10}
	prod := &memProducer{block: true}
	store := checkpoint.NewMemoryStore()
	r := newRunner(t, src, prod, store)
	runUntil(t, r, func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.fetches >= 1
	})
	if n := savedCursor(t, store); n != 0 {
		t.Fatalf("cursor advanced to %d although no page was acknowledged", n)
	}
}

// TestCrashBetweenProduceAndCheckpointReplaysOnlyThatPage stops the run
// after Kafka acknowledged page 3 but before its checkpoint was saved, then
// restarts from the store: nothing is lost, and only page 3 repeats.
func TestCrashBetweenProduceAndCheckpointReplaysOnlyThatPage(t *testing.T) {
	src := &listSource{n: 60, size: 10}
	prod := &memProducer{}
	mem := checkpoint.NewMemoryStore()
	var crashed atomic.Bool
	store := &failingStore{Store: mem, save: func(cp checkpoint.Checkpoint) error {
		var n int
		_ = json.Unmarshal(cp.Cursor, &n)
		if n >= 30 || crashed.Load() {
			// From here on the process is "dead": no save lands.
			crashed.Store(true)
			return errors.New("process killed")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunner(t, src, prod, store)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for {
		prod.mu.Lock()
		n := len(prod.msgs)
		prod.mu.Unlock()
		if crashed.Load() && n >= 30 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel() // the "crash": the checkpoint of page 3 never landed
	<-done
	if n := savedCursor(t, mem); n != 20 {
		t.Fatalf("checkpoint after crash = %d, want 20", n)
	}

	r2 := newRunner(t, src, prod, mem)
	runUntil(t, r2, func() bool { return savedCursor(t, mem) == 60 })
	got := prod.byTopic("out")
	counts := map[string]int{}
	for _, v := range got {
		counts[v]++
	}
	for i := range 60 {
		c := counts[strconv.Itoa(i)]
		switch {
		case c == 0:
			t.Fatalf("record %d lost", i)
		case c > 1 && (i < 20 || i >= 30):
			t.Fatalf("record %d duplicated outside the page in flight", i)
		}
	}
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := pipeline.New(pipeline.Options{}, pipeline.Stream{Source: &listSource{}, Topic: "x"})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"no producer", "no checkpoint store", "no dead-letter", "no normalizer", "no encoder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestLargePagesKeepOrderAcrossWorkers covers pages big enough to be
// normalized by several goroutines: the order and the dead letters are the
// same as for a serial run.
func TestLargePagesKeepOrderAcrossWorkers(t *testing.T) {
	bad := map[int]bool{0: true, 257: true, 999: true, 1500: true}
	src := &listSource{n: 2000, size: 1000, bad: bad}
	prod := &memProducer{}
	store := checkpoint.NewMemoryStore()
	r := newRunner(t, src, prod, store)
	runUntil(t, r, func() bool { return savedCursor(t, store) == 2000 })

	got := prod.byTopic("out")
	if len(got) != 2000-len(bad) {
		t.Fatalf("produced %d records, want %d", len(got), 2000-len(bad))
	}
	j := 0
	for i := range 2000 {
		if bad[i] {
			continue
		}
		if got[j] != strconv.Itoa(i) {
			t.Fatalf("record %d = %s: order broken", j, got[j])
		}
		j++
	}
	dl := prod.byTopic("dlq")
	want := []string{`NORMALIZE:record is not usable:{"i":0}`, `NORMALIZE:record is not usable:{"i":257}`, `NORMALIZE:record is not usable:{"i":999}`, `NORMALIZE:record is not usable:{"i":1500}`}
	if fmt.Sprint(dl) != fmt.Sprint(want) {
		t.Fatalf("dead letters = %q, want %q", dl, want)
	}
}

// namedSource is a listSource with its own stream name.
type namedSource struct {
	*listSource
	name string
}

func (s namedSource) Stream() string { return s.name }

// TestDiscoverStartsStreamsFoundLater runs a runner with no static stream:
// discovery finds one stream, then a second one at a later call, and both
// deliver every record from their own checkpoints.
func TestDiscoverStartsStreamsFoundLater(t *testing.T) {
	a := namedSource{&listSource{n: 30, size: 10}, "test/a"}
	b := namedSource{&listSource{n: 20, size: 10}, "test/b"}
	orphan := namedSource{&listSource{n: 5, size: 5}, "test/orphan"}
	var calls atomic.Int32
	discover := func(ctx context.Context) ([]pipeline.Stream, error) {
		mk := func(s pipeline.Source, topic string) pipeline.Stream {
			return pipeline.Stream{Source: s, Normalize: normalize, Topic: topic, Vendor: "test", Tenant: "t1"}
		}
		switch calls.Add(1) {
		case 1:
			return []pipeline.Stream{mk(a, "out")}, nil
		case 2:
			return nil, errors.New("vendor unavailable")
		default:
			return []pipeline.Stream{mk(a, "out"), mk(b, "out"), mk(orphan, "no-such-topic")}, nil
		}
	}
	prod := &memProducer{}
	store := checkpoint.NewMemoryStore()
	r, err := pipeline.New(pipeline.Options{
		Producer:          prod,
		Checkpoints:       store,
		Encoders:          map[string]pipeline.Encoder{"out": textEncoder{}},
		DeadLetterTopic:   "dlq",
		DeadLetterEncoder: textEncoder{},
		PollInterval:      time.Hour,
		RetryInitial:      time.Millisecond,
		Discover:          discover,
		DiscoverInterval:  5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	saved := func(stream string) bool {
		_, err := store.Get(context.Background(), stream)
		return err == nil
	}
	runUntil(t, r, func() bool { return len(prod.byTopic("out")) == 50 && saved("test/a") && saved("test/b") })
	if saved("test/orphan") {
		t.Fatal("a stream without an encoder for its topic ran")
	}
}

// stuckSource never moves its cursor yet never says it is done.
type stuckSource struct{ fetches atomic.Int32 }

func (s *stuckSource) Stream() string { return "test/stuck" }

func (s *stuckSource) Fetch(context.Context, pipeline.Cursor) (pipeline.Page, error) {
	s.fetches.Add(1)
	return pipeline.Page{Next: pipeline.Cursor(`{"last":"2026-01-01T00:00:00Z"}`)}, nil
}

// TestNoProgressWaitsThePollInterval keeps a source that makes no progress
// from being fetched in a tight loop.
func TestNoProgressWaitsThePollInterval(t *testing.T) {
	src := &stuckSource{}
	store := checkpoint.NewMemoryStore()
	r := newRunner(t, src, &memProducer{}, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	// The first fetch moves the cursor (nil → the stuck value); the second
	// moves nothing and the stream waits the hour-long poll interval.
	if n := src.fetches.Load(); n > 3 {
		t.Fatalf("%d fetches in 200ms from a source that makes no progress", n)
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	calls, notified := 0, 0
	err := pipeline.Retry(ctx, time.Millisecond, time.Millisecond, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	}, func(error, int, time.Duration) { notified++ })
	if err != nil || calls != 3 || notified != 2 {
		t.Fatalf("err %v after %d calls, %d notices; want nil after 3 calls, 2 notices", err, calls, notified)
	}

	rejected := errors.New("schema rejected")
	calls = 0
	err = pipeline.Retry(ctx, time.Millisecond, time.Millisecond, func() error {
		calls++
		return backoff.Permanent(rejected)
	}, nil)
	if !errors.Is(err, rejected) || calls != 1 {
		t.Fatalf("permanent error: err %v after %d calls", err, calls)
	}

	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err = pipeline.Retry(cctx, time.Millisecond, time.Millisecond, func() error { return errors.New("down") }, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ended context: err %v, want context.DeadlineExceeded", err)
	}
}

// brokenDeadLetters encodes events but no dead letter, as a bug in our own
// dead-letter schema would.
type brokenDeadLetters struct{ textEncoder }

func (brokenDeadLetters) AppendEncode(dst []byte, v any) ([]byte, error) {
	return nil, errors.New("schema mismatch")
}

// TestUnencodableDeadLetterStopsTheStream checks that a dead letter that
// cannot be encoded stops its stream with a clear error, named in the
// health, instead of writing raw bytes to an Avro topic: nothing of the
// page is written and the cursor stays.
func TestUnencodableDeadLetterStopsTheStream(t *testing.T) {
	src := &listSource{n: 20, size: 10, bad: map[int]bool{13: true}}
	prod := &memProducer{}
	store := checkpoint.NewMemoryStore()
	health := telemetry.NewHealth()
	r, err := pipeline.New(pipeline.Options{
		Producer:          prod,
		Checkpoints:       store,
		Encoders:          map[string]pipeline.Encoder{"out": textEncoder{}},
		DeadLetterTopic:   "dlq",
		DeadLetterEncoder: brokenDeadLetters{},
		PollInterval:      time.Hour,
		RetryInitial:      time.Millisecond,
		RetryMax:          5 * time.Millisecond,
		Health:            health,
	}, pipeline.Stream{Source: src, Normalize: normalize, Topic: "out", Vendor: "test", Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, r, func() bool { ok, _ := health.Ready(); return !ok })
	_, why := health.Ready()
	if reason := why["stream test/list"]; !strings.Contains(reason, "encode the dead letter") || !strings.Contains(reason, "schema mismatch") {
		t.Errorf("readiness = %v", why)
	}
	if got := prod.byTopic("out"); len(got) != 10 {
		t.Errorf("%d records written, want the first page's 10 only", len(got))
	}
	if got := prod.byTopic("dlq"); len(got) != 0 {
		t.Errorf("dead-letter topic holds %q", got)
	}
	if n := savedCursor(t, store); n != 10 {
		t.Errorf("cursor at %d, want 10 (the page with the bad record not checkpointed)", n)
	}
}

// healthSource is a listSource under another name that can fail or refuse.
type healthSource struct {
	listSource
	name    string
	fail    error // every Fetch fails with it
	refused error // every page is refused with it
}

func (s *healthSource) Stream() string { return s.name }

func (s *healthSource) Fetch(ctx context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	if s.fail != nil {
		return pipeline.Page{}, s.fail
	}
	p, err := s.listSource.Fetch(ctx, cur)
	p.Refused = s.refused
	return p, err
}

// TestHealthIsPerStream checks that one failing or refused stream is named
// in the health while the others are ready, instead of one "vendor" flag
// that flaps between them.
func TestHealthIsPerStream(t *testing.T) {
	good := &healthSource{listSource: listSource{n: 5, size: 5}, name: "test/good"}
	failing := &healthSource{listSource: listSource{n: 5, size: 5}, name: "test/failing", fail: errors.New("502 Bad Gateway")}
	refused := &healthSource{listSource: listSource{n: 5, size: 5}, name: "test/refused", refused: errors.New("403 Forbidden")}
	health := telemetry.NewHealth()
	r, err := pipeline.New(pipeline.Options{
		Producer:          &memProducer{},
		Checkpoints:       checkpoint.NewMemoryStore(),
		Encoders:          map[string]pipeline.Encoder{"out": textEncoder{}},
		DeadLetterTopic:   "dlq",
		DeadLetterEncoder: textEncoder{},
		PollInterval:      time.Hour,
		RetryInitial:      time.Millisecond,
		RetryMax:          5 * time.Millisecond,
		Health:            health,
	},
		pipeline.Stream{Source: good, Normalize: normalize, Topic: "out"},
		pipeline.Stream{Source: failing, Normalize: normalize, Topic: "out"},
		pipeline.Stream{Source: refused, Normalize: normalize, Topic: "out"})
	if err != nil {
		t.Fatal(err)
	}
	want := func() bool {
		_, why := health.Ready()
		return len(why) == 2 && why["stream test/failing"] == "502 Bad Gateway" && why["stream test/refused"] == "403 Forbidden"
	}
	runUntil(t, r, want)
	if _, why := health.Ready(); !want() {
		t.Errorf("readiness = %v", why)
	}
}
