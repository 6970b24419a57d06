package oracle

import (
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/utcday"
)

// TestSourceBackfillWithFaults reads ten days and the open day from
// oraclesim with failing jobs, lost submits and injected 5xx: every row
// of [START_TIME, now − SAFETY_LAG) once, nothing else, and no file left
// in the instance; no submit is repeated by the HTTP client (one job per
// submit attempt).
func TestSourceBackfillWithFaults(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{Seed: 3, JobFailRate: 0.15, LostSubmitRate: 0.15, FaultRate: 0.05}, simNow)
	start := simNow.Add(-10*24*time.Hour - 5*time.Hour)
	w.sim.Generate(start.Add(-24*time.Hour), simNow.Add(-time.Minute), 4000)
	w.sim.FailNext(1, 429)
	src := w.source(t, w.auditReporter(), start)
	r := drain(t, src, nil, nil)
	last := decodeCursor(t, r.last)
	if last.Day != utcday.Of(simNow) || last.From.Before(simNow.Add(-2*time.Minute)) || !last.To.IsZero() {
		t.Fatalf("caught up at %+v, want the open day read up to now − SAFETY_LAG", last)
	}
	checkIDs(t, r.ids, w.expectedIDs(start, last.From))
	if len(r.dead) > 0 {
		t.Fatalf("dead letters: %v", r.dead)
	}
	st := w.sim.Stats()
	t.Logf("%d rows in %d pages, %d errors; simulator %+v", len(r.ids), r.pages, r.errors, st)
	if st.LostSubmits == 0 || st.JobsFailed == 0 || st.ServerErrors == 0 {
		t.Fatalf("faults not exercised: %+v", st)
	}
	w.cleanUp(t, src, r.last)
}
