package httpx

import (
	"context"
	"github.com/auditstream/auditstream/shared/testkit"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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
// per 10 seconds allows: spread 250 ms apart, then the long window holds
// them back.
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
	ms := time.Millisecond
	want := []time.Duration{0, 250 * ms, 500 * ms, 750 * ms, 1000 * ms, 1250 * ms,
		10000 * ms, 10250 * ms, 10500 * ms, 10750 * ms, 11000 * ms, 11250 * ms, 20000 * ms}
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

// countingTransport counts the requests it answers.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

// TestBudgetPrepay lets the first request sent with a prepaid context use
// the prepaid call, and makes every later one (a retry) take its own.
func TestBudgetPrepay(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBudget([]Limit{{1, time.Second}}, clock.Now, clock.Sleep)
	next := &countingTransport{}
	rt := b.RoundTripper(next)
	ctx, err := b.Prepay(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	child, cancel := context.WithCancel(ctx) // as httpx's attempt context
	defer cancel()
	send := func(ctx context.Context) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://epm.example/", nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	send(child)
	if clock.Slept() != 0 {
		t.Fatalf("the prepaid request waited %s", clock.Slept())
	}
	send(child)
	if clock.Slept() != time.Second || next.n.Load() != 2 {
		t.Errorf("the second request waited %s (want 1s, a call of its own); %d sent", clock.Slept(), next.n.Load())
	}
	// A prepaid call of another budget is no call of this one.
	other, _ := NewBudget([]Limit{{5, time.Second}}, clock.Now, clock.Sleep).Prepay(t.Context())
	send(other)
	if clock.Slept() != 2*time.Second {
		t.Errorf("a call prepaid to another budget was used: waited %s in all", clock.Slept())
	}
}

// lineLen returns the number of callers waiting in b's line.
func lineLen(b *Budget) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.line)
}

// waitLine waits until n callers wait in b's line.
func waitLine(t *testing.T, b *Budget, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for lineLen(b) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers in line, want %d", lineLen(b), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBudgetFirstComeFirstServed queues callers one after the other on a
// spent budget: they get their calls in the order they asked, except a
// retry (a request without prepaid call at the transport), which goes to
// the head of the line.
func TestBudgetFirstComeFirstServed(t *testing.T) {
	b := NewBudget([]Limit{{1, 30 * time.Millisecond}}, nil, nil)
	if err := b.Take(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	run := func(name string, take func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := take(); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
		}()
	}
	for i, name := range []string{"a", "b", "c"} {
		run(name, func() error { return b.Take(context.Background()) })
		waitLine(t, b, i+1)
	}
	rt := b.RoundTripper(&countingTransport{})
	run("retry", func() error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://epm.example/", nil)
		_, err := rt.RoundTrip(req)
		return err
	})
	waitLine(t, b, 4)
	wg.Wait()
	if want := []string{"retry", "a", "b", "c"}; !slices.Equal(order, want) {
		t.Errorf("calls in the order %v, want %v", order, want)
	}
}

// TestBudgetTakesTurns has three callers take calls in a loop, as the
// streams of three sets do: at every moment, none is more than two calls
// ahead of another.
func TestBudgetTakesTurns(t *testing.T) {
	b := NewBudget([]Limit{{2, 10 * time.Millisecond}}, nil, nil)
	const callers, calls = 3, 12
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			for range calls {
				if err := b.Take(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, c)
				mu.Unlock()
			}
		}()
	}
	close(begin)
	wg.Wait()
	// Once every caller is in line, and until the first has made all its
	// calls, every caller gets one call in every callers+1 calls.
	from := 0
	seen := map[int]bool{}
	for from < len(order) && len(seen) < callers {
		seen[order[from]] = true
		from++
	}
	counts := make([]int, callers)
	to := 0
	for to < len(order) && slices.Max(counts) < calls {
		counts[order[to]]++
		to++
	}
	for i := from; i+callers+1 <= to; i++ {
		win := order[i : i+callers+1]
		for c := range callers {
			if !slices.Contains(win, c) {
				t.Fatalf("caller %d has no call among calls %d to %d: not taking turns (order %v)", c, i, i+callers, order)
			}
		}
	}
}

// TestBudgetLeavesLine lets a caller whose context ends leave the line:
// the caller behind it gets the next call.
func TestBudgetLeavesLine(t *testing.T) {
	b := NewBudget([]Limit{{1, 40 * time.Millisecond}}, nil, nil)
	_ = b.Take(t.Context())
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- b.Take(ctx) }()
	waitLine(t, b, 1)
	second := make(chan error, 1)
	go func() { second <- b.Take(context.Background()) }()
	waitLine(t, b, 2)
	cancel()
	if err := <-first; err == nil {
		t.Fatal("a caller whose context ended got a call")
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller behind one that left never got its call")
	}
	if n := lineLen(b); n != 0 {
		t.Errorf("%d callers left in line", n)
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

// fakeClock is testkit's simulated clock: Sleep advances it.
type fakeClock = testkit.Clock

func newFakeClock(t time.Time) *fakeClock { return testkit.NewClock(t) }
