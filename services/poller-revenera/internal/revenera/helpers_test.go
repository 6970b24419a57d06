package revenera

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

const testTenant = "ACME"

// testNow is the fake clock's start: a Thursday afternoon in December, so
// that the 40 daily files reach into October and November has ended.
var testNow = time.Date(2026, 12, 3, 14, 5, 9, 0, time.UTC)

var (
	large = strconv.FormatInt(revenerasim.DefaultProducts[0].ID, 10)
	small = strconv.FormatInt(revenerasim.DefaultProducts[1].ID, 10)
)

// simEnv is a simulator behind an httptest server with a fake clock, and a
// Client of it.
type simEnv struct {
	sim    *revenerasim.Server
	url    string
	clock  *testkit.Clock
	client *Client
	cfg    Config
}

// newSimEnv starts a simulator (cfg with the fake clock and, unless set,
// no random Cookie Missing and no rate limit) and a Client of it.
func newSimEnv(t *testing.T, cfg revenerasim.Config) *simEnv {
	t.Helper()
	e := &simEnv{clock: testkit.NewClock(testNow)}
	cfg.Clock = e.clock.Now
	if cfg.CookieMissingRate == 0 {
		cfg.CookieMissingRate = -1
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	e.sim = revenerasim.New(cfg)
	ts := httptest.NewServer(e.sim.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	e.cfg = testConfig(ts.URL)
	e.client = e.newClient(t, e.cfg)
	return e
}

// testConfig is a valid Config of the simulator's default user at url.
func testConfig(url string) Config {
	return Config{
		BaseURL: url, Tenant: testTenant, Username: revenerasim.DefaultUsername, Password: revenerasim.DefaultPassword,
		Origin: revenerasim.DefaultOrigin, Client: "auditstream", ClientVersion: "test", Streams: AllStreams,
		ReportDays: 31, Topic: "revenera.usage",
	}
}

// newClient returns a Client of cfg with short HTTP retries and no waits
// between logons.
func (e *simEnv) newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := NewClientFromConfig(&cfg, ClientOptions{
		HTTP:   httpx.Config{Timeout: 5 * time.Second, MaxElapsed: 10 * time.Second, InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond},
		Logger: quietLogger(),
		Sleep:  func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// expectedIDs returns the event ids of the simulator's rows of kind of
// product with from <= time < to, each with its occurrence.
func expectedIDs(t *testing.T, sim *revenerasim.Server, product string, kind Kind, from, to time.Time) map[string]bool {
	t.Helper()
	id, _ := strconv.ParseInt(product, 10, 64)
	simKind := revenerasim.CustomEvents
	if kind.Stream == StreamExceptions {
		simKind = revenerasim.Exceptions
	}
	header := revenerasim.Header(simKind)
	out := map[string]bool{}
	seen := map[string]int{}
	stream := StreamName(product, kind.Stream)
	for _, r := range sim.Rows(id, simKind, from, to) {
		raw := zipcsv.AppendObject(nil, header, r.Fields)
		k := seen[string(raw)]
		seen[string(raw)]++
		identity, err := FileIdentity(raw, k)
		if err != nil {
			t.Fatal(err)
		}
		out[event.ID(Vendor, testTenant, stream, identity)] = true
	}
	return out
}

// drained is what draining a source gave: the event ids in order, the
// cursors after every page, dead letters and the page count.
type drained struct {
	ids     []string
	cursors []pipeline.Cursor
	dead    []pipeline.SourceDeadLetter
	bad     []error // records that failed to normalize
	pages   int
}

// drain fetches from cur until a Done page (or maxPages), normalizing
// every record.
func drain(t *testing.T, src pipeline.Source, norm pipeline.Normalizer, cur pipeline.Cursor, maxPages int) drained {
	t.Helper()
	var d drained
	for d.pages < maxPages {
		page, err := src.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatalf("fetch after %s: %v", cur, err)
		}
		d.pages++
		for _, rec := range page.Records {
			ev, err := norm(rec, testNow)
			if err != nil {
				d.bad = append(d.bad, err)
				continue
			}
			d.ids = append(d.ids, ev.Key())
		}
		d.dead = append(d.dead, page.DeadLetters...)
		if page.Done {
			return d
		}
		cur = page.Next
		d.cursors = append(d.cursors, cur)
	}
	t.Fatalf("no Done page after %d pages", maxPages)
	return d
}

// checkOnce fails unless ids hold every id of want exactly once and
// nothing else.
func checkOnce(t *testing.T, what string, ids []string, want map[string]bool) {
	t.Helper()
	count := map[string]int{}
	for _, id := range ids {
		count[id]++
	}
	for id, n := range count {
		if !want[id] {
			t.Fatalf("%s: unexpected event %s", what, id)
		}
		if n != 1 {
			t.Fatalf("%s: event %s %d times", what, id, n)
		}
	}
	if len(count) != len(want) {
		t.Fatalf("%s: %d of %d events", what, len(count), len(want))
	}
}
