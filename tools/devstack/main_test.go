package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/kafkax"
)

// TestStackRunsAndStopsCleanly runs the dev stack as make demo does, on
// random ports, for a few seconds: the pollers must start, produce events
// and stop cleanly on SIGTERM.
func TestStackRunsAndStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pollers")
	}
	bin := t.TempDir()
	for _, v := range vendors {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, v.binary), "github.com/auditstream/auditstream/services/"+v.binary)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", v.binary, err, out)
		}
	}
	o := options{
		kafkaPort:    0,
		registryAddr: "127.0.0.1:0",
		metricsPort:  0,
		binDir:       bin,
		logDir:       filepath.Join(bin, "logs"),
		duration:     12 * time.Second,
		progress:     time.Second,
		history:      6 * time.Hour,
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var counted map[string]int64
	err := runStackWith(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)), func(cfg kafkax.Config, topics []string) {
		counts, err := topicCounts(context.Background(), cfg, topics)
		if err == nil {
			counted = counts
		}
	})
	if err != nil {
		logs, _ := os.ReadFile(filepath.Join(o.logDir, "poller-plm.log"))
		t.Fatalf("stack: %v\npoller log:\n%s", err, logs)
	}
	for _, v := range vendors {
		for _, topic := range v.topics {
			if counted[topic] == 0 {
				t.Errorf("topic %s is empty after the demo", topic)
			}
		}
	}
}
