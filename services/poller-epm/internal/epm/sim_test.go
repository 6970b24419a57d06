package epm

import (
	"net/http/httptest"
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

// source builds a Source of w's configuration reading through c.
func (w *simWorld) source(c *Client, start time.Time, lag time.Duration) *Source {
	s := w.cfg.Stream(c, start, lag, discardLogger()).Source.(*Source)
	s.now = w.clock.Now
	return s
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
			out[event.ID(Vendor, tenant, StreamName(tenant), identity)] = true
		}
	}
	return out
}

// TestSourceAgainstSimulator polls a simulated tenant through every fault
// the simulator has — the vendor's two rate limits, a 429 with Retry-After,
// 5xx answers (some HTML), sessions expiring after inactivity and after a
// maximum age, bursts of records sharing one EventTime (some identical),
// the audit log growing as it is read (every call is audited), a set added
// while running — and rebuilds the client and source from the saved cursor
// now and then. Every ground-truth record from START_TIME to each set's
// final position must arrive exactly once, and normalize.
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
	var sets []epmsim.Set
	for i, n := range []int{1200, 700, 0} {
		set := w.sim.AddSet("", "")
		sets = append(sets, set)
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

	c := w.client(t)
	src := w.source(c, start, lag)
	var cur pipeline.Cursor
	got := map[string]map[string]int{}
	ids := map[string]int{}
	logons := 0
	var added epmsim.Set
	end := t0.Add(40 * time.Minute)
	for fetches := 1; ; fetches++ {
		if fetches > 3000 {
			t.Fatal("no end after 3000 fetches")
		}
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatalf("fetch %d: %v", fetches, err)
		}
		for _, rec := range p.Records {
			e := rec.Value.(*Entry)
			if got[e.SetID] == nil {
				got[e.SetID] = map[string]int{}
			}
			got[e.SetID][string(rec.Raw)]++
			ev, err := NewNormalizer("ACME")(rec, clock.Now())
			if err != nil {
				t.Fatalf("normalize %s: %v", rec.Raw, err)
			}
			ids[ev.Key()]++
			if a := ev.(*event.AuditEvent); a.Category == event.CategoryUnknown || a.Actor == nil || a.Attributes[AttrSetID] != e.SetID {
				t.Errorf("event of %s: category %s, actor %+v, attributes %v", rec.Raw, a.Category, a.Actor, a.Attributes)
			}
		}
		cur = p.Next
		// Time passes while the page is produced; the tenant's
		// administrators keep working.
		before := clock.Now()
		now := clock.Advance(3 * time.Second)
		if p.Done {
			now = clock.Advance(time.Minute) // the poll interval
		}
		w.sim.GrowSpan(before, now, 2)
		if p.Done && now.After(end) {
			break
		}
		switch {
		case fetches == 40:
			added = w.sim.AddSet("", "set added while running")
			w.sim.Generate(added.ID, start.Add(-time.Hour), now, 300)
		case fetches%50 == 0:
			// A restart: new client, new session, the saved cursor.
			logons += c.Session().Logons()
			c = w.client(t)
			src = w.source(c, start, lag)
		}
	}
	logons += c.Session().Logons()

	final := decodeTestCursor(t, cur)
	starts, untils := map[string]time.Time{}, map[string]time.Time{}
	for _, set := range w.sim.Sets() {
		sc, ok := final.Sets[set.ID]
		if !ok {
			t.Fatalf("set %s (%s) has no position", set.ID, set.Name)
		}
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
