package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
)

// testTenant is the tenant of the package's tests.
const testTenant = "acme"

// simNow is the simulated time the simulator tests start at.
var simNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// quiet returns a logger that drops everything unless ORACLE_TEST_LOG is set.
func quiet() *slog.Logger {
	if os.Getenv("ORACLE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// simWorld is an oraclesim on a simulated clock and a client of it.
type simWorld struct {
	sim    *oraclesim.Server
	clock  *testkit.Clock
	client *Client
	url    string
}

// newSimWorld starts oraclesim with cfg on a clock at now, without its
// rate limit (the simulated clock would never refill it) and with jobs of
// 1 to 4 simulated seconds unless cfg says otherwise.
func newSimWorld(t testing.TB, cfg oraclesim.Config, now time.Time) *simWorld {
	t.Helper()
	clock := testkit.NewClock(now)
	cfg.Clock = clock.Now
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	if cfg.JobMin == 0 {
		cfg.JobMin, cfg.JobMax = time.Second, 4*time.Second
	}
	if cfg.JobFailRate == 0 {
		cfg.JobFailRate = -1
	}
	if len(cfg.FaultStatuses) == 0 {
		// 503 would make httpx wait its Retry-After in real seconds.
		cfg.FaultStatuses = []int{500, 502}
	}
	sim := oraclesim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	w := &simWorld{sim: sim, clock: clock, url: srv.URL}
	user := oraclesim.DefaultUsername
	if cfg.IdentityDomain != "" {
		user = cfg.IdentityDomain + "." + user
	}
	w.client = w.newClient(t, NewBasic(user, oraclesim.DefaultPassword), "user "+user)
	return w
}

// newClient returns a client of the simulator with auth and fast retries.
func (w *simWorld) newClient(t testing.TB, auth httpx.Authorizer, principal string) *Client {
	t.Helper()
	h := httpx.New(httpx.Config{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: 10 * time.Second},
		httpx.WithAuthorizer(auth), httpx.WithLogger(quiet()), httpx.WithName(Vendor))
	c, err := NewClient(h, w.url, ClientOptions{Principal: principal})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// auditReporter returns the user audit reporter of w on its clock.
func (w *simWorld) auditReporter() *AuditReporter {
	return NewAuditReporter(w.client, AuditReporterConfig{PollInterval: time.Second, Timeout: 30 * time.Second, Now: w.clock.Now, Sleep: w.clock.Sleep, Logger: quiet()})
}

// source returns a Source of w reading through rep from start.
func (w *simWorld) source(t testing.TB, rep Reporter, start time.Time, mods ...func(*SourceConfig)) *Source {
	t.Helper()
	cfg := SourceConfig{
		Tenant: testTenant, Reporter: rep, Start: start, SafetyLag: 2 * time.Minute,
		ReportInterval: 15 * time.Minute, JobTimeout: 30 * time.Second, OrphanRetry: time.Second,
		Clock: w.clock.Now, Logger: quiet(),
	}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// expectedIDs returns the event ids of the simulator's rows in [from, to).
func (w *simWorld) expectedIDs(from, to time.Time) map[string]string {
	out := map[string]string{}
	for _, r := range w.sim.Rows(from, to) {
		out[EventID(testTenant, r.Login, r.IP, r.Time)] = r.Login + " " + r.Time.Format(time.RFC3339)
	}
	return out
}

// run is what draining a Source produced.
type run struct {
	ids     map[string]int // event id → times published
	dead    []string       // normalizer errors and source dead letters
	cursors []pipeline.Cursor
	last    pipeline.Cursor
	pages   int
	errors  int
}

// drain fetches from cur until the Source has caught up (a Done page that
// changes nothing), as the pipeline would, retrying errors; it fails the
// test after maxErrors errors in a row.
func drain(t testing.TB, src *Source, cur pipeline.Cursor, r *run) *run {
	t.Helper()
	if r == nil {
		r = &run{ids: map[string]int{}}
	}
	norm := NewNormalizer(testTenant)
	inARow := 0
	for i := 0; ; i++ {
		if i > 20000 {
			t.Fatal("the source never caught up")
		}
		p, err := src.Fetch(context.Background(), cur)
		if err != nil {
			r.errors++
			if inARow++; inARow > 30 {
				t.Fatalf("%d errors in a row, the last: %v", inARow, err)
			}
			continue
		}
		inARow = 0
		r.pages++
		if len(p.Records) > DefaultPageSize {
			t.Fatalf("page of %d records", len(p.Records))
		}
		for _, rec := range p.Records {
			ev, err := norm(rec, simNow)
			if err != nil {
				r.dead = append(r.dead, err.Error())
				continue
			}
			r.ids[ev.(*event.AuditEvent).EventID]++
		}
		for _, d := range p.DeadLetters {
			r.dead = append(r.dead, d.Reason)
		}
		same := bytes.Equal(p.Next, cur)
		cur = p.Next
		r.cursors = append(r.cursors, cur)
		if p.Done && same {
			break
		}
	}
	r.last = cur
	return r
}

// decodeCursor decodes a cursor of this package.
func decodeCursor(t testing.TB, raw pipeline.Cursor) Cursor {
	t.Helper()
	var c Cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cursor %s: %v", raw, err)
	}
	return c
}

// checkIDs fails unless got holds every wanted id exactly once and nothing else.
func checkIDs(t testing.TB, got map[string]int, want map[string]string) {
	t.Helper()
	for id, what := range want {
		if got[id] != 1 {
			t.Fatalf("row %s (%s) published %d times; %d ids published, %d wanted", id, what, got[id], len(got), len(want))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Fatalf("unexpected event %s (%d published, %d wanted)", id, len(got), len(want))
		}
	}
}

// cleanUp advances the clock and fetches until the simulator holds no
// report file, or fails the test.
func (w *simWorld) cleanUp(t testing.TB, src *Source, cur pipeline.Cursor) {
	t.Helper()
	for i := 0; len(w.sim.Snapshots()) > 0; i++ {
		if i > 200 {
			t.Fatalf("files left behind: %v; the source keeps %v", w.sim.Snapshots(), src.Orphans())
		}
		w.clock.Advance(5 * time.Second)
		p, err := src.Fetch(context.Background(), cur)
		if err == nil {
			cur = p.Next
		}
	}
}
