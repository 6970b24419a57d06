package epm

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want Limit
		err  bool
	}{
		{"4/1s", Limit{4, time.Second}, false},
		{" 950/5m ", Limit{950, 5 * time.Minute}, false},
		{"1/1h30m", Limit{1, 90 * time.Minute}, false},
		{"4", Limit{}, true},
		{"0/1s", Limit{}, true},
		{"-1/1s", Limit{}, true},
		{"x/1s", Limit{}, true},
		{"4/0s", Limit{}, true},
		{"4/soon", Limit{}, true},
		{"4/1", Limit{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
	if l := (Limit{950, 5 * time.Minute}); l.String() != "950/5m0s" {
		t.Errorf("String() = %q", l.String())
	}
}

// TestBudgetSchedule takes calls as fast as a budget of 4 per second and 6
// per 10 seconds allows: bursts of 4, then the long window holds them back.
func TestBudgetSchedule(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	b := NewBudget([]Limit{{4, time.Second}, {6, 10 * time.Second}}, clock.Now, clock.Sleep)
	var at []time.Duration
	for range 13 {
		if err := b.Take(t.Context()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.Now().Sub(t0))
	}
	s := time.Second
	want := []time.Duration{0, 0, 0, 0, s, s, 10 * s, 10 * s, 10 * s, 10 * s, 11 * s, 11 * s, 20 * s}
	if !slices.Equal(at, want) {
		t.Errorf("calls at %v, want %v", at, want)
	}
	// Every window holds at most its limit.
	for i := range at {
		for _, l := range b.Limits() {
			n := 0
			for _, a := range at {
				if a >= at[i] && a < at[i]+l.Per {
					n++
				}
			}
			if n > l.Calls {
				t.Fatalf("%d calls in the %s from %s, limit %d", n, l.Per, at[i], l.Calls)
			}
		}
	}
}

// TestBudgetWaitDoesNotTake lets Wait pass without using the budget.
func TestBudgetWaitDoesNotTake(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBudget([]Limit{{1, time.Second}}, clock.Now, clock.Sleep)
	for range 3 {
		if err := b.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if clock.Slept() != 0 {
		t.Fatalf("Wait used the budget: slept %s", clock.Slept())
	}
	_ = b.Take(t.Context())
	_ = b.Wait(t.Context())
	if clock.Slept() != time.Second {
		t.Errorf("Wait after a Take slept %s, want 1s", clock.Slept())
	}
}

// TestBudgetConcurrent takes calls from many goroutines on the wall clock:
// no window ever holds more than its limit.
func TestBudgetConcurrent(t *testing.T) {
	l := Limit{Calls: 5, Per: 40 * time.Millisecond}
	b := NewBudget([]Limit{l}, nil, nil)
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				if err := b.Take(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(at, time.Time.Compare)
	for i := range at {
		if i+l.Calls < len(at) && at[i+l.Calls].Sub(at[i]) < l.Per-2*time.Millisecond {
			t.Fatalf("call %d and call %d only %s apart, limit %v", i, i+l.Calls, at[i+l.Calls].Sub(at[i]), l)
		}
	}
}

func TestBudgetStopsWithContext(t *testing.T) {
	b := NewBudget([]Limit{{1, time.Hour}}, nil, nil)
	_ = b.Take(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Take(ctx); err == nil {
		t.Error("Take returned without waiting an hour")
	}
}
