package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-aveva/avevasim"
	"github.com/auditstream/auditstream/services/poller-aveva/internal/aveva"
	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/testkit"
)

const (
	e2eTenant = "acme"
	e2eClient = "e2e-client"
	e2eSecret = "e2e-secret"
)

// The topics the poller writes.
var e2eTopics = []string{"aveva.usage", "aveva.audit"}

// world is one simulator + Kafka + registry, and the environment that points
// poller-aveva at them.
type world struct {
	sim      *avevasim.Server
	kafka    *testkit.Kafka
	registry *testkit.Registry
	env      map[string]string
	cap      int
}

// worldOptions size a world.
type worldOptions struct {
	// cap is the simulator's record cap and AVEVA_MAX_RECORDS.
	cap int
	// background is the number of records of each report spread over the
	// history; busy the number in each report's busy hour.
	background, busy int
	// faults turns on short-lived tokens, 429s and random 5xx.
	faults bool
}

// newWorld builds a simulator whose history lies between 26 hours and 1
// hour ago (every record is older than SAFETY_LAG and must arrive), with one
// busy hour per report holding several times the cap.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	now := time.Now().UTC()
	start := now.Add(-26 * time.Hour).Truncate(time.Hour)
	end := now.Add(-time.Hour)
	cfg := avevasim.Config{
		ClientID: e2eClient, ClientSecret: e2eSecret,
		MaxRecords: o.cap, DuplicateRate: 0.01, Seed: 7,
	}
	if o.faults {
		cfg.TokenTTL = 2 * time.Second
		cfg.RateLimit = 100
		cfg.Burst = 10
		cfg.FaultRate = 0.05
	}
	w := &world{sim: avevasim.New(cfg), cap: o.cap}
	for i, r := range avevasim.Reports {
		w.sim.Add(r, start, end, o.background)
		busy := start.Add(time.Duration(3+4*i) * time.Hour)
		w.sim.Add(r, busy, busy.Add(time.Hour), o.busy)
		w.sim.AddAt(r, busy.Add(30*time.Minute), busy.Add(45*time.Minute)) // on split points
	}
	if o.faults {
		// The first calls fail for sure; the rate limit and FaultRate add
		// more as timing allows.
		w.sim.FailNext(1, 503)
		w.sim.FailNext(1, 429)
		w.sim.FailNext(1, 502)
	}
	srv := httptest.NewServer(w.sim.Handler())
	t.Cleanup(srv.Close)
	w.kafka = testkit.NewKafka(t)
	w.registry = testkit.NewRegistry(t)
	w.env = map[string]string{
		"KAFKA_BROKERS":          strings.Join(w.kafka.Brokers(), ","),
		"SCHEMA_REGISTRY_URL":    w.registry.URL(),
		"START_TIME":             start.Format(time.RFC3339),
		"POLL_INTERVAL":          "200ms",
		"SAFETY_LAG":             "1m",
		"HTTP_ADDR":              "127.0.0.1:0",
		"HTTP_RETRY_MAX_ELAPSED": "20s",
		"LOG_LEVEL":              "warn",
		"AVEVA_BASE_URL":         srv.URL,
		"AVEVA_TENANT":           e2eTenant,
		"AVEVA_TOKEN_URL":        srv.URL + avevasim.TokenPath,
		"AVEVA_CLIENT_ID":        e2eClient,
		"AVEVA_CLIENT_SECRET":    e2eSecret,
		"AVEVA_MAX_RECORDS":      strconv.Itoa(o.cap),
		"AVEVA_WINDOW":           "1h",
		"AVEVA_RATE_LIMIT":       "1000",
	}
	return w
}

// expected maps the event id of every simulator record to its stream,
// computed from the records alone: the report's id member (transactionId,
// id) when it has one, else the content hash, with "#k" for the k-th
// identical record.
func (w *world) expected(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range avevasim.Reports {
		stream := aveva.StreamName(e2eTenant, r)
		seen := map[string]int{}
		for _, rec := range w.sim.Records(r) {
			var fields map[string]any
			if err := json.Unmarshal(rec.Raw, &fields); err != nil {
				t.Fatal(err)
			}
			var identity string
			switch r {
			case avevasim.CreditsTransaction:
				identity = "id:" + fields["transactionId"].(string)
			case avevasim.Audit:
				identity = "id:" + fields["id"].(string)
			default:
				h, err := event.ContentIdentity(rec.Raw)
				if err != nil {
					t.Fatal(err)
				}
				k := seen[h]
				seen[h]++
				identity = h
				if k > 0 {
					identity += "#" + strconv.Itoa(k)
				}
			}
			out[event.ID("aveva", e2eTenant, stream, identity)] = stream
		}
	}
	return out
}

// loadService loads poller-aveva's configuration from w's environment, as
// the binary does, and returns the service.
func (w *world) loadService(t *testing.T) poller.Service {
	t.Helper()
	for k, v := range w.env {
		t.Setenv(k, v)
	}
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	return service(&cfg)
}

// consumed reads and decodes every event in the topics (testkit.Consume),
// each with the topic it came from under "topic".
func (w *world) consumed(t *testing.T, topics ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, topic := range topics {
		for _, e := range testkit.Consume(t, w.kafka, w.registry.URL(), topic) {
			e["topic"] = topic
			out = append(out, e)
		}
	}
	return out
}

// producedCount returns the number of messages in the topics.
func (w *world) producedCount(t *testing.T, topics ...string) int64 {
	t.Helper()
	var n int64
	for _, topic := range topics {
		n += testkit.Produced(t, w.kafka, topic)
	}
	return n
}

// distinct returns the number of distinct event ids in the topics.
func (w *world) distinct(t *testing.T) int {
	t.Helper()
	return len(testkit.CountIDs(w.consumed(t, e2eTopics...)))
}

// checkDelivery fails unless every expected event arrived, no other did,
// at most maxDups repeat, and each is on its report's topic; it returns
// the number of duplicates.
func checkDelivery(t *testing.T, events []map[string]any, want map[string]string, maxDups int) int {
	t.Helper()
	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(events), maxDups)
	for _, e := range events {
		wantTopic := "aveva.usage"
		if strings.HasSuffix(want[e["event_id"].(string)], "/audit") {
			wantTopic = "aveva.audit"
		}
		if e["topic"] != wantTopic {
			t.Fatalf("event of %s on %s", want[e["event_id"].(string)], e["topic"])
		}
	}
	return dups
}

// TestEndToEnd runs avevasim (faults on, busy hours at four times the cap)
// → poller-aveva → Kafka + registry → a decoding consumer, and checks that
// every record of every report arrived exactly once by event_id, decoded
// with the registry's schema.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, worldOptions{cap: 250, background: 500, busy: 1000, faults: true})
	want := w.expected(t)
	svc := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "every record", 90*time.Second, func() bool { return w.producedCount(t, e2eTopics...) >= int64(len(want)) })
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}

	events := w.consumed(t, e2eTopics...)
	checkDelivery(t, events, want, 0) // no duplicates without a restart
	if dl := w.producedCount(t, "pollers.deadletter"); dl != 0 {
		t.Fatalf("%d dead letters from valid records", dl)
	}
	st := w.sim.Stats()
	t.Logf("%d events; simulator stats %+v", len(events), st)
	if st.RateLimited == 0 || st.ServerErrors == 0 || st.TokensIssued < 2 || st.Truncated < 5 {
		t.Fatalf("faults or splits were not exercised: %+v", st)
	}
	for _, e := range events {
		if e["vendor"] != "aveva" || e["tenant_id"] != e2eTenant || e["raw"] == nil {
			t.Fatalf("event %v", e)
		}
		if et, ok := e["event_time"].(time.Time); !ok || et.Location() != time.UTC {
			t.Fatalf("event_time %v is not a UTC time", e["event_time"])
		}
		if e["topic"] == "aveva.usage" && (e["metric"] == nil || e["dimensions"] == nil) {
			t.Fatalf("usage event %v", e)
		}
	}
}

// stopAt is a checkpoint store that ends the "process" at the nth save
// whose cursor is in the middle of a split window (has pending windows):
// with crash, right before that save lands (the page is in Kafka, its
// checkpoint is not); without, right after it. After that no save succeeds.
type stopAt struct {
	checkpoint.Store
	nth    int64
	crash  bool
	cancel context.CancelFunc

	count atomic.Int64
	fired atomic.Bool
	mu    sync.Mutex
	at    checkpoint.Checkpoint // the checkpoint it stopped at
}

// pending returns the pending windows of a cursor.
func pending(cursor []byte) []aveva.Window {
	var c struct {
		Pending []aveva.Window `json:"pending"`
	}
	_ = json.Unmarshal(cursor, &c)
	return c.Pending
}

func (s *stopAt) Save(ctx context.Context, cp checkpoint.Checkpoint) error {
	if s.fired.Load() {
		return testkit.ErrKilled
	}
	if len(pending(cp.Cursor)) == 0 || s.count.Add(1) != s.nth {
		return s.Store.Save(ctx, cp)
	}
	s.fired.Store(true)
	s.mu.Lock()
	s.at = cp
	s.mu.Unlock()
	defer s.cancel()
	if s.crash {
		return testkit.ErrKilled
	}
	return s.Store.Save(ctx, cp)
}

// TestRestartSafety stops the poller abruptly several times in the middle
// of split windows — between a page's produce and its checkpoint, right
// after a checkpoint that leaves sub-windows pending, and at an arbitrary
// moment — and restarts it from the checkpoint topic each time. No record
// may be lost, only the pages in flight at a stop may repeat, and a restart
// after a pending checkpoint resumes at its first pending sub-window.
func TestRestartSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	const cap = 200
	w := newWorld(t, worldOptions{cap: cap, background: 400, busy: 900})
	want := w.expected(t)

	stops := 0
	for i, run := range []struct {
		nth   int64
		crash bool
	}{{2, true}, {1, false}, {3, true}, {2, false}, {1, true}} {
		svc := w.loadService(t)
		ctx, cancel := context.WithCancel(context.Background())
		store := &stopAt{nth: run.nth, crash: run.crash, cancel: cancel}
		svc.WrapCheckpoints = func(s checkpoint.Store) checkpoint.Store { store.Store = s; return store }
		stop := testkit.RunPoller(ctx, svc)
		testkit.WaitFor(t, fmt.Sprintf("run %d to stop", i), 60*time.Second, func() bool { return ctx.Err() != nil })
		if err := stop(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if !store.fired.Load() {
			t.Fatalf("run %d ended before its stop", i)
		}
		stops++
		if run.crash {
			continue
		}
		// The next run must resume the stopped stream at its first pending
		// sub-window: the first request of that report after the restart.
		first := pending(store.at.Cursor)[0]
		report := store.at.Stream[strings.LastIndexByte(store.at.Stream, '/')+1:]
		restartAt := len(w.sim.Served())
		next := testkit.RunPoller(context.Background(), w.loadService(t))
		var got *avevasim.Served
		testkit.WaitFor(t, "the stopped stream to resume", 30*time.Second, func() bool {
			for _, s := range w.sim.Served()[restartAt:] {
				if s.Report == report {
					got = &s
					return true
				}
			}
			return false
		})
		if err := next(); err != nil {
			t.Fatal(err)
		}
		stops++
		if !got.From.Equal(first.From) || !got.To.Equal(first.To) {
			t.Fatalf("%s resumed with window %s–%s, want its first pending window %s", report, got.From, got.To, first)
		}
		t.Logf("run %d: %s stopped with %d pending windows, resumed at %s", i, store.at.Stream, len(pending(store.at.Cursor)), first)
	}
	// A stop at an arbitrary moment.
	before := w.producedCount(t, e2eTopics...)
	stop := testkit.RunPoller(context.Background(), w.loadService(t))
	testkit.WaitFor(t, "more records", 60*time.Second, func() bool { return w.producedCount(t, e2eTopics...) >= before+300 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stops++
	if n := w.distinct(t); n >= len(want) {
		t.Fatalf("the backfill finished (%d events) before the stops meant to interrupt it", n)
	}

	// The last run finishes the backfill.
	stop = testkit.RunPoller(context.Background(), w.loadService(t))
	testkit.WaitFor(t, "every record", 90*time.Second, func() bool { return w.distinct(t) >= len(want) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Five streams run concurrently, so a stop can catch a page of each.
	dups := checkDelivery(t, w.consumed(t, e2eTopics...), want, stops*len(avevasim.Reports)*cap)
	t.Logf("%d events, %d duplicates after %d stops", len(want), dups, stops)
}

// TestInvalidConfigurationListsEveryProblem is what a user sees with a
// broken configuration: every problem at once, before any I/O.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	for k, v := range map[string]string{
		"KAFKA_BROKERS":      "",
		"POLL_INTERVAL":      "soon",
		"AVEVA_BASE_URL":     "not a url",
		"AVEVA_TENANT":       "",
		"AVEVA_REPORTS":      "audit,costs",
		"AVEVA_WINDOW":       "1500ms",
		"AVEVA_MAX_RECORDS":  "0",
		"AVEVA_RESOURCE_ID":  "RES-1",
		"AVEVA_USAGE_PARAMS": "form",
	} {
		t.Setenv(k, v)
	}
	var cfg Config
	err := config.Load(&cfg)
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Load = %v, want *config.Error", err)
	}
	msg := err.Error()
	for _, want := range []string{"KAFKA_BROKERS", "POLL_INTERVAL", "AVEVA_BASE_URL", "AVEVA_TENANT", "AVEVA_REPORTS", "AVEVA_WINDOW",
		"AVEVA_MAX_RECORDS", "AVEVA_TOKEN: no credentials", "AVEVA_USAGE_PARAMS"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
}
