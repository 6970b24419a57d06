package asyncjob

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeTime is a clock that Sleep moves.
type fakeTime struct{ now time.Time }

func (f *fakeTime) Now() time.Time { return f.now }
func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return ctx.Err()
}

func TestWait(t *testing.T) {
	failed := &Failed{Status: 1, Details: "EPMCSS-20643: internal error"}
	network := errors.New("connection reset")
	tests := []struct {
		name      string
		doneAfter int   // polls until done; 0: never
		err       error // returned by the doneAfter-th poll instead of done
		wantPolls int
		wantErr   error
		wantSlept time.Duration
	}{
		{name: "done at once", doneAfter: 1, wantPolls: 1},
		{name: "done at the fourth poll", doneAfter: 4, wantPolls: 4, wantSlept: 15 * time.Second},
		{name: "failed", doneAfter: 3, err: failed, wantPolls: 3, wantErr: failed, wantSlept: 10 * time.Second},
		{name: "poll error", doneAfter: 2, err: network, wantPolls: 2, wantErr: network, wantSlept: 5 * time.Second},
		{name: "timeout", wantPolls: 13, wantErr: ErrTimedOut, wantSlept: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeTime{now: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}
			start := clock.now
			n := 0
			polls, err := Wait(context.Background(), Config{Interval: 5 * time.Second, Timeout: time.Minute, Now: clock.Now, Sleep: clock.Sleep},
				func(context.Context) (bool, error) {
					n++
					if tt.doneAfter > 0 && n == tt.doneAfter {
						return tt.err == nil, tt.err
					}
					return false, nil
				})
			if polls != tt.wantPolls || n != polls {
				t.Errorf("polls = %d (counted %d), want %d", polls, n, tt.wantPolls)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if slept := clock.now.Sub(start); slept != tt.wantSlept {
				t.Errorf("slept %s, want %s", slept, tt.wantSlept)
			}
		})
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Wait(ctx, Config{Interval: time.Hour}, func(context.Context) (bool, error) { return false, nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

func TestFailedError(t *testing.T) {
	if got := (&Failed{Status: 1, Details: "x"}).Error(); got != "job failed with status 1: x" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Failed{Status: 2}).Error(); got != "job failed with status 2" {
		t.Errorf("Error() = %q", got)
	}
}
