package epmsim

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// Grow adds n records every interval, to sets chosen at random, until ctx
// is done, and then returns. The records of one tick have instants spread
// over the Clock time since the previous tick (all at the current time
// when the Clock has not moved). Run it in a goroutine the caller owns, or
// use StartGrowing.
func (s *Server) Grow(ctx context.Context, every time.Duration, n int) {
	simkit.Grow(ctx, every, s.cfg.Clock, func(after, until time.Time) { s.GrowSpan(after, until, n) })
}

// StartGrowing runs Grow in a new goroutine. The goroutine lives until ctx
// is done; the returned channel is closed when it has returned, so the owner
// cancels ctx and then waits for the channel.
func (s *Server) StartGrowing(ctx context.Context, every time.Duration, n int) <-chan struct{} {
	return simkit.Start(ctx, func(ctx context.Context) { s.Grow(ctx, every, n) })
}

// GrowSpan adds n records with instants in (after, until], each to a set
// chosen at random, and returns them in insertion order. When until is not
// after after, every record is at until. It adds nothing when there is no
// set.
func (s *Server) GrowSpan(after, until time.Time, n int) []Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if len(s.st.sets) == 0 {
		return nil
	}
	g := s.st.gen
	ts := g.instants(after.Add(time.Millisecond), until.Add(time.Millisecond), n)
	if ts == nil {
		ts = make([]time.Time, n)
		for i := range ts {
			ts[i] = time.UnixMilli(until.UnixMilli()).UTC()
		}
	}
	out := make([]Record, 0, n)
	for _, t := range ts {
		set := s.st.sets[g.rng.IntN(len(s.st.sets))]
		out = append(out, s.st.insertLocked(set, g.build(set, t)))
	}
	return out
}
