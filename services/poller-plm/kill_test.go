package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
	"github.com/auditstream/auditstream/shared/testkit"
)

// TestKillDashNineMidBackfill is how an operator would try it: the real
// binary, killed with SIGKILL three times during a backfill and started
// again each time. Every record arrives; only pages in flight repeat.
func TestKillDashNineMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := testkit.BuildBinary(t, ".")
	w := newWorld(t, map[string]int{plmsim.TypeItem: 6000, plmsim.TypeSystem: 3000}, false)
	w.env["PLM_PAGE_SIZE"] = "100"
	w.env["PLM_RATE_LIMIT"] = "60" // slow enough to kill it mid-backfill
	want := w.expected(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "poller.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	kills := 0
	for _, more := range []int64{700, 1500, 2300} {
		before := w.producedCount(t, "plm.audit")
		cmd := testkit.StartBinary(t, bin, w.env, logFile)
		testkit.WaitFor(t, "records before the kill", 60*time.Second, func() bool { return w.producedCount(t, "plm.audit") >= before+more })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
		if n := len(testkit.CountIDs(w.consumed(t, "plm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before kill %d", n, kills)
		}
	}
	cmd := testkit.StartBinary(t, bin, w.env, logFile)
	testkit.WaitFor(t, "every record", 120*time.Second, func() bool {
		return len(testkit.CountIDs(w.consumed(t, "plm.audit"))) >= len(want)
	})
	// A clean stop this time: SIGTERM, exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-plm after SIGTERM: %v", err)
	}

	dups := testkit.CheckDelivered(t, want, testkit.CountIDs(w.consumed(t, "plm.audit")), kills*2*100)
	t.Logf("%d events, %d duplicates after %d SIGKILLs", len(want), dups, kills)
}
