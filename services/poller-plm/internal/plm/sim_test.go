package plm

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// simClock is the shared fake time of the simulator and the sources.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// TestSourceAgainstSimulator polls both logs of a simulated tenant through
// every fault the simulator has — 5xx answers (some HTML), a 429 and a 503
// with Retry-After, a response slower than the attempt timeout, access
// tokens expiring, rows in several zones, a log growing while it is paged,
// rows indexed late within the safety lag — and rebuilds the client and
// sources from the saved cursors now and then. Every ground-truth row from
// START_TIME to the final cursor must arrive exactly once, and normalize.
func TestSourceAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Retry-After and a slow response")
	}
	t0 := time.Date(2024, 3, 9, 15, 0, 0, 0, time.UTC) // the US DST change falls inside
	clock := &simClock{now: t0}
	sim := plmsim.New(plmsim.Config{
		Tenant:          "ACME",
		AltLocations:    []*time.Location{mustZone(t, "Asia/Kolkata"), time.UTC},
		AltLocationRate: 0.1,
		TokenTTL:        4 * time.Minute, // several expire between restarts
		FaultRate:       0.15,
		FaultStatuses:   []int{500, 502, 504},
		LateRate:        0.05,
		LateBy:          time.Minute,
		Seed:            42,
		Clock:           clock.Now,
	})
	sim.Generate(t0.Add(-72*time.Hour), t0, map[string]int{plmsim.TypeItem: 1500, plmsim.TypeSystem: 900})
	sim.FailNext(1, 429)
	sim.FailNext(1, 503)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	cfg := Config{
		BaseURL: srv.URL, Tenant: "ACME",
		TokenURL: srv.URL + plmsim.TokenPath, ClientID: plmsim.DefaultClientID, ClientSecret: plmsim.DefaultClientSecret,
		Scopes: []string{"data:read"}, UserID: plmsim.DefaultUserID,
		LogTypes: []string{LogTypeItem, LogTypeSystem}, PageSize: 100, Topic: "plm.audit",
		MaxWindow: 12 * time.Hour, RateLimit: 1000,
	}
	if p := cfg.Validate(); len(p) > 0 {
		t.Fatal(p)
	}
	start := t0.Add(-50 * time.Hour)
	build := func() []pipeline.Stream {
		hcfg := fastHTTP()
		hcfg.Timeout = time.Second
		c, err := NewClientFromConfig(&cfg, hcfg, httpx.WithLogger(discardLogger()))
		if err != nil {
			t.Fatal(err)
		}
		streams := cfg.Streams(c, start, testLag, discardLogger())
		for _, s := range streams {
			s.Source.(*Source).now = clock.Now
		}
		return streams
	}

	streams := build()
	cursors := make([]pipeline.Cursor, len(streams))
	got := make([]map[string]int, len(streams))
	for i := range got {
		got[i] = map[string]int{}
	}
	end := t0.Add(45 * time.Minute)
	for fetches := 1; ; fetches++ {
		if fetches > 2000 {
			t.Fatal("no end after 2000 fetches")
		}
		allDone := true
		for i, st := range streams {
			p, err := st.Source.Fetch(t.Context(), cursors[i])
			if err != nil {
				t.Fatalf("%s: %v", st.Source.Stream(), err)
			}
			for _, rec := range p.Records {
				got[i][string(rec.Raw)]++
				ev, err := st.Normalize(rec, clock.Now())
				if err != nil {
					t.Fatalf("normalize %s: %v", rec.Raw, err)
				}
				if a := ev.(*event.AuditEvent); a.Category == event.CategoryUnknown || a.Actor == nil || a.Actor.Email == nil {
					t.Errorf("event of %s: category %s, actor %+v", rec.Raw, a.Category, a.Actor)
				}
			}
			cursors[i] = p.Next
			allDone = allDone && p.Done
		}
		// The log grows by the rows of the time that passes; some of them
		// are indexed up to a minute late.
		before := clock.Now()
		now := clock.Advance(15 * time.Second)
		sim.GrowSpan(before, now, 3)
		if allDone && now.After(end) {
			break
		}
		if fetches == 10 {
			// Slower than the attempt timeout: the client gives up and
			// retries. (Queued here, not first: a request that times out
			// also takes the next queued failure with it.)
			sim.SlowNext(1, 3*time.Second)
		}
		if fetches%25 == 0 {
			streams = build() // a restart: new client, new token, saved cursors
		}
	}

	stats := sim.Stats()
	t.Logf("simulator answers: %+v", stats)
	if stats.ServerErrors == 0 || stats.RateLimited == 0 || stats.Unauthorized == 0 || stats.Slow == 0 || stats.TokensIssued < 3 {
		t.Errorf("the faults did not all happen: %+v", stats)
	}
	for i, typ := range cfg.LogTypes {
		last := decodeTestCursor(t, cursors[i]).Last
		want := map[string]int{}
		n := 0
		for _, r := range sim.Records(typ) {
			if !r.Time.Before(start) && !r.Time.After(last) {
				want[string(r.Raw)]++
				n++
			}
		}
		if n < 500 {
			t.Fatalf("%s: only %d rows in the ground truth", typ, n)
		}
		t.Logf("%s: %d rows up to %v", typ, n, last)
		for raw, c := range want {
			if got[i][raw] != c {
				t.Errorf("%s: row emitted %d times, want %d: %s", typ, got[i][raw], c, raw)
			}
		}
		for raw, c := range got[i] {
			if want[raw] == 0 {
				t.Errorf("%s: emitted %d times a row outside the ground truth: %s", typ, c, raw)
			}
		}
		if want := end.Add(-testLag); last.Before(want) {
			t.Errorf("%s: cursor at %v, want at least %v", typ, last, want)
		}
	}
}

// TestPageSizeRefusedIsHalved runs the source with PLM_PAGE_SIZE 1000
// against a tenant that refuses any limit above the documented 100: the
// source halves the size on each 400 down to 100, remembers it, and reads
// every row once.
func TestPageSizeRefusedIsHalved(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)
	clock := &simClock{now: t0}
	sim := plmsim.New(plmsim.Config{Tenant: "ACME", MaxLimit: DocumentedPageSize, Seed: 7, Clock: clock.Now})
	sim.Generate(t0.Add(-30*time.Hour), t0, map[string]int{plmsim.TypeItem: 450})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL: srv.URL, Tenant: "ACME",
		TokenURL: srv.URL + plmsim.TokenPath, ClientID: plmsim.DefaultClientID, ClientSecret: plmsim.DefaultClientSecret,
		Scopes: []string{"data:read"}, UserID: plmsim.DefaultUserID,
		LogTypes: []string{LogTypeItem}, PageSize: MaxPageSize, Topic: "plm.audit",
		MaxWindow: 48 * time.Hour, RateLimit: 1000,
	}
	c, err := NewClientFromConfig(&cfg, fastHTTP(), httpx.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Streams(c, t0.Add(-30*time.Hour), testLag, discardLogger())[0]
	src := st.Source.(*Source)
	src.now = clock.Now
	clock.Advance(time.Hour)
	seen := map[string]int{}
	var cur pipeline.Cursor
	for fetches := 0; ; fetches++ {
		if fetches > 100 {
			t.Fatal("no end after 100 fetches")
		}
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			seen[string(r.Raw)]++
		}
		cur = p.Next
		if p.Done {
			break
		}
	}
	if src.pageSize != DocumentedPageSize {
		t.Errorf("page size %d after the refusals, want %d", src.pageSize, DocumentedPageSize)
	}
	if len(seen) != 450 {
		t.Errorf("%d distinct rows, want 450", len(seen))
	}
	for raw, n := range seen {
		if n != 1 {
			t.Errorf("row read %d times: %s", n, raw)
		}
	}
	if st := sim.Stats(); st.BadRequests < 4 {
		t.Errorf("simulator answered %d requests 400, want the 4 halvings (1000, 500, 250, 125)", st.BadRequests)
	}
}
