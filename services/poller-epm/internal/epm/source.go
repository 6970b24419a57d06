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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Defaults of SourceConfig.
const (
	DefaultMaxWindow   = 7 * 24 * time.Hour
	DefaultSetsRefresh = 5 * time.Minute
)

// caughtUp is how far behind the horizon a round may end and still count as
// caught up (Done): a round that ends further behind was a backfill, and the
// next round starts at once instead of after the poll interval.
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

// AuditReader lists sets and reads their admin audit; *Client is one.
type AuditReader interface {
	Sets(ctx context.Context) ([]Set, error)
	AdminAudit(ctx context.Context, q AuditQuery) (*AdminAuditPage, error)
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Tenant names the stream. Required.
	Tenant string
	// SetIDs are the sets to read; empty means every set Sets returns,
	// re-discovered at each round and every SetsRefresh.
	SetIDs []string
	// Start is where a set without position begins, inclusive.
	Start time.Time
	// SafetyLag keeps windows this far behind the clock.
	SafetyLag time.Duration
	// MaxWindow is the widest window one scan covers. Default 7 days.
	MaxWindow time.Duration
	// PageSize is the Limit of each request. Default MaxPageSize.
	PageSize int
	// SetsRefresh is how often the set list is read again within a long
	// round. Default 5m.
	SetsRefresh time.Duration
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives warnings and set discoveries. Default slog.Default().
	Logger *slog.Logger
}

// Source reads the admin audit of every set of one tenant as one stream. It
// implements pipeline.Source with the design the package documentation
// describes: a cursor holding one position per set, round-robin over the
// sets, a windowed offset scan per set. Positions live only in the cursor,
// so a Source built from the same configuration continues any cursor
// another one returned; the set list and the sets that failed this round
// are kept in memory.
type Source struct {
	reader    AuditReader
	tenant    string
	stream    string
	fixed     []Set
	start     time.Time
	lag       time.Duration
	maxWindow time.Duration
	pageSize  int
	refresh   time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu     sync.Mutex
	sets   []Set                // discovered sets, sorted by id
	setsAt time.Time            // when sets was read
	known  map[string]bool      // sets seen, to log new ones once
	failed map[string]time.Time // set id → round in which it failed
}

// NewSource returns the Source of cfg reading through r.
func NewSource(r AuditReader, cfg SourceConfig) *Source {
	s := &Source{
		reader:    r,
		tenant:    cfg.Tenant,
		stream:    StreamName(cfg.Tenant),
		start:     cfg.Start.UTC().Truncate(time.Millisecond),
		lag:       cfg.SafetyLag,
		maxWindow: cfg.MaxWindow,
		pageSize:  cfg.PageSize,
		refresh:   cfg.SetsRefresh,
		now:       cfg.Clock,
		log:       cfg.Logger,
		known:     map[string]bool{},
		failed:    map[string]time.Time{},
	}
	for _, id := range cfg.SetIDs {
		s.fixed = append(s.fixed, Set{ID: id})
	}
	slices.SortFunc(s.fixed, func(a, b Set) int { return strings.Compare(a.ID, b.ID) })
	if s.maxWindow < time.Second {
		s.maxWindow = DefaultMaxWindow
	}
	if s.pageSize <= 0 {
		s.pageSize = MaxPageSize
	}
	if s.refresh <= 0 {
		s.refresh = DefaultSetsRefresh
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Stream returns the pipeline stream of the tenant, reading through client,
// starting at start and lagging lag behind the clock.
func (c *Config) Stream(client *Client, start time.Time, lag time.Duration, log *slog.Logger) pipeline.Stream {
	return pipeline.Stream{
		Source: NewSource(client, SourceConfig{
			Tenant: c.Tenant, SetIDs: c.SetIDs, Start: start, SafetyLag: lag,
			MaxWindow: c.MaxWindow, PageSize: c.PageSize, Logger: log,
		}),
		Normalize: NewNormalizer(c.Tenant),
		Topic:     c.Topic,
		Vendor:    Vendor,
		Tenant:    c.Tenant,
	}
}

// Stream returns "epm/<tenant>/admin-audit".
func (s *Source) Stream() string { return s.stream }

// cursor is the JSON position of the tenant's stream: one position per set.
type cursor struct {
	// Start is where sets without a position begin; nil means the
	// Source's START_TIME. It is set when an operator moved the stream to
	// a time (pipeline.TimeCursor), so that every set, known or not yet
	// seen, starts there.
	Start *time.Time `json:"start,omitempty"`
	// Round is the horizon of the round in progress: every set is read up
	// to it before the stream reports Done. Nil between rounds.
	Round *time.Time `json:"round,omitempty"`
	// Turn is the set read last; the next Fetch reads the next set after
	// it, in id order.
	Turn string `json:"turn,omitempty"`
	// Sets holds the position of each set read so far, by set id.
	Sets map[string]*setCursor `json:"sets,omitempty"`
	// Last is the field of pipeline.TimeCursor, read only when Sets is
	// absent and never written.
	Last *time.Time `json:"last,omitempty"`
}

// setCursor is the position of one set. Its invariant: every record of the
// set with an EventTime before Last, and the first N records at exactly
// Last in the API's order, have been emitted, and no other record.
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
}

// decodeCursor returns the cursor of raw: the start cursor when raw is
// empty, every set at t for pipeline.TimeCursor(t).
func (s *Source) decodeCursor(raw pipeline.Cursor) (cursor, error) {
	var c cursor
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return cursor{}, fmt.Errorf("decode cursor of %s: %w", s.stream, err)
		}
	}
	if c.Sets == nil && c.Last != nil {
		t := c.Last.UTC().Truncate(time.Millisecond)
		c = cursor{Start: &t}
	}
	c.Last = nil
	if c.Start != nil {
		t := c.Start.UTC().Truncate(time.Millisecond)
		c.Start = &t
	}
	if c.Round != nil {
		t := c.Round.UTC().Truncate(time.Second)
		c.Round = &t
	}
	if c.Sets == nil {
		c.Sets = map[string]*setCursor{}
	}
	for id, sc := range c.Sets {
		if err := sc.normalize(); err != nil {
			return cursor{}, fmt.Errorf("decode cursor of %s: set %s: %w", s.stream, id, err)
		}
	}
	return c, nil
}

// normalize checks a decoded set position and puts its times in UTC.
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
	for _, p := range []**time.Time{&sc.End, &sc.From} {
		if *p != nil {
			t := (*p).UTC().Truncate(time.Second)
			*p = &t
		}
	}
	return nil
}

// encode returns c as JSON. Map keys are sorted, so equal cursors encode
// to equal bytes.
func (c cursor) encode() pipeline.Cursor {
	b, err := json.Marshal(c)
	if err != nil {
		// Unreachable: a cursor holds only strings, ints and valid times.
		panic(fmt.Sprintf("epm: encode cursor: %v", err))
	}
	return b
}

// startOf returns where a set without position begins.
func (s *Source) startOf(c cursor) time.Time {
	if c.Start != nil {
		return *c.Start
	}
	return s.start
}

// position returns the position of set id: its own, or a fresh one at the
// cursor's start.
func (s *Source) position(c cursor, id string) setCursor {
	if sc, ok := c.Sets[id]; ok {
		return *sc
	}
	return setCursor{Last: s.startOf(c)}
}

// needsWork reports whether set id has something to read in the round.
func (s *Source) needsWork(c cursor, id string, round time.Time) bool {
	if f, ok := s.failed[id]; ok && f.Equal(round) {
		return false
	}
	p := s.position(c, id)
	return p.End != nil || p.Last.Before(round)
}

// pick returns the set to read next: the first set after c.Turn, in id
// order, that needs work in the round.
func (s *Source) pick(c cursor, sets []Set, round time.Time) (string, bool) {
	var first string
	for _, set := range sets {
		if !s.needsWork(c, set.ID, round) {
			continue
		}
		if set.ID > c.Turn {
			return set.ID, true
		}
		if first == "" {
			first = set.ID
		}
	}
	return first, first != ""
}

// completeUpTo returns the time the stream is complete up to: the earliest
// position of the visible sets (zero when there are none).
func (s *Source) completeUpTo(c cursor, sets []Set) time.Time {
	var t time.Time
	for _, set := range sets {
		if p := s.position(c, set.ID).Last; t.IsZero() || p.Before(t) {
			t = p
		}
	}
	return t
}

// Fetch reads one page of one set: the next set of the round that has
// something to read. See the package documentation.
func (s *Source) Fetch(ctx context.Context, raw pipeline.Cursor) (pipeline.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.decodeCursor(raw)
	if err != nil {
		return pipeline.Page{}, err
	}
	horizon := s.now().Add(-s.lag).UTC().Truncate(time.Second)
	newRound := cur.Round == nil
	if newRound {
		cur.Round = &horizon
	}
	round := *cur.Round
	sets, err := s.visibleSets(ctx, cur, newRound)
	if err != nil {
		return pipeline.Page{}, err
	}

	var page pipeline.Page
	if id, ok := s.pick(cur, sets, round); ok {
		next, records, err := s.scanSet(ctx, id, s.position(cur, id), round, s.startOf(cur))
		switch {
		case err == nil:
			cur.Sets[id] = &next
			page.Records = records
		case setLevelError(err) && ctx.Err() == nil:
			// A set the account may no longer see, or a request the
			// server rejects for this set alone: the other sets go on,
			// and this one is tried again next round.
			s.failed[id] = round
			s.log.ErrorContext(ctx, "epm set skipped until the next round", "stream", s.stream, "set", id, "error", err)
		default:
			return pipeline.Page{}, err
		}
		cur.Turn = id
	}
	if _, more := s.pick(cur, sets, round); !more {
		// Every set is read up to the round's horizon.
		page.Done = horizon.Sub(round) < caughtUp
		cur.Round, cur.Turn = nil, ""
	}
	page.Next = cur.encode()
	page.Position = s.completeUpTo(cur, sets)
	return page, nil
}

// setLevelError reports whether err concerns one set only: the API
// rejected the request for it (400, 403, 404) after any retries.
func setLevelError(err error) bool {
	return httpx.IsStatus(err, http.StatusBadRequest) || httpx.IsStatus(err, http.StatusForbidden) ||
		httpx.IsStatus(err, http.StatusNotFound) || errors.Is(err, errBadURLValue)
}

// visibleSets returns the sets to read, sorted by id: the configured ones,
// or the account's, read again at the start of a round and every refresh.
func (s *Source) visibleSets(ctx context.Context, cur cursor, newRound bool) ([]Set, error) {
	if len(s.fixed) > 0 {
		return s.fixed, nil
	}
	now := s.now()
	if s.sets != nil && !newRound && now.Sub(s.setsAt) < s.refresh {
		return s.sets, nil
	}
	sets, err := s.reader.Sets(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(sets, func(a, b Set) int { return strings.Compare(a.ID, b.ID) })
	sets = slices.CompactFunc(sets, func(a, b Set) bool { return a.ID == b.ID })
	for _, set := range sets {
		if s.known[set.ID] {
			continue
		}
		s.known[set.ID] = true
		p := s.position(cur, set.ID)
		s.log.InfoContext(ctx, "epm set found", "stream", s.stream, "set", set.ID, "set_name", set.Name,
			"has_position", cur.Sets[set.ID] != nil, "from", p.Last)
	}
	s.sets, s.setsAt = sets, now
	return sets, nil
}

// utcSecond returns t truncated to the second, in UTC.
func utcSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// scanSet reads set id from position p, within the round, and returns its
// next position and the records to emit.
func (s *Source) scanSet(ctx context.Context, id string, p setCursor, round, start time.Time) (setCursor, []pipeline.Record, error) {
	if p.End == nil {
		// Open a window [a, b): a is the second of Last, b at most
		// MaxWindow later and never past the round's horizon. The query
		// starts a second before a, so that whether the vendor's DateFrom
		// is inclusive or not, every record at a is in the result set.
		a := utcSecond(p.Last)
		b := a.Add(s.maxWindow)
		if round.Before(b) {
			b = round
		}
		if !b.After(p.Last) {
			return p, nil, nil
		}
		from := a.Add(-time.Second)
		p.End, p.From = &b, &from
		p.Offset, p.Total, p.Anchor = 0, 0, ""
	}
	sc := &scan{src: s, setID: id, cur: p, start: start, end: *p.End, from: *p.From}
	if err := sc.run(ctx); err != nil {
		return setCursor{}, nil, err
	}
	sc.report(ctx)

	var next setCursor
	if sc.complete {
		// Every record before End is emitted: the window closes there.
		next.Last = sc.end
	} else {
		end, from := sc.end, sc.from
		next = setCursor{Last: sc.last, N: sc.n, Same: sc.sameHashes(), End: &end, From: &from, Offset: sc.offset, Total: sc.total}
		if sc.offset > 0 {
			next.Anchor = anchorOf(sc.lastRaw)
		}
	}
	return next, sc.records, nil
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
