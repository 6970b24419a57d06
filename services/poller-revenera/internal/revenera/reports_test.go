package revenera

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

func (e *simEnv) reportSource(stream string, start time.Time, days int) *ReportSource {
	return NewReportSource(e.client, ReportSourceConfig{Product: large, Stream: stream, Start: start, SafetyLag: 2 * time.Minute, Days: days, Clock: e.clock.Now, Logger: quietLogger()})
}

// drainEvents drains src and returns its usage events.
func drainEvents(t *testing.T, src pipeline.Source, norm pipeline.Normalizer, cur pipeline.Cursor) ([]*event.UsageEvent, drained) {
	t.Helper()
	var out []*event.UsageEvent
	var d drained
	for range 1000 {
		page, err := src.Fetch(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		d.pages++
		d.dead = append(d.dead, page.DeadLetters...)
		for _, r := range page.Records {
			ev, err := norm(r, testNow)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev.(*event.UsageEvent))
		}
		if page.Done {
			return out, d
		}
		cur = page.Next
	}
	t.Fatal("no Done page")
	return nil, d
}

// TestEventUsageOncePerDayAndEvent reads the timeline of every tracked
// event in ranges of 7 days: one event per closed day and event, zeros
// included, with the counts of the raw rows; a later run from a saved
// cursor and a re-read keep the ids.
func TestEventUsageOncePerDayAndEvent(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{}, 40)
	start := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC) // mid-day: the first whole day is Nov 2
	src := e.reportSource(StreamEventUsage, start, 7)
	norm := NewReportNormalizer(testTenant, large, StreamEventUsage)
	evs, d := drainEvents(t, src, norm, nil)
	events, err := e.client.Events(context.Background(), large)
	if err != nil {
		t.Fatal(err)
	}
	first, last := utcday.Date(2026, 11, 2), utcday.LastClosed(testNow, 2*time.Minute)
	days := int(last-first) + 1
	if len(evs) != days*len(events) || len(d.dead) != 0 || d.pages != (days+6)/7 {
		t.Fatalf("%d events in %d pages (%d dead letters), want %d days × %d events in %d pages", len(evs), d.pages, len(d.dead), days, len(events), (days+6)/7)
	}
	// Counts from the raw rows.
	counts := map[string]float64{}
	for _, r := range e.sim.Rows(mustInt(large), revenerasim.CustomEvents, first.Start(), last.End()) {
		counts[utcday.Of(r.Time).String()+"/"+r.Fields[3]+"/"+r.Fields[4]]++
	}
	seen := map[string]bool{}
	zeros := 0
	for _, ev := range evs {
		if seen[ev.EventID] {
			t.Fatalf("event %s twice", ev.EventID)
		}
		seen[ev.EventID] = true
		day := utcday.Of(*ev.PeriodStart)
		if ev.Metric != MetricEventCount || !ev.PeriodEnd.Equal(day.End()) || day < first || day > last {
			t.Fatalf("event %+v", ev)
		}
		key := day.String() + "/" + ev.Dimensions[DimCategory] + "/" + ev.Dimensions[DimName]
		if *ev.Value != counts[key] {
			t.Fatalf("%s = %v, the rows count %v", key, *ev.Value, counts[key])
		}
		if *ev.Value == 0 {
			zeros++
		}
	}
	if zeros == 0 {
		t.Fatal("no zero values: zeros must be included")
	}
	// Caught up: Done without a request; the next closed day is read
	// once the clock passes it, with ids of its own.
	before := e.sim.Stats().Requests
	if p, err := src.Fetch(context.Background(), encodeDay(last+1)); err != nil || !p.Done || len(p.Records) != 0 || e.sim.Stats().Requests != before {
		t.Fatalf("caught up: %+v, %v", p, err)
	}
	e.clock.Advance(24 * time.Hour)
	more, _ := drainEvents(t, src, norm, encodeDay(last+1))
	if len(more) != len(events) {
		t.Fatalf("%d events for the next day, want %d", len(more), len(events))
	}
	// A re-read from the start keeps every id.
	again, _ := drainEvents(t, e.reportSource(StreamEventUsage, start, 31), norm, nil)
	for _, ev := range again[:len(evs)] {
		if !seen[ev.EventID] {
			t.Fatalf("re-read event %s has a new id", ev.EventID)
		}
	}
}

func encodeDay(d utcday.Day) pipeline.Cursor {
	b, _ := json.Marshal(reportCursor{Day: d})
	return b
}

// TestClientActivityOncePerDayAndStatus: three events per closed day, new
// clients as the simulator's first days count them.
func TestClientActivityOncePerDayAndStatus(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{DateFormat: revenerasim.DateFormatDateTime}, 40)
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	evs, d := drainEvents(t, e.reportSource(StreamClientActivity, start, 31), NewReportNormalizer(testTenant, large, StreamClientActivity), nil)
	last := utcday.LastClosed(testNow, 2*time.Minute)
	days := int(last-utcday.Of(start)) + 1
	if len(evs) != 3*days || len(d.dead) != 0 {
		t.Fatalf("%d events, %d dead letters; want %d", len(evs), len(d.dead), 3*days)
	}
	newOn := map[string]float64{}
	for _, span := range e.sim.ClientDays(mustInt(large)) {
		newOn[span[0].Format(utcday.Layout)]++
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.EventID] || !strings.HasPrefix(ev.Metric, MetricClientsPrefix) {
			t.Fatalf("event %+v", ev)
		}
		seen[ev.EventID] = true
		if ev.Metric == "clients.new" && *ev.Value != newOn[ev.PeriodStart.Format(utcday.Layout)] {
			t.Fatalf("new clients on %s: %v, want %v", ev.PeriodStart, *ev.Value, newOn[ev.PeriodStart.Format(utcday.Layout)])
		}
	}
}

// fakeReports answers reports with fixed bodies.
type fakeReports struct {
	events   []TrackedEvent
	timeline string
	dr       string
}

func (f *fakeReports) Events(context.Context, string) ([]TrackedEvent, error) { return f.events, nil }
func (f *fakeReports) Timeline(context.Context, string, utcday.Range, []TrackedEvent) (Timeline, error) {
	return DecodeTimeline([]byte(f.timeline))
}
func (f *fakeReports) DateRange(context.Context, string, utcday.Range) (DateRange, error) {
	return DecodeDateRange([]byte(f.dr))
}

// TestReportMismatchesAreDeadLetters: values that do not match the dates
// become dead letters, never a crash or a silent skip; the page completes.
func TestReportMismatchesAreDeadLetters(t *testing.T) {
	f := &fakeReports{
		events: []TrackedEvent{{Category: "A", Name: "x"}, {Category: "A", Name: "y"}, {Category: "B", Name: "gone"}},
		timeline: `{"result":{"dates":["2026-11-01","2026-11-02","2026-11-02","2027-01-01"],"series":[
			{"category":"A","name":"x","values":[1,"2",3,4]},
			{"category":"A","name":"y","values":[1]}]}}`,
		dr: `{"result":{"dates":["2026-11-01","2026-11-02","2026-11-03"],"new":[1,2,3],"active":[1,null,3]}}`,
	}
	now := time.Date(2026, 11, 4, 1, 0, 0, 0, time.UTC)
	mk := func(stream string) *ReportSource {
		return NewReportSource(f, ReportSourceConfig{Product: "1", Stream: stream, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Days: 3, Clock: func() time.Time { return now }, Logger: quietLogger()})
	}
	p, err := mk(StreamEventUsage).Fetch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// x: 2026-11-01 and the first 2026-11-02; the second 11-02 repeats,
	// 2027-01-01 is outside; 11-03 has no date; y has 1 value for 4
	// dates; B/gone has no series.
	if len(p.Records) != 2 || len(p.DeadLetters) != 5 || !p.Done {
		var reasons []string
		for _, d := range p.DeadLetters {
			reasons = append(reasons, d.Reason)
		}
		t.Fatalf("%d records, dead letters:\n%s", len(p.Records), strings.Join(reasons, "\n"))
	}
	p, err = mk(StreamClientActivity).Fetch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// new ×3, active ×2 (null is not a number), lost missing.
	if len(p.Records) != 5 || len(p.DeadLetters) != 2 {
		t.Fatalf("%d records, %d dead letters: %v", len(p.Records), len(p.DeadLetters), fmt.Sprint(p.DeadLetters))
	}
}
