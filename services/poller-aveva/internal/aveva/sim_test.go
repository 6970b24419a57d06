package aveva

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-aveva/avevasim"
	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// simClient returns a Client of sim through a test server, with a static
// token and fast retries.
func simClient(t *testing.T, sim *avevasim.Server, params string) *Client {
	t.Helper()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL, Token: "sim-token", UsageParams: params, RateLimit: 1000}
	c, err := NewClientFromConfig(&cfg, fastHTTP(), httpx.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSplitCallCount measures what a window holding 50,000 records costs
// at the real cap of 20,000. Evenly spread, the split tree is 1 + 2 + 4 = 7
// calls and 4 published windows of 12,500. Bunched (40,000 of them in ten
// minutes), it goes deeper where they are: 45,000 → 42,500 → 31,250 → two
// of 15,625, 9 calls and 5 windows; that case runs at a tenth of the scale
// (cap 2,000), which has the same tree.
func TestSplitCallCount(t *testing.T) {
	if testing.Short() {
		t.Skip("serves 140,000 records")
	}
	tests := []struct {
		name             string
		cap, total       int
		add              func(s *avevasim.Server)
		calls, published int
	}{
		{"50,000 evenly spread over the hour, cap 20,000", DefaultMaxRecords, 50000, func(s *avevasim.Server) {
			s.Add(avevasim.CreditsTransaction, t0, t0.Add(time.Hour), 50000)
		}, 7, 4},
		{"5,000 with 4,000 in ten minutes, cap 2,000", 2000, 5000, func(s *avevasim.Server) {
			s.Add(avevasim.CreditsTransaction, t0, t0.Add(time.Hour), 1000)
			s.Add(avevasim.CreditsTransaction, t0.Add(20*time.Minute), t0.Add(30*time.Minute), 4000)
		}, 9, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := avevasim.New(avevasim.Config{StaticToken: "sim-token", MaxRecords: tt.cap, Seed: 5})
			tt.add(sim)
			c := simClient(t, sim, ParamsInBody)
			report := mustReport(t, ReportCreditsTransaction)
			build := func() *Source {
				return NewSource(c, SourceConfig{Tenant: "acme", Report: report, Start: t0, Window: time.Hour,
					MaxRecords: tt.cap, Clock: func() time.Time { return t0.Add(time.Hour + testLag) }, SafetyLag: testLag, Logger: discardLogger()})
			}
			pages := drain(t, build, nil, false, 100)
			n := 0
			for _, p := range pages {
				n += len(p.page.Records)
				if len(p.page.Records) >= tt.cap {
					t.Fatalf("a page holds %d records", len(p.page.Records))
				}
			}
			calls := len(sim.Served())
			truncated := sim.Stats().Truncated
			t.Logf("%s: %d calls (%d of them truncated by the cap), %d windows published, %d records", tt.name, calls, truncated, len(pages), n)
			if n != tt.total || calls != tt.calls || len(pages) != tt.published {
				t.Fatalf("%d records in %d calls and %d pages; want %d, %d and %d", n, calls, len(pages), tt.total, tt.calls, tt.published)
			}
		})
	}
}

// TestSourceAgainstSimulator polls every report of a simulated account
// with busy hours over the cap, through faults (5xx, some as HTML, a 429
// and a 503 with Retry-After, expiring OAuth2 tokens), with the audit
// report in a locale and servers with either kind of upper bound, and
// rebuilds the client and sources from the saved cursors now and then.
// Every record must arrive exactly once and normalize.
func TestSourceAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Retry-After")
	}
	for _, inclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("inclusive=%v", inclusive), func(t *testing.T) {
			const cap = 300
			sim := avevasim.New(avevasim.Config{
				MaxRecords: cap, InclusiveTo: inclusive, TokenTTL: 2 * time.Second,
				FaultRate: 0.1, FaultStatuses: []int{500, 502, 504}, DuplicateRate: 0.02, Seed: 42,
			})
			start := t0
			end := t0.Add(12 * time.Hour)
			for i, r := range avevasim.Reports {
				sim.Add(r, start, end, 400)
				busy := start.Add(time.Duration(2+2*i) * time.Hour)
				sim.Add(r, busy, busy.Add(time.Hour), 3*cap+50)
				sim.AddAt(r, busy, busy.Add(30*time.Minute), busy.Add(time.Hour)) // on split points
			}
			sim.FailNext(1, 429)
			sim.FailNext(1, 503)
			srv := httptest.NewServer(sim.Handler())
			t.Cleanup(srv.Close)

			cfg := Config{
				BaseURL: srv.URL, Tenant: "acme", TokenURL: srv.URL + avevasim.TokenPath,
				ClientID: avevasim.DefaultClientID, ClientSecret: avevasim.DefaultClientSecret,
				Reports: ReportNames(), Window: time.Hour, MinWindow: time.Second, MaxRecords: cap,
				UsageParams: ParamsInQuery, RateLimit: 1000, UsageTopic: "aveva.usage", AuditTopic: "aveva.audit",
				Locale: "en-US",
			}
			if p := cfg.Validate(); len(p) > 0 {
				t.Fatal(p)
			}
			now := end.Add(testLag)
			build := func() []pipeline.Stream {
				c, err := NewClientFromConfig(&cfg, fastHTTP(), httpx.WithLogger(discardLogger()))
				if err != nil {
					t.Fatal(err)
				}
				streams := cfg.Streams(c, start, testLag, discardLogger())
				for _, s := range streams {
					s.Source.(*Source).now = func() time.Time { return now }
				}
				return streams
			}
			cursors := map[string]pipeline.Cursor{}
			got := map[string]map[string]int{} // stream → identity → count
			done := map[string]bool{}
			streams := build()
			finished := func() bool {
				for _, s := range streams {
					if !done[s.Source.Stream()] {
						return false
					}
				}
				return true
			}
			for round := 0; !finished(); round++ {
				if round%7 == 6 {
					streams = build() // a restart
				}
				for _, s := range streams {
					name := s.Source.Stream()
					if done[name] {
						continue
					}
					p, err := s.Source.Fetch(context.Background(), cursors[name])
					if err != nil {
						continue // the pipeline retries from the same cursor
					}
					for _, rec := range p.Records {
						ev, err := s.Normalize(rec, now)
						if err != nil {
							t.Fatalf("%s: normalize %s: %v", name, rec.Raw, err)
						}
						if ev.OccurredAt().Before(start) || !ev.OccurredAt().Before(end) {
							t.Fatalf("%s: event time %v outside the history", name, ev.OccurredAt())
						}
						if got[name] == nil {
							got[name] = map[string]int{}
						}
						got[name][rec.Value.(*Entry).Identity]++
					}
					if len(p.DeadLetters) > 0 {
						t.Fatalf("%s: dead letters %v", name, p.DeadLetters)
					}
					cursors[name] = p.Next
					done[name] = p.Done
				}
				if round > 2000 {
					t.Fatal("not done after 2000 rounds")
				}
			}
			for _, r := range avevasim.Reports {
				name := StreamName("acme", r)
				want := expectedIdentities(t, sim, r)
				for id, n := range want {
					if got[name][id] != n {
						t.Fatalf("%s: identity %s arrived %d times, want %d", name, id, got[name][id], n)
					}
				}
				if len(got[name]) != len(want) {
					t.Fatalf("%s: %d identities, want %d", name, len(got[name]), len(want))
				}
			}
			st := sim.Stats()
			t.Logf("simulator stats %+v", st)
			if st.ServerErrors < 3 || st.RateLimited == 0 || st.TokensIssued < 2 || st.Truncated < 5 {
				t.Fatalf("faults or splits were not exercised: %+v", st)
			}
		})
	}
}

// expectedIdentities returns the identity of every ground-truth record of
// report, computed from the records alone: the report's id member, else
// the content hash with "#k" for the k-th identical record.
func expectedIdentities(t *testing.T, sim *avevasim.Server, report string) map[string]int {
	t.Helper()
	out := map[string]int{}
	seen := map[string]int{}
	for _, r := range sim.Records(report) {
		var id string
		switch report {
		case avevasim.CreditsTransaction:
			id = "id:" + stringMember(t, r.Raw, "transactionId")
		case avevasim.Audit:
			id = "id:" + stringMember(t, r.Raw, "id")
		default:
			h, err := event.ContentIdentity(r.Raw)
			if err != nil {
				t.Fatal(err)
			}
			k := seen[h]
			seen[h]++
			id = h
			if k > 0 {
				id += "#" + strconv.Itoa(k)
			}
		}
		out[id]++
	}
	return out
}

// TestTokenFileRotation is a Kubernetes Secret rotation mid-run: the
// account's token is replaced at the vendor and in the file named by
// AVEVA_TOKEN_FILE; the next call meets one 401, re-reads the file and
// goes on, without a restart.
func TestTokenFileRotation(t *testing.T) {
	sim := avevasim.New(avevasim.Config{StaticToken: "token-1", Seed: 5})
	sim.Add(avevasim.CreditsTransaction, t0, t0.Add(time.Hour), 30)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "AVEVA_TOKEN")
	if err := os.WriteFile(file, []byte("token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AVEVA_TOKEN_FILE", file)
	t.Setenv("AVEVA_BASE_URL", srv.URL)
	t.Setenv("AVEVA_TENANT", "acme")
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	c, err := NewClientFromConfig(&cfg, fastHTTP(), httpx.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Report: mustReport(t, ReportCreditsTransaction), From: t0, To: t0.Add(time.Hour)}
	if recs, err := c.Records(t.Context(), q, 0); err != nil || len(recs) != 30 {
		t.Fatalf("before the rotation: %d records, %v", len(recs), err)
	}
	sim.RotateStaticToken("token-2")
	if _, err := c.Records(t.Context(), q, 0); !errors.Is(err, httpx.ErrStaticTokenRejected) {
		t.Fatalf("rotated at the vendor only: %v, want the token rejected", err)
	}
	if err := os.WriteFile(file, []byte("token-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if recs, err := c.Records(t.Context(), q, 0); err != nil || len(recs) != 30 {
		t.Fatalf("after the rotation: %d records, %v", len(recs), err)
	}
}
