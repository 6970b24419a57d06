package simkit

import (
	"math/rand/v2"
	"sync"
	"time"
)

// FaultConfig configures Faults.
type FaultConfig struct {
	// Seed seeds the random choices; the same seed and the same sequence
	// of calls to Next give the same faults.
	Seed int64
	// Rate is the probability in [0,1] that a request fails with one of
	// Statuses. Default 0.
	Rate float64
	// Statuses are the statuses random faults draw from; required when
	// Rate is above 0.
	Statuses []int
	// SlowRate is the probability in [0,1] that a request is delayed by
	// SlowDelay. Default 0.
	SlowRate float64
	// SlowDelay is the delay of random slow responses. Default 0.
	SlowDelay time.Duration
}

// Faults chooses the faults injected into requests: the queued ones first
// (FailNext, SlowNext), then random ones at the configured rates. Its
// methods are safe for concurrent use.
type Faults struct {
	cfg      FaultConfig
	mu       sync.Mutex
	rng      *rand.Rand
	failNext []int
	slowNext []time.Duration
}

// NewFaults returns Faults with nothing queued.
func NewFaults(cfg FaultConfig) *Faults {
	return &Faults{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6661756c74))}
}

// FailNext makes the next n requests fail with status. Calls queue up:
// FailNext(1, 502) then FailNext(1, 503) fails one request with each, in
// that order.
func (f *Faults) FailNext(n int, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failNext = append(f.failNext, status)
	}
}

// SlowNext delays each of the next n requests by d.
func (f *Faults) SlowNext(n int, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.slowNext = append(f.slowNext, d)
	}
}

// Next returns the fault and the delay chosen for a request; 0 for none.
func (f *Faults) Next() (status int, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(f.slowNext) > 0:
		delay, f.slowNext = f.slowNext[0], f.slowNext[1:]
	case f.cfg.SlowRate > 0 && f.rng.Float64() < f.cfg.SlowRate:
		delay = f.cfg.SlowDelay
	}
	switch {
	case len(f.failNext) > 0:
		status, f.failNext = f.failNext[0], f.failNext[1:]
	case f.cfg.Rate > 0 && f.rng.Float64() < f.cfg.Rate:
		status = f.cfg.Statuses[f.rng.IntN(len(f.cfg.Statuses))]
	}
	return status, delay
}
