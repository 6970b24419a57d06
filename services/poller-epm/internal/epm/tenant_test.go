package epm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// tenantFor returns a Tenant over r.
func tenantFor(r Reader, start time.Time, clock *fakeClock, pageSize int) *Tenant {
	return NewTenant(r, TenantConfig{
		Tenant: "ACME", Topic: "epm.audit", Start: start, SafetyLag: testLag,
		MaxWindow: 24 * time.Hour, PageSize: pageSize, Clock: clock.Now, Logger: discardLogger(),
	})
}

// streamNames returns the stream names of streams.
func streamNames(streams []pipeline.Stream) []string {
	var out []string
	for _, s := range streams {
		out = append(out, s.Source.Stream())
	}
	return out
}

// TestTenantDiscover lists the sets: one stream per set, sorted, with its
// own name, normalizer and the topic's schema; a set created later is in
// the next discovery and is read from START_TIME; a set whose id cannot be
// sent in a URL is left out, with one error logged.
func TestTenantDiscover(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	f := newFakeAudit("b", "a", "bad id", "a")
	f.add("a", start.Add(time.Minute))
	var logs bytes.Buffer
	clock := fixedClock(now)
	ten := tenantFor(f, start, clock, 500)
	ten.cfg.Logger = newTextLogger(&logs)

	streams, err := ten.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := streamNames(streams), []string{"epm/ACME/sets/a/admin-audit", "epm/ACME/sets/b/admin-audit"}; !slices.Equal(got, want) {
		t.Fatalf("streams %q, want %q", got, want)
	}
	for _, s := range streams {
		id := s.Source.(*Source).SetID()
		if s.Topic != "epm.audit" || s.Schema.Text != event.AuditSchema.Text || s.Vendor != Vendor || s.Tenant != "ACME" || s.Normalize == nil {
			t.Errorf("stream of set %s: %+v", id, s)
		}
	}
	recs := records(drain(t, streams[0].Source, nil, 10))
	ev, err := streams[0].Normalize(recs[0], now)
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.(*event.AuditEvent); a.Stream != "epm/ACME/sets/a/admin-audit" || a.Attributes[AttrSetID] != "a" {
		t.Errorf("event of set a: stream %q, set_id %q", a.Stream, a.Attributes[AttrSetID])
	}

	f.addSet("n")
	f.add("n", start.Add(-time.Second), start, start.Add(30*time.Minute))
	streams, err = ten.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := streamNames(streams); len(got) != 3 || got[2] != "epm/ACME/sets/n/admin-audit" {
		t.Fatalf("streams after a set was created %q", got)
	}
	checkSeq(t, "new set", raws(records(drain(t, streams[2].Source, nil, 10)), "n"), f.between("n", start, now))
	if n := strings.Count(logs.String(), "epm set not polled"); n != 1 || !strings.Contains(logs.String(), `set="bad id"`) {
		t.Errorf("%d errors about the bad set id, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "epm set found"); n != 3 {
		t.Errorf("%d sets found logged, want 3 (a, b, then n):\n%s", n, logs.String())
	}
}

// TestTenantStreams builds the streams of EPM_SET_IDS without listing sets.
func TestTenantStreams(t *testing.T) {
	f := newFakeAudit("a", "b")
	streams := tenantFor(f, time.Now(), fixedClock(time.Now()), 500).Streams([]string{"b", "x"})
	if got, want := streamNames(streams), []string{"epm/ACME/sets/b/admin-audit", "epm/ACME/sets/x/admin-audit"}; !slices.Equal(got, want) || f.setsCalls != 0 {
		t.Errorf("streams %q after %d Sets calls, want %q and none", got, f.setsCalls, want)
	}
}

// failingSets is a Reader whose set list fails.
type failingSets struct{ *fakeAudit }

func (failingSets) Sets(context.Context) ([]Set, error) { return nil, errors.New("connection refused") }

func TestTenantDiscoverError(t *testing.T) {
	ten := tenantFor(failingSets{newFakeAudit()}, time.Now(), fixedClock(time.Now()), 500)
	if _, err := ten.Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "discover the sets of epm tenant ACME: connection refused") {
		t.Errorf("error %v", err)
	}
}

// TestTenantSetsConcurrently reads several sets at once through one client,
// each set in its own goroutine as the pipeline runs its streams, against
// the simulator on the wall clock with its rate limits (scaled down), the
// client's budget just under them, and sessions ending every 400 ms. Every
// record of every set arrives once; the shared budget is never overrun;
// the sets take turns, so that none is left behind; and no more logons
// happen than 401s call for.
func TestTenantSetsConcurrently(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	sim := epmsim.New(epmsim.Config{
		Limits:      []epmsim.Limit{{Calls: 8, Per: 100 * time.Millisecond}, {Calls: 300, Per: 5 * time.Second}},
		TokenMaxAge: 400 * time.Millisecond,
		Seed:        5,
	})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	now := time.Now().UTC()
	start := now.Add(-48 * time.Hour)
	const sets, perSet = 4, 1500
	var ids []string
	for range sets {
		set := sim.AddSet("", "")
		ids = append(ids, set.ID)
		sim.Generate(set.ID, start.Add(-time.Hour), now.Add(-time.Hour), perSet)
	}
	sim.Append(ids[0], start.Add(time.Hour+5*time.Millisecond), 150, false) // a burst across pages
	cfg := validConfig()
	cfg.BaseURL, cfg.Username, cfg.Password = srv.URL, epmsim.DefaultUsername, epmsim.DefaultPassword
	cfg.RateLimit, cfg.PageSize = []string{"6/100ms", "280/5s"}, 100
	client, err := NewClientFromConfig(&cfg, ClientOptions{HTTP: fastHTTP(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ten := cfg.NewTenant(client, start, time.Minute, discardLogger())
	streams, err := ten.Discover(t.Context())
	if err != nil || len(streams) != sets {
		t.Fatalf("discover: %d streams, %v", len(streams), err)
	}

	var (
		mu       sync.Mutex
		got      = map[string][]string{}
		finished atomic.Bool
		atFirst  = map[string]int{} // fetches of each set when the first caught up
		fetches  = map[string]int{}
		wg       sync.WaitGroup
	)
	for _, s := range streams {
		id := s.Source.(*Source).SetID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cur pipeline.Cursor
			for {
				p, err := s.Source.Fetch(context.Background(), cur)
				if err != nil {
					t.Errorf("set %s: %v", id, err)
					return
				}
				mu.Lock()
				fetches[id]++
				for _, r := range p.Records {
					got[id] = append(got[id], string(r.Raw))
				}
				if p.Done && !finished.Swap(true) {
					for k, v := range fetches {
						atFirst[k] = v
					}
				}
				mu.Unlock()
				cur = p.Next
				if p.Done {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		var want []string
		for _, r := range sim.Records(id) {
			if !r.Time.Before(start) {
				want = append(want, string(r.Raw))
			}
		}
		if !slices.Equal(got[id], want) {
			t.Errorf("set %s: %d records, want each of %d once, in order", id, len(got[id]), len(want))
		}
		// Taking turns: when the first set caught up, every set had made
		// most of its calls.
		if atFirst[id] < fetches[id]*3/4 {
			t.Errorf("set %s had made %d of its %d fetches when the first set caught up", id, atFirst[id], fetches[id])
		}
	}
	st := sim.Stats()
	t.Logf("fetches %v (at the first catch-up %v); simulator %+v", fetches, atFirst, st)
	if st.RateLimited != 0 || st.BadRequests != 0 || st.ServerErrors != 0 {
		t.Errorf("the shared budget was overrun or requests were bad: %+v", st)
	}
	if st.Unauthorized == 0 || st.Logons > st.Unauthorized+1 {
		t.Errorf("%d logons for %d 401s: want sessions to expire, and at most one logon each", st.Logons, st.Unauthorized)
	}
}

// TestSessionConcurrent401LogsOnOnce sends four calls with one token that
// the server refuses to all of them at once: one logon follows, and every
// call is retried with the new token.
func TestSessionConcurrent401LogsOnOnce(t *testing.T) {
	const callers = 4
	var logons atomic.Int32
	var mu sync.Mutex
	refused := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Logon") {
			n := logons.Add(1)
			fmt.Fprintf(w, `{"IsPasswordExpired":false,"EPMAuthenticationResult":"tok-%d","ManagerURL":"http://%s/m"}`, n, r.Host)
			return
		}
		if r.Header.Get("Authorization") == "basic tok-1" {
			mu.Lock()
			if refused++; refused == callers {
				close(all)
			}
			mu.Unlock()
			select { // every caller holds the old token before any is refused
			case <-all:
			case <-time.After(5 * time.Second):
			}
			http.Error(w, `[{"ErrorCode":"EPM000003E","ErrorMessage":"expired"}]`, http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"Sets":[],"SetsCount":0}`)
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.BaseURL, cfg.RateLimit = srv.URL, []string{"100/1s"}
	c, err := NewClientFromConfig(&cfg, ClientOptions{HTTP: fastHTTP(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Session().Manager(t.Context()); err != nil { // the first logon: tok-1
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Sets(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := logons.Load(); n != 2 || c.Session().Logons() != 2 {
		t.Errorf("%d logons (session %d), want 2: the first and one for the four calls refused together", n, c.Session().Logons())
	}
}
