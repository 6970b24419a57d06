package epm

import (
	"maps"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// simWorld is a simulator on a fake clock and a configuration pointing at
// it.
type simWorld struct {
	sim   *epmsim.Server
	srv   *httptest.Server
	clock *fakeClock
	cfg   Config
}

func newSimWorld(t *testing.T, clock *fakeClock, scfg epmsim.Config) *simWorld {
	t.Helper()
	scfg.Clock = clock.Now
	sim := epmsim.New(scfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := validConfig()
	cfg.BaseURL = srv.URL
	cfg.Username, cfg.Password = epmsim.DefaultUsername, epmsim.DefaultPassword
	return &simWorld{sim: sim, srv: srv, clock: clock, cfg: cfg}
}

// client builds a client of w's configuration on w's clock.
func (w *simWorld) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClientFromConfig(&w.cfg, ClientOptions{HTTP: fastHTTP(), Logger: discardLogger(), Clock: w.clock.Now, Sleep: w.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tenant builds the Tenant of w's configuration reading through c, on w's
// clock.
func (w *simWorld) tenant(c *Client, start time.Time, lag time.Duration) *Tenant {
	return NewTenant(c, TenantConfig{
		Tenant: w.cfg.Tenant, Topic: w.cfg.Topic, Start: start, SafetyLag: lag,
		MaxWindow: w.cfg.MaxWindow, PageSize: w.cfg.PageSize, Clock: w.clock.Now, Logger: discardLogger(),
	})
}

// truth returns, per set, how many times each raw record of the simulator
// with start <= EventTime < until must be emitted.
func (w *simWorld) truth(start, until map[string]time.Time) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, set := range w.sim.Sets() {
		m := map[string]int{}
		for _, r := range w.sim.Records(set.ID) {
			if !r.Time.Before(start[set.ID]) && r.Time.Before(until[set.ID]) {
				m[string(r.Raw)]++
			}
		}
		out[set.ID] = m
	}
	return out
}

// eventIDs returns the event ids of the records truth would count: the
// k-th record identical to an earlier one of its set gets occurrence k.
func (w *simWorld) eventIDs(t *testing.T, tenant string, start, until map[string]time.Time) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, set := range w.sim.Sets() {
		seen := map[string]int{}
		for _, r := range w.sim.Records(set.ID) {
			if r.Time.Before(start[set.ID]) || !r.Time.Before(until[set.ID]) {
				continue
			}
			k := seen[string(r.Raw)]
			seen[string(r.Raw)]++
			identity, err := Identity(set.ID, r.Raw, k)
			if err != nil {
				t.Fatal(err)
			}
			out[event.ID(Vendor, tenant, StreamName(tenant, set.ID), identity)] = true
		}
	}
	return out
}

// TestSourceAgainstSimulator polls a simulated tenant through every fault
// the simulator has — the vendor's two rate limits, a 429 with Retry-After,
// 5xx answers (some HTML), sessions expiring after inactivity and after a
// maximum age, bursts of records sharing one EventTime (some identical),
// the audit log growing as it is read (every call is audited), a set added
// while running — with one stream per set as the pipeline runs them:
// discovered every 10 fetches, taking turns, each waiting the poll interval
// once caught up. Now and then it rebuilds the client and the streams from
// the saved cursors, as a restart does. Every ground-truth record from
// START_TIME to each set's final position must arrive exactly once, and
// normalize.
func TestSourceAgainstSimulator(t *testing.T) {
	t0 := time.Date(2024, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	w := newSimWorld(t, clock, epmsim.Config{
		SessionTimeout: 3 * time.Minute,
		TokenMaxAge:    7 * time.Minute, // several expire between restarts
		FaultRate:      0.08,
		FaultStatuses:  []int{500, 502, 504},
		AuditAPICalls:  true,
		Seed:           11,
	})
	start := t0.Add(-3 * 24 * time.Hour)
	for i, n := range []int{1200, 700, 0} {
		set := w.sim.AddSet("", "")
		w.sim.Generate(set.ID, start.Add(-time.Hour), t0, n)
		if i == 0 {
			// A burst across several pages, a third of it identical.
			w.sim.Append(set.ID, start.Add(7*time.Hour+123*time.Millisecond), 250, false)
			w.sim.Append(set.ID, start.Add(7*time.Hour+123*time.Millisecond), 120, true)
		}
	}
	w.sim.FailNext(1, 429)
	w.cfg.PageSize = 100
	w.cfg.MaxWindow = 24 * time.Hour
	// The client renews after 3m idle, as the tenant's timeout says; the
	// simulator also ends sessions at 7m, which only a 401 reveals.
	w.cfg.SessionTimeout = 3 * time.Minute
	const lag = 2 * time.Minute

	// stream is a running set stream: its source, saved cursor, and
	// whether it waits for the poll interval.
	type stream struct {
		src  pipeline.Source
		norm pipeline.Normalizer
		cur  pipeline.Cursor
		idle bool
	}
	c := w.client(t)
	ten := w.tenant(c, start, lag)
	running := map[string]*stream{}
	discover := func() {
		t.Helper()
		streams, err := ten.Discover(t.Context())
		if err != nil {
			t.Fatalf("discover: %v", err)
		}
		for _, s := range streams {
			id := s.Source.(*Source).SetID()
			if st := running[id]; st != nil {
				continue
			}
			running[id] = &stream{src: s.Source, norm: s.Normalize}
		}
	}
	discover()
	got := map[string]map[string]int{}
	ids := map[string]int{}
	logons := 0
	var added epmsim.Set
	end := t0.Add(40 * time.Minute)
	for fetches := 1; ; {
		if fetches > 3000 {
			t.Fatal("no end after 3000 fetches")
		}
		allIdle := true
		for _, id := range slices.Sorted(maps.Keys(running)) {
			st := running[id]
			if st.idle {
				continue
			}
			allIdle = false
			p, err := st.src.Fetch(t.Context(), st.cur)
			if err != nil {
				t.Fatalf("fetch %d of set %s: %v", fetches, id, err)
			}
			for _, rec := range p.Records {
				e := rec.Value.(*Entry)
				if e.SetID != id {
					t.Fatalf("record of set %s in the stream of set %s", e.SetID, id)
				}
				if got[id] == nil {
					got[id] = map[string]int{}
				}
				got[id][string(rec.Raw)]++
				ev, err := st.norm(rec, clock.Now())
				if err != nil {
					t.Fatalf("normalize %s: %v", rec.Raw, err)
				}
				ids[ev.Key()]++
				if a := ev.(*event.AuditEvent); a.Category == event.CategoryUnknown || a.Actor == nil || a.Attributes[AttrSetID] != id || a.Stream != StreamName("ACME", id) {
					t.Errorf("event of %s: category %s, actor %+v, attributes %v, stream %s", rec.Raw, a.Category, a.Actor, a.Attributes, a.Stream)
				}
			}
			st.cur, st.idle = p.Next, p.Done
			// Time passes while the page is produced; the tenant's
			// administrators keep working.
			before := clock.Now()
			w.sim.GrowSpan(before, clock.Advance(3*time.Second), 2)
			fetches++
			switch {
			case fetches == 40:
				added = w.sim.AddSet("", "set added while running")
				w.sim.Generate(added.ID, start.Add(-time.Hour), clock.Now(), 300)
			case fetches%50 == 0:
				// A restart: new client, new session, new streams from
				// the saved cursors.
				logons += c.Session().Logons()
				c = w.client(t)
				ten = w.tenant(c, start, lag)
				saved := running
				running = map[string]*stream{}
				discover()
				for id, st := range running {
					if old := saved[id]; old != nil {
						st.cur = old.cur
					}
				}
			case fetches%10 == 0:
				discover()
			}
		}
		if allIdle {
			if clock.Now().After(end) {
				break
			}
			// The poll interval.
			before := clock.Now()
			w.sim.GrowSpan(before, clock.Advance(time.Minute), 2)
			discover()
			for _, st := range running {
				st.idle = false
			}
		}
	}
	logons += c.Session().Logons()

	starts, untils := map[string]time.Time{}, map[string]time.Time{}
	for _, set := range w.sim.Sets() {
		st, ok := running[set.ID]
		if !ok || st.cur == nil {
			t.Fatalf("set %s (%s) has no stream or no cursor", set.ID, set.Name)
		}
		sc := decodeTestCursor(t, st.cur)
		starts[set.ID], untils[set.ID] = start, sc.Last
		if want := end.Add(-lag - 2*time.Minute); sc.Last.Before(want) {
			t.Errorf("set %s: position %v, want at least %v", set.ID, sc.Last, want)
		}
	}
	want := w.truth(starts, untils)
	n := 0
	for id, m := range want {
		for raw, c := range m {
			n += c
			if got[id][raw] != c {
				t.Errorf("set %s: record emitted %d times, want %d: %s", id, got[id][raw], c, raw)
			}
		}
		for raw, c := range got[id] {
			if m[raw] == 0 {
				t.Errorf("set %s: emitted %d times a record outside the ground truth: %s", id, c, raw)
			}
		}
	}
	wantIDs := w.eventIDs(t, "ACME", starts, untils)
	for id, c := range ids {
		if c != 1 || !wantIDs[id] {
			t.Errorf("event id %s emitted %d times (expected: %v)", id, c, wantIDs[id])
		}
	}
	if len(ids) != len(wantIDs) {
		t.Errorf("%d distinct event ids, want %d", len(ids), len(wantIDs))
	}
	if len(want[added.ID]) < 250 {
		t.Errorf("the set added while running contributed %d distinct records", len(want[added.ID]))
	}
	st := w.sim.Stats()
	t.Logf("%d records over %d sets; %d logons; simulator %+v; budget waits %s", n, len(want), logons, st, clock.Slept())
	if st.ServerErrors == 0 || st.RateLimited == 0 || st.Unauthorized == 0 || st.Logons < 4 {
		t.Errorf("the faults did not all happen: %+v", st)
	}
	if st.RateLimited > 1 || st.BadRequests > 0 || st.DispatcherMisses > 0 || st.Forbidden > 0 {
		t.Errorf("the client overran a limit or sent a bad request: %+v", st)
	}
}
