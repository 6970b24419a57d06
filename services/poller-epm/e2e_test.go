package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/services/poller-epm/internal/epm"
	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/serde"
	"github.com/auditstream/auditstream/shared/testkit"
)

const (
	e2eTenant   = "ACME"
	e2eUser     = "svc-audit@acme.example"
	e2ePassword = "e2e-password"
	// burstSize records share one EventTime in the first set, a third of
	// them identical: several pages of them at EPM_PAGE_SIZE=100.
	burstSize = 450
)

// world is one simulator + Kafka + registry, and the environment that points
// poller-epm at them.
type world struct {
	sim      *epmsim.Server
	kafka    *testkit.Kafka
	registry *testkit.Registry
	env      map[string]string
	start    time.Time
	end      time.Time
	sets     []epmsim.Set
	burst    time.Time
}

// newWorld builds a simulator with sets holding perSet records between 20
// days and 1 hour ago (so every record is older than SAFETY_LAG and must
// arrive), a burst of burstSize records at one EventTime in the first set,
// and, with faults, sessions that end after 3 s of age, rate limits that
// are real (scaled down: 30 per second and 600 per 30 seconds, the client
// staying under them), one 429 and random 5xx.
func newWorld(t *testing.T, perSet []int, faults bool) *world {
	t.Helper()
	now := time.Now().UTC()
	w := &world{start: now.Add(-20 * 24 * time.Hour).Truncate(time.Hour), end: now.Add(-time.Hour)}
	cfg := epmsim.Config{Username: e2eUser, Password: e2ePassword, ApplicationID: "auditstream", Seed: 7, NoRateLimit: true}
	if faults {
		cfg.NoRateLimit = false
		cfg.Limits = []epmsim.Limit{{Calls: 30, Per: time.Second}, {Calls: 600, Per: 30 * time.Second}}
		cfg.TokenMaxAge = 3 * time.Second
		cfg.FaultRate = 0.1
		cfg.FaultStatuses = []int{500, 502, 504}
	}
	w.sim = epmsim.New(cfg)
	for _, n := range perSet {
		set := w.sim.AddSet("", "")
		w.sets = append(w.sets, set)
		w.sim.Generate(set.ID, w.start.Add(-time.Hour), w.end, n)
	}
	w.burst = w.start.Add(50*time.Hour + 123*time.Millisecond)
	w.sim.Append(w.sets[0].ID, w.burst, burstSize*2/3, false)
	w.sim.Append(w.sets[0].ID, w.burst, burstSize/3, true)
	if faults {
		w.sim.FailNext(1, 429)
		w.sim.FailNext(1, 503)
	}
	srv := httptest.NewServer(w.sim.Handler())
	t.Cleanup(srv.Close)
	w.kafka = testkit.NewKafka(t)
	w.registry = testkit.NewRegistry(t)
	w.env = map[string]string{
		"KAFKA_BROKERS":          strings.Join(w.kafka.Brokers(), ","),
		"SCHEMA_REGISTRY_URL":    w.registry.URL(),
		"START_TIME":             w.start.Format(time.RFC3339),
		"POLL_INTERVAL":          "200ms",
		"SAFETY_LAG":             "1m",
		"HTTP_ADDR":              "127.0.0.1:0",
		"HTTP_RETRY_MAX_ELAPSED": "20s",
		"LOG_LEVEL":              "warn",
		"EPM_BASE_URL":           srv.URL,
		"EPM_TENANT":             e2eTenant,
		"EPM_USERNAME":           e2eUser,
		"EPM_PASSWORD":           e2ePassword,
		"EPM_PAGE_SIZE":          "100",
		"EPM_MAX_WINDOW":         "72h",
		"EPM_RATE_LIMIT":         "25/1s,500/30s",
	}
	return w
}

// addSet adds a set with n records from before START_TIME to the end of
// the history, as an administrator creating a set while the poller runs.
func (w *world) addSet(n int) epmsim.Set {
	set := w.sim.AddSet("", "")
	w.sets = append(w.sets, set)
	w.sim.Generate(set.ID, w.start.Add(-time.Hour), w.end, n)
	return set
}

// expected maps the event id of every simulator record from START_TIME on
// to its set.
func (w *world) expected(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	stream := epm.StreamName(e2eTenant)
	for _, set := range w.sim.Sets() {
		seen := map[string]int{}
		for _, r := range w.sim.Records(set.ID) {
			if r.Time.Before(w.start) {
				continue
			}
			// Identical records of one set are events of their own: the
			// k-th repeat has occurrence k.
			k := seen[string(r.Raw)]
			seen[string(r.Raw)]++
			identity, err := epm.Identity(set.ID, r.Raw, k)
			if err != nil {
				t.Fatal(err)
			}
			out[event.ID(epm.Vendor, e2eTenant, stream, identity)] = set.ID
		}
	}
	return out
}

// loadService loads poller-epm's configuration from w's environment, as the
// binary does, and returns the service.
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

// consumed reads every message of topic with another Kafka client than the
// poller's (franz-go's kgo), up to the end offsets at the time of the call,
// and decodes each value with the schema the registry holds for its id.
func (w *world) consumed(t *testing.T, topic string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends := w.endOffsets(t, topic)
	remaining := int64(0)
	for _, e := range ends {
		remaining += e
	}
	if remaining == 0 {
		return nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(w.kafka.Brokers()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srCl, err := serde.NewClient(serde.Options{URL: w.registry.URL()})
	if err != nil {
		t.Fatal(err)
	}
	dec := serde.NewDecoder(srCl)
	var out []map[string]any
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v (%d messages short)", topic, err, remaining)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("consume %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[int(r.Partition)] {
				return // produced after the call
			}
			remaining--
			var v map[string]any
			if _, err := dec.Decode(ctx, r.Value, &v); err != nil {
				t.Fatalf("decode %s/%d@%d: %v", topic, r.Partition, r.Offset, err)
			}
			if v["event_id"] != nil && v["event_id"] != string(r.Key) {
				t.Fatalf("key %q differs from event_id %v", r.Key, v["event_id"])
			}
			out = append(out, v)
		})
	}
	return out
}

// endOffsets returns the end offset of each partition of topic (none when
// the topic does not exist yet).
func (w *world) endOffsets(t *testing.T, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := kafkax.NewClient(kafkax.Config{Brokers: w.kafka.Brokers()})
	if err != nil {
		t.Fatal(err)
	}
	defer kafkax.CloseClient(cl)
	ends, err := kafkax.EndOffsets(ctx, cl, topic)
	if err != nil {
		return nil
	}
	return ends
}

// producedCount reads the number of messages in topic (sum of end offsets).
func (w *world) producedCount(t *testing.T, topic string) int64 {
	t.Helper()
	var n int64
	for _, e := range w.endOffsets(t, topic) {
		n += e
	}
	return n
}

// countIDs counts the events of each event id.
func countIDs(events []map[string]any) map[string]int {
	c := map[string]int{}
	for _, e := range events {
		c[e["event_id"].(string)]++
	}
	return c
}

// waitFor polls cond until it holds, or fails the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runPoller runs svc in process until stop is called; stop returns Run's
// error.
func runPoller(ctx context.Context, svc poller.Service) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- poller.Run(ctx, svc) }()
	return func() error {
		cancel()
		return <-done
	}
}

// checkExactlyOnce fails unless every expected event arrived, nothing
// else did, and at most maxDups events repeat; it returns the repeats.
func checkExactlyOnce(t *testing.T, events []map[string]any, want map[string]string, maxDups int) int {
	t.Helper()
	counts := countIDs(events)
	dups := 0
	for id, set := range want {
		switch c := counts[id]; {
		case c == 0:
			t.Fatalf("event %s of set %s lost", id, set)
		case c > 1:
			dups += c - 1
		}
	}
	if len(counts) != len(want) {
		t.Fatalf("%d distinct events, want %d", len(counts), len(want))
	}
	if dups > maxDups {
		t.Fatalf("%d duplicates, at most %d allowed", dups, maxDups)
	}
	return dups
}

// TestEndToEnd runs epmsim (faults on) → poller-epm → Kafka + registry → a
// decoding consumer, adds a set while the poller runs, and checks that
// every simulator record arrived exactly once by event_id, decoded with
// the registry's schema.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, []int{2000, 1200, 600}, true)
	svc := w.loadService(t)
	stop := runPoller(context.Background(), svc)
	waitFor(t, "the first records", 30*time.Second, func() bool { return w.producedCount(t, "epm.audit") > 300 })
	added := w.addSet(700)
	want := w.expected(t)
	waitFor(t, "every record", 90*time.Second, func() bool { return w.producedCount(t, "epm.audit") >= int64(len(want)) })
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}

	events := w.consumed(t, "epm.audit")
	checkExactlyOnce(t, events, want, 0)
	if len(events) != len(want) {
		t.Fatalf("consumed %d events, want %d", len(events), len(want))
	}
	if dl := w.producedCount(t, "pollers.deadletter"); dl != 0 {
		t.Fatalf("%d dead letters from valid records", dl)
	}
	st := w.sim.Stats()
	t.Logf("records %d; simulator stats %+v", len(events), st)
	if st.ServerErrors == 0 || st.Unauthorized == 0 || st.Logons < 2 || st.RateLimited == 0 {
		t.Fatalf("faults were not exercised: %+v", st)
	}
	if st.RateLimited > 1 || st.DispatcherMisses > 0 || st.BadRequests > 0 {
		t.Fatalf("the poller overran a rate limit or sent bad requests: %+v", st)
	}
	// A spot check of the mapping as a consumer sees it.
	fromAdded := 0
	for _, e := range events {
		if e["vendor"] != "epm" || e["tenant_id"] != e2eTenant || e["stream"] != "epm/ACME/admin-audit" || e["raw"] == nil {
			t.Fatalf("event %v", e)
		}
		et, ok := e["event_time"].(time.Time)
		if !ok || et.Location() != time.UTC {
			t.Fatalf("event_time %v is not a UTC time", e["event_time"])
		}
		if want[e["event_id"].(string)] == added.ID {
			fromAdded++
		}
	}
	if fromAdded < 600 {
		t.Fatalf("%d events of the set added while running", fromAdded)
	}
}

// stoppingStore stops the "process" around checkpoint saves: with crash, a
// Save fails and the run is cancelled — the page was produced, its
// checkpoint never lands; without, the Save lands and then the run is
// cancelled. It triggers at the save numbered at, or, with midBurst, at the
// first save whose cursor stops inside the burst of equal EventTimes.
type stoppingStore struct {
	checkpoint.Store
	at       int64
	midBurst bool
	crash    bool
	burst    time.Time
	set      string

	saves  atomic.Int64
	dead   atomic.Bool
	cancel context.CancelFunc
	cursor atomic.Value // the cursor of the triggering save, for the log
}

var errKilled = errors.New("process killed")

// inBurst reports whether cursor stops inside the burst of w's first set.
func (s *stoppingStore) inBurst(cursor []byte) bool {
	var c struct {
		Sets map[string]struct {
			Last time.Time `json:"last"`
			N    int       `json:"n"`
		} `json:"sets"`
	}
	if json.Unmarshal(cursor, &c) != nil {
		return false
	}
	p, ok := c.Sets[s.set]
	return ok && p.Last.Equal(s.burst) && p.N > 0 && p.N < burstSize
}

func (s *stoppingStore) Save(ctx context.Context, cp checkpoint.Checkpoint) error {
	if s.dead.Load() {
		return errKilled
	}
	n := s.saves.Add(1)
	if (s.midBurst && s.inBurst(cp.Cursor)) || (!s.midBurst && n == s.at) {
		s.dead.Store(true)
		s.cursor.Store(string(cp.Cursor))
		if s.crash {
			s.cancel()
			return errKilled
		}
		err := s.Store.Save(ctx, cp)
		s.cancel()
		return err
	}
	return s.Store.Save(ctx, cp)
}

// positions summarizes a tenant cursor: each set's last time, n and offset.
func positions(cursor string) string {
	var c struct {
		Sets map[string]struct {
			Last   time.Time `json:"last"`
			N      int       `json:"n"`
			Offset int       `json:"offset"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(cursor), &c); err != nil {
		return "an undecodable cursor"
	}
	var b strings.Builder
	for id, p := range c.Sets {
		fmt.Fprintf(&b, "[%.8s last=%s n=%d offset=%d] ", id, p.Last.Format(time.RFC3339Nano), p.N, p.Offset)
	}
	return b.String()
}

// TestRestartSafety stops the poller abruptly several times during a
// backfill — between a page's produce and its checkpoint, right after a
// checkpoint in the middle of a burst of equal EventTimes, with a crash in
// the middle of that burst, and at arbitrary moments — and restarts it
// from the checkpoint topic each time. No record may be lost, and only the
// pages in flight at a stop may repeat.
func TestRestartSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, []int{3000, 1500, 800}, false)
	want := w.expected(t)
	const pageSize = 100

	stops := 0
	for _, s := range []*stoppingStore{
		{at: 2, crash: true},
		{midBurst: true, crash: true},
		{midBurst: true},
		{at: 4, crash: true},
		{at: 6, crash: true},
	} {
		svc := w.loadService(t)
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.burst, s.set = cancel, w.burst, w.sets[0].ID
		svc.WrapCheckpoints = func(st checkpoint.Store) checkpoint.Store { s.Store = st; return s }
		done := make(chan error, 1)
		go func() { done <- poller.Run(ctx, svc) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
		case <-time.After(60 * time.Second):
			cancel()
			t.Fatalf("the run did not stop (stop at save %d, mid-burst %v)", s.at, s.midBurst)
		}
		cancel()
		if !s.dead.Load() {
			t.Fatalf("run ended before its stop (save %d, mid-burst %v)", s.at, s.midBurst)
		}
		stops++
		t.Logf("stop %d (crash %v) at %s", stops, s.crash, positions(s.cursor.Load().(string)))
	}
	// Stops at arbitrary moments: after some more records were produced.
	for _, more := range []int64{300, 700} {
		svc := w.loadService(t)
		after := w.producedCount(t, "epm.audit") + more
		stop := runPoller(context.Background(), svc)
		waitFor(t, fmt.Sprintf("%d records", after), 60*time.Second, func() bool { return w.producedCount(t, "epm.audit") >= after })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		stops++
		if n := len(countIDs(w.consumed(t, "epm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before stop %d meant to interrupt it", n, stops)
		}
	}
	// The last run finishes the backfill.
	svc := w.loadService(t)
	stop := runPoller(context.Background(), svc)
	waitFor(t, "every record", 60*time.Second, func() bool {
		return len(countIDs(w.consumed(t, "epm.audit"))) >= len(want)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// One stream per tenant: a stop replays at most the page in flight.
	dups := checkExactlyOnce(t, w.consumed(t, "epm.audit"), want, stops*pageSize)
	t.Logf("%d events, %d duplicates after %d stops", len(want), dups, stops)
}

// TestInvalidConfigurationListsEveryProblem is what a user sees with a
// broken configuration: every problem at once, before any I/O.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	for k, v := range map[string]string{
		"KAFKA_BROKERS":        "",
		"POLL_INTERVAL":        "soon",
		"KAFKA_SASL_MECHANISM": "GSSAPI",
		"EPM_BASE_URL":         "not a url",
		"EPM_PAGE_SIZE":        "1000",
		"EPM_RATE_LIMIT":       "5/1s,lots",
		"EPM_TENANT":           "",
		"EPM_USERNAME":         "u",
		"EPM_PASSWORD":         "",
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
	for _, want := range []string{"KAFKA_BROKERS", "POLL_INTERVAL", "KAFKA_SASL_MECHANISM", "EPM_BASE_URL", "EPM_PAGE_SIZE", "EPM_RATE_LIMIT", "EPM_TENANT", "EPM_PASSWORD"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
}
