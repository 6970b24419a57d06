package oracle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

// meterName is the instrumentation scope of the package's instruments.
const meterName = "github.com/auditstream/auditstream/services/poller-oracle/internal/oracle"

// The package's metric instruments (Prometheus adds _total to counters).
const (
	// MetricDaysExpired counts days that passed out of the vendor's
	// 120-day retention before they were read (a START_TIME, cursor or
	// reset older than the oldest day available); attribute stream.
	MetricDaysExpired = "auditstream.oracle.days.expired"
	// MetricDaysRefused counts days the vendor refused three times as an
	// invalid date range although the calendar says it keeps them; each
	// is a dead letter, and the stream went on with the next day.
	MetricDaysRefused = "auditstream.oracle.days.refused"
	// MetricFilesUndeleted is the number of report files the stream
	// knows it has left in the instance and still tries to delete.
	MetricFilesUndeleted = "auditstream.oracle.files.undeleted"
)

// Defaults of SourceConfig.
const (
	DefaultPageSize        = 1000
	DefaultMaxOrphans      = 100
	DefaultDeletesPerFetch = 3
	// RefusalsBeforeSkip is how many times a day is asked for while the
	// vendor refuses its date range before it is dead-lettered and
	// skipped.
	RefusalsBeforeSkip = 3
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Tenant names the instance in the stream and the event ids. Required.
	Tenant string
	// Reporter gets the report of a day. Required.
	Reporter Reporter
	// Start is where a stream without cursor begins, inclusive; nothing
	// older is ever published.
	Start time.Time
	// SafetyLag: a day is closed once now − SafetyLag is at or past its
	// end, and the open day is read up to now − SafetyLag.
	SafetyLag time.Duration
	// ReportInterval is the time between two reads of the open day.
	// Default 15m.
	ReportInterval time.Duration
	// JobTimeout is ORACLE_JOB_TIMEOUT: a file left behind is given up
	// when it has not appeared JobTimeout after its job's timeout.
	// Default 30m.
	JobTimeout time.Duration
	// OrphanRetry is the least time between two deletes of one file left
	// behind. Default 5s (the job poll interval).
	OrphanRetry time.Duration
	// Retention is the vendor's retention in days. Default 120.
	Retention int
	// PageSize is the most rows of a page. Default 1000.
	PageSize int
	// MaxOrphans bounds the files left behind a cursor carries. Default 100.
	MaxOrphans int
	// DeletesPerFetch is the most deletes of left-behind files one Fetch
	// sends. Default 3.
	DeletesPerFetch int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives the state changes. Default slog.Default().
	Logger *slog.Logger
	// MeterProvider makes the instruments. Default the global provider.
	MeterProvider metric.MeterProvider
}

// Cursor is the position of a stream (see the package documentation).
type Cursor struct {
	// Day is the day being read.
	Day utcday.Day `json:"day"`
	// From and To bound the selection being published, [From, To); To
	// is zero while the next selection is not chosen yet.
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
	// Report is the report the selection is read from; Row the data rows
	// of it consumed (selected or not), Sel the rows of the selection
	// consumed.
	Report string `json:"report,omitempty"`
	Row    int    `json:"row,omitempty"`
	Sel    int    `json:"sel,omitempty"`
	// ReadAt is when the selection's report was requested.
	ReadAt time.Time `json:"read_at,omitzero"`
	// Nonce names the next report file (FileName).
	Nonce string `json:"nonce,omitempty"`
	// Orphans are the files left in the instance, still to delete.
	Orphans []Orphan `json:"orphans,omitempty"`
}

// Orphan is a report file that may exist in the instance and is deleted
// when it does.
type Orphan struct {
	// Name is the file name.
	Name string `json:"name"`
	// GiveUp is when a file that still does not exist is forgotten.
	GiveUp time.Time `json:"give_up"`
}

// FileName returns the report file name of a tenant's request with nonce:
// auditstream-<tenant>-<nonce>.csv.
func FileName(tenant, nonce string) string {
	return "auditstream-" + tenant + "-" + nonce + ".csv"
}

// nextNonce returns the nonce that follows n: the start of its SHA-256.
// The chain is what lets a restart name the files its predecessor may
// have been writing (the package documentation says why).
func nextNonce(n string) string {
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:8])
}

// newNonce returns a random nonce.
func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nonce states of the nonces a Source has seen.
const (
	nonceIssued   = 1 // in a cursor this Source returned, not used yet
	nonceConsumed = 2 // used for a request
)

// orphanState is a left-behind file as the Source tracks it.
type orphanState struct {
	giveUp  time.Time
	nextTry time.Time
}

// held is the report a Source reads its selection from.
type held struct {
	key string
	rep Report
}

// Source reads the user audit of one tenant. It implements
// pipeline.Source as the package documentation describes. Its position is
// in the cursor; what it keeps besides — the report being read, the
// nonces it issued, the files left behind — only saves work or makes
// cleaning up safer, so a Source built from the same configuration
// continues any cursor another one returned.
type Source struct {
	cfg    SourceConfig
	stream string
	files  FileDeleter // nil: the reports are no files
	log    *slog.Logger
	now    func() time.Time

	held      *held
	nonces    map[string]int
	orphans   map[string]*orphanState
	gone      map[string]bool
	refusals  map[utcday.Day]int
	warnedFor string

	expired, refused metric.Int64Counter
	undeleted        metric.Int64Gauge
	attrs            metric.MeasurementOption
}

// NewSource returns the Source of cfg.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.Tenant == "" || cfg.Reporter == nil {
		return nil, errors.New("oracle source: tenant and reporter are required")
	}
	setDefault(&cfg.ReportInterval, DefaultReportInterval)
	setDefault(&cfg.JobTimeout, DefaultJobTimeout)
	setDefault(&cfg.OrphanRetry, DefaultJobPollInterval)
	setDefault(&cfg.Retention, RetentionDays)
	setDefault(&cfg.PageSize, DefaultPageSize)
	setDefault(&cfg.MaxOrphans, DefaultMaxOrphans)
	setDefault(&cfg.DeletesPerFetch, DefaultDeletesPerFetch)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Start = cfg.Start.UTC()
	s := &Source{
		cfg:      cfg,
		stream:   StreamName(cfg.Tenant),
		now:      cfg.Clock,
		nonces:   map[string]int{},
		orphans:  map[string]*orphanState{},
		gone:     map[string]bool{},
		refusals: map[utcday.Day]int{},
	}
	s.files, _ = cfg.Reporter.(FileDeleter)
	s.log = cfg.Logger.With("stream", s.stream)
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(meterName)
	var err error
	if s.expired, err = meter.Int64Counter(MetricDaysExpired, metric.WithUnit("{day}"),
		metric.WithDescription("Days that left the vendor's 120-day retention before they were read; their logins are lost.")); err != nil {
		return nil, err
	}
	if s.refused, err = meter.Int64Counter(MetricDaysRefused, metric.WithUnit("{day}"),
		metric.WithDescription("Days the vendor refused as an invalid date range three times although they should be retained; each is a dead letter.")); err != nil {
		return nil, err
	}
	if s.undeleted, err = meter.Int64Gauge(MetricFilesUndeleted, metric.WithUnit("{file}"),
		metric.WithDescription("Report files left in the instance (lost submit answers, abandoned jobs, failed deletes) that the poller still tries to delete.")); err != nil {
		return nil, err
	}
	s.attrs = metric.WithAttributes(attribute.String("stream", s.stream))
	return s, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Stream returns "oracle/<tenant>/user-audit".
func (s *Source) Stream() string { return s.stream }

// Fetch returns the page after raw.
func (s *Source) Fetch(ctx context.Context, raw pipeline.Cursor) (pipeline.Page, error) {
	now := s.now().UTC()
	c, err := s.decode(raw)
	if err != nil {
		return pipeline.Page{}, err
	}
	s.mergeOrphans(&c)
	s.clamp(&c, now)
	if s.files != nil && s.rotate(&c, now) {
		// The name of the next report goes into a saved cursor before
		// the report is asked for; Done waits the poll interval, so that
		// no read-ahead Fetch submits it before the cursor is saved.
		return s.page(c, nil, nil, true, c.From), nil
	}
	s.sweep(ctx, now)
	c.Orphans = s.orphanList()

	if c.To.IsZero() {
		if !s.ready(c, now) {
			return s.page(c, nil, nil, true, c.From), nil
		}
		if c.Day <= utcday.LastClosed(now, s.cfg.SafetyLag) {
			c.To = c.Day.End()
		} else {
			c.To = now.Add(-s.cfg.SafetyLag).Truncate(time.Second)
		}
		c.ReadAt, c.Report, c.Row, c.Sel = now, "", 0, 0
	}

	rows, err := s.open(ctx, &c, now)
	if err != nil {
		if IsInvalidRange(err) {
			return s.refusedDay(c, now, err)
		}
		return pipeline.Page{}, err
	}
	sel := s.selector(c)
	var records []pipeline.Record
	eof := false
	for len(records) < s.cfg.PageSize {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			eof = true
			break
		}
		if err != nil {
			s.drop()
			return pipeline.Page{}, fmt.Errorf("read oracle report %s of %s: %w", c.Report, c.Day, err)
		}
		if !sel(&row) {
			continue
		}
		c.Sel++
		r := row
		records = append(records, pipeline.Record{Raw: r.Raw(), Value: &r})
	}
	c.Row = rows.Read()
	c.Orphans = s.orphanList()
	if !eof {
		return s.page(c, records, nil, false, c.From), nil
	}
	// The selection is complete.
	s.drop()
	done := c.To
	next := Cursor{Day: c.Day, From: c.To, ReadAt: c.ReadAt, Nonce: c.Nonce, Orphans: c.Orphans}
	if c.To.Equal(c.Day.End()) {
		next = Cursor{Day: c.Day + 1, From: maxTime((c.Day + 1).Start(), s.cfg.Start), Nonce: c.Nonce, Orphans: c.Orphans}
	}
	return s.page(next, records, nil, !s.ready(next, now), done), nil
}

// page returns a page ending at c.
func (s *Source) page(c Cursor, records []pipeline.Record, dead []pipeline.SourceDeadLetter, done bool, position time.Time) pipeline.Page {
	next, _ := json.Marshal(c)
	s.undeleted.Record(context.Background(), int64(len(c.Orphans)), s.attrs)
	return pipeline.Page{Records: records, Next: next, Done: done, Position: position, DeadLetters: dead}
}

// ready reports whether the selection after c can be asked for at now: a
// closed day at once; the open day once ReadInterval has passed since the
// last read and the horizon is past From.
func (s *Source) ready(c Cursor, now time.Time) bool {
	if c.Day <= utcday.LastClosed(now, s.cfg.SafetyLag) {
		return true
	}
	if !c.ReadAt.IsZero() && now.Before(c.ReadAt.Add(s.cfg.ReportInterval)) {
		return false
	}
	return now.Add(-s.cfg.SafetyLag).Truncate(time.Second).After(c.From)
}

// selector returns whether a row belongs to c's selection. A row whose
// time parses belongs to the selection its time falls in; rows before
// START_TIME to none. A row that cannot be placed — malformed, no
// parsable time, or a time outside the day — belongs to the day's final
// selection (the one ending at the day's end), so that it is
// dead-lettered (or published) exactly once.
func (s *Source) selector(c Cursor) func(*Row) bool {
	final := c.To.Equal(c.Day.End())
	dayStart, dayEnd := c.Day.Start(), c.Day.End()
	return func(r *Row) bool {
		t, err := r.At()
		switch {
		case err != nil:
			return final
		case t.Before(s.cfg.Start):
			return false
		case t.Before(dayStart) || !t.Before(dayEnd):
			return final
		}
		return !t.Before(c.From) && t.Before(c.To)
	}
}

// key is the held report's key of c: day, selection and report.
func key(c Cursor) string {
	return strings.Join([]string{c.Day.String(), c.From.Format(time.RFC3339), c.To.Format(time.RFC3339), c.Report}, "|")
}

// open returns the rows of c's selection positioned after what c has
// consumed: from the report held, or from a new report skipped to c.Sel
// rows of the selection (the vendor's order being deterministic).
func (s *Source) open(ctx context.Context, c *Cursor, now time.Time) (RowReader, error) {
	if c.Report != "" && s.held != nil && s.held.key == key(*c) {
		rows, err := s.held.rep.Rows(ctx, c.Row)
		if err == nil {
			return rows, nil
		}
		s.drop()
	}
	s.drop()
	name := "login-" + newNonce()
	if s.files != nil {
		name = FileName(s.cfg.Tenant, c.Nonce)
		s.nonces[c.Nonce] = nonceConsumed
	}
	rep, err := s.cfg.Reporter.Report(ctx, Request{Day: c.Day, Name: name, Leftover: s.addOrphan})
	if err != nil {
		var ae *APIError
		if s.files != nil && errors.As(err, &ae) && ae.HTTPStatus >= 400 && ae.HTTPStatus < 500 && ae.HTTPStatus != 429 && !IsNameTaken(err) {
			// Refused: no job was made, the name is still free.
			s.nonces[c.Nonce] = nonceIssued
		}
		return nil, err
	}
	if s.files != nil {
		c.Nonce = s.issue(nextNonce(c.Nonce))
	}
	c.Report = name
	s.held = &held{key: key(*c), rep: rep}
	rows, err := rep.Rows(ctx, 0)
	if err != nil {
		s.drop()
		return nil, err
	}
	sel := s.selector(*c)
	for n := 0; n < c.Sel; {
		row, err := rows.Next()
		if err != nil {
			s.drop()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("oracle report %s of %s has %d rows of the selection, the cursor has read %d: the vendor's rows changed", name, c.Day, n, c.Sel)
			}
			return nil, err
		}
		if sel(&row) {
			n++
		}
	}
	return rows, nil
}

// drop releases the report held.
func (s *Source) drop() {
	if s.held != nil {
		s.held.rep.Close()
		s.held = nil
	}
}

// issue records n as issued (unless it is consumed already: then the
// chain goes on) and returns the nonce to use.
func (s *Source) issue(n string) string {
	for i := 0; s.nonces[n] == nonceConsumed && i < 100; i++ {
		n = nextNonce(n)
	}
	s.nonces[n] = nonceIssued
	return n
}

// rotate gives c a nonce this Source issued and has not used, and reports
// whether it changed c's. A cursor without nonce (a new stream, a reset)
// gets a new one; a nonce this Source never issued is a predecessor's,
// which may have been writing that file and the next one of the chain:
// both are kept for deletion, and a new random nonce starts a chain of
// this Source's own; a nonce used already (a retried Fetch) moves on.
func (s *Source) rotate(c *Cursor, now time.Time) bool {
	switch s.nonces[c.Nonce] {
	case nonceIssued:
		return false
	case nonceConsumed:
		c.Nonce = s.issue(nextNonce(c.Nonce))
	default:
		if c.Nonce != "" {
			for _, n := range []string{c.Nonce, nextNonce(c.Nonce)} {
				s.addOrphan(FileName(s.cfg.Tenant, n), now, "may have been written by a previous process")
			}
		}
		c.Nonce = s.issue(newNonce())
	}
	c.Orphans = s.orphanList()
	return true
}

// decode reads a cursor: nil starts at START_TIME, pipeline.TimeCursor's
// {"last": T} at T; positions before START_TIME start there.
func (s *Source) decode(raw pipeline.Cursor) (Cursor, error) {
	if len(raw) == 0 {
		return s.startAt(s.cfg.Start), nil
	}
	var probe struct {
		Day  *utcday.Day `json:"day"`
		Last *time.Time  `json:"last"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return Cursor{}, fmt.Errorf("decode oracle cursor %s: %w", raw, err)
	}
	if probe.Day == nil {
		if probe.Last == nil {
			return Cursor{}, fmt.Errorf("decode oracle cursor %s: neither a position nor {\"last\": time}", raw)
		}
		return s.startAt(*probe.Last), nil
	}
	var c Cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return Cursor{}, fmt.Errorf("decode oracle cursor %s: %w", raw, err)
	}
	c.From, c.To, c.ReadAt = c.From.UTC(), c.To.UTC(), c.ReadAt.UTC()
	if c.From.Before(s.cfg.Start) {
		c.From = s.cfg.Start
		if utcday.Of(c.From) != c.Day {
			c = s.startAt(s.cfg.Start)
		}
	}
	return c, nil
}

// startAt returns the cursor of a stream starting at t (never before
// START_TIME).
func (s *Source) startAt(t time.Time) Cursor {
	t = maxTime(t.UTC(), s.cfg.Start)
	return Cursor{Day: utcday.Of(t), From: t}
}

// clamp moves a cursor older than the vendor's retention to the oldest
// day available, with one warning naming the lost range and the
// days-expired metric.
func (s *Source) clamp(c *Cursor, now time.Time) {
	oldest := utcday.Oldest(now, s.cfg.Retention)
	if c.Day >= oldest {
		return
	}
	from := maxTime(oldest.Start(), s.cfg.Start)
	if k := c.Day.String() + "|" + oldest.String(); s.warnedFor != k {
		s.warnedFor = k
		s.log.Warn("days expired before they were read",
			"lost_from", c.From, "lost_to", from, "days", int(oldest-c.Day), "oldest_available", oldest.String(),
			"reason", fmt.Sprintf("the vendor keeps %d days", s.cfg.Retention))
		s.expired.Add(context.Background(), int64(oldest-c.Day), s.attrs)
	}
	s.drop()
	*c = Cursor{Day: oldest, From: from, Nonce: c.Nonce, Orphans: c.Orphans}
}

// refusedDay handles a report the vendor refused as an invalid date range
// for a day the calendar says it keeps: an error (retried with backoff,
// and the clamp checked again) the first times, then a dead letter naming
// the day and the vendor's details, and the next day.
func (s *Source) refusedDay(c Cursor, now time.Time, err error) (pipeline.Page, error) {
	s.refusals[c.Day]++
	n := s.refusals[c.Day]
	if n < RefusalsBeforeSkip {
		return pipeline.Page{}, fmt.Errorf("oracle refused the report of %s (%d of %d times): %w", c.Day, n, RefusalsBeforeSkip, err)
	}
	delete(s.refusals, c.Day)
	details := err.Error()
	var ae *APIError
	if errors.As(err, &ae) && ae.Details != "" {
		details = ae.Details
	}
	s.log.Error("day refused by the vendor, skipped", "day", c.Day.String(), "refusals", n, "details", details,
		"oldest_available", utcday.Oldest(now, s.cfg.Retention).String())
	s.refused.Add(context.Background(), 1, s.attrs)
	raw, _ := json.Marshal(map[string]string{"day": c.Day.String(), "from": c.From.Format(time.RFC3339), "details": details})
	dead := []pipeline.SourceDeadLetter{{
		Reason: fmt.Sprintf("oracle refused the user audit report of %s %d times as an invalid date range although its retention (%d days) should keep it; the logins of [%s, %s) were not read: %s",
			c.Day, n, s.cfg.Retention, c.From.Format(time.RFC3339), c.Day.End().Format(time.RFC3339), details),
		Raw: raw,
	}}
	s.drop()
	next := Cursor{Day: c.Day + 1, From: maxTime((c.Day + 1).Start(), s.cfg.Start), Nonce: c.Nonce, Orphans: s.orphanList()}
	return s.page(next, nil, dead, !s.ready(next, now), c.Day.End()), nil
}

// addOrphan keeps a file that may exist in the instance for deletion,
// until submitted + twice the job timeout (the job's own timeout, and as
// long again for a vendor that runs jobs past ours).
func (s *Source) addOrphan(name string, submitted time.Time, reason string) {
	if s.gone[name] {
		delete(s.gone, name)
	}
	giveUp := submitted.Add(2 * s.cfg.JobTimeout).UTC()
	if o, ok := s.orphans[name]; ok {
		o.giveUp = maxTime(o.giveUp, giveUp)
		return
	}
	s.orphans[name] = &orphanState{giveUp: giveUp}
	s.log.Info("report file kept for deletion", "file", name, "reason", reason, "give_up", giveUp, "undeleted", len(s.orphans))
	s.bound()
}

// bound keeps at most MaxOrphans files, forgetting those given up first.
func (s *Source) bound() {
	for len(s.orphans) > s.cfg.MaxOrphans {
		var first string
		for n, o := range s.orphans {
			if first == "" || o.giveUp.Before(s.orphans[first].giveUp) {
				first = n
			}
		}
		delete(s.orphans, first)
		s.gone[first] = true
		s.log.Error("report file forgotten: too many undeleted files", "file", first, "max", s.cfg.MaxOrphans)
	}
}

// mergeOrphans adds the cursor's files to the Source's, except those it
// knows are gone.
func (s *Source) mergeOrphans(c *Cursor) {
	for _, o := range c.Orphans {
		if s.gone[o.Name] {
			continue
		}
		if cur, ok := s.orphans[o.Name]; ok {
			cur.giveUp = maxTime(cur.giveUp, o.GiveUp)
			continue
		}
		s.orphans[o.Name] = &orphanState{giveUp: o.GiveUp.UTC()}
	}
	s.bound()
	c.Orphans = s.orphanList()
}

// orphanList returns the files kept, sorted by name.
func (s *Source) orphanList() []Orphan {
	if len(s.orphans) == 0 {
		return nil
	}
	out := make([]Orphan, 0, len(s.orphans))
	for n, o := range s.orphans {
		out = append(out, Orphan{Name: n, GiveUp: o.giveUp})
	}
	slices.SortFunc(out, func(a, b Orphan) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sweepTimeout bounds one delete of a left-behind file, so that deletes
// never hold the stream up for long.
const sweepTimeout = 10 * time.Second

// sweep deletes a few left-behind files: a deleted one is gone; one not
// found is kept until its give-up time (its job may still write it), then
// forgotten; an error keeps it. Deletes never fail the Fetch.
func (s *Source) sweep(ctx context.Context, now time.Time) {
	if s.files == nil || len(s.orphans) == 0 {
		return
	}
	tried := 0
	for _, o := range s.orphanList() {
		if tried >= s.cfg.DeletesPerFetch || ctx.Err() != nil {
			break
		}
		st := s.orphans[o.Name]
		if now.Before(st.nextTry) {
			continue
		}
		tried++
		dctx, cancel := context.WithTimeout(ctx, sweepTimeout)
		err := s.files.DeleteFile(dctx, o.Name)
		cancel()
		switch {
		case err == nil:
			s.forget(o.Name)
			s.log.Info("report file deleted", "file", o.Name, "undeleted", len(s.orphans))
		case errors.Is(err, ErrNotFound) && !now.Before(st.giveUp):
			s.forget(o.Name)
			s.log.Info("report file never appeared, forgotten", "file", o.Name, "give_up", st.giveUp, "undeleted", len(s.orphans))
		default:
			st.nextTry = now.Add(s.cfg.OrphanRetry)
			if !errors.Is(err, ErrNotFound) {
				s.log.Debug("report file not deleted yet", "file", o.Name, "error", err)
			}
		}
	}
}

// maxGone bounds the names of deleted files remembered, so that an older
// cursor (a read-ahead page discarded) does not bring them back.
const maxGone = 1000

// forget drops a file from the list for good.
func (s *Source) forget(name string) {
	delete(s.orphans, name)
	if len(s.gone) >= maxGone {
		clear(s.gone)
	}
	s.gone[name] = true
}

// Orphans returns the files the Source still tries to delete, for tests
// and diagnostics.
func (s *Source) Orphans() []Orphan { return s.orphanList() }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
