package aveva

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// meterName is the instrumentation scope of the package's instruments.
const meterName = "github.com/auditstream/auditstream/services/poller-aveva/internal/aveva"

// The package's metric instruments (Prometheus adds _total).
const (
	// MetricWindowSplits counts windows split because their response held
	// the record cap; attributes stream and report.
	MetricWindowSplits = "auditstream.aveva.window.splits"
	// MetricWindowsTruncated counts windows no wider than the minimum whose
	// response still held the record cap: records past the cap are lost.
	MetricWindowsTruncated = "auditstream.aveva.windows.truncated"
)

// ReportReader fetches the records of one report window; *Client is one.
type ReportReader interface {
	// Records returns the records of q in the order served. With limit
	// > 0 it stops reading after limit records.
	Records(ctx context.Context, q Query, limit int) ([]json.RawMessage, error)
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Tenant names the account in the stream and the event ids. Required.
	Tenant string
	// Report is the report read. Required.
	Report Report
	// Params are the report's optional parameters (filters, locale).
	Params map[string]string
	// Start is where a stream without cursor begins, inclusive.
	Start time.Time
	// SafetyLag keeps windows this far behind the clock.
	SafetyLag time.Duration
	// Window is the width of a new window. Default DefaultWindow.
	Window time.Duration
	// MinWindow is the narrowest window splitting makes. Default
	// DefaultMinWindow.
	MinWindow time.Duration
	// MaxRecords is the API's record cap. Default DefaultMaxRecords.
	MaxRecords int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives splits (debug) and truncated windows (error).
	// Default slog.Default().
	Logger *slog.Logger
	// MeterProvider makes the split and truncation counters. Default the
	// global provider.
	MeterProvider metric.MeterProvider
}

// Source reads one report. It implements pipeline.Source with the window
// splitting the package documentation describes. Its state is all in the
// cursor, so a Source built from the same configuration continues any
// cursor another one returned.
type Source struct {
	reader     ReportReader
	report     Report
	tenant     string
	stream     string
	params     map[string]string
	parser     TimeParser
	start      time.Time
	lag        time.Duration
	window     time.Duration
	minWindow  time.Duration
	maxRecords int
	now        func() time.Time
	log        *slog.Logger
	splits     metric.Int64Counter
	truncated  metric.Int64Counter
	attrs      metric.MeasurementOption
}

// NewSource returns the Source of cfg reading through r.
func NewSource(r ReportReader, cfg SourceConfig) *Source {
	s := &Source{
		reader:     r,
		report:     cfg.Report,
		tenant:     cfg.Tenant,
		stream:     StreamName(cfg.Tenant, cfg.Report.Name),
		params:     maps.Clone(cfg.Params),
		parser:     NewTimeParser(cfg.Params[ParamLocale]),
		start:      floorSecond(cfg.Start),
		lag:        cfg.SafetyLag,
		window:     cfg.Window,
		minWindow:  cfg.MinWindow,
		maxRecords: cfg.MaxRecords,
		now:        cfg.Clock,
		log:        cfg.Logger,
	}
	if s.window < time.Second {
		s.window = DefaultWindow
	}
	if s.minWindow < time.Second {
		s.minWindow = DefaultMinWindow
	}
	if s.maxRecords <= 0 {
		s.maxRecords = DefaultMaxRecords
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(meterName)
	var err error
	if s.splits, err = meter.Int64Counter(MetricWindowSplits, metric.WithUnit("{window}"),
		metric.WithDescription("Report windows split in halves because their response held the record cap.")); err != nil {
		s.splits = noop.Int64Counter{}
	}
	if s.truncated, err = meter.Int64Counter(MetricWindowsTruncated, metric.WithUnit("{window}"),
		metric.WithDescription("Report windows no wider than AVEVA_MIN_WINDOW whose response still held the record cap; records past the cap are missing.")); err != nil {
		s.truncated = noop.Int64Counter{}
	}
	s.attrs = metric.WithAttributes(attribute.String("stream", s.stream), attribute.String("report", s.report.Name))
	return s
}

// Streams returns one pipeline stream per configured report, reading
// through client, starting at start and lagging lag behind the clock.
func (c *Config) Streams(client ReportReader, start time.Time, lag time.Duration, log *slog.Logger) []pipeline.Stream {
	out := make([]pipeline.Stream, 0, len(c.Reports))
	for _, name := range c.Reports {
		r, ok := LookupReport(name)
		if !ok {
			continue // Validate reports it.
		}
		st := pipeline.Stream{
			Source: NewSource(client, SourceConfig{
				Tenant: c.Tenant, Report: r, Params: c.Params(r), Start: start, SafetyLag: lag,
				Window: c.Window, MinWindow: c.MinWindow, MaxRecords: c.MaxRecords, Logger: log,
			}),
			Normalize: NewNormalizer(c.Tenant, r),
			Topic:     c.UsageTopic,
			Schema:    event.UsageSchema,
			Vendor:    Vendor,
			Tenant:    c.Tenant,
		}
		if r.Audit {
			st.Topic, st.Schema = c.AuditTopic, event.AuditSchema
		}
		out = append(out, st)
	}
	return out
}

// Stream returns "aveva/<tenant>/<report>".
func (s *Source) Stream() string { return s.stream }

// query returns the request of window w.
func (s *Source) query(w Window) Query {
	return Query{Report: s.report, From: w.From, To: w.To, Params: s.params}
}

// Fetch returns the records of the next window under the record cap: the
// first pending sub-window of a split window, or a new window. A response
// holding the cap is split until a window comes back under it or reaches
// the minimum width. See the package documentation.
func (s *Source) Fetch(ctx context.Context, raw pipeline.Cursor) (pipeline.Page, error) {
	cur, err := decodeCursor(raw, s.start)
	if err != nil {
		return pipeline.Page{}, fmt.Errorf("%s: %w", s.stream, err)
	}
	horizon := floorSecond(s.now().Add(-s.lag))
	if len(cur.Pending) == 0 {
		end := cur.Last.Add(s.window)
		if horizon.Before(end) {
			end = horizon
		}
		if !end.After(cur.Last) {
			return pipeline.Page{Next: cur.encode(), Position: cur.Last, Done: true}, nil
		}
		cur.Pending = []Window{{From: cur.Last, To: end}}
	}
	for {
		w := cur.Pending[0]
		splittable := w.splittable(s.minWindow)
		limit := 0
		if splittable {
			// A full response is split and its records dropped: there is
			// no use reading past the cap.
			limit = s.maxRecords
		}
		raws, err := s.reader.Records(ctx, s.query(w), limit)
		if err != nil {
			return pipeline.Page{}, err
		}
		if len(raws) >= s.maxRecords && splittable {
			left, right := cur.split()
			s.splits.Add(ctx, 1, s.attrs)
			s.log.DebugContext(ctx, "aveva window split at the record cap",
				"stream", s.stream, "window", w.String(), "records", len(raws),
				"left", left.String(), "right", right.String())
			continue
		}
		return s.publish(ctx, cur, w, raws, horizon), nil
	}
}

// publish turns the response of window w, the first pending window of cur,
// into the page that completes w.
func (s *Source) publish(ctx context.Context, cur cursor, w Window, raws []json.RawMessage, horizon time.Time) pipeline.Page {
	seen := make(map[string]bool, len(cur.Seen))
	for _, k := range cur.Seen {
		seen[k] = true
	}
	boundary := w.From.Add(time.Second)
	nextBoundary := w.To.Add(time.Second)
	var (
		records  = make([]pipeline.Record, 0, len(raws))
		counts   map[string]int
		nextSeen []string
		dropped  int
		overflow int
	)
	for _, raw := range raws {
		e := DecodeEntry(raw, s.report.Name, w, s.parser)
		if e.ID == "" {
			// Identical records of a window are records of their own:
			// the k-th repeat gets "#k".
			if counts == nil {
				counts = map[string]int{}
			}
			k := counts[e.Identity]
			counts[e.Identity]++
			if k > 0 {
				e.Identity += "#" + strconv.Itoa(k)
			}
		}
		t := e.Time
		if len(seen) > 0 && !t.IsZero() && t.Before(boundary) && !t.Before(w.From) && seen[seenKey(e.Identity)] {
			// Emitted with the previous window: the server's upper
			// bound is inclusive.
			dropped++
			continue
		}
		if !t.IsZero() && !t.Before(w.To) && t.Before(nextBoundary) {
			if len(nextSeen) < maxSeen {
				nextSeen = append(nextSeen, seenKey(e.Identity))
			} else {
				overflow++
			}
		}
		records = append(records, e.Record())
	}
	if dropped > 0 {
		s.log.DebugContext(ctx, "aveva records of the window start already emitted were skipped",
			"stream", s.stream, "window", w.String(), "records", dropped)
	}
	if overflow > 0 {
		s.log.WarnContext(ctx, "aveva too many records at the window end to remember; a server with an inclusive upper bound may repeat them",
			"stream", s.stream, "window", w.String(), "records", overflow)
	}

	next := cursor{Last: w.To, Pending: cur.Pending[1:], Seen: nextSeen}
	if len(next.Pending) == 0 {
		next.Pending = nil
	}
	page := pipeline.Page{
		Records:  records,
		Next:     next.encode(),
		Position: w.To,
		Done:     len(next.Pending) == 0 && !w.To.Before(horizon),
	}
	if len(raws) >= s.maxRecords {
		page.DeadLetters = []pipeline.SourceDeadLetter{s.truncation(ctx, w, len(raws))}
	}
	return page
}

// truncation reports a window no wider than the minimum whose response
// held the record cap: an error log, the truncation counter, and the
// dead letter that describes the window.
func (s *Source) truncation(ctx context.Context, w Window, n int) pipeline.SourceDeadLetter {
	s.truncated.Add(ctx, 1, s.attrs)
	s.log.ErrorContext(ctx, "aveva window truncated at the record cap; records past the cap are missing",
		"stream", s.stream, "window", w.String(), "records", n, "max_records", s.maxRecords, "min_window", s.minWindow.String())
	detail, _ := json.Marshal(struct {
		Report     string            `json:"report"`
		From       string            `json:"from"`
		To         string            `json:"to"`
		Records    int               `json:"records"`
		MaxRecords int               `json:"max_records"`
		MinWindow  string            `json:"min_window"`
		Params     map[string]string `json:"params,omitempty"`
	}{s.report.Name, w.From.Format(DateTimeLayout), w.To.Format(DateTimeLayout), n, s.maxRecords, s.minWindow.String(), s.params})
	return pipeline.SourceDeadLetter{
		Reason: fmt.Sprintf("aveva %s window %s held %d records, the API's cap, and is no wider than AVEVA_MIN_WINDOW (%s): its %d records were published and any past the cap are missing",
			s.report.Name, w.String(), n, s.minWindow, n),
		Raw: detail,
	}
}
