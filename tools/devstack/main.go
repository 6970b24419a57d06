// Command devstack runs the whole auditstream system on one machine with
// nothing installed: an in-process Kafka broker on 127.0.0.1:9092, a schema
// registry on http://127.0.0.1:8081, every vendor simulator with generated
// data, and every poller (as its real binary) pointed at them. It prints live
// progress and a summary, and exits non-zero if a poller failed.
//
//	go run ./tools/devstack -duration 60s
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/shared/checkpoint"
	"github.com/auditstream/auditstream/shared/kafkax"
	"github.com/auditstream/auditstream/shared/testkit"
)

func main() {
	os.Exit(run())
}

type options struct {
	kafkaPort    int
	registryAddr string
	metricsPort  int
	binDir       string
	logDir       string
	duration     time.Duration
	progress     time.Duration
	history      time.Duration
	only         string
}

func run() int {
	var o options
	flag.IntVar(&o.kafkaPort, "kafka-port", 9092, "port of the embedded Kafka broker on 127.0.0.1")
	flag.StringVar(&o.registryAddr, "registry-addr", "127.0.0.1:8081", "address of the embedded schema registry")
	flag.IntVar(&o.metricsPort, "metrics-port", 18080, "port of the first poller's /metrics on 127.0.0.1; the next pollers take the following ports (0: random)")
	flag.StringVar(&o.binDir, "bin", "./bin", "directory holding the poller binaries (make build)")
	flag.StringVar(&o.logDir, "logs", "./bin/demo-logs", "directory for the pollers' JSON logs")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	flag.DurationVar(&o.progress, "progress", 3*time.Second, "interval of the progress lines")
	flag.DurationVar(&o.history, "history", 72*time.Hour, "how much vendor history the simulators hold at start")
	flag.StringVar(&o.only, "only", "", "comma-separated vendors to run (default: all)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(log)
	if err := runStack(ctx, o, log); err != nil {
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		return 1
	}
	return 0
}

// poller is one running poller process.
type poller struct {
	vendor  vendor
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	logPath string
}

func runStack(ctx context.Context, o options, log *slog.Logger) error {
	return runStackWith(ctx, o, log, nil)
}

// runStackWith is runStack; atEnd, when set, is called once the pollers
// have stopped, while the broker still runs (tests read the topics there).
func runStackWith(ctx context.Context, o options, log *slog.Logger, atEnd func(kafkax.Config, []string)) error {
	k, err := testkit.StartKafka(testkit.KafkaOptions{Port: o.kafkaPort, Partitions: 3})
	if err != nil {
		return fmt.Errorf("start kafka on port %d: %w", o.kafkaPort, err)
	}
	defer k.Close()
	reg, err := testkit.StartRegistry(testkit.RegistryOptions{Addr: o.registryAddr})
	if err != nil {
		return fmt.Errorf("start schema registry on %s: %w", o.registryAddr, err)
	}
	defer reg.Close()
	fmt.Printf("kafka     %s\nregistry  %s\n", strings.Join(k.Brokers(), ","), reg.URL())

	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	start := time.Now().Add(-o.history).UTC().Truncate(time.Hour)
	selected := selectVendors(o.only)
	if len(selected) == 0 {
		return fmt.Errorf("no vendor matches -only %q", o.only)
	}

	// The simulators live as long as the stack; stackCtx outlives ctx so
	// that pollers can stop cleanly while their vendor still answers.
	stackCtx, stopStack := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStack()
	var pollers []*poller
	var simWG sync.WaitGroup
	var simDone []<-chan struct{}
	var servers []*http.Server
	defer func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
		simWG.Wait()
	}()
	for i, v := range selected {
		sim, err := v.startSim(stackCtx, start)
		if err != nil {
			return fmt.Errorf("start %s simulator: %w", v.name, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen for %s simulator: %w", v.name, err)
		}
		if sim.done != nil {
			simDone = append(simDone, sim.done)
		}
		srv := &http.Server{Handler: sim.handler, ReadHeaderTimeout: 5 * time.Second}
		simWG.Add(1)
		go func() {
			defer simWG.Done()
			_ = srv.Serve(ln)
		}()
		servers = append(servers, srv)
		base := "http://" + ln.Addr().String()
		fmt.Printf("%-9s simulator %s\n", v.name, base)

		env := map[string]string{
			"KAFKA_BROKERS":          strings.Join(k.Brokers(), ","),
			"SCHEMA_REGISTRY_URL":    reg.URL(),
			"KAFKA_TOPIC_PARTITIONS": "3",
			"START_TIME":             start.Format(time.RFC3339),
			"POLL_INTERVAL":          "5s",
			"SAFETY_LAG":             "10s",
			"HTTP_ADDR":              metricsAddr(o.metricsPort, i),
			"LOG_LEVEL":              "info",
		}
		for key, val := range sim.env(base) {
			env[key] = val
		}
		p, err := startPoller(o, v, env)
		if err != nil {
			return err
		}
		fmt.Printf("%-9s poller    pid %d, metrics http://%s/metrics, logs %s\n", v.name, p.cmd.Process.Pid, env["HTTP_ADDR"], p.logPath)
		pollers = append(pollers, p)
	}

	kcfg := kafkax.Config{Brokers: k.Brokers()}
	topics := []string{"pollers.deadletter"}
	for _, v := range selected {
		topics = append(topics, v.topics...)
	}
	fmt.Println()
	ticker := time.NewTicker(o.progress)
	defer ticker.Stop()
	var progressStore *checkpoint.KafkaStore
	defer func() {
		if progressStore != nil {
			progressStore.Close()
		}
	}()
	var failed []string
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			fmt.Println(progressLine(ctx, kcfg, topics))
			fmt.Println(streamLine(ctx, kcfg, &progressStore, pollers))
		}
		for _, p := range pollers {
			select {
			case <-p.done:
				failed = append(failed, fmt.Sprintf("%s exited early: %v (see %s)", p.vendor.binary, p.err, p.logPath))
				break loop
			default:
			}
		}
	}

	// Stop the pollers first (SIGTERM, as Kubernetes does), then read the
	// final state while the broker still runs.
	fmt.Println("\npollers")
	for _, p := range pollers {
		fmt.Printf("  %-16s resident memory %s\n", p.vendor.binary, residentMemory(p.cmd.Process.Pid))
	}
	for _, p := range pollers {
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				failed = append(failed, fmt.Sprintf("%s stopped with %v (see %s)", p.vendor.binary, p.err, p.logPath))
			}
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			failed = append(failed, fmt.Sprintf("%s did not stop within 15s of SIGTERM", p.vendor.binary))
		}
	}
	summary(kcfg, topics, os.Stdout)
	if atEnd != nil {
		atEnd(kcfg, topics)
	}
	stopStack()
	for _, d := range simDone {
		<-d
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

func startPoller(o options, v vendor, env map[string]string) (*poller, error) {
	bin := filepath.Join(o.binDir, v.binary)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("poller binary %s not found (run make build): %w", bin, err)
	}
	logPath := filepath.Join(o.logDir, v.binary+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", logPath, err)
	}
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = os.Environ()
	for key, val := range env {
		cmd.Env = append(cmd.Env, key+"="+val)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &poller{vendor: v, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// topicCounts returns the number of messages in each topic (the sum of its
// partitions' end offsets; the demo never deletes records).
func topicCounts(ctx context.Context, cfg kafkax.Config, topics []string) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr}
	meta, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range meta.Topics {
		if t.Error != nil {
			continue
		}
		for _, p := range t.Partitions {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	counts := map[string]int64{}
	for _, t := range topics {
		counts[t] = 0
	}
	if len(req.Topics) == 0 {
		return counts, nil
	}
	res, err := cl.ListOffsets(ctx, req)
	if err != nil {
		return nil, err
	}
	for topic, parts := range res.Topics {
		for _, p := range parts {
			if p.Error == nil {
				counts[topic] += p.LastOffset
			}
		}
	}
	return counts, nil
}

func progressLine(ctx context.Context, cfg kafkax.Config, topics []string) string {
	counts, err := topicCounts(ctx, cfg, topics)
	if err != nil {
		return fmt.Sprintf("%s  progress unavailable: %v", time.Now().Format("15:04:05"), err)
	}
	var b strings.Builder
	b.WriteString(time.Now().Format("15:04:05"))
	for _, t := range topics {
		fmt.Fprintf(&b, "  %s=%d", t, counts[t])
	}
	return b.String()
}

func summary(cfg kafkax.Config, topics []string, w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Fprintln(w, "\nsummary")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	counts, err := topicCounts(ctx, cfg, topics)
	if err != nil {
		fmt.Fprintf(w, "  topics unavailable: %v\n", err)
	} else {
		fmt.Fprintln(tw, "  TOPIC\tMESSAGES")
		for _, t := range topics {
			fmt.Fprintf(tw, "  %s\t%d\n", t, counts[t])
		}
	}
	store, err := checkpoint.NewKafkaStore(ctx, cfg, "pollers.checkpoints")
	if err != nil {
		fmt.Fprintf(w, "  checkpoints unavailable: %v\n", err)
		_ = tw.Flush()
		return
	}
	defer store.Close()
	cps, err := store.List(ctx)
	if err != nil {
		fmt.Fprintf(w, "  checkpoints unavailable: %v\n", err)
		_ = tw.Flush()
		return
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Stream < cps[j].Stream })
	fmt.Fprintln(tw, "\n  STREAM\tRECORDS\tPOSITION\tLAG")
	for _, cp := range cps {
		pos, lag := "-", "-"
		if !cp.Position.IsZero() {
			pos = cp.Position.UTC().Format(time.RFC3339)
			lag = time.Since(cp.Position).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", cp.Stream, cp.Records, pos, lag)
	}
	_ = tw.Flush()
}

// residentMemory returns a process's resident set size as Linux reports it
// in /proc, or "unknown" elsewhere.
func residentMemory(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(rest), &kb); err == nil {
				return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
			}
		}
	}
	return "unknown"
}

// metricsAddr is the HTTP_ADDR of the i-th poller.
func metricsAddr(base, i int) string {
	if base == 0 {
		return "127.0.0.1:0"
	}
	return fmt.Sprintf("127.0.0.1:%d", base+i)
}

// streamLine reports the streams' positions from the checkpoint topic (how
// many have caught up, the largest lag) and the warnings and errors each
// poller has logged so far (retries of injected faults show there).
func streamLine(ctx context.Context, cfg kafkax.Config, store **checkpoint.KafkaStore, pollers []*poller) string {
	var b strings.Builder
	b.WriteString("          ")
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var err error
	if *store == nil {
		*store, err = checkpoint.NewKafkaStore(ctx, cfg, "pollers.checkpoints")
	} else {
		err = (*store).Reload(ctx)
	}
	if err != nil {
		*store = nil
		b.WriteString("streams: no checkpoint yet")
	} else {
		cps, _ := (*store).List(ctx)
		caughtUp, maxLag := 0, time.Duration(0)
		for _, cp := range cps {
			if cp.Position.IsZero() {
				continue
			}
			lag := time.Since(cp.Position)
			if lag < time.Minute {
				caughtUp++
			}
			maxLag = max(maxLag, lag)
		}
		fmt.Fprintf(&b, "streams: %d, %d within a minute of now, largest lag %s", len(cps), caughtUp, maxLag.Round(time.Second))
	}
	b.WriteString(" | warnings/errors logged:")
	for _, p := range pollers {
		warn, errs := logLevels(p.logPath)
		fmt.Fprintf(&b, " %s=%d/%d", p.vendor.name, warn, errs)
	}
	return b.String()
}

// logLevels counts the WARN and ERROR lines of a poller's JSON log.
func logLevels(path string) (warn, errs int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	warn = bytes.Count(data, []byte(`"level":"WARN"`))
	errs = bytes.Count(data, []byte(`"level":"ERROR"`))
	return warn, errs
}
