package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/services/poller-epm/internal/epm"
	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/poller"
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
		// Sets created while the poller runs are found within a second.
		"EPM_SET_DISCOVERY_INTERVAL": "1s",
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
	return w.expectedFrom(t, map[string]time.Time{})
}

// expectedFrom is expected with the records of the sets in from taken
// from the time given there (inclusive) rather than START_TIME.
func (w *world) expectedFrom(t *testing.T, from map[string]time.Time) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, set := range w.sim.Sets() {
		stream := epm.StreamName(e2eTenant, set.ID)
		start, ok := from[set.ID]
		if !ok {
			start = w.start
		}
		seen := map[string]int{}
		for _, r := range w.sim.Records(set.ID) {
			if r.Time.Before(w.start) {
				continue
			}
			// Identical records of one set are events of their own: the
			// k-th repeat has occurrence k.
			k := seen[string(r.Raw)]
			seen[string(r.Raw)]++
			if r.Time.Before(start) {
				continue
			}
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

// consumed reads and decodes every event in topic (testkit.Consume).
func (w *world) consumed(t *testing.T, topic string) []map[string]any {
	return testkit.Consume(t, w.kafka, w.registry.URL(), topic)
}

// producedCount is the number of messages in topic.
func (w *world) producedCount(t *testing.T, topic string) int64 {
	return testkit.Produced(t, w.kafka, topic)
}

// checkExactlyOnce fails unless every expected event arrived, nothing
// else did, and at most maxDups events repeat; it returns the repeats.
func checkExactlyOnce(t *testing.T, events []map[string]any, want map[string]string, maxDups int) int {
	t.Helper()
	return testkit.CheckDelivered(t, want, testkit.CountIDs(events), maxDups)
}

// checkpoints returns the checkpoints of the checkpoint topic by stream,
// read with a new store as a restarted poller would.
func (w *world) checkpoints(t *testing.T) map[string]checkpoint.Checkpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := checkpoint.NewKafkaStore(ctx, kafkax.Config{Brokers: w.kafka.Brokers()}, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]checkpoint.Checkpoint{}
	for _, cp := range list {
		out[cp.Stream] = cp
	}
	return out
}

// caughtUp reports whether every set of w has a checkpoint past the end of
// the history.
func (w *world) caughtUp(t *testing.T) bool {
	t.Helper()
	cps := w.checkpoints(t)
	for _, set := range w.sim.Sets() {
		var c struct {
			Last time.Time `json:"last"`
		}
		cp, ok := cps[epm.StreamName(e2eTenant, set.ID)]
		if !ok || json.Unmarshal(cp.Cursor, &c) != nil || c.Last.Before(w.end) {
			return false
		}
	}
	return true
}

// checkSetCheckpoints fails unless the checkpoint topic holds one
// checkpoint per set of w — its own stream, its own cursor — and nothing
// else.
func (w *world) checkSetCheckpoints(t *testing.T) map[string]checkpoint.Checkpoint {
	t.Helper()
	cps := w.checkpoints(t)
	var want []string
	for _, set := range w.sim.Sets() {
		name := epm.StreamName(e2eTenant, set.ID)
		want = append(want, name)
		cp, ok := cps[name]
		if !ok {
			t.Fatalf("set %s has no checkpoint %s; checkpoints %v", set.ID, name, slices.Sorted(maps.Keys(cps)))
		}
		var c struct {
			Last time.Time `json:"last"`
		}
		if err := json.Unmarshal(cp.Cursor, &c); err != nil || c.Last.Before(w.end) || cp.Topic != "epm.audit" {
			t.Fatalf("checkpoint of set %s: cursor %s, topic %q; want a position after the history (%v)", set.ID, cp.Cursor, cp.Topic, w.end)
		}
	}
	if got := slices.Sorted(maps.Keys(cps)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("checkpoint keys %q, want one per set: %q", got, want)
	}
	return cps
}

// TestEndToEnd runs epmsim (faults on) → poller-epm → Kafka + registry → a
// decoding consumer, adds a set while the poller runs, and checks that
// every simulator record arrived exactly once by event_id, decoded with
// the registry's schema, that the added set was found without a restart
// and read from START_TIME, and that each set has its own checkpoint.
// Then it moves one set back in time and makes another start over, as
// auditctl checkpoints reset <stream> [--to TIME] does, and checks that a
// restart reads again exactly those sets from there.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, []int{2000, 1200, 600}, true)
	svc := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "the first records", 30*time.Second, func() bool { return w.producedCount(t, "epm.audit") > 300 })
	added := w.addSet(700)
	want := w.expected(t)
	testkit.WaitFor(t, "every record", 90*time.Second, func() bool {
		return w.producedCount(t, "epm.audit") >= int64(len(want)) && w.caughtUp(t)
	})
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
		set := want[e["event_id"].(string)]
		if e["vendor"] != "epm" || e["tenant_id"] != e2eTenant || e["stream"] != epm.StreamName(e2eTenant, set) || e["raw"] == nil {
			t.Fatalf("event %v", e)
		}
		if attrs, _ := e["attributes"].(map[string]any); attrs[epm.AttrSetID] != set {
			t.Fatalf("event of set %s with attributes %v", set, e["attributes"])
		}
		et, ok := e["event_time"].(time.Time)
		if !ok || et.Location() != time.UTC {
			t.Fatalf("event_time %v is not a UTC time", e["event_time"])
		}
		if set == added.ID {
			fromAdded++
		}
	}
	addedWant := 0
	for _, set := range want {
		if set == added.ID {
			addedWant++
		}
	}
	if fromAdded != addedWant || fromAdded < 600 {
		t.Fatalf("%d events of the set added while running, want its %d records from START_TIME", fromAdded, addedWant)
	}
	cps := w.checkSetCheckpoints(t)

	// Operators reset one set to a time and another to START_TIME; the
	// other sets keep their checkpoints.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := checkpoint.NewKafkaStore(ctx, kafkax.Config{Brokers: w.kafka.Brokers()}, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	moved, restarted := w.sets[1].ID, w.sets[2].ID
	at := w.start.Add(10*24*time.Hour + 500*time.Millisecond)
	movedStream := epm.StreamName(e2eTenant, moved)
	if err := store.Save(ctx, checkpoint.Checkpoint{
		Stream: movedStream, Cursor: pipeline.TimeCursor(at), Position: at, UpdatedAt: time.Now().UTC(),
		Topic: cps[movedStream].Topic, Records: cps[movedStream].Records,
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.Reset(ctx, epm.StreamName(e2eTenant, restarted)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	again := w.expectedFrom(t, map[string]time.Time{moved: at, restarted: w.start})
	for id, set := range want {
		if set != moved && set != restarted {
			delete(again, id)
		}
	}
	before := w.producedCount(t, "epm.audit")
	stop = testkit.RunPoller(context.Background(), w.loadService(t))
	testkit.WaitFor(t, "the records of the reset sets", 60*time.Second, func() bool {
		return w.producedCount(t, "epm.audit") >= before+int64(len(again)) && w.caughtUp(t)
	})
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}
	counts := testkit.CountIDs(w.consumed(t, "epm.audit"))
	for id, set := range want {
		wantCount := 1
		if again[id] != "" {
			wantCount = 2
		}
		if counts[id] != wantCount {
			t.Fatalf("event %s of set %s arrived %d times, want %d after the resets", id, set, counts[id], wantCount)
		}
	}
	t.Logf("after the resets: %d events read again (%s from %s, %s from START_TIME)", len(again), moved, at.Format(time.RFC3339Nano), restarted)
	w.checkSetCheckpoints(t)
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

// inBurst reports whether cp stops inside the burst of w's first set.
func (s *stoppingStore) inBurst(cp checkpoint.Checkpoint) bool {
	var c struct {
		Last time.Time `json:"last"`
		N    int       `json:"n"`
	}
	if cp.Stream != epm.StreamName(e2eTenant, s.set) || json.Unmarshal(cp.Cursor, &c) != nil {
		return false
	}
	return c.Last.Equal(s.burst) && c.N > 0 && c.N < burstSize
}

func (s *stoppingStore) Save(ctx context.Context, cp checkpoint.Checkpoint) error {
	if s.dead.Load() {
		return testkit.ErrKilled
	}
	n := s.saves.Add(1)
	if (s.midBurst && s.inBurst(cp)) || (!s.midBurst && n == s.at) {
		s.dead.Store(true)
		s.cursor.Store(position(cp))
		if s.crash {
			s.cancel()
			return testkit.ErrKilled
		}
		err := s.Store.Save(ctx, cp)
		s.cancel()
		return err
	}
	return s.Store.Save(ctx, cp)
}

// position summarizes a set's checkpoint: its set, last time, n and offset.
func position(cp checkpoint.Checkpoint) string {
	var c struct {
		Last   time.Time `json:"last"`
		N      int       `json:"n"`
		Offset int       `json:"offset"`
	}
	if err := json.Unmarshal(cp.Cursor, &c); err != nil {
		return "an undecodable cursor"
	}
	set := strings.TrimSuffix(strings.TrimPrefix(cp.Stream, "epm/"+e2eTenant+"/sets/"), "/admin-audit")
	return fmt.Sprintf("[set %.8s last=%s n=%d offset=%d]", set, c.Last.Format(time.RFC3339Nano), c.N, c.Offset)
}

// TestRestartSafety stops the poller abruptly several times during a
// backfill — between a page's produce and its checkpoint, right after a
// checkpoint in the middle of a burst of equal EventTimes, with a crash in
// the middle of that burst, and at arbitrary moments — and restarts it
// from the checkpoint topic each time. No record may be lost, and only the
// pages in flight at a stop may repeat: at most one per set, each set
// being a stream of its own.
func TestRestartSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, []int{3000, 1500, 800}, false)
	// Slow enough for the stops at arbitrary moments to land mid-backfill:
	// the pipeline reads a page ahead and produces within a millisecond.
	w.env["EPM_RATE_LIMIT"] = "12/1s,500/30s"
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
		t.Logf("stop %d (crash %v) at %s", stops, s.crash, s.cursor.Load())
	}
	// Stops at arbitrary moments: after some more records were produced.
	// The poller is stopped first, then the test looks.
	for _, more := range []int64{300, 700} {
		svc := w.loadService(t)
		after := w.producedCount(t, "epm.audit") + more
		stop := testkit.RunPoller(context.Background(), svc)
		testkit.WaitFor(t, fmt.Sprintf("%d records", after), 60*time.Second, func() bool { return w.producedCount(t, "epm.audit") >= after })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		stops++
		if n := len(testkit.CountIDs(w.consumed(t, "epm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before stop %d meant to interrupt it", n, stops)
		}
	}
	// The last run finishes the backfill.
	svc := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "every record", 60*time.Second, func() bool {
		return len(testkit.CountIDs(w.consumed(t, "epm.audit"))) >= len(want) && w.caughtUp(t)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// A stop replays at most the page in flight of each set.
	dups := checkExactlyOnce(t, w.consumed(t, "epm.audit"), want, stops*len(w.sets)*pageSize)
	w.checkSetCheckpoints(t)
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
