package plm

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

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/jsontree"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// zoneSpan is the widest distance between UTC and a tenant's local time
// (UTC-12 to UTC+14). Widening a UTC window by it on both sides gives a
// range of local days that holds every instant of the window, whatever the
// tenant's zone.
const zoneSpan = 14 * time.Hour

// anchorLen is the number of hex digits of a row hash kept in a cursor.
const anchorLen = 16

// SystemLogReader fetches pages of system logs; *Client is one.
type SystemLogReader interface {
	SystemLogs(ctx context.Context, q Query) (*SystemLogsPage, error)
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Tenant and LogType name the stream. Both required.
	Tenant, LogType string
	// Start is where a stream without cursor begins, inclusive.
	Start time.Time
	// SafetyLag keeps windows this far behind the clock.
	SafetyLag time.Duration
	// MaxWindow is the widest window one scan covers. Default 24h.
	MaxWindow time.Duration
	// PageSize is the limit of each request. Default MaxPageSize.
	PageSize int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives warnings about rows that moved. Default slog.Default().
	Logger *slog.Logger
}

// Source reads the system log of one type of one tenant. It implements
// pipeline.Source with the windowed offset scan the package documentation
// describes. Its state is all in the cursor, so a Source built from the
// same configuration continues any cursor another one returned.
type Source struct {
	reader    SystemLogReader
	tenant    string
	logType   string
	stream    string
	start     time.Time
	lag       time.Duration
	maxWindow time.Duration
	// pageSize is the limit of requests: PLM_PAGE_SIZE until the vendor
	// refuses it (refusedPageSize).
	pageSize int
	now      func() time.Time
	log      *slog.Logger
}

// NewSource returns the Source of cfg reading through r.
func NewSource(r SystemLogReader, cfg SourceConfig) *Source {
	s := &Source{
		reader:    r,
		tenant:    cfg.Tenant,
		logType:   cfg.LogType,
		stream:    StreamName(cfg.Tenant, cfg.LogType),
		start:     cfg.Start.UTC().Truncate(time.Millisecond),
		lag:       cfg.SafetyLag,
		maxWindow: cfg.MaxWindow,
		pageSize:  cfg.PageSize,
		now:       cfg.Clock,
		log:       cfg.Logger,
	}
	if s.maxWindow <= 0 {
		s.maxWindow = 24 * time.Hour
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

// Streams returns one pipeline stream per configured log type, reading
// through client, starting at start and lagging lag behind the clock.
func (c *Config) Streams(client *Client, start time.Time, lag time.Duration, log *slog.Logger) []pipeline.Stream {
	out := make([]pipeline.Stream, 0, len(c.LogTypes))
	for _, typ := range c.LogTypes {
		out = append(out, pipeline.Stream{
			Source: NewSource(client, SourceConfig{
				Tenant: c.Tenant, LogType: typ, Start: start, SafetyLag: lag,
				MaxWindow: c.MaxWindow, PageSize: c.PageSize, Logger: log,
			}),
			Normalize: NewNormalizer(c.Tenant, typ),
			Topic:     c.Topic,
			Vendor:    Vendor,
			Tenant:    c.Tenant,
		})
	}
	return out
}

// Stream returns "plm/<tenant>/system-logs/<type>".
func (s *Source) Stream() string { return s.stream }

// cursor is the JSON position of a stream. Its invariant: every row with a
// time before Last, and the first N rows at exactly Last in the API's stable
// ascending order, have been emitted, and no other row.
type cursor struct {
	// Last is the time up to which the stream is complete (see the
	// invariant), UTC, in milliseconds.
	Last time.Time `json:"last"`
	// N is how many rows at exactly Last were emitted.
	N int `json:"n"`
	// End is the inclusive end of the open window; nil between windows.
	End *time.Time `json:"end,omitempty"`
	// FromDate and ToDate are the day range of the window's query.
	FromDate string `json:"from_date,omitempty"`
	ToDate   string `json:"to_date,omitempty"`
	// Offset is the index, in that query's result set, of the first row not
	// yet read.
	Offset int `json:"offset"`
	// Anchor is the hash of the row at Offset-1, the last one read; a later
	// read finds it there unless rows moved.
	Anchor string `json:"anchor,omitempty"`
	// Same holds the hashes of the rows emitted at exactly Last, in order
	// (at most maxSame), so that a row identical to one of them, read
	// later, gets the next occurrence number rather than the same event id.
	Same []string `json:"same,omitempty"`
}

// maxSame bounds the hashes a cursor keeps of rows sharing one millisecond.
// Past it, a row identical to a forgotten one would repeat its event id; a
// thousand identical rows in one millisecond is not an audit log's shape.
const maxSame = 1000

// decodeCursor returns the cursor of raw, or the start cursor when raw is
// empty.
func (s *Source) decodeCursor(raw pipeline.Cursor) (cursor, error) {
	if len(raw) == 0 {
		return cursor{Last: s.start}, nil
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return cursor{}, fmt.Errorf("decode cursor of %s: %w", s.stream, err)
	}
	switch {
	case c.Last.IsZero():
		return cursor{}, fmt.Errorf("decode cursor of %s: no last time", s.stream)
	case c.N < 0 || c.Offset < 0:
		return cursor{}, fmt.Errorf("decode cursor of %s: negative n or offset", s.stream)
	case c.End != nil && c.End.Before(c.Last):
		return cursor{}, fmt.Errorf("decode cursor of %s: window end before last time", s.stream)
	}
	c.Last = c.Last.UTC().Truncate(time.Millisecond)
	if c.End != nil {
		end := c.End.UTC().Truncate(time.Millisecond)
		c.End = &end
	}
	return c, nil
}

// encode returns c as JSON.
func (c cursor) encode() pipeline.Cursor {
	b, err := json.Marshal(c)
	if err != nil {
		// Unreachable: a cursor holds only strings, ints and valid times.
		panic(fmt.Sprintf("plm: encode cursor: %v", err))
	}
	return b
}

// utcDay returns the UTC date of t as YYYY-MM-DD.
func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// anchorOf returns the hash that identifies a row in a cursor: a prefix of
// its content identity, so that a server re-serializing the row does not
// make it look different.
func anchorOf(raw []byte) string {
	id, err := event.ContentIdentity(raw)
	if err != nil {
		sum := sha256.Sum256(raw)
		id = hex.EncodeToString(sum[:])
	}
	return id[:anchorLen]
}

// anchor returns anchorOf(e.Raw), hashing the row's parsed tree rather than
// parsing Raw again. It keeps the row's content identity in e for the
// normalizer.
func (e *Entry) anchor() string {
	if e.identity == "" && e.Tree.Kind() != jsontree.Invalid {
		e.identity = event.ContentIdentityOf(e.Tree)
	}
	if e.identity == "" {
		return anchorOf(e.Raw)
	}
	return e.identity[:anchorLen]
}

// Fetch returns the rows after cur: the rows of the open window, or of a
// new window when none is open. See the package documentation.
func (s *Source) Fetch(ctx context.Context, raw pipeline.Cursor) (pipeline.Page, error) {
	cur, err := s.decodeCursor(raw)
	if err != nil {
		return pipeline.Page{}, err
	}
	horizon := s.now().Add(-s.lag).UTC().Truncate(time.Millisecond)
	if cur.End == nil {
		end := cur.Last.Add(s.maxWindow).Truncate(time.Millisecond)
		if horizon.Before(end) {
			end = horizon
		}
		if !end.After(cur.Last) {
			return pipeline.Page{Next: cur.encode(), Position: cur.Last, Done: true}, nil
		}
		from, to := utcDay(cur.Last.Add(-zoneSpan)), utcDay(end.Add(zoneSpan))
		if from != cur.FromDate {
			// The offset counts rows of another result set.
			cur.Offset, cur.Anchor = 0, ""
		}
		cur.FromDate, cur.ToDate, cur.End = from, to, &end
	}

	sc := &scan{src: s, cur: cur, end: *cur.End, last: cur.Last, n: cur.N}
	sc.resetSame()
	if err := sc.run(ctx); err != nil {
		return pipeline.Page{}, err
	}
	sc.report(ctx)

	next := cursor{FromDate: cur.FromDate, ToDate: cur.ToDate, Offset: sc.offset}
	if sc.offset > 0 {
		next.Anchor = sc.lastRow.anchor()
	}
	page := pipeline.Page{Records: sc.records}
	if sc.complete {
		// Every row up to End is emitted: the window closes there.
		next.Last = sc.end
		if sc.last.Equal(sc.end) {
			next.N, next.Same = sc.n, sc.sameHashes()
		}
		page.Position = sc.end
		page.Done = sc.end.Equal(horizon)
	} else {
		next.Last, next.N, next.End = sc.last, sc.n, &sc.end
		next.Same = sc.sameHashes()
		page.Position = sc.last
	}
	page.Next = next.encode()
	return page, nil
}

// scan is the state of one Fetch over a window (last, end].
type scan struct {
	src *Source
	cur cursor
	end time.Time

	// last and n follow the cursor invariant as rows are emitted.
	last time.Time
	n    int
	// rescan is set while reading from offset 0: rows at or before the
	// cursor are skipped, the first skipEq of them at exactly last.
	rescan bool
	skipEq int
	// settled is set once the rows read are past the cursor, so the scan
	// may stop after any page without losing its skip state.
	settled bool

	// offset is the index of the next unread row; lastRow is the row
	// before it.
	offset  int
	lastRow *Entry

	records  []pipeline.Record
	complete bool

	// same is the group of rows emitted at exactly last, for occurrence
	// numbers: hashes from the cursor, then rows of this scan whose hash is
	// computed only when a later row shares their millisecond.
	same []sameRow

	// Shift detection: the anchor that was not where the cursor said and,
	// once the rescan meets it, its index (-1 until then).
	lostAnchor string
	foundAt    int
	// late counts rows found after the anchor but older than the cursor.
	late int
}

// run reads pages until it has records past the cursor or the window is
// complete.
func (sc *scan) run(ctx context.Context) error {
	s := sc.src
	verify := sc.cur.Offset > 0 && sc.cur.Anchor != ""
	reqOff := 0
	if verify {
		// Re-read the last row read, to check that nothing moved.
		reqOff = sc.cur.Offset - 1
	} else {
		sc.startRescan()
	}
	for {
		p, err := s.reader.SystemLogs(ctx, Query{
			Type: s.logType, Offset: reqOff, Limit: s.pageSize,
			FromDate: sc.cur.FromDate, ToDate: sc.cur.ToDate,
		})
		if err != nil {
			if s.refusedPageSize(ctx, err) {
				continue
			}
			return err
		}
		items := p.Items
		if verify {
			verify = false
			if len(items) == 0 || items[0].anchor() != sc.cur.Anchor {
				sc.lostAnchor, sc.foundAt = sc.cur.Anchor, -1
				sc.startRescan()
				reqOff = 0
				continue
			}
			sc.settled = true
			sc.lastRow, sc.offset = items[0], reqOff+1
			items = items[1:]
			reqOff++
		}
		for i, e := range items {
			if !sc.consume(reqOff+i, e) {
				sc.complete = true
				break
			}
		}
		if !sc.complete {
			// The result set ends with an empty page or at totalCount (a
			// page holding only the anchor is not the end).
			sc.offset = reqOff + len(items)
			sc.complete = len(p.Items) == 0 || sc.offset >= p.TotalCount
		}
		if sc.complete || sc.settled && len(sc.records) > 0 {
			return nil
		}
		reqOff = sc.offset
	}
}

// sameRow is one row of the group emitted at the scan's last time.
type sameRow struct {
	e    *Entry // nil for a row of the cursor
	hash string // empty until needed
}

func (r *sameRow) key() string {
	if r.hash == "" && r.e != nil {
		r.hash = r.e.anchor()
	} else if r.hash == "" {
		// An empty hash in a cursor: hash it as the empty row it stands for.
		r.hash = anchorOf(nil)
	}
	return r.hash
}

// resetSame starts the group of rows at the cursor's time from its hashes.
func (sc *scan) resetSame() {
	sc.same = sc.same[:0]
	for _, h := range sc.cur.Same {
		sc.same = append(sc.same, sameRow{hash: h})
	}
}

// occurrence returns how many rows of the group are identical to e, and
// adds e to the group.
func (sc *scan) occurrence(e *Entry) int {
	k := 0
	if len(sc.same) > 0 {
		h := e.anchor()
		for i := range sc.same {
			if sc.same[i].key() == h {
				k++
			}
		}
		if len(sc.same) < maxSame {
			sc.same = append(sc.same, sameRow{e: e, hash: h})
		}
		return k
	}
	sc.same = append(sc.same, sameRow{e: e})
	return 0
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

// startRescan resets the scan to read from offset 0 with the skip rule.
func (sc *scan) startRescan() {
	sc.rescan, sc.settled = true, false
	sc.skipEq = sc.cur.N
	sc.last, sc.n = sc.cur.Last, sc.cur.N
	sc.offset, sc.lastRow = 0, nil
	sc.resetSame()
}

// consume handles the row at index idx of the result set and reports
// whether the scan goes on (false: the row is past the window's end and
// stays unread).
func (sc *scan) consume(idx int, e *Entry) bool {
	t := e.Time
	if sc.isLostAnchor(e) {
		// The row read last before the rows moved: every row after it is
		// unread, as when the anchor is where the cursor said.
		sc.foundAt = idx
		sc.rescan, sc.skipEq, sc.settled = false, 0, true
		sc.offset, sc.lastRow = idx+1, e
		return true
	}
	switch {
	case t.IsZero():
		// A row that cannot be placed in time is emitted, to be
		// dead-lettered with the reason, rather than dropped.
		sc.emit(e)
	case t.After(sc.end):
		sc.offset = idx
		return false
	case t.Before(sc.last):
		if !sc.rescan && !t.Before(sc.src.start) {
			// After the anchor yet older than the cursor: a late row
			// never emitted.
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
		sc.settled = true
		sc.same = sc.same[:0]
		e.Occurrence = sc.occurrence(e)
		sc.emit(e)
	}
	sc.offset, sc.lastRow = idx+1, e
	return true
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

// isLostAnchor reports whether a rescan meets the anchor that was not at
// the cursor's offset. Only rows that can precede the cursor are hashed.
func (sc *scan) isLostAnchor(e *Entry) bool {
	return sc.rescan && sc.lostAnchor != "" && sc.foundAt < 0 &&
		(e.Time.IsZero() || !e.Time.After(sc.cur.Last)) && e.anchor() == sc.lostAnchor
}

// report logs rows that moved under the cursor.
func (sc *scan) report(ctx context.Context) {
	s := sc.src
	if sc.late > 0 {
		s.log.WarnContext(ctx, "plm late rows older than the cursor emitted",
			"stream", s.stream, "rows", sc.late, "cursor_time", sc.cur.Last)
	}
	if sc.lostAnchor == "" {
		return
	}
	attrs := []any{"stream", s.stream, "cursor_offset", sc.cur.Offset, "cursor_time", sc.cur.Last}
	switch expected := sc.cur.Offset - 1; {
	case sc.foundAt > expected:
		// Rows older than the cursor were inserted before it: they are
		// behind the cursor and cannot be told apart from rows already read.
		s.log.WarnContext(ctx, "plm rows inserted before the cursor were not emitted",
			append(attrs, "rows", sc.foundAt-expected)...)
	case sc.foundAt >= 0:
		s.log.WarnContext(ctx, "plm rows removed before the cursor; rescanned the window",
			append(attrs, "rows", expected-sc.foundAt)...)
	default:
		s.log.WarnContext(ctx, "plm row at the cursor is gone; rescanned the window", attrs...)
	}
}

// DocumentedPageSize is the page size the vendor documents (its default):
// a 400 at this size is not about the size.
const DocumentedPageSize = 100

// refusedPageSize handles err, the failure of a page request: when the
// vendor answered 400 to a limit above the documented one, the page size
// is halved (not below DocumentedPageSize) for the rest of the process,
// logged once per change, and the request is to be sent again. The rows
// are the same whatever the limit: the cursor holds offsets, not pages.
func (s *Source) refusedPageSize(ctx context.Context, err error) bool {
	var se *httpx.StatusError
	if s.pageSize <= DocumentedPageSize || !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		return false
	}
	was := s.pageSize
	s.pageSize = max(DocumentedPageSize, s.pageSize/2)
	s.log.WarnContext(ctx, "plm page size refused by the vendor, halved",
		"stream", s.stream, "page_size", was, "new_page_size", s.pageSize, "status", se.StatusCode, "body", se.Body)
	return true
}
