package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/testkit"
)

// TestKillDashNineMidBackfill is how an operator would try it: the real
// binary, pointed at a simulator with expiring sessions, both rate limits,
// 5xx answers, several sets and bursts of equal EventTimes, killed with
// SIGKILL three times during a backfill and started again each time. Every
// record arrives; only pages in flight repeat, at most one per set and
// kill; every set ends with a checkpoint of its own.
func TestKillDashNineMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := testkit.BuildBinary(t, ".")
	w := newWorld(t, []int{4000, 2500, 1500}, true)
	w.env["EPM_RATE_LIMIT"] = "20/1s,500/30s" // slow enough to kill it mid-backfill
	want := w.expected(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "poller.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	kills := 0
	for _, more := range []int64{700, 1500, 2300} {
		before := w.producedCount(t, "epm.audit")
		cmd := testkit.StartBinary(t, bin, w.env, logFile)
		testkit.WaitFor(t, "records before the kill", 60*time.Second, func() bool { return w.producedCount(t, "epm.audit") >= before+more })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
		if n := len(testkit.CountIDs(w.consumed(t, "epm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before kill %d", n, kills)
		}
	}
	cmd := testkit.StartBinary(t, bin, w.env, logFile)
	testkit.WaitFor(t, "every record", 120*time.Second, func() bool {
		return len(testkit.CountIDs(w.consumed(t, "epm.audit"))) >= len(want) && w.caughtUp(t)
	})
	// A clean stop this time: SIGTERM, exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-epm after SIGTERM: %v", err)
	}
	dups := checkExactlyOnce(t, w.consumed(t, "epm.audit"), want, kills*len(w.sets)*100)
	w.checkSetCheckpoints(t)
	// A process started after a kill does not know the calls its
	// predecessor made in the current windows, so it may meet the
	// vendor's limit once and wait out its Retry-After; it never sends a
	// bad request or calls the dispatcher for data.
	st := w.sim.Stats()
	if st.BadRequests > 0 || st.DispatcherMisses > 0 {
		t.Errorf("the binary sent bad requests: %+v", st)
	}
	t.Logf("%d events, %d duplicates after %d SIGKILLs; simulator %+v", len(want), dups, kills, st)
}
