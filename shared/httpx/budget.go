package httpx

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// staying under it stays under those too.
//
// Calls are also spread out: two calls are at least the shortest
// Per/Calls of the limits apart (250 ms for 4/1s), so that a vendor that
// receives the calls with varying delays never sees two bursts in one of
// its windows; over the shortest limit's period, the throughput is the
// same.
//
// A Budget is safe for concurrent use, and fair: callers get their calls in
// the order they asked, so that the streams of a tenant's sets, which share
// one budget (poller-epm), take turns and none starves. Only the first caller in line
// sleeps until the budget has room; the others wait for their turn.
type Budget struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	// spacing is the least time between two calls.
	spacing time.Duration

	mu     sync.Mutex
	limits []Limit
	// sent[i] holds the send times of the last limits[i].Calls calls,
	// oldest first.
	sent [][]time.Time
	// last is the time of the last call; zero before the first.
	last time.Time
	// line holds the callers waiting for a call, first in line first.
	line []*waiter
}

// waiter is a caller in line. ready is signalled when it becomes first.
type waiter struct {
	ready chan struct{}
}

// NewBudget returns a Budget for limits. now tells the time and sleep waits
// (nil: the wall clock and a timer); tests pass a fake clock whose sleep
// advances it, so that a long backfill runs at once in simulated time.
// Since only the first caller in line sleeps, such a clock advances as
// the wall clock would, whatever the number of callers.
func NewBudget(limits []Limit, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Budget {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepContext
	}
	b := &Budget{now: now, sleep: sleep, limits: limits, sent: make([][]time.Time, len(limits))}
	for i, l := range limits {
		if d := l.Per / time.Duration(l.Calls); i == 0 || d < b.spacing {
			b.spacing = d
		}
	}
	return b
}

// Limits returns the budget's limits.
func (b *Budget) Limits() []Limit { return append([]Limit(nil), b.limits...) }

// delayLocked returns how long until one more call fits every limit.
func (b *Budget) delayLocked(now time.Time) time.Duration {
	var d time.Duration
	if !b.last.IsZero() {
		d = b.last.Add(b.spacing).Sub(now)
	}
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
	b.last = now
}

// Take waits in line until one more call fits every limit, and records it.
func (b *Budget) Take(ctx context.Context) error {
	return b.take(ctx, false)
}

// Prepay takes a call, like Take, and returns ctx carrying it: the first
// request sent through the budget's RoundTripper with that context (or one
// derived from it) uses the call instead of taking another, and later ones
// (retries) take their own. A client prepays before a request, outside any
// per-attempt timeout, so that the time spent in line does not count
// against the attempt.
func (b *Budget) Prepay(ctx context.Context) (context.Context, error) {
	return b.prepay(ctx, false)
}

// PrepayFirst is Prepay at the head of the line: for a call every other
// caller waits for, such as a logon.
func (b *Budget) PrepayFirst(ctx context.Context) (context.Context, error) {
	return b.prepay(ctx, true)
}

// prepay is Prepay, at the head of the line when urgent.
func (b *Budget) prepay(ctx context.Context, urgent bool) (context.Context, error) {
	if err := b.take(ctx, urgent); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, prepaidKey{b}, new(atomic.Bool)), nil
}

// prepaidKey is the context key of a Budget's prepaid call; the value is an
// *atomic.Bool set once the call is used.
type prepaidKey struct{ b *Budget }

// usePrepaid reports whether ctx carries an unused call of b, and uses it.
func (b *Budget) usePrepaid(ctx context.Context) bool {
	used, _ := ctx.Value(prepaidKey{b}).(*atomic.Bool)
	return used != nil && used.CompareAndSwap(false, true)
}

// take waits until w is first in line and one more call fits every limit,
// and records the call. urgent joins the line at its head: a retry of a
// call that already had its turn does not wait for every other caller
// again (it still waits for room).
func (b *Budget) take(ctx context.Context, urgent bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &waiter{ready: make(chan struct{}, 1)}
	b.mu.Lock()
	if urgent {
		b.line = slices.Insert(b.line, 0, w)
	} else {
		b.line = append(b.line, w)
	}
	for {
		if b.line[0] != w {
			b.mu.Unlock()
			select {
			case <-w.ready:
			case <-ctx.Done():
				b.mu.Lock()
				b.leaveLocked(w)
				b.mu.Unlock()
				return ctx.Err()
			}
			b.mu.Lock()
			continue
		}
		now := b.now()
		d := b.delayLocked(now)
		if d <= 0 {
			b.recordLocked(now)
			b.leaveLocked(w)
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		err := b.sleep(ctx, d)
		b.mu.Lock()
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			b.leaveLocked(w)
			b.mu.Unlock()
			return err
		}
	}
}

// leaveLocked takes w out of line and tells the new first caller.
func (b *Budget) leaveLocked(w *waiter) {
	i := slices.Index(b.line, w)
	if i < 0 {
		return
	}
	b.line = slices.Delete(b.line, i, i+1)
	if i == 0 && len(b.line) > 0 {
		select {
		case b.line[0].ready <- struct{}{}:
		default: // already told
		}
	}
}

// RoundTripper returns next wrapped so that every request sent through it
// — first attempts, retries and logons alike — uses a call of the budget:
// the call its context prepaid (Prepay), or one it takes at the head of
// the line.
func (b *Budget) RoundTripper(next http.RoundTripper) http.RoundTripper {
	return budgetTransport{budget: b, next: next}
}

type budgetTransport struct {
	budget *Budget
	next   http.RoundTripper
}

// RoundTrip uses a call of the budget and sends req.
func (t budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !t.budget.usePrepaid(ctx) {
		if err := t.budget.take(ctx, true); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, fmt.Errorf("wait for the call budget: %w", err)
		}
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
