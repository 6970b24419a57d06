package epm

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/testkit"
)

// fakeClock is testkit's simulated clock: Sleep advances it.
type fakeClock = testkit.Clock

func newFakeClock(t time.Time) *fakeClock { return testkit.NewClock(t) }

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
