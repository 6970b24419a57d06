package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/testkit"
)

const (
	e2eTenant = "acme"
	e2eDomain = "idcs-acme"
	topic     = "oracle.audit"
)

// world is one simulator + Kafka + registry, and the environment that
// points poller-oracle at them.
type world struct {
	sim      *oraclesim.Server
	kafka    *testkit.Kafka
	registry *testkit.Registry
	env      map[string]string
	start    time.Time
}

// newWorld builds oraclesim (identity domain, Basic auth) with logins
// from a day before START_TIME (days ago) to a minute ago, a current day
// that grows while the poller runs, jobs of 100 to 400 ms and, with
// faults, failing jobs, lost submit answers, injected 5xx and one 429.
func newWorld(t *testing.T, days, logins int, faults bool) *world {
	t.Helper()
	now := time.Now().UTC()
	w := &world{start: now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Hour).Add(17 * time.Minute)}
	cfg := oraclesim.Config{
		IdentityDomain: e2eDomain, Seed: 11, JobMin: 100 * time.Millisecond, JobMax: 400 * time.Millisecond,
		JobFailRate: -1, RateLimit: 50, FaultStatuses: []int{500, 502, 504},
	}
	if faults {
		cfg.JobFailRate, cfg.LostSubmitRate, cfg.FaultRate = 0.1, 0.15, 0.04
	}
	w.sim = oraclesim.New(cfg)
	w.sim.Generate(w.start.Add(-24*time.Hour), now.Add(-time.Minute), logins)
	if faults {
		w.sim.FailNext(1, 429)
		w.sim.LoseNextSubmits(1)
	}
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	grown := w.sim.StartGrowing(ctx, 300*time.Millisecond, 2)
	t.Cleanup(func() { cancel(); <-grown })
	w.kafka = testkit.NewKafka(t)
	w.registry = testkit.NewRegistry(t)
	w.env = map[string]string{
		"KAFKA_BROKERS":            strings.Join(w.kafka.Brokers(), ","),
		"SCHEMA_REGISTRY_URL":      w.registry.URL(),
		"START_TIME":               w.start.Format(time.RFC3339),
		"POLL_INTERVAL":            "200ms",
		"SAFETY_LAG":               "2s",
		"HTTP_ADDR":                "127.0.0.1:0",
		"HTTP_RETRY_MAX_ELAPSED":   "20s",
		"LOG_LEVEL":                "warn",
		"ORACLE_BASE_URL":          srv.URL,
		"ORACLE_TENANT":            e2eTenant,
		"ORACLE_USERNAME":          oraclesim.DefaultUsername,
		"ORACLE_PASSWORD":          oraclesim.DefaultPassword,
		"ORACLE_IDENTITY_DOMAIN":   e2eDomain,
		"ORACLE_JOB_POLL_INTERVAL": "100ms",
		"ORACLE_JOB_TIMEOUT":       "3s",
		"ORACLE_REPORT_INTERVAL":   "1s",
		"ORACLE_RATE_LIMIT":        "40",
	}
	return w
}

// loadService loads poller-oracle's configuration from w's environment,
// as the binary does, and returns the service.
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

// cursor returns the stream's saved cursor, read with a new store as a
// restarted poller would; ok is false without one.
func (w *world) cursor(t *testing.T) (c oracle.Cursor, ok bool) {
	t.Helper()
	if testkit.EndOffsets(t, w.kafka, "pollers.checkpoints") == nil {
		return c, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := checkpoint.NewKafkaStore(ctx, kafkax.Config{Brokers: w.kafka.Brokers()}, "pollers.checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cp, err := store.Get(ctx, oracle.StreamName(e2eTenant))
	if errors.Is(err, checkpoint.ErrNotFound) {
		return c, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cp.Cursor, &c); err != nil {
		t.Fatalf("cursor %s: %v", cp.Cursor, err)
	}
	return c, true
}

// caughtUpPast reports whether the saved cursor is at the open day with
// its horizon past t.
func (w *world) caughtUpPast(t *testing.T, at time.Time) bool {
	c, ok := w.cursor(t)
	return ok && c.To.IsZero() && c.From.After(at)
}

// expected maps the event id of every simulator row of [START_TIME, to)
// to a description.
func (w *world) expected(to time.Time) map[string]string {
	out := map[string]string{}
	for _, r := range w.sim.Rows(w.start, to) {
		out[oracle.EventID(e2eTenant, r.Login, r.IP, r.Time)] = r.Login + " at " + r.Time.Format(time.RFC3339)
	}
	return out
}

// finish runs the poller until the stream has caught up past now and no
// report file is left in the simulator, then stops it, and returns the
// horizon reached.
func (w *world) finish(t *testing.T) time.Time {
	t.Helper()
	stop := testkit.RunPoller(context.Background(), w.loadService(t))
	after := time.Now().UTC().Add(-2 * time.Second)
	testkit.WaitFor(t, "the stream caught up and its files deleted", 90*time.Second, func() bool {
		return w.caughtUpPast(t, after) && len(w.sim.Snapshots()) == 0
	})
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}
	if left := w.sim.Snapshots(); len(left) > 0 {
		t.Fatalf("report files left in the instance: %v", left)
	}
	c, _ := w.cursor(t)
	return c.From
}

// TestEndToEnd runs oraclesim (faults on, the current day growing) →
// poller-oracle → Kafka + registry → a decoding consumer, and checks that
// every row from START_TIME to the horizon arrived exactly once by
// event_id — the open day read again every ORACLE_REPORT_INTERVAL without
// duplicates —, nothing older than START_TIME, no dead letter, and no
// report file left in the instance despite lost submit answers.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, 4, 6000, true)
	svc := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "the backfill", 90*time.Second, func() bool { return w.caughtUpPast(t, time.Now().UTC().Add(-5*time.Second)) })
	// The open day grows; it is read again a few times.
	reads := time.Now().UTC().Add(3 * time.Second)
	testkit.WaitFor(t, "the open day read again", 30*time.Second, func() bool {
		return w.caughtUpPast(t, reads) && len(w.sim.Snapshots()) == 0
	})
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}
	c, _ := w.cursor(t)
	want := w.expected(c.From)
	events := testkit.Consume(t, w.kafka, w.registry.URL(), topic)
	testkit.CheckDelivered(t, want, testkit.CountIDs(events), 0)
	if dl := testkit.Produced(t, w.kafka, "pollers.deadletter"); dl != 0 {
		t.Fatalf("%d dead letters from valid rows", dl)
	}
	if left := w.sim.Snapshots(); len(left) > 0 {
		t.Fatalf("report files left in the instance: %v", left)
	}
	st := w.sim.Stats()
	t.Logf("%d events to %s; simulator %+v", len(events), c.From.Format(time.RFC3339), st)
	if st.LostSubmits == 0 || st.ServerErrors == 0 || st.RateLimited == 0 {
		t.Fatalf("faults were not exercised: %+v", st)
	}
	for _, e := range events {
		et, ok := e["event_time"].(time.Time)
		if !ok || et.Before(w.start) || e["vendor"] != "oracle" || e["tenant_id"] != e2eTenant || e["category"] != "AUTHENTICATION" || e["raw"] == nil {
			t.Fatalf("event %v", e)
		}
	}
}

// TestRestartSafety stops the poller abruptly several times during a
// backfill — a crash between a page's produce and its checkpoint
// (testkit.CrashingStore) at several saves, mid-day, and stops at
// arbitrary moments — and restarts it from the checkpoint topic each
// time. No row may be lost, only the page in flight at a stop may repeat,
// and no report file may be left behind.
func TestRestartSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, 5, 20000, true)
	crashes := 0
	for _, at := range []int64{2, 3, 5} {
		testkit.RunUntilCrash(t, w.loadService(t), at)
		crashes++
		c, _ := w.cursor(t)
		t.Logf("crash %d at save %d; cursor day %s from %s row %d", crashes, at, c.Day, c.From.Format(time.RFC3339), c.Row)
	}
	for _, more := range []int64{1500, 2500} {
		after := testkit.Produced(t, w.kafka, topic) + more
		stop := testkit.RunPoller(context.Background(), w.loadService(t))
		testkit.WaitFor(t, fmt.Sprintf("%d events", after), 60*time.Second, func() bool { return testkit.Produced(t, w.kafka, topic) >= after })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		crashes++
	}
	if w.caughtUpPast(t, w.start.Add(5*24*time.Hour-time.Hour)) {
		t.Fatal("the backfill finished before the stops meant to interrupt it")
	}
	horizon := w.finish(t)
	want := w.expected(horizon)
	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(testkit.Consume(t, w.kafka, w.registry.URL(), topic)), crashes*oracle.DefaultPageSize)
	t.Logf("%d events, %d duplicates after %d stops; simulator %+v", len(want), dups, crashes, w.sim.Stats())
}

// TestInvalidConfigurationListsEveryProblem is what a user sees with a
// broken configuration: every problem at once, before any I/O.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	for k, v := range map[string]string{
		"KAFKA_BROKERS":            "",
		"POLL_INTERVAL":            "soon",
		"ORACLE_BASE_URL":          "not a url",
		"ORACLE_TENANT":            "acme corp",
		"ORACLE_USERNAME":          "svc",
		"ORACLE_PASSWORD":          "",
		"ORACLE_CLIENT_ID":         "client",
		"ORACLE_REPORT_API":        "auditlog",
		"ORACLE_JOB_POLL_INTERVAL": "1ms",
		"ORACLE_REPORT_INTERVAL":   "0s",
		"ORACLE_TOPIC":             "oracle audit",
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
	for _, want := range []string{"KAFKA_BROKERS", "POLL_INTERVAL", "ORACLE_BASE_URL", "ORACLE_TENANT", "ORACLE_USERNAME", "ORACLE_REPORT_API", "ORACLE_JOB_POLL_INTERVAL", "ORACLE_REPORT_INTERVAL", "ORACLE_TOPIC"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
}
