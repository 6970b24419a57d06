package epm

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is a call budget: at most Calls calls in any interval of length Per.
type Limit struct {
	Calls int
	Per   time.Duration
}

// String returns the limit as ParseLimit reads it, e.g. "950/5m0s".
func (l Limit) String() string { return strconv.Itoa(l.Calls) + "/" + l.Per.String() }

// ParseLimit reads "<calls>/<duration>", e.g. "4/1s" or "950/5m".
func ParseLimit(s string) (Limit, error) {
	calls, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %q: want <calls>/<duration>, e.g. 4/1s", s)
	}
	n, err := strconv.Atoi(calls)
	if err != nil || n < 1 {
		return Limit{}, fmt.Errorf("limit %q: the number of calls must be a positive integer", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("limit %q: the period must be a positive duration such as 1s or 5m", s)
	}
	return Limit{Calls: n, Per: d}, nil
}

// ParseLimits reads every limit of specs.
func ParseLimits(specs []string) ([]Limit, error) {
	out := make([]Limit, 0, len(specs))
	for _, s := range specs {
		l, err := ParseLimit(s)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Budget keeps the calls to one tenant under every one of its limits. Each
// limit is a sliding window over the times calls were sent: a call may go
// when fewer than Calls calls were sent in the Per before it. A sliding
// window is stricter than the fixed windows a vendor may count in, so
// staying under it stays under those too. It is safe for concurrent use.
type Budget struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	limits []Limit
	// sent[i] holds the send times of the last limits[i].Calls calls,
	// oldest first.
	sent [][]time.Time
}

// NewBudget returns a Budget for limits. now tells the time and sleep waits
// (nil: the wall clock and a timer); tests pass a fake clock whose sleep
// advances it, so that a long backfill runs at once in simulated time.
func NewBudget(limits []Limit, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Budget {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepContext
	}
	return &Budget{now: now, sleep: sleep, limits: limits, sent: make([][]time.Time, len(limits))}
}

// Limits returns the budget's limits.
func (b *Budget) Limits() []Limit { return append([]Limit(nil), b.limits...) }

// delayLocked returns how long until one more call fits every limit.
func (b *Budget) delayLocked(now time.Time) time.Duration {
	var d time.Duration
	for i, l := range b.limits {
		s := b.sent[i]
		if len(s) < l.Calls {
			continue
		}
		if wait := s[0].Add(l.Per).Sub(now); wait > d {
			d = wait
		}
	}
	return d
}

// recordLocked notes a call sent at now.
func (b *Budget) recordLocked(now time.Time) {
	for i, l := range b.limits {
		s := b.sent[i]
		if len(s) >= l.Calls {
			s = append(s[:0], s[len(s)-l.Calls+1:]...)
		}
		b.sent[i] = append(s, now)
	}
}

// Wait blocks until one more call fits every limit, without taking it. A
// client calls it before a request, outside any per-attempt timeout, so
// that Take, which the transport calls for each attempt, rarely waits.
func (b *Budget) Wait(ctx context.Context) error {
	return b.acquire(ctx, false)
}

// Take blocks until one more call fits every limit and records it.
func (b *Budget) Take(ctx context.Context) error {
	return b.acquire(ctx, true)
}

func (b *Budget) acquire(ctx context.Context, take bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.mu.Lock()
		now := b.now()
		d := b.delayLocked(now)
		if d <= 0 {
			if take {
				b.recordLocked(now)
			}
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		if err := b.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// RoundTripper returns next wrapped so that every request sent through it
// — first attempts, retries and logons alike — takes a call from the
// budget first.
func (b *Budget) RoundTripper(next http.RoundTripper) http.RoundTripper {
	return budgetTransport{budget: b, next: next}
}

type budgetTransport struct {
	budget *Budget
	next   http.RoundTripper
}

// RoundTrip takes a call from the budget and sends req.
func (t budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.budget.Take(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("wait for the EPM call budget: %w", err)
	}
	return t.next.RoundTrip(req)
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
