package simkit

import (
	"context"
	"time"
)

// Grow calls span every interval with the Clock time of the previous tick
// and the current one, until ctx is done, and then returns: a history
// that keeps growing as the vendor's does. Run it in a goroutine the
// caller owns, or with Start.
func Grow(ctx context.Context, every time.Duration, clock func() time.Time, span func(after, until time.Time)) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := clock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := clock()
		span(last, now)
		last = now
	}
}

// Start runs fn(ctx) in a new goroutine. The goroutine lives until fn
// returns; the returned channel is closed then, so the owner cancels ctx
// and then waits for the channel.
func Start(ctx context.Context, fn func(context.Context)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return done
}

// Growth turns records per second into a tick interval and records per
// tick: ten ticks a second from 10 records per second up, else one record
// a tick.
func Growth(perSecond float64) (every time.Duration, n int) {
	if perSecond >= 10 {
		return 100 * time.Millisecond, int(perSecond/10 + 0.5)
	}
	return time.Duration(float64(time.Second) / perSecond), 1
}
