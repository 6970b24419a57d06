package revenera

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

// ReportReader reads the daily reports; *Client is one.
type ReportReader interface {
	Events(ctx context.Context, product string) ([]TrackedEvent, error)
	Timeline(ctx context.Context, product string, r utcday.Range, events []TrackedEvent) (Timeline, error)
	DateRange(ctx context.Context, product string, r utcday.Range) (DateRange, error)
}

// ReportSourceConfig configures a ReportSource.
type ReportSourceConfig struct {
	// Product is the product id; Stream StreamEventUsage or
	// StreamClientActivity.
	Product, Stream string
	// Start is where a stream without checkpoint begins: the first whole
	// UTC day at or after it.
	Start time.Time
	// SafetyLag: a day is reported once now − SafetyLag is past its end.
	SafetyLag time.Duration
	// Days is the widest range of one request. Default MaxReportDays.
	Days int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives the source's warnings. Default slog.Default().
	Logger *slog.Logger
}

// ReportSource is a daily report stream of one product: event-usage or
// client-activity. Its cursor is {"day": D}: every value of the days
// before D has been emitted. One page is one request range of at most
// Days closed days.
type ReportSource struct {
	r    ReportReader
	cfg  ReportSourceConfig
	name string
	log  *slog.Logger
}

// NewReportSource returns the ReportSource of cfg reading through r.
func NewReportSource(r ReportReader, cfg ReportSourceConfig) *ReportSource {
	if cfg.Days <= 0 || cfg.Days > MaxReportDays {
		cfg.Days = MaxReportDays
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	name := StreamName(cfg.Product, cfg.Stream)
	return &ReportSource{r: r, cfg: cfg, name: name, log: cfg.Logger.With("stream", name)}
}

// Stream returns the stream name, revenera/<product>/<stream>.
func (s *ReportSource) Stream() string { return s.name }

// reportCursor is a report stream's position.
type reportCursor struct {
	Day utcday.Day `json:"day"`
}

// firstWholeDay returns the first UTC day that starts at or after t.
func firstWholeDay(t time.Time) utcday.Day {
	d := utcday.Of(t)
	if !t.Equal(d.Start()) {
		d++
	}
	return d
}

// decode reads cur: {"day"}, pipeline.TimeCursor's {"last": t} (the first
// whole day at or after t), or nil for the start.
func (s *ReportSource) decode(cur pipeline.Cursor) (utcday.Day, error) {
	if len(bytes.TrimSpace(cur)) == 0 {
		return firstWholeDay(s.cfg.Start), nil
	}
	var raw struct {
		Day  *utcday.Day `json:"day"`
		Last *time.Time  `json:"last"`
	}
	if err := json.Unmarshal(cur, &raw); err != nil || (raw.Day == nil && raw.Last == nil) {
		return 0, backoff.Permanent(fmt.Errorf("cursor %.200s of %s is not a report cursor {\"day\":…} or {\"last\":…}; reset the stream with auditctl checkpoints reset %s", cur, s.name, s.name))
	}
	if raw.Day != nil {
		return *raw.Day, nil
	}
	return firstWholeDay(*raw.Last), nil
}

// Fetch returns the values of the closed days from the cursor's day, at
// most Days of them; Done when they reach the last closed day.
func (s *ReportSource) Fetch(ctx context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	day, err := s.decode(cur)
	if err != nil {
		return pipeline.Page{}, err
	}
	end := utcday.LastClosed(s.cfg.Clock(), s.cfg.SafetyLag)
	if day > end {
		return pipeline.Page{Next: cur, Position: day.Start(), Done: true}, nil
	}
	rng := utcday.Range{From: day, To: min(day+utcday.Day(s.cfg.Days-1), end)}
	var values []*ReportValue
	var dead []pipeline.SourceDeadLetter
	switch s.cfg.Stream {
	case StreamEventUsage:
		values, dead, err = s.eventUsage(ctx, rng)
	case StreamClientActivity:
		values, dead, err = s.clientActivity(ctx, rng)
	default:
		return pipeline.Page{}, backoff.Permanent(fmt.Errorf("%s: unknown report stream %q", s.name, s.cfg.Stream))
	}
	if err != nil {
		return pipeline.Page{}, err
	}
	if len(dead) > 0 {
		s.log.WarnContext(ctx, "revenera report values not usable", "range", rng.String(), "dead_letters", len(dead))
	}
	records := make([]pipeline.Record, len(values))
	for i, v := range values {
		records[i] = v.Record()
	}
	next := rng.To + 1
	b, _ := json.Marshal(reportCursor{Day: next})
	return pipeline.Page{Records: records, DeadLetters: dead, Next: b, Position: next.Start(), Done: next > end}, nil
}

// datesOf maps the dates of a report to their index, checking that they
// are the days of rng, each once. A date that does not parse, lies outside
// rng or repeats is reported, and so is a day of rng without a date.
func datesOf(dates []string, rng utcday.Range, what string) ([]utcday.Day, []pipeline.SourceDeadLetter) {
	days := make([]utcday.Day, len(dates))
	seen := map[utcday.Day]bool{}
	var dead []pipeline.SourceDeadLetter
	for i, d := range dates {
		day, err := utcday.Parse(d)
		switch {
		case err != nil:
			days[i] = -1
			dead = append(dead, deadLetter(fmt.Sprintf("%s: date %d %q: %v", what, i, d, err), map[string]any{"date": d}))
		case day < rng.From || day > rng.To:
			days[i] = -1
			dead = append(dead, deadLetter(fmt.Sprintf("%s: date %q is outside the requested %s", what, d, rng), map[string]any{"date": d}))
		case seen[day]:
			days[i] = -1
			dead = append(dead, deadLetter(fmt.Sprintf("%s: date %q appears twice", what, d), map[string]any{"date": d}))
		default:
			days[i] = day
			seen[day] = true
		}
	}
	for d := rng.From; d <= rng.To; d++ {
		if !seen[d] {
			dead = append(dead, deadLetter(fmt.Sprintf("%s: no value for %s in the answer for %s", what, d, rng), map[string]any{"date": d.String()}))
		}
	}
	return days, dead
}

// deadLetter is a source dead letter with raw as JSON.
func deadLetter(reason string, raw any) pipeline.SourceDeadLetter {
	b, _ := json.Marshal(raw)
	return pipeline.SourceDeadLetter{Reason: reason, Raw: b}
}

// values turns one series of a report into values: one per date with a
// valid day. A series whose length differs from the dates' is reported
// whole; a value that is not a number is reported alone.
func seriesValues(days []utcday.Day, dates []string, vals []json.RawMessage, what string, mk func(i int, v float64) *ReportValue) ([]*ReportValue, []pipeline.SourceDeadLetter) {
	if len(vals) != len(dates) {
		return nil, []pipeline.SourceDeadLetter{deadLetter(fmt.Sprintf("%s: %d values for %d dates", what, len(vals), len(dates)), map[string]any{"dates": dates, "values": vals})}
	}
	var out []*ReportValue
	var dead []pipeline.SourceDeadLetter
	for i, raw := range vals {
		if days[i] < 0 {
			continue
		}
		v, ok := number(raw)
		if !ok {
			dead = append(dead, deadLetter(fmt.Sprintf("%s: value %.40s of %s is not a number", what, raw, dates[i]), map[string]any{"date": dates[i], "value": raw}))
			continue
		}
		rv := mk(i, v)
		rv.Day, rv.DateText = days[i], dates[i]
		out = append(out, rv)
	}
	return out, dead
}

// eventUsage reads the timeline of every tracked event over rng.
func (s *ReportSource) eventUsage(ctx context.Context, rng utcday.Range) ([]*ReportValue, []pipeline.SourceDeadLetter, error) {
	events, err := s.r.Events(ctx, s.cfg.Product)
	if err != nil || len(events) == 0 {
		return nil, nil, err
	}
	tl, err := s.r.Timeline(ctx, s.cfg.Product, rng, events)
	if err != nil {
		return nil, nil, err
	}
	days, dead := datesOf(tl.Dates, rng, "timeline report")
	asked := map[[2]string]*TrackedEvent{}
	for i := range events {
		asked[[2]string{events[i].Category, events[i].Name}] = &events[i]
	}
	answered := map[[2]string]bool{}
	var out []*ReportValue
	for _, se := range tl.Series {
		key := [2]string{se.Category, se.Name}
		what := fmt.Sprintf("timeline report, event %q/%q", se.Category, se.Name)
		if se.Category == "" || se.Name == "" || answered[key] {
			dead = append(dead, deadLetter(what+": a series without category or name, or a second one", map[string]any{"category": se.Category, "name": se.Name, "values": se.Values}))
			continue
		}
		answered[key] = true
		var enabled *bool
		if ev := asked[key]; ev != nil {
			enabled = ev.Enabled
		}
		vals, d := seriesValues(days, tl.Dates, se.Values, what, func(_ int, v float64) *ReportValue {
			return &ReportValue{Metric: MetricEventCount, Value: v, Category: se.Category, Name: se.Name, Enabled: enabled}
		})
		out, dead = append(out, vals...), append(dead, d...)
	}
	for _, ev := range events {
		if !answered[[2]string{ev.Category, ev.Name}] {
			dead = append(dead, deadLetter(fmt.Sprintf("timeline report: no series for event %q/%q over %s", ev.Category, ev.Name, rng), map[string]any{"category": ev.Category, "name": ev.Name}))
		}
	}
	return out, dead, nil
}

// clientActivity reads the new, active and lost clients over rng.
func (s *ReportSource) clientActivity(ctx context.Context, rng utcday.Range) ([]*ReportValue, []pipeline.SourceDeadLetter, error) {
	dr, err := s.r.DateRange(ctx, s.cfg.Product, rng)
	if err != nil {
		return nil, nil, err
	}
	days, dead := datesOf(dr.Dates, rng, "dateRange report")
	var out []*ReportValue
	for _, status := range ClientStatuses {
		vals, ok := dr.Statuses[status]
		what := fmt.Sprintf("dateRange report, status %q", status)
		if !ok {
			dead = append(dead, deadLetter(what+": missing from the answer", map[string]any{"status": status}))
			continue
		}
		v, d := seriesValues(days, dr.Dates, vals, what, func(_ int, v float64) *ReportValue {
			return &ReportValue{Metric: MetricClientsPrefix + status, Value: v, Status: status}
		})
		out, dead = append(out, v...), append(dead, d...)
	}
	return out, dead, nil
}
