package oracle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

// TestOpenDayGrows reads the open day as it grows: it is asked for again
// only every ORACLE_REPORT_INTERVAL (Fetches in between make no call),
// each read publishes only the rows between the last horizon and the new
// one, and when the day closes its last selection is read at once and
// the next day begins. Every row arrives once.
func TestOpenDayGrows(t *testing.T) {
	start := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	w := newSimWorld(t, oraclesim.Config{Seed: 5}, start)
	day := utcday.Of(start)
	w.sim.Generate(day.Start(), start.Add(-time.Minute), 800)
	src := w.source(t, w.auditReporter(), day.Start())
	r := drain(t, src, nil, nil)
	jobs := len(w.sim.Jobs())
	for i := 0; i < 60; i++ {
		// Logins every 5 minutes for 5 hours, past midnight.
		w.clock.Advance(5 * time.Minute)
		w.sim.GrowAt(w.clock.Now(), 3)
		r = drain(t, src, r.last, r)
	}
	c := decodeCursor(t, r.last)
	if c.Day != day+1 {
		t.Fatalf("cursor %+v, want the next day", c)
	}
	checkIDs(t, r.ids, w.expectedIDs(day.Start(), c.From))
	reads := len(w.sim.Jobs()) - jobs
	// 300 minutes / 15: about 20 reads of the open days, and the last
	// selection of the closing day at once.
	if reads < 17 || reads > 25 {
		t.Fatalf("%d reports in 300 minutes at ORACLE_REPORT_INTERVAL=15m", reads)
	}
	t.Logf("%d rows, %d reports", len(r.ids), reads)
}

// TestClampToRetention starts 200 days back: the 80 days the vendor no
// longer has are skipped with one warning and the days-expired metric,
// nothing older than the oldest day is published, and the 120 days are.
func TestClampToRetention(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{Seed: 9}, simNow)
	start := simNow.Add(-200 * 24 * time.Hour)
	w.sim.Generate(start, simNow.Add(-time.Hour), 3000)
	reader := sdkmetric.NewManualReader()
	src := w.source(t, w.auditReporter(), start, func(c *SourceConfig) {
		c.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	r := drain(t, src, nil, nil)
	oldest := utcday.Oldest(simNow, RetentionDays)
	checkIDs(t, r.ids, w.expectedIDs(oldest.Start(), decodeCursor(t, r.last).From))
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	expired := int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == MetricDaysExpired {
				expired = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value
			}
		}
	}
	if want := int64(oldest - utcday.Of(start)); expired != want {
		t.Fatalf("%s = %d, want %d", MetricDaysExpired, expired, want)
	}
	if st := w.sim.Stats(); st.BadRequests > 0 {
		t.Fatalf("the source asked for days the vendor refuses: %+v", st)
	}
	// A reset to a time older than the retention is clamped the same way.
	p, err := src.Fetch(context.Background(), pipeline.TimeCursor(start))
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeCursor(t, p.Next); c.Day != oldest || c.From != oldest.Start() {
		t.Fatalf("reset to %s: cursor %+v", start, c)
	}
}

// TestRestartFromEveryCursor reads a backfill with faults once, keeping
// every cursor, then starts a new Source (a restart) from each: what was
// published before the cursor and what the restart publishes are every
// row exactly once.
func TestRestartFromEveryCursor(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{Seed: 21, JobFailRate: 0.1, LostSubmitRate: 0.1}, simNow)
	start := simNow.Add(-3*24*time.Hour - 7*time.Hour)
	// Busy days: several pages each; nothing in the last hour, so that
	// every horizon reached gives the same rows.
	w.sim.Generate(start.Add(-time.Hour), simNow.Add(-time.Hour), 9000)
	want := w.expectedIDs(start, simNow)
	src := w.source(t, w.auditReporter(), start)
	var cursors []pipeline.Cursor
	var before []map[string]int // ids published before cursors[i]
	seen := map[string]int{}
	norm := NewNormalizer(testTenant)
	var cur pipeline.Cursor
	for i := 0; i < 500; i++ {
		p, err := src.Fetch(context.Background(), cur)
		if err != nil {
			continue
		}
		for _, rec := range p.Records {
			ev, err := norm(rec, simNow)
			if err != nil {
				t.Fatal(err)
			}
			seen[ev.Key()]++
		}
		if p.Done && string(p.Next) == string(cur) {
			break
		}
		cur = p.Next
		cursors = append(cursors, cur)
		snap := make(map[string]int, len(seen))
		for k, v := range seen {
			snap[k] = v
		}
		before = append(before, snap)
	}
	checkIDs(t, seen, want)
	if len(cursors) < 8 {
		t.Fatalf("only %d cursors", len(cursors))
	}
	w.cleanUp(t, src, cur)
	for i, c := range cursors {
		w.clock.Set(simNow)
		restarted := w.source(t, w.auditReporter(), start)
		r := drain(t, restarted, c, &run{ids: map[string]int{}})
		for k, v := range before[i] {
			r.ids[k] += v
		}
		t.Run(fmt.Sprintf("cursor%d", i), func(t *testing.T) { checkIDs(t, r.ids, want) })
		// Each restart deletes what it (and its predecessor's cursor)
		// left, before the next one starts.
		w.cleanUp(t, restarted, r.last)
	}
}

// TestSuccessorGivesTheSameEvents reads the same days through the user
// audit report (alternative header) and through the User Login Report
// (rows under "result"): the same event ids.
func TestSuccessorGivesTheSameEvents(t *testing.T) {
	start := simNow.Add(-4 * 24 * time.Hour)
	var got []map[string]int
	for _, api := range []string{APIUserAuditReport, APIUserLoginReport} {
		w := newSimWorld(t, oraclesim.Config{Seed: 4, HeaderStyle: oraclesim.HeaderAlt, LoginReportKey: "result"}, simNow)
		w.sim.Generate(start, simNow.Add(-time.Hour), 2500)
		var rep Reporter = w.auditReporter()
		if api == APIUserLoginReport {
			rep = NewLoginReporter(w.client)
		}
		r := drain(t, w.source(t, rep, start), nil, nil)
		checkIDs(t, r.ids, w.expectedIDs(start, simNow))
		got = append(got, r.ids)
		if api == APIUserLoginReport && (w.sim.Stats().Jobs != 0 || w.sim.Stats().LoginReports == 0) {
			t.Fatalf("the successor made jobs: %+v", w.sim.Stats())
		}
	}
	if len(got[0]) != len(got[1]) {
		t.Fatalf("%d events through the report, %d through the successor", len(got[0]), len(got[1]))
	}
	for id := range got[0] {
		if got[1][id] != 1 {
			t.Fatalf("event %s only through the report", id)
		}
	}
}

// TestAbandonedJobsAreDeletedLater runs jobs that often outlast the
// timeout and some that hang: the abandoned files are deleted once they
// appear, the hung ones forgotten after their give-up time, every row
// arrives and no file is left.
func TestAbandonedJobsAreDeletedLater(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{Seed: 8, JobMin: 2 * time.Second, JobMax: 14 * time.Second}, simNow)
	start := simNow.Add(-3 * 24 * time.Hour)
	w.sim.Generate(start, simNow.Add(-time.Hour), 900)
	w.sim.HangNextJobs(1)
	rep := NewAuditReporter(w.client, AuditReporterConfig{PollInterval: time.Second, Timeout: 8 * time.Second, Now: w.clock.Now, Sleep: w.clock.Sleep, Logger: quiet()})
	src := w.source(t, rep, start, func(c *SourceConfig) { c.JobTimeout = 8 * time.Second })
	r := drain(t, src, nil, nil)
	checkIDs(t, r.ids, w.expectedIDs(start, simNow))
	w.cleanUp(t, src, r.last)
	for i := 0; len(src.Orphans()) > 0; i++ {
		if i > 100 {
			t.Fatalf("orphans never forgotten: %v", src.Orphans())
		}
		w.clock.Advance(5 * time.Second)
		if p, err := src.Fetch(context.Background(), r.last); err == nil {
			r.last = p.Next
		}
	}
	if c := decodeCursor(t, r.last); len(c.Orphans) != 0 {
		t.Fatalf("the cursor still lists %v", c.Orphans)
	}
	st := w.sim.Stats()
	if st.JobsHung != 1 || st.Deletes <= st.Downloads {
		t.Fatalf("no abandoned job was deleted later: %+v", st)
	}
	t.Logf("simulator %+v", st)
}

// fakeReporter serves canned rows per day and fails as told.
type fakeReporter struct {
	rows     map[utcday.Day][]Row
	refuse   map[utcday.Day]bool
	deletes  int
	failDels int
	leftover []string
	now      func() time.Time
}

func (f *fakeReporter) Report(_ context.Context, req Request) (Report, error) {
	if f.refuse[req.Day] {
		return nil, &APIError{Op: "submit", HTTPStatus: http.StatusBadRequest, Status: 1, Details: "EPMCSS-20641: Invalid date range: too old."}
	}
	if len(f.leftover) < 1 && req.Leftover != nil {
		f.leftover = append(f.leftover, req.Name)
		req.Leftover(req.Name, f.now(), "delete failed")
	}
	return &sliceReport{id: req.Name, rows: f.rows[req.Day]}, nil
}

func (f *fakeReporter) DeleteFile(_ context.Context, name string) error {
	f.deletes++
	if f.deletes <= f.failDels {
		return errors.New("503 Service Unavailable")
	}
	return nil
}

// fakeRows returns n rows of day, one a minute from 01:00.
func fakeRows(day utcday.Day, n int) []Row {
	out := make([]Row, n)
	for i := range out {
		at := day.Start().Add(time.Hour + time.Duration(i)*time.Minute)
		out[i] = Row{Login: fmt.Sprintf("u%d@example.com", i), IP: "10.0.0.1", Time: FormatAccessTime(at), Item: i,
			Names: []string{"User Login", "IP Address", "Access Time"}, Values: []string{fmt.Sprintf("u%d@example.com", i), "10.0.0.1", FormatAccessTime(at)}}
	}
	return out
}

// TestRefusedDayIsDeadLettered checks that a day the vendor refuses as an
// invalid range although it should be retained fails the Fetch twice,
// then becomes a dead letter naming the day and the details, and the next
// day is read; and that a file whose delete fails is kept in the cursor
// and deleted by a later Fetch.
func TestRefusedDayIsDeadLettered(t *testing.T) {
	d := utcday.Of(simNow) - 3
	f := &fakeReporter{rows: map[utcday.Day][]Row{d: fakeRows(d, 5), d + 1: fakeRows(d+1, 7), d + 2: fakeRows(d+2, 2)}, refuse: map[utcday.Day]bool{d + 1: true}, failDels: 1}
	w := newSimWorld(t, oraclesim.Config{}, simNow)
	f.now = w.clock.Now
	src := w.source(t, f, d.Start())
	r := drain(t, src, nil, nil)
	w.clock.Advance(2 * time.Second)
	r = drain(t, src, r.last, r)
	if r.errors != RefusalsBeforeSkip-1 || len(r.dead) != 1 || len(r.ids) != 7 {
		t.Fatalf("%d errors, dead letters %q, %d events", r.errors, r.dead, len(r.ids))
	}
	if want := (d + 1).String(); !contains(r.dead[0], want) || !contains(r.dead[0], "Invalid date range: too old") {
		t.Fatalf("dead letter %q does not name %s and the details", r.dead[0], want)
	}
	kept := false
	for _, c := range r.cursors {
		if len(decodeCursor(t, c).Orphans) == 1 {
			kept = true
		}
	}
	if !kept || f.deletes < 2 || len(decodeCursor(t, r.last).Orphans) != 0 {
		t.Fatalf("undeleted file: kept %v, %d deletes, last cursor %s", kept, f.deletes, r.last)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
