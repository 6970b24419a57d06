package epm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// DefaultMaxWindow is the default of SourceConfig.MaxWindow.
const DefaultMaxWindow = 7 * 24 * time.Hour

// caughtUp is how far behind the horizon a window may close and still count
// as caught up (Done): a set whose last window closed further behind was
// backfilling, and its next window opens at once instead of after the poll
// interval.
const caughtUp = time.Minute

// maxReanchors bounds the rescans of one Fetch: a set whose result set keeps
// changing under the scan fails the Fetch, which the pipeline retries later.
const maxReanchors = 3

// anchorLen is the number of hex digits of a record hash kept in a cursor.
const anchorLen = 16

// maxSame bounds the hashes a cursor keeps of records sharing one EventTime.
// Past it, a record identical to a forgotten one would repeat its event id;
// a thousand identical records in one millisecond is not an audit log's
// shape.
const maxSame = 1000

// AuditReader reads the admin audit of a set; *Client is one.
type AuditReader interface {
	AdminAudit(ctx context.Context, q AuditQuery) (*AdminAuditPage, error)
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Tenant and SetID name the stream. Required.
	Tenant string
	SetID  string
	// Start is where a set without position begins, inclusive.
	Start time.Time
	// SafetyLag keeps windows this far behind the clock.
	SafetyLag time.Duration
	// MaxWindow is the widest window one scan covers. Default 7 days.
	MaxWindow time.Duration
	// PageSize is the Limit of each request. Default MaxPageSize.
	PageSize int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives warnings. Default slog.Default().
	Logger *slog.Logger
}

// Source reads the admin audit of one set as one stream,
// "epm/<tenant>/sets/<set id>/admin-audit", with the windowed offset scan
// the package documentation describes. Its position lives only in the
// cursor, so a Source built from the same configuration continues any
// cursor another one returned, and it keeps no state between Fetches: the
// sources of a tenant's sets share nothing but their AuditReader.
type Source struct {
	reader    AuditReader
	tenant    string
	setID     string
	stream    string
	start     time.Time
	lag       time.Duration
	maxWindow time.Duration
	pageSize  int
	now       func() time.Time
	log       *slog.Logger
}

// NewSource returns the Source of cfg reading through r.
func NewSource(r AuditReader, cfg SourceConfig) *Source {
	s := &Source{
		reader:    r,
		tenant:    cfg.Tenant,
		setID:     cfg.SetID,
		stream:    StreamName(cfg.Tenant, cfg.SetID),
		start:     cfg.Start.UTC().Truncate(time.Millisecond),
		lag:       cfg.SafetyLag,
		maxWindow: cfg.MaxWindow,
		pageSize:  cfg.PageSize,
		now:       cfg.Clock,
		log:       cfg.Logger,
	}
	if s.maxWindow < time.Second {
		s.maxWindow = DefaultMaxWindow
	}
	if s.pageSize <= 0 {
		s.pageSize = MaxPageSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Stream returns "epm/<tenant>/sets/<set id>/admin-audit".
func (s *Source) Stream() string { return s.stream }

// SetID returns the set the source reads.
func (s *Source) SetID() string { return s.setID }

// setCursor is the cursor of a set's stream. Its invariant: every record
// of the set with an EventTime before Last, and the first N records at
// exactly Last in the API's order, have been emitted, and no other record.
// pipeline.TimeCursor(t), {"last": t}, is one: t with nothing emitted at t.
type setCursor struct {
	// Last is the time up to which the set is complete (see the
	// invariant), UTC, in milliseconds.
	Last time.Time `json:"last"`
	// N is how many records at exactly Last were emitted.
	N int `json:"n,omitempty"`
	// Same holds the hashes of the records emitted at exactly Last, in
	// order (at most maxSame), so that a record identical to one of them,
	// read later, gets the next occurrence number rather than the same
	// event id.
	Same []string `json:"same,omitempty"`
	// End is the exclusive end of the open window, a whole second; nil
	// between windows.
	End *time.Time `json:"end,omitempty"`
	// From is the DateFrom of the open window's query, a whole second.
	From *time.Time `json:"from,omitempty"`
	// Offset is the index, in that query's result set, of the first
	// record not yet read; Total the TotalCount it had.
	Offset int `json:"offset,omitempty"`
	Total  int `json:"total,omitempty"`
	// Anchor is the hash of the record at Offset-1, the last one read; a
	// later read finds it there unless the result set changed.
	Anchor string `json:"anchor,omitempty"`
	// Tail is set while the open window ends at the horizon of the time
	// it opened, not MaxWindow after its start: closing it catches the
	// set up.
	Tail bool `json:"tail,omitempty"`
}

// decodeCursor returns the position of raw: START_TIME when raw is empty.
func (s *Source) decodeCursor(raw pipeline.Cursor) (setCursor, error) {
	if len(raw) == 0 {
		return setCursor{Last: s.start}, nil
	}
	var c *setCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return setCursor{}, fmt.Errorf("decode cursor of %s: %w", s.stream, err)
	}
	if err := c.normalize(); err != nil {
		return setCursor{}, fmt.Errorf("decode cursor of %s: %w", s.stream, err)
	}
	return *c, nil
}

// normalize checks a decoded position and puts its times in UTC.
func (sc *setCursor) normalize() error {
	if sc == nil {
		return errors.New("no position")
	}
	switch {
	case sc.Last.IsZero():
		return errors.New("no last time")
	case sc.N < 0 || sc.Offset < 0 || sc.Total < 0:
		return errors.New("negative n, offset or total")
	case sc.End != nil && sc.End.Before(sc.Last):
		return errors.New("window end before last time")
	case sc.End != nil && sc.From == nil:
		return errors.New("open window without its query start")
	case sc.From != nil && sc.From.After(sc.Last):
		return errors.New("query start after last time")
	}
	sc.Last = sc.Last.UTC().Truncate(time.Millisecond)
	if sc.End == nil {
		sc.Tail = false // a flag of the open window only
	}
	for _, p := range []**time.Time{&sc.End, &sc.From} {
		if *p != nil {
			t := (*p).UTC().Truncate(time.Second)
			*p = &t
		}
	}
	return nil
}

// encode returns c as JSON.
func (c setCursor) encode() pipeline.Cursor {
	b, err := json.Marshal(c)
	if err != nil {
		// Unreachable: a cursor holds only strings, ints and valid times.
		panic(fmt.Sprintf("epm: encode cursor: %v", err))
	}
	return b
}

// Fetch reads the set from cur: the next page of its open window, or of
// the next window up to the horizon now − SafetyLag. See the package
// documentation.
func (s *Source) Fetch(ctx context.Context, raw pipeline.Cursor) (pipeline.Page, error) {
	cur, err := s.decodeCursor(raw)
	if err != nil {
		return pipeline.Page{}, err
	}
	horizon := utcSecond(s.now().Add(-s.lag))
	next, records, tail, err := s.scanSet(ctx, cur, horizon)
	switch {
	case err == nil:
	case setLevelError(err) && ctx.Err() == nil:
		// The account may no longer see the set (or never did, for a set
		// of EPM_SET_IDS), or the server rejects the request for this set:
		// waiting the poll interval is all there is to do, and it must not
		// look like the vendor being down.
		s.log.ErrorContext(ctx, "epm set refused; tried again after the poll interval", "stream", s.stream, "set", s.setID, "error", err)
		return pipeline.Page{Next: raw, Position: cur.Last, Done: true, Refused: err}, nil
	default:
		return pipeline.Page{}, err
	}
	return pipeline.Page{
		Records:  records,
		Next:     next.encode(),
		Position: next.Last,
		// Caught up: the set is read up to a horizon, and that horizon
		// is recent; otherwise the next window opens at once.
		Done: tail && horizon.Sub(next.Last) < caughtUp,
	}, nil
}

// setLevelError reports whether err concerns this set only: the API
// rejected the request for it (400, 403, 404) after any retries.
func setLevelError(err error) bool {
	return httpx.IsStatus(err, http.StatusBadRequest) || httpx.IsStatus(err, http.StatusForbidden) ||
		httpx.IsStatus(err, http.StatusNotFound) || errors.Is(err, errBadURLValue)
}

// utcSecond returns t truncated to the second, in UTC.
func utcSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// scanSet reads the set from position p up to horizon, and returns its
// next position, the records to emit, and whether the set is read up to
// the horizon of the window it closed (or has nothing to read before
// horizon).
func (s *Source) scanSet(ctx context.Context, p setCursor, horizon time.Time) (next setCursor, records []pipeline.Record, tail bool, err error) {
	if p.End == nil {
		// Open a window [a, b): a is the second of Last, b at most
		// MaxWindow later and never past the horizon. The query starts a
		// second before a, so that whether the vendor's DateFrom is
		// inclusive or not, every record at a is in the result set.
		a := utcSecond(p.Last)
		b := a.Add(s.maxWindow)
		tail := !b.Before(horizon)
		if tail {
			b = horizon
		}
		if !b.After(p.Last) {
			return p, nil, true, nil
		}
		from := a.Add(-time.Second)
		p.End, p.From, p.Tail = &b, &from, tail
		p.Offset, p.Total, p.Anchor = 0, 0, ""
	}
	sc := &scan{src: s, setID: s.setID, cur: p, start: s.start, end: *p.End, from: *p.From}
	if err := sc.run(ctx); err != nil {
		return setCursor{}, nil, false, err
	}
	sc.report(ctx)

	if sc.complete {
		// Every record before End is emitted: the window closes there.
		return setCursor{Last: sc.end}, sc.records, p.Tail, nil
	}
	end, from := sc.end, sc.from
	next = setCursor{Last: sc.last, N: sc.n, Same: sc.sameHashes(), End: &end, From: &from, Offset: sc.offset, Total: sc.total, Tail: p.Tail}
	if sc.offset > 0 {
		next.Anchor = anchorOf(sc.lastRaw)
	}
	return next, sc.records, false, nil
}

// anchorOf returns the hash that identifies a record in a cursor: a prefix
// of its content identity, so that a server re-serializing the record does
// not make it look different.
func anchorOf(raw []byte) string {
	id, err := event.ContentIdentity(raw)
	if err != nil {
		sum := sha256.Sum256(raw)
		id = hex.EncodeToString(sum[:])
	}
	return id[:anchorLen]
}

// scan is the state of one read of a set's window [a, end), queried from
// from.
type scan struct {
	src   *Source
	setID string
	cur   setCursor
	start time.Time
	end   time.Time
	from  time.Time

	// last and n follow the cursor invariant as records are emitted.
	last time.Time
	n    int
	// skipping is set while reading with the skip rule: records before
	// last are skipped, and the first skipEq of them at exactly last.
	skipping bool
	skipEq   int
	// settled is set once the records read are past the cursor, so the
	// scan may stop after any page without losing its skip state.
	settled bool

	// offset is the index of the next unread record of the query; total
	// its TotalCount; lastRaw the record before offset.
	offset  int
	total   int
	lastRaw []byte

	records  []pipeline.Record
	complete bool

	// same is the group of records emitted at exactly last, for
	// occurrence numbers: hashes from the cursor, then records of this
	// scan whose hash is computed only when a later record shares their
	// time.
	same []sameRow

	// prev is the newest EventTime met in this read, and prevAt its
	// offset: every page must continue in ascending order (checkOrder).
	prev   time.Time
	prevAt int

	// reanchors counts rescans and why the last one happened; late counts
	// records found after the anchor but older than the cursor.
	reanchors int
	reason    string
	late      int
	// lostAnchor is the cursor's anchor while a rescan looks for it; once
	// met (found), every record after it is unread. atLast and seen count
	// and keep the records at exactly last the rescan met before it.
	lostAnchor string
	found      bool
	atLast     int
	seen       []sameRow
}

// run reads pages until it has records past the cursor or the window is
// complete.
func (sc *scan) run(ctx context.Context) error {
	s := sc.src
	verify := sc.cur.Offset > 0 && sc.cur.Anchor != ""
	reqOff := 0
	sc.last, sc.n = sc.cur.Last, sc.cur.N
	sc.resetSame()
	if verify {
		// Re-read the last record read, to check that nothing moved.
		reqOff = sc.cur.Offset - 1
	} else {
		sc.startSkipping()
	}
	for {
		p, err := s.reader.AdminAudit(ctx, AuditQuery{
			SetID: sc.setID, From: sc.from, To: sc.end, Offset: reqOff, Limit: s.pageSize,
		})
		if err != nil {
			return err
		}
		items := p.Items
		if verify {
			verify = false
			if len(items) == 0 || anchorOf(items[0].Raw) != sc.cur.Anchor {
				if err := sc.reanchor("the record at the cursor moved"); err != nil {
					return err
				}
				reqOff = 0
				continue
			}
			// The anchor is where it was: every record after it is
			// unread, including any the vendor added since (TotalCount
			// may have grown).
			sc.settled = true
			sc.lastRaw, sc.offset = items[0].Raw, reqOff+1
			items = items[1:]
			reqOff++
		} else if sc.total > 0 && p.TotalCount != sc.total {
			// The result set changed between two pages of this read.
			if err := sc.reanchor(fmt.Sprintf("TotalCount changed from %d to %d", sc.total, p.TotalCount)); err != nil {
				return err
			}
			reqOff = 0
			continue
		}
		sc.total = p.TotalCount
		if err := sc.checkOrder(reqOff, items); err != nil {
			return err
		}
		for i, e := range items {
			sc.consume(reqOff+i, e)
		}
		sc.offset = reqOff + len(items)
		// The result set ends at TotalCount or with an empty page (a page
		// holding only the anchor is not the end).
		sc.complete = len(p.Items) == 0 || sc.offset >= p.TotalCount
		if sc.complete || sc.settled && len(sc.records) > 0 {
			return nil
		}
		reqOff = sc.offset
	}
}

// ErrOutOfOrder is wrapped by the error of a page whose records are not in
// ascending EventTime order, which the skip rule and the cursor depend on.
var ErrOutOfOrder = errors.New("epm admin audit records are not in ascending EventTime order")

// checkOrder checks that the records of a page read at offset, after the
// records read before it in this query, are in non-decreasing EventTime
// order (records without a time are not ordered and not checked). An
// unordered page stops the stream with a permanent error, loudly, rather
// than have the skip rule drop or repeat records: the cursor's invariant
// holds only for ascending answers.
func (sc *scan) checkOrder(offset int, items []*Entry) error {
	if offset == 0 {
		sc.prev, sc.prevAt = time.Time{}, 0
	}
	for i, e := range items {
		if e.Time.IsZero() {
			continue
		}
		if !sc.prev.IsZero() && e.Time.Before(sc.prev) {
			return backoff.Permanent(fmt.Errorf("set %s, window %s to %s: record %d at %s follows record %d at %s: %w; stopped so as not to lose records",
				sc.setID, sc.from.Format(time.RFC3339), sc.end.Format(time.RFC3339), offset+i, e.Time.Format(time.RFC3339Nano),
				sc.prevAt, sc.prev.Format(time.RFC3339Nano), ErrOutOfOrder))
		}
		sc.prev, sc.prevAt = e.Time, offset+i
	}
	return nil
}

// reanchor restarts the read from the cursor's own second with the skip
// rule: the result set changed under the cursor, so its offset means
// nothing any more, but the invariant still says exactly what was emitted.
// Reading from a second before Last costs a page, not a rescan of the
// window.
func (sc *scan) reanchor(reason string) error {
	sc.reanchors++
	sc.reason = reason
	if sc.reanchors > maxReanchors {
		return fmt.Errorf("admin audit of set %s keeps changing while read (%s); will retry", sc.setID, reason)
	}
	sc.from = utcSecond(sc.cur.Last).Add(-time.Second)
	sc.total = 0
	sc.records = nil
	sc.lostAnchor, sc.found = sc.cur.Anchor, false
	sc.startSkipping()
	return nil
}

// startSkipping resets the scan to read from offset 0 with the skip rule.
func (sc *scan) startSkipping() {
	sc.skipping, sc.settled = true, false
	sc.skipEq = sc.cur.N
	sc.last, sc.n = sc.cur.Last, sc.cur.N
	sc.offset, sc.lastRaw = 0, nil
	sc.atLast, sc.seen = 0, nil
	sc.resetSame()
}

// consume handles the record at index idx of the result set.
func (sc *scan) consume(idx int, e *Entry) {
	e.SetID = sc.setID
	t := e.Time
	if sc.skipping && sc.lostAnchor != "" && !sc.found {
		if t.Equal(sc.last) {
			sc.atLast++
			sc.seen = append(sc.seen, sameRow{raw: e.Raw})
		}
		if anchorOf(e.Raw) == sc.lostAnchor {
			// The record read last before the result set changed: every
			// record after it is unread, as when the anchor is where the
			// cursor said. The records at last up to it are the ones
			// emitted that are still there.
			sc.found = true
			sc.skipping, sc.skipEq, sc.settled = false, 0, true
			if t.Equal(sc.last) {
				sc.n = sc.atLast
				sc.same = append(sc.same[:0], sc.seen...)
			}
			sc.offset, sc.lastRaw = idx+1, e.Raw
			return
		}
	}
	switch {
	case t.IsZero():
		// A record that cannot be placed in time is emitted, to be
		// dead-lettered with the reason, rather than dropped.
		sc.emit(e)
	case !t.Before(sc.end):
		// Past the window (DateTo may include its whole second): read by
		// the next window.
	case t.Before(sc.last):
		if !sc.skipping && !t.Before(sc.start) {
			// After the anchor yet older than the cursor: a record the
			// vendor indexed late, never emitted.
			sc.late++
			sc.emit(e)
		}
	case t.Equal(sc.last) && sc.skipEq > 0:
		sc.skipEq--
	case t.Equal(sc.last):
		sc.n++
		sc.settled = true
		e.Occurrence = sc.occurrence(e)
		sc.emit(e)
	default:
		sc.last, sc.n, sc.skipEq = t, 1, 0
		sc.atLast, sc.seen = 0, nil
		sc.settled = true
		sc.same = sc.same[:0]
		e.Occurrence = sc.occurrence(e)
		sc.emit(e)
	}
	sc.offset, sc.lastRaw = idx+1, e.Raw
}

// emit adds e to the page.
func (sc *scan) emit(e *Entry) {
	sc.records = append(sc.records, e.Record())
}

// Record returns e as a pipeline record: its bytes, and e as the value the
// normalizer reads.
func (e *Entry) Record() pipeline.Record {
	return pipeline.Record{Raw: e.Raw, Value: e}
}

// sameRow is one record of the group emitted at the scan's last time.
type sameRow struct {
	raw  []byte
	hash string // empty until needed
}

func (r *sameRow) key() string {
	if r.hash == "" {
		r.hash = anchorOf(r.raw)
	}
	return r.hash
}

// resetSame starts the group of records at the cursor's time from its
// hashes.
func (sc *scan) resetSame() {
	sc.same = sc.same[:0]
	for _, h := range sc.cur.Same {
		sc.same = append(sc.same, sameRow{hash: h})
	}
}

// occurrence returns how many records of the group are identical to e, and
// adds e to the group.
func (sc *scan) occurrence(e *Entry) int {
	if len(sc.same) == 0 {
		sc.same = append(sc.same, sameRow{raw: e.Raw})
		return 0
	}
	h := anchorOf(e.Raw)
	k := 0
	for i := range sc.same {
		if sc.same[i].key() == h {
			k++
		}
	}
	if len(sc.same) < maxSame {
		sc.same = append(sc.same, sameRow{raw: e.Raw, hash: h})
	}
	return k
}

// sameHashes returns the group's hashes for the next cursor.
func (sc *scan) sameHashes() []string {
	if len(sc.same) == 0 {
		return nil
	}
	out := make([]string, len(sc.same))
	for i := range sc.same {
		out[i] = sc.same[i].key()
	}
	return out
}

// report logs what moved under the cursor.
func (sc *scan) report(ctx context.Context) {
	s := sc.src
	if sc.reanchors > 0 {
		s.log.WarnContext(ctx, "epm admin audit changed under the cursor; read again from the cursor's second",
			"stream", s.stream, "set", sc.setID, "reason", sc.reason, "cursor_time", sc.cur.Last, "cursor_offset", sc.cur.Offset,
			"anchor_found", sc.found)
		if sc.lostAnchor != "" && !sc.found {
			s.log.WarnContext(ctx, "epm record at the cursor is gone; records added before it cannot be told from records read",
				"stream", s.stream, "set", sc.setID, "cursor_time", sc.cur.Last)
		}
	}
	if sc.late > 0 {
		s.log.WarnContext(ctx, "epm late records older than the cursor emitted",
			"stream", s.stream, "set", sc.setID, "records", sc.late, "cursor_time", sc.cur.Last)
	}
}
