// Package asyncjob waits for a vendor's asynchronous job: an operation
// that answers at once with a status URL (Oracle EPM Cloud's report jobs)
// and is polled until it ends. The job's own protocol stays in the vendor
// package; this package owns the loop, its interval and its deadline.
package asyncjob

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimedOut is wrapped by Wait's error when the job is still running at
// the timeout: the caller abandons it (and cleans up after it).
var ErrTimedOut = errors.New("job still running at its timeout")

// Failed is the error of a job the vendor reports as failed.
type Failed struct {
	// Status is the vendor's status code of the failure.
	Status int
	// Details is the vendor's description, as given.
	Details string
}

// Error describes the failure with the vendor's words.
func (f *Failed) Error() string {
	if f.Details == "" {
		return fmt.Sprintf("job failed with status %d", f.Status)
	}
	return fmt.Sprintf("job failed with status %d: %s", f.Status, f.Details)
}

// Config tunes Wait.
type Config struct {
	// Interval is the wait between two polls. Default 5s.
	Interval time.Duration
	// Timeout bounds the whole wait, counted from the call. Default 30m.
	Timeout time.Duration
	// Now and Sleep tell and pass the time; tests replace them. Defaults
	// time.Now and a timer that ends early when ctx does.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Poll asks the vendor once for the job's state: done reports that it
// ended well; an error — a *Failed for a job the vendor failed, anything
// else for a call that did not get an answer — ends the wait.
type Poll func(ctx context.Context) (done bool, err error)

// Wait polls right away and then every Interval until poll reports the job
// done or fails, ctx ends, or Timeout passes (an error wrapping
// ErrTimedOut). It returns the number of polls made with the result.
func Wait(ctx context.Context, cfg Config, poll Poll) (polls int, err error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	deadline := cfg.Now().Add(cfg.Timeout)
	for {
		polls++
		done, err := poll(ctx)
		if err != nil || done {
			return polls, err
		}
		left := deadline.Sub(cfg.Now())
		if left <= 0 {
			return polls, fmt.Errorf("%w (%s, %d polls)", ErrTimedOut, cfg.Timeout, polls)
		}
		if err := cfg.Sleep(ctx, min(cfg.Interval, left)); err != nil {
			return polls, err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
