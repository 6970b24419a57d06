package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-plm/plmsim"
)

// buildBinary builds poller-plm as a user would run it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "poller-plm")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary starts the poller process with w's environment; its logs go
// to the test log file.
func startBinary(t *testing.T, bin string, w *world, logFile *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

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
	bin := buildBinary(t)
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
		cmd := startBinary(t, bin, w, logFile)
		waitFor(t, "records before the kill", 60*time.Second, func() bool { return w.producedCount(t, "plm.audit") >= before+more })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
		if n := len(countIDs(w.consumed(t, "plm.audit"))); n >= len(want) {
			t.Fatalf("the backfill finished (%d events) before kill %d", n, kills)
		}
	}
	cmd := startBinary(t, bin, w, logFile)
	waitFor(t, "every record", 120*time.Second, func() bool {
		return len(countIDs(w.consumed(t, "plm.audit"))) >= len(want)
	})
	// A clean stop this time: SIGTERM, exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("poller-plm after SIGTERM: %v", err)
	}

	counts := countIDs(w.consumed(t, "plm.audit"))
	dups := 0
	for id := range want {
		switch c := counts[id]; {
		case c == 0:
			t.Fatalf("event %s lost", id)
		case c > 1:
			dups += c - 1
		}
	}
	if len(counts) != len(want) {
		t.Fatalf("%d distinct events, want %d", len(counts), len(want))
	}
	if limit := kills * 2 * 100; dups > limit {
		t.Fatalf("%d duplicates after %d kills; at most %d (the pages in flight) allowed", dups, kills, limit)
	}
	t.Logf("%d events, %d duplicates after %d SIGKILLs", len(want), dups, kills)
}
