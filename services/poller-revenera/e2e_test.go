package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/internal/revenera"
	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

const (
	e2eTenant  = "ACME"
	e2eTopic   = "revenera.usage"
	e2ePageMax = revenera.DefaultPageRows
	safetyLag  = time.Minute
)

// world is one simulator + Kafka + registry, and the environment that
// points poller-revenera at them.
type world struct {
	sim      *revenerasim.Server
	kafka    *testkit.Kafka
	registry *testkit.Registry
	env      map[string]string
	start    time.Time
	now      time.Time
}

// newWorld builds a simulator (real clock) with rowsPerDay rows a day from
// 50 days ago, START_TIME 45 days ago in the middle of a day — older than
// the oldest of the 40 daily files, so that its month comes from its
// monthly file — and, with faults, sessions that expire after 3 s, random
// "Cookie Missing" logons, download URLs that expire after 2 s, a rate
// limit that answers 429, and injected 5xx.
func newWorld(t *testing.T, rowsPerDay int, faults bool) *world {
	t.Helper()
	now := time.Now().UTC()
	w := &world{now: now, start: now.Add(-45 * 24 * time.Hour).Truncate(time.Hour).Add(-90 * time.Minute)}
	cfg := revenerasim.Config{Seed: 11, CookieMissingRate: -1, RateLimit: 60}
	if faults {
		cfg.CookieMissingRate = 0.2
		cfg.SessionTTL = 3 * time.Second
		cfg.URLTTL = 2 * time.Second
		cfg.FaultRate = 0.05
		cfg.RateLimit = 30
	}
	w.sim = revenerasim.New(cfg)
	w.sim.Generate(now.Add(-50*24*time.Hour), now, rowsPerDay)
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
		"SAFETY_LAG":             safetyLag.String(),
		"HTTP_ADDR":              "127.0.0.1:0",
		"HTTP_RETRY_MAX_ELAPSED": "20s",
		"LOG_LEVEL":              "warn",
		"REVENERA_BASE_URL":      srv.URL,
		"REVENERA_TENANT":        e2eTenant,
		"REVENERA_USERNAME":      revenerasim.DefaultUsername,
		"REVENERA_PASSWORD":      revenerasim.DefaultPassword,
		"REVENERA_PRODUCT_IDS":   "",
		"REVENERA_RATE_LIMIT":    "25",
		"REVENERA_REPORT_DAYS":   "10",
	}
	return w
}

// products returns the simulator's product ids.
func (w *world) products() []string {
	var out []string
	for _, p := range w.sim.Products() {
		out = append(out, strconv.FormatInt(p.ID, 10))
	}
	return out
}

// expectedRows maps the event id of every raw row from START_TIME to the
// end of the last closed day to its stream.
func (w *world) expectedRows(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	end := utcday.Of(w.sim.Now()).Start()
	for _, p := range w.sim.Products() {
		product := strconv.FormatInt(p.ID, 10)
		for _, kind := range []struct {
			sim string
			k   revenera.Kind
		}{{revenerasim.CustomEvents, revenera.CustomEvents}, {revenerasim.Exceptions, revenera.Exceptions}} {
			stream := revenera.StreamName(product, kind.k.Stream)
			header := revenerasim.Header(kind.sim)
			seen := map[string]int{}
			for _, r := range w.sim.Rows(p.ID, kind.sim, w.start, end) {
				raw := zipcsv.AppendObject(nil, header, r.Fields)
				k := seen[string(raw)]
				seen[string(raw)]++
				identity, err := revenera.FileIdentity(raw, k)
				if err != nil {
					t.Fatal(err)
				}
				out[event.ID(revenera.Vendor, e2eTenant, stream, identity)] = stream
			}
		}
	}
	return out
}

// reportKeys returns the number of report values expected: one per closed
// day from the first whole day after START_TIME and per tracked event
// (the simulator lists one disabled event besides those of its rows), and
// three per day for the client statuses.
func (w *world) reportKeys() int {
	first := utcday.Of(w.start) + 1
	last := utcday.LastClosed(time.Now(), safetyLag)
	days := int(last-first) + 1
	n := 0
	for _, p := range w.sim.Products() {
		n += days * (len(w.sim.Events(p.ID)) + 1 + 3)
	}
	return n
}

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

func (w *world) consumed(t *testing.T) []map[string]any {
	return testkit.Consume(t, w.kafka, w.registry.URL(), e2eTopic)
}

// complete reports whether every expected row and report value arrived.
func (w *world) complete(t *testing.T, rows map[string]string, reports int) bool {
	if testkit.Produced(t, w.kafka, e2eTopic) < int64(len(rows)+reports) {
		return false
	}
	return len(testkit.CountIDs(w.consumed(t))) >= len(rows)+reports
}

// checkDelivery fails unless every expected row arrived, each report value
// once per (stream, day, metric, event), nothing before START_TIME and
// nothing else; it returns the number of repeated events.
func (w *world) checkDelivery(t *testing.T, events []map[string]any, rows map[string]string, reports, maxDups int) int {
	t.Helper()
	fileEvents := []map[string]any{}
	reportIDs := map[string]string{} // id → key
	keys := map[string]string{}      // key → id
	for _, e := range events {
		stream, _ := e["stream"].(string)
		if e["tenant_id"] != e2eTenant || e["vendor"] != revenera.Vendor {
			t.Fatalf("event %v", e)
		}
		if et, _ := e["event_time"].(time.Time); et.Before(w.start) {
			t.Fatalf("event before START_TIME: %v", e)
		}
		if strings.HasSuffix(stream, "/custom-events") || strings.HasSuffix(stream, "/exceptions") {
			fileEvents = append(fileEvents, e)
			continue
		}
		dims, _ := e["dimensions"].(map[string]any)
		ps, _ := e["period_start"].(time.Time)
		key := fmt.Sprintf("%s|%s|%s|%v|%v", stream, ps.Format(utcday.Layout), e["metric"], dims["category"], dims["name"])
		id := e["event_id"].(string)
		if old, ok := keys[key]; ok && old != id {
			t.Fatalf("report value %s has two event ids", key)
		}
		keys[key], reportIDs[id] = id, key
	}
	if len(keys) != reports {
		t.Fatalf("%d report values, want %d", len(keys), reports)
	}
	return testkit.CheckDelivered(t, rows, testkit.CountIDs(fileEvents), maxDups)
}

// TestEndToEnd runs revenerasim (faults on) → poller-revenera (products
// discovered from the logon) → Kafka + registry → a decoding consumer,
// crashing it once between a page's produce and its checkpoint and
// stopping it once mid-backfill, and checks that every raw row arrived by
// event_id (repeats only of pages in flight), every report value once
// per day and metric, nothing before START_TIME, and that every stop
// logged the session out.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, 150, true)
	rows, reports := w.expectedRows(t), w.reportKeys()

	testkit.RunUntilCrash(t, w.loadService(t), 6)
	stops := 1
	logouts := w.sim.Stats().Logouts
	if logouts < 1 {
		t.Fatalf("no logout after the crashed run's stop: %+v", w.sim.Stats())
	}
	// A stop in the middle of the backfill.
	target := testkit.Produced(t, w.kafka, e2eTopic) + int64(len(rows)/3)
	stop := testkit.RunPoller(context.Background(), w.loadService(t))
	testkit.WaitFor(t, "a third of the rows", 60*time.Second, func() bool { return testkit.Produced(t, w.kafka, e2eTopic) >= target })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stops++
	if n := len(testkit.CountIDs(w.consumed(t))); n >= len(rows)+reports {
		t.Fatalf("the backfill finished (%d events) before the stop meant to interrupt it", n)
	}
	// The last run finishes.
	stop = testkit.RunPoller(context.Background(), w.loadService(t))
	testkit.WaitFor(t, "every row and report value", 90*time.Second, func() bool { return w.complete(t, rows, reports) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dups := w.checkDelivery(t, w.consumed(t), rows, reports, stops*8*e2ePageMax)
	st := w.sim.Stats()
	if st.Logouts < 3 || st.ActiveSessions != 0 {
		t.Fatalf("sessions not logged out at every stop: %+v", st)
	}
	if st.Unauthorized == 0 || st.CookieMissing == 0 || st.ServerErrors == 0 || st.RateLimited == 0 {
		t.Fatalf("faults were not exercised: %+v", st)
	}
	if st.BadRequests > 0 || st.Forbidden > 0 {
		t.Fatalf("bad requests: %+v", st)
	}
	if dl := testkit.Produced(t, w.kafka, "pollers.deadletter"); dl != 0 {
		t.Fatalf("%d dead letters from valid data", dl)
	}
	t.Logf("%d rows, %d report values, %d duplicates after %d stops; simulator %+v", len(rows), reports, dups, stops, st)
}

// TestInvalidConfigurationListsEveryProblem is what a user sees with a
// broken configuration: every problem at once, before any I/O.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	for k, v := range map[string]string{
		"KAFKA_BROKERS":        "",
		"POLL_INTERVAL":        "soon",
		"REVENERA_BASE_URL":    "not a url",
		"REVENERA_TENANT":      "",
		"REVENERA_USERNAME":    "u",
		"REVENERA_PASSWORD":    "",
		"REVENERA_PRODUCT_IDS": "12,abc",
		"REVENERA_STREAMS":     "custom-events,audit",
		"REVENERA_REPORT_DAYS": "90",
		"REVENERA_RATE_LIMIT":  "fast",
	} {
		t.Setenv(k, v)
	}
	var cfg Config
	err := config.Load(&cfg)
	var cerr *config.Error
	if !errorsAs(err, &cerr) {
		t.Fatalf("Load = %v, want *config.Error", err)
	}
	msg := err.Error()
	for _, want := range []string{"KAFKA_BROKERS", "POLL_INTERVAL", "REVENERA_BASE_URL", "REVENERA_TENANT", "REVENERA_PASSWORD", "REVENERA_PRODUCT_IDS", "REVENERA_STREAMS", "REVENERA_REPORT_DAYS", "REVENERA_RATE_LIMIT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
}
