package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"
	"github.com/auditstream/auditstream/shared/testkit"
)

// TestKillDashNineMidBackfill is how an operator would try it: the real
// binary, pointed at oraclesim with slow and failing jobs, lost submit
// answers, 5xx, a growing current day and a START_TIME within the 120
// days, killed with SIGKILL three times during a backfill — whenever that
// lands, often while a report job runs — and started again each time.
// Every row from START_TIME arrives, nothing older, only pages in flight
// repeat, and no report file is left in the instance.
func TestKillDashNineMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := testkit.BuildBinary(t, ".")
	w := newWorld(t, 6, 24000, true)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "poller.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	kills := 0
	for _, more := range []int64{1200, 2500, 3500} {
		before := testkit.Produced(t, w.kafka, topic)
		cmd := testkit.StartBinary(t, bin, w.env, logFile)
		testkit.WaitFor(t, "events before the kill", 60*time.Second, func() bool { return testkit.Produced(t, w.kafka, topic) >= before+more })
		// Land the kill at an arbitrary point of the next report job.
		time.Sleep(time.Duration(kills*90) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
	}
	if w.caughtUpPast(t, w.start.Add(6*24*time.Hour-time.Hour)) {
		t.Fatal("the backfill finished before the kills meant to interrupt it")
	}
	cmd := testkit.StartBinary(t, bin, w.env, logFile)
	after := time.Now().UTC().Add(-2 * time.Second)
	testkit.WaitFor(t, "the stream caught up and its files deleted", 120*time.Second, func() bool {
		return w.caughtUpPast(t, after) && len(w.sim.Snapshots()) == 0
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-oracle after SIGTERM: %v", err)
	}
	c, _ := w.cursor(t)
	want := w.expected(c.From)
	events := testkit.Consume(t, w.kafka, w.registry.URL(), topic)
	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(events), kills*oracle.DefaultPageSize)
	for _, e := range events {
		if et, _ := e["event_time"].(time.Time); et.Before(w.start) {
			t.Fatalf("event older than START_TIME: %v", e)
		}
	}
	if left := w.sim.Snapshots(); len(left) > 0 {
		t.Fatalf("report files left in the instance: %v", left)
	}
	t.Logf("%d events, %d duplicates after %d SIGKILLs; simulator %+v", len(want), dups, kills, w.sim.Stats())
}
