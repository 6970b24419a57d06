package epmsim

import (
	"math"
	"sync"
	"time"
)

// limiter enforces Limits as sliding windows over accepted calls.
type limiter struct {
	mu     sync.Mutex
	limits []Limit
	// calls[i] holds the times of the last limits[i].Calls accepted calls,
	// oldest first.
	calls [][]time.Time
}

func newLimiter(limits []Limit) *limiter {
	return &limiter{limits: limits, calls: make([][]time.Time, len(limits))}
}

// allow records a call at now and reports true when it fits every limit;
// otherwise it records nothing and returns the whole seconds after which
// it would fit.
func (l *limiter) allow(now time.Time) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for i, lim := range l.limits {
		c := l.calls[i]
		if len(c) < lim.Calls {
			continue
		}
		if d := c[0].Add(lim.Per).Sub(now); d > wait {
			wait = d
		}
	}
	if wait > 0 {
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	for i, lim := range l.limits {
		c := l.calls[i]
		if len(c) >= lim.Calls {
			c = append(c[:0], c[len(c)-lim.Calls+1:]...)
		}
		l.calls[i] = append(c, now)
	}
	return 0, true
}
