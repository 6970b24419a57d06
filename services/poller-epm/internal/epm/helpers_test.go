package epm

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// fakeClock is the simulated time shared by a simulator, a client's session
// and budget, and a source. Sleep advances it instead of waiting, so a
// rate-limited backfill runs at once in simulated time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sleep advances the clock by d; it is the budget's sleep under test.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	c.mu.Unlock()
	return ctx.Err()
}

// Slept returns the time spent waiting for the budget.
func (c *fakeClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fastHTTP returns an httpx configuration that retries without waiting.
func fastHTTP() httpx.Config {
	return httpx.Config{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: 10 * time.Second, Timeout: 10 * time.Second}
}

// validConfig returns a complete configuration.
func validConfig() Config {
	return Config{
		BaseURL:        "https://login.epm.cyberark.com",
		Tenant:         "ACME",
		Username:       "svc-audit@acme.example",
		Password:       "s3cr3t-value",
		ApplicationID:  "auditstream",
		PageSize:       500,
		RateLimit:      []string{"4/1s", "950/5m"},
		SessionTimeout: 20 * time.Minute,
		MaxWindow:      168 * time.Hour,
		Topic:          "epm.audit",

		SetDiscoveryInterval: 5 * time.Minute,
	}
}

// decodeTestCursor decodes a set cursor a Source returned.
func decodeTestCursor(t *testing.T, raw pipeline.Cursor) setCursor {
	t.Helper()
	var c setCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cursor %s: %v", raw, err)
	}
	return c
}

// fetchResult is one Fetch of a drain.
type fetchResult struct {
	page pipeline.Page
}

// drain calls Fetch from cur until a page is Done, at most limit times,
// and returns every page.
func drain(t *testing.T, src pipeline.Source, cur pipeline.Cursor, limit int) []fetchResult {
	t.Helper()
	var out []fetchResult
	for range limit {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatalf("fetch after cursor %s: %v", cur, err)
		}
		out = append(out, fetchResult{page: p})
		cur = p.Next
		if p.Done {
			return out
		}
	}
	t.Fatalf("not done after %d fetches", limit)
	return nil
}

// records concatenates the records of results.
func records(rs []fetchResult) []pipeline.Record {
	var out []pipeline.Record
	for _, r := range rs {
		out = append(out, r.page.Records...)
	}
	return out
}

// newTextLogger returns a logger writing text records to w.
func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
