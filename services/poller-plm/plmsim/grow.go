package plmsim

import (
	"context"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// itemShare is the share of item records among records added by Grow.
const itemShare = 0.6

// Grow adds n records every interval, until ctx is done, and then returns.
// The records of one tick have instants spread over the Clock time since the
// previous tick (all at the current time when the Clock has not moved),
// about 60% item and 40% system records, with occasional bursts sharing a
// millisecond. Run it in a goroutine the caller owns, or use StartGrowing.
func (s *Server) Grow(ctx context.Context, every time.Duration, n int) {
	simkit.Grow(ctx, every, s.cfg.Clock, func(after, until time.Time) { s.GrowSpan(after, until, n) })
}

// StartGrowing runs Grow in a new goroutine. The goroutine lives until ctx
// is done; the returned channel is closed when it has returned, so the owner
// cancels ctx and then waits for the channel.
func (s *Server) StartGrowing(ctx context.Context, every time.Duration, n int) <-chan struct{} {
	return simkit.Start(ctx, func(ctx context.Context) { s.Grow(ctx, every, n) })
}

// GrowSpan adds n records of either type with instants in (after, until], as
// one tick of Grow does, and returns them in insertion order. When until is
// not after after, every record is at until. With Config.LateRate, some
// records are instead up to Config.LateBy earlier.
func (s *Server) GrowSpan(after, until time.Time, n int) []Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	g := s.st.gen
	ts := g.instants(after.Add(time.Millisecond), until.Add(time.Millisecond), n)
	if ts == nil {
		ts = make([]time.Time, n)
		for i := range ts {
			ts[i] = time.UnixMilli(until.UnixMilli())
		}
	}
	out := make([]Record, 0, n)
	for _, t := range ts {
		typ := TypeSystem
		if g.rng.Float64() < itemShare {
			typ = TypeItem
		}
		if s.cfg.LateRate > 0 && g.rng.Float64() < s.cfg.LateRate {
			late := time.Millisecond + time.Duration(g.rng.Int64N(int64(s.cfg.LateBy)))
			t = time.UnixMilli(t.Add(-late).UnixMilli())
		}
		out = append(out, s.st.insert(g.build(typ, t)))
	}
	return out
}
