package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/internal/plm"
	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/poller"
	"github.com/auditstream/auditstream/shared/testkit"
)

const (
	e2eTenant = "ACME"
	e2eClient = "e2e-client"
	e2eSecret = "e2e-secret"
	e2eUser   = "integration@acme.example"
)

// world is one simulator + Kafka + registry, and the environment that points
// poller-plm at them.
type world struct {
	sim         *plmsim.Server
	kafka       testkit.Brokers
	registryURL string
	env         map[string]string
	start       time.Time
	end         time.Time
}

// newWorld builds a simulator with history between 20 days and 1 hour ago
// (so every record is older than SAFETY_LAG and must arrive), with its
// faults on: short-lived tokens, a rate limit with 429s and random 5xx.
func newWorld(t *testing.T, perType map[string]int, faults bool) *world {
	t.Helper()
	return newWorldOn(t, testkit.NewKafka(t), testkit.NewRegistry(t).URL(), perType, faults)
}

// newWorldOn is newWorld against a given Kafka cluster and registry.
func newWorldOn(t *testing.T, kafka testkit.Brokers, registryURL string, perType map[string]int, faults bool) *world {
	t.Helper()
	now := time.Now().UTC()
	w := &world{start: now.Add(-20 * 24 * time.Hour).Truncate(time.Hour), end: now.Add(-time.Hour)}
	cfg := plmsim.Config{
		Tenant:          e2eTenant,
		ClientID:        e2eClient,
		ClientSecret:    e2eSecret,
		UserIDs:         []string{e2eUser},
		AltLocations:    []*time.Location{time.FixedZone("IST", 5*3600+1800)},
		AltLocationRate: 0.05,
		Seed:            7,
	}
	if faults {
		cfg.TokenTTL = time.Second
		cfg.RateLimit = 40
		cfg.Burst = 4
		cfg.FaultRate = 0.1
	}
	w.sim = plmsim.New(cfg)
	w.sim.Generate(w.start, w.end, perType)
	if faults {
		w.sim.FailNext(2, 503) // the first calls fail for sure
	}
	srv := httptest.NewServer(w.sim.Handler())
	t.Cleanup(srv.Close)
	w.kafka, w.registryURL = kafka, registryURL
	w.env = map[string]string{
		"KAFKA_BROKERS":          strings.Join(w.kafka.Brokers(), ","),
		"SCHEMA_REGISTRY_URL":    w.registryURL,
		"START_TIME":             w.start.Format(time.RFC3339),
		"POLL_INTERVAL":          "200ms",
		"SAFETY_LAG":             "1m",
		"HTTP_ADDR":              "127.0.0.1:0",
		"HTTP_RETRY_MAX_ELAPSED": "20s",
		"LOG_LEVEL":              "warn",
		"PLM_BASE_URL":           srv.URL,
		"PLM_TENANT":             e2eTenant,
		"PLM_TOKEN_URL":          srv.URL + plmsim.TokenPath,
		"PLM_CLIENT_ID":          e2eClient,
		"PLM_CLIENT_SECRET":      e2eSecret,
		"PLM_USER_ID":            e2eUser,
		"PLM_PAGE_SIZE":          "250",
		"PLM_MAX_WINDOW":         "72h",
		"PLM_RATE_LIMIT":         "1000",
	}
	return w
}

// expected maps every simulator record's event id to its stream.
func (w *world) expected(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, typ := range []string{plmsim.TypeItem, plmsim.TypeSystem} {
		stream := plm.StreamName(e2eTenant, typ)
		seen := map[string]int{}
		for _, r := range w.sim.Records(typ) {
			identity, err := event.ContentIdentity(r.Raw)
			if err != nil {
				t.Fatalf("simulator record %s: %v", r.Raw, err)
			}
			// Identical rows (same content, same millisecond) are events
			// of their own: the k-th repeat has identity "<hash>#k".
			k := seen[identity]
			seen[identity]++
			if k > 0 {
				identity += "#" + strconv.Itoa(k)
			}
			out[event.ID("plm", e2eTenant, stream, identity)] = stream
		}
	}
	return out
}

// loadService loads poller-plm's configuration from w's environment, as the
// binary does, and returns the service.
func (w *world) loadService(t *testing.T) (poller.Service, *Config) {
	t.Helper()
	for k, v := range w.env {
		t.Setenv(k, v)
	}
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	return service(&cfg), &cfg
}

// consumed reads and decodes every event in topic (testkit.Consume).
func (w *world) consumed(t *testing.T, topic string) []map[string]any {
	return testkit.Consume(t, w.kafka, w.registryURL, topic)
}

// producedCount is the number of messages in topic.
func (w *world) producedCount(t *testing.T, topic string) int64 {
	return testkit.Produced(t, w.kafka, topic)
}

// TestEndToEnd runs plmsim (faults on) → poller-plm → Kafka + registry → a
// decoding consumer, and checks that every simulator record arrived exactly
// once by event_id, decoded with the registry's schema.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, map[string]int{plmsim.TypeItem: 3000, plmsim.TypeSystem: 1500}, true)
	want := w.expected(t)
	svc, _ := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "every record", 90*time.Second, func() bool { return w.producedCount(t, "plm.audit") >= int64(len(want)) })
	if err := stop(); err != nil {
		t.Fatalf("poller: %v", err)
	}

	events := w.consumed(t, "plm.audit")
	counts := testkit.CountIDs(events)
	for id, stream := range want {
		if counts[id] != 1 {
			t.Fatalf("event %s of %s arrived %d times, want once", id, stream, counts[id])
		}
	}
	if len(events) != len(want) {
		t.Fatalf("consumed %d events, want %d", len(events), len(want))
	}
	if dl := w.producedCount(t, "pollers.deadletter"); dl != 0 {
		t.Fatalf("%d dead letters from valid records", dl)
	}
	st := w.sim.Stats()
	t.Logf("records %d; simulator stats %+v", len(events), st)
	if st.RateLimited == 0 || st.ServerErrors == 0 || st.TokensIssued < 2 {
		t.Fatalf("faults were not exercised: %+v", st)
	}
	// A spot check of the mapping as a consumer sees it.
	for _, e := range events {
		if e["vendor"] != "plm" || e["tenant_id"] != e2eTenant || e["raw"] == nil {
			t.Fatalf("event %v", e)
		}
		et, ok := e["event_time"].(time.Time)
		if !ok || et.Location() != time.UTC {
			t.Fatalf("event_time %v is not a UTC time", e["event_time"])
		}
	}
}

// TestRestartSafety stops the poller abruptly several times during a
// backfill — between a page's produce and its checkpoint, and at arbitrary
// moments — and restarts it from the checkpoint topic each time. No record
// may be lost, and only the pages in flight at a stop may repeat.
func TestRestartSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	w := newWorld(t, map[string]int{plmsim.TypeItem: 4000, plmsim.TypeSystem: 2000}, false)
	// Slow enough (about 5,000 records/s) that every stop lands mid-backfill.
	pageSize := 100
	w.env["PLM_PAGE_SIZE"] = strconv.Itoa(pageSize)
	w.env["PLM_RATE_LIMIT"] = "50"
	want := w.expected(t)

	stops := 0
	// Crashes between produce and checkpoint, at the 2nd, 4th and 6th save
	// of each run.
	for _, at := range []int64{2, 4, 6} {
		svc, _ := w.loadService(t)
		testkit.RunUntilCrash(t, svc, at)
		stops++
	}
	// Stops at arbitrary moments: after some records have been produced.
	for _, more := range []int64{300, 700} {
		svc, _ := w.loadService(t)
		after := w.producedCount(t, "plm.audit") + more
		stop := testkit.RunPoller(context.Background(), svc)
		testkit.WaitFor(t, fmt.Sprintf("%d records", after), 60*time.Second, func() bool { return w.producedCount(t, "plm.audit") >= after })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if n := len(testkit.CountIDs(w.consumed(t, "plm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before the stop meant to interrupt it", n)
		}
		stops++
	}
	// The last run finishes the backfill.
	svc, _ := w.loadService(t)
	stop := testkit.RunPoller(context.Background(), svc)
	testkit.WaitFor(t, "every record", 60*time.Second, func() bool {
		return len(testkit.CountIDs(w.consumed(t, "plm.audit"))) >= len(want)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Two streams run concurrently, so a stop can catch a page of each.
	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(w.consumed(t, "plm.audit")), stops*2*pageSize)
	t.Logf("%d events, %d duplicates after %d stops", len(want), dups, stops)
}

// TestInvalidConfigurationListsEveryProblem is what a user sees with a
// broken configuration: every problem at once, before any I/O.
func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	for k, v := range map[string]string{
		"KAFKA_BROKERS":        "",
		"POLL_INTERVAL":        "soon",
		"KAFKA_SASL_MECHANISM": "GSSAPI",
		"PLM_BASE_URL":         "not a url",
		"PLM_PAGE_SIZE":        "5000",
		"PLM_LOG_TYPES":        "item,audit",
		"PLM_TENANT":           "",
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
	for _, want := range []string{"KAFKA_BROKERS", "POLL_INTERVAL", "KAFKA_SASL_MECHANISM", "PLM_BASE_URL", "PLM_PAGE_SIZE", "PLM_LOG_TYPES", "PLM_TENANT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
}
