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
// binary, killed with SIGKILL three times during a backfill whose busy
// hours hold four times the cap, and started again each time. Every record
// of every report arrives; only pages in flight repeat.
func TestKillDashNineMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := testkit.BuildBinary(t, ".")
	const cap = 150
	w := newWorld(t, worldOptions{cap: cap, background: 400, busy: 4 * cap})
	w.env["AVEVA_RATE_LIMIT"] = "25" // slow enough to kill it mid-backfill
	want := w.expected(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "poller.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	kills := 0
	for _, more := range []int64{500, 900, 1300} {
		before := w.producedCount(t, e2eTopics...)
		cmd := testkit.StartBinary(t, bin, w.env, logFile)
		testkit.WaitFor(t, "records before the kill", 60*time.Second, func() bool { return w.producedCount(t, e2eTopics...) >= before+more })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
		if n := w.distinct(t); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before kill %d", n, kills)
		}
	}
	cmd := testkit.StartBinary(t, bin, w.env, logFile)
	testkit.WaitFor(t, "every record", 120*time.Second, func() bool { return w.distinct(t) >= len(want) })
	// A clean stop this time: SIGTERM, exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-aveva after SIGTERM: %v", err)
	}

	dups := checkDelivery(t, w.consumed(t, e2eTopics...), want, kills*5*cap)
	t.Logf("%d events, %d duplicates after %d SIGKILLs", len(want), dups, kills)
}
