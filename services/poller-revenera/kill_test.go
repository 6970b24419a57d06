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
// binary, pointed at a simulator with expiring sessions and URLs, "Cookie
// Missing" logons and 5xx answers, killed with SIGKILL three times during
// a backfill and started again each time. A killed process never logs out,
// so each restart meets a session that is still active (409) and must log
// it out first. Every row arrives, report values once per day and
// metric; a SIGTERM at the end exits 0 and logs the session out.
func TestKillDashNineMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := testkit.BuildBinary(t, ".")
	w := newWorld(t, 100, true)
	w.env["REVENERA_PRODUCT_IDS"] = w.products()[0] + "," + w.products()[1]
	w.env["REVENERA_RATE_LIMIT"] = "12" // slow enough to kill it mid-backfill
	w.env["POLL_INTERVAL"] = "500ms"
	rows, reports := w.expectedRows(t), w.reportKeys()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "poller.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	kills := 0
	for _, more := range []int64{600, 1000, 1000} {
		before := testkit.Produced(t, w.kafka, e2eTopic)
		cmd := testkit.StartBinary(t, bin, w.env, logFile)
		testkit.WaitFor(t, "records before the kill", 60*time.Second, func() bool { return testkit.Produced(t, w.kafka, e2eTopic) >= before+more })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
		if n := len(testkit.CountIDs(w.consumed(t))); n >= len(rows)+reports {
			t.Fatalf("the backfill finished (%d events) before kill %d", n, kills)
		}
	}
	cmd := testkit.StartBinary(t, bin, w.env, logFile)
	testkit.WaitFor(t, "every row and report value", 120*time.Second, func() bool { return w.complete(t, rows, reports) })
	logoutsBefore := w.sim.Stats().Logouts
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-revenera after SIGTERM: %v", err)
	}
	dups := w.checkDelivery(t, w.consumed(t), rows, reports, kills*8*e2ePageMax)
	st := w.sim.Stats()
	if st.Logouts <= logoutsBefore || st.ActiveSessions != 0 {
		t.Fatalf("no logout at SIGTERM: %+v", st)
	}
	if st.RefusedActive == 0 {
		t.Fatalf("no restart met the killed process's session: %+v", st)
	}
	if st.BadRequests > 0 || st.Forbidden > 0 {
		t.Fatalf("the binary sent bad requests: %+v", st)
	}
	t.Logf("%d rows, %d report values, %d duplicates after %d SIGKILLs; simulator %+v", len(rows), reports, dups, kills, st)
}
