package plmsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 2, Burst: 2})
	expect := func(wantStatus int, wantRetryAfter string) {
		t.Helper()
		resp, body := e.do(e.logsRequest("type=item"))
		if resp.StatusCode != wantStatus || resp.Header.Get("Retry-After") != wantRetryAfter {
			t.Fatalf("status %d Retry-After %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), wantStatus, wantRetryAfter, body)
		}
		if wantStatus == http.StatusTooManyRequests {
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.ErrorCode != "TOO_MANY_REQUESTS" {
				t.Fatalf("429 body %s", body)
			}
		}
	}
	// The clock stands still: the burst passes, then the bucket is empty.
	expect(http.StatusOK, "")
	expect(http.StatusOK, "")
	expect(http.StatusTooManyRequests, "1")
	expect(http.StatusTooManyRequests, "1")
	// Half a second refills one request at 2 per second.
	e.clock.Add(500 * time.Millisecond)
	expect(http.StatusOK, "")
	expect(http.StatusTooManyRequests, "1")

	// Another token has its own bucket.
	first := e.token
	e.token = e.newToken()
	expect(http.StatusOK, "")
	e.token = first
	expect(http.StatusTooManyRequests, "1")

	if st := e.sim.Stats(); st.RateLimited != 4 || st.OK != 4 {
		t.Errorf("Stats() = %+v, want 4 rate limited and 4 OK", st)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 0.25})
	if status, _ := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("first request: status %d", status)
	}
	resp, _ := e.do(e.logsRequest("type=item"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "4" {
		t.Fatalf("status %d Retry-After %q, want 429 and 4 s at 0.25 requests/s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.clock.Add(4 * time.Second)
	if status, _ := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("after Retry-After: status %d", status)
	}
}

func TestFailNext(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.FailNext(2, http.StatusServiceUnavailable)
	e.sim.FailNext(1, http.StatusBadGateway)
	e.sim.FailNext(1, http.StatusTooManyRequests)

	// An unauthorized request does not consume a queued fault.
	req := e.logsRequest("type=item")
	req.Header.Del("Authorization")
	if resp, _ := e.do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthorized request: status %d", resp.StatusCode)
	}

	tests := []struct {
		wantStatus      int
		wantRetryAfter  string
		wantContentType string
	}{
		{http.StatusServiceUnavailable, "1", "application/json"},
		{http.StatusServiceUnavailable, "1", "application/json"},
		{http.StatusBadGateway, "", "text/html"},
		{http.StatusTooManyRequests, "1", "application/json"},
		{http.StatusOK, "", "application/json"},
	}
	for i, tt := range tests {
		resp, body := e.do(e.logsRequest("type=item"))
		if resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.wantRetryAfter || resp.Header.Get("Content-Type") != tt.wantContentType {
			t.Fatalf("request %d: status %d Retry-After %q Content-Type %q, want %d %q %q: %s", i, resp.StatusCode,
				resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), tt.wantStatus, tt.wantRetryAfter, tt.wantContentType, body)
		}
		if tt.wantContentType == "text/html" && !strings.Contains(string(body), "502 Bad Gateway") {
			t.Fatalf("request %d: gateway body %q", i, body)
		}
	}
	if st := e.sim.Stats(); st.Requests != 6 || st.ServerErrors != 3 || st.RateLimited != 1 || st.Unauthorized != 1 || st.OK != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestRandomFaults(t *testing.T) {
	run := func(seed int64) []int {
		e := newEnv(t, Config{Seed: seed, FaultRate: 0.3})
		var statuses []int
		for range 200 {
			status, _ := e.get("type=item")
			statuses = append(statuses, status)
		}
		return statuses
	}
	a, b := run(1), run(1)
	counts := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: status %d and %d with the same seed", i, a[i], b[i])
		}
		counts[a[i]]++
	}
	failed := 200 - counts[http.StatusOK]
	if failed < 30 || failed > 90 {
		t.Fatalf("%d of 200 requests failed at FaultRate 0.3", failed)
	}
	for _, s := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		if counts[s] == 0 {
			t.Errorf("no %d among %v", s, counts)
		}
	}
	if c := run(2); equalInts(a, c) {
		t.Error("seeds 1 and 2 fault the same requests")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSlowNext(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.SlowNext(1, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := e.logsRequest("type=item").WithContext(ctx)
	start := time.Now()
	_, err := e.ts.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow request: err %v, want a deadline exceeded", err)
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("the client gave up after %v", time.Since(start))
	}
	if status, _ := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("next request: status %d", status)
	}
	if got := e.sim.Stats().Slow; got != 1 {
		t.Errorf("Stats().Slow = %d, want 1", got)
	}
}
