package revenera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

// DefaultPageRows is the most rows of one page of a file stream.
const DefaultPageRows = 1000

// FileReader lists and downloads raw data files; *Client is one.
type FileReader interface {
	ListFiles(ctx context.Context, kind Kind, product string) (Listing, error)
	Download(ctx context.Context, kind Kind, product, name string) ([]byte, error)
}

// FileSourceConfig configures a FileSource.
type FileSourceConfig struct {
	// Product is the product id; Kind the kind of files.
	Product string
	Kind    Kind
	// Start is where a stream without checkpoint begins, inclusive.
	Start time.Time
	// PageRows is the most rows of a page. Default DefaultPageRows.
	PageRows int
	// Clock tells the time when a listing names no open or daily file.
	// Default time.Now.
	Clock func() time.Time
	// Logger receives a record per file started, gap and wait. Default
	// slog.Default().
	Logger *slog.Logger
}

// FileSource is the stream of one kind of raw data files of one product.
// See the package documentation for its cursor and the choice of files.
type FileSource struct {
	r     FileReader
	cfg   FileSourceConfig
	name  string
	log   *slog.Logger
	pager zipcsv.Pager
	st    *readState

	waitingFor string // the wait last logged, to log each once
	gaps       atomic.Int64
}

// NewFileSource returns the FileSource of cfg reading through r.
func NewFileSource(r FileReader, cfg FileSourceConfig) *FileSource {
	if cfg.PageRows <= 0 {
		cfg.PageRows = DefaultPageRows
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	name := StreamName(cfg.Product, cfg.Kind.Stream)
	return &FileSource{r: r, cfg: cfg, name: name, log: cfg.Logger.With("stream", name)}
}

// Stream returns the stream name, revenera/<product>/<kind>.
func (s *FileSource) Stream() string { return s.name }

// GapDays returns the number of days skipped because no file held them.
func (s *FileSource) GapDays() int64 { return s.gaps.Load() }

// FileCursor is a file stream's position. Its invariant: every row of
// every day before Day has been emitted (or was before START_TIME, or in no
// file), and of Day's rows exactly these: the rows of File before data row
// Row that pass the filter (see the package documentation).
type FileCursor struct {
	// Day is the first day not complete.
	Day utcday.Day `json:"day"`
	// From, when set, skips the rows before it (START_TIME, or the time of
	// a reset, inside Day).
	From *time.Time `json:"from,omitempty"`
	// File is the file being read, "" between files; Monthly says which
	// kind it is.
	File    string `json:"file,omitempty"`
	Monthly bool   `json:"monthly,omitempty"`
	// Row is the number of data rows of File consumed.
	Row int `json:"row,omitempty"`
	// Done is the number of Day's rows emitted from a daily file that
	// the vendor no longer lists (aged into its monthly file mid-read);
	// the first Done rows of Day are skipped.
	Done int `json:"done,omitempty"`
}

// decodeFileCursor reads cur: a FileCursor, pipeline.TimeCursor's
// {"last": t}, or nil for the start.
func (s *FileSource) decodeFileCursor(cur pipeline.Cursor) (FileCursor, error) {
	at := func(t time.Time) FileCursor {
		t = t.UTC()
		c := FileCursor{Day: utcday.Of(t)}
		if !t.Equal(c.Day.Start()) {
			c.From = &t
		}
		return c
	}
	if len(bytes.TrimSpace(cur)) == 0 {
		return at(s.cfg.Start), nil
	}
	var raw struct {
		Day  *utcday.Day `json:"day"`
		Last *time.Time  `json:"last"`
		FileCursor
	}
	if err := json.Unmarshal(cur, &raw); err != nil || (raw.Day == nil && raw.Last == nil) || raw.Row < 0 || raw.Done < 0 {
		return FileCursor{}, backoff.Permanent(fmt.Errorf("cursor %.200s of %s is not a file cursor {\"day\":…} or {\"last\":…}; reset the stream with auditctl checkpoints reset %s", cur, s.name, s.name))
	}
	if raw.Day == nil {
		return at(*raw.Last), nil
	}
	c := raw.FileCursor
	c.Day = *raw.Day
	return c, nil
}

func encodeFileCursor(c FileCursor) pipeline.Cursor {
	b, _ := json.Marshal(c)
	return b
}

// Fetch returns the page after cur: the next rows of the file in progress,
// or of the file chosen for the cursor's day.
func (s *FileSource) Fetch(ctx context.Context, cur pipeline.Cursor) (pipeline.Page, error) {
	c, err := s.decodeFileCursor(cur)
	if err != nil {
		return pipeline.Page{}, err
	}
	if c.File != "" && s.aligned(c) {
		return s.read(ctx, c)
	}
	list, err := s.r.ListFiles(ctx, s.cfg.Kind, s.cfg.Product)
	if err != nil {
		return pipeline.Page{}, err
	}
	if len(list.Problems) > 0 {
		s.log.WarnContext(ctx, "revenera listing entries ignored", "problems", list.Problems)
	}
	ix := indexListing(list, utcday.Of(s.cfg.Clock()))
	if c.File != "" {
		if f, ok := ix.byName[c.File]; ok && f.Monthly == c.Monthly {
			return s.read(ctx, c)
		}
		// The file in progress is gone: a daily file aged into its
		// monthly file between two runs. Its rows read so far are rows
		// of Day; the monthly file skips them.
		s.log.InfoContext(ctx, "revenera file in progress no longer listed", "file", c.File, "day", c.Day, "rows_read", c.Row)
		done := c.Done
		if !c.Monthly {
			done = c.Row
		}
		c = FileCursor{Day: c.Day, From: c.From, Done: done}
	}
	ch := ix.choose(c.Day)
	switch {
	case ch.file.Name != "":
		s.waitingFor = ""
		c.File, c.Monthly, c.Row = ch.file.Name, ch.file.Monthly, 0
		s.log.InfoContext(ctx, "revenera file started", "file", c.File, "day", c.Day, "monthly", c.Monthly, "size", ch.file.Size)
		return s.read(ctx, c)
	case ch.gapTo > c.Day:
		s.waitingFor = ""
		days := int(ch.gapTo - c.Day)
		s.gaps.Add(int64(days))
		reason := fmt.Sprintf("revenera %s of product %s: no daily or monthly file holds the days %s..%s (older than the vendor keeps them); %d days skipped",
			s.cfg.Kind.Stream, s.cfg.Product, c.Day, ch.gapTo-1, days)
		s.log.WarnContext(ctx, "revenera days in no file skipped", "from", c.Day, "to", ch.gapTo-1, "days", days)
		raw, _ := json.Marshal(map[string]string{"from": c.Day.String(), "to": (ch.gapTo - 1).String()})
		next := FileCursor{Day: ch.gapTo}
		return pipeline.Page{Next: encodeFileCursor(next), Position: next.Day.Start(), DeadLetters: []pipeline.SourceDeadLetter{{Reason: reason, Raw: raw}}}, nil
	default:
		if w := c.Day.String() + ": " + ch.why; w != s.waitingFor && c.Day < ix.today {
			s.log.WarnContext(ctx, "revenera day has no file yet, waiting", "day", c.Day, "why", ch.why)
			s.waitingFor = w
		}
		return pipeline.Page{Next: encodeFileCursor(c), Position: c.Day.Start(), Done: true}, nil
	}
}

// readState is the reading of one file, aligned with the cursor of the
// page it ends: the rows are at pos, and the filter's counters are those
// of the rows before pos.
type readState struct {
	key     string
	pos     int
	cursor  FileCursor // Day, From, Done, Monthly of the reading
	rows    *zipcsv.Rows
	header  []string
	timeCol int
	// lastDay is the day of the last row with a valid time (monthly).
	lastDay utcday.Day
	// dayRows counts the rows of the cursor's Day met.
	dayRows int
	// dups counts rows by content hash: with full, the rows of dupDay;
	// without, the rows of the current run of equal times (lastTime) of
	// dupDay, which is enough while the rows come in time order, since
	// equal rows have equal times.
	dups     map[uint64]uint32
	dupDay   utcday.Day
	full     bool
	lastTime time.Time
}

// aligned reports whether the file held continues exactly at c.
func (s *FileSource) aligned(c FileCursor) bool {
	st := s.st
	return st != nil && s.pager.Key() == c.File && st.key == c.File && st.pos == c.Row && sameReading(st.cursor, c)
}

func sameReading(a, b FileCursor) bool {
	return a.Day == b.Day && a.Done == b.Done && a.Monthly == b.Monthly && a.File == b.File &&
		((a.From == nil && b.From == nil) || (a.From != nil && b.From != nil && a.From.Equal(*b.From)))
}

// open returns the reading of c.File positioned at c.Row: the one held, or
// the file from its first row (downloaded unless the Pager holds it) with
// the rows before c.Row read again to rebuild the filter's counters.
func (s *FileSource) open(ctx context.Context, c FileCursor) (*readState, error) {
	if s.aligned(c) {
		return s.st, nil
	}
	return s.replay(ctx, c, c.Row, false)
}

// replay opens c.File at its first row and reads the rows before upTo
// again, counting them without emitting any. Without full, it counts
// duplicates within runs of equal times only, and starts over with full
// when it meets rows out of time order (see filter).
func (s *FileSource) replay(ctx context.Context, c FileCursor, upTo int, full bool) (*readState, error) {
	s.st = nil
	rows, err := s.pager.At(ctx, c.File, 0, zipcsv.Options{}, func(ctx context.Context) ([]byte, error) {
		return s.r.Download(ctx, s.cfg.Kind, s.cfg.Product, c.File)
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.File, err)
	}
	cols := zipcsv.NewColumns(rows.Header())
	st := &readState{key: c.File, cursor: c, rows: rows, header: rows.Header(), timeCol: cols.Index(s.cfg.Kind.TimeColumns...),
		lastDay: c.Day.Month(), dups: map[uint64]uint32{}, dupDay: -1, full: full}
	for st.pos < upTo {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			s.log.WarnContext(ctx, "revenera file is shorter than the cursor; it is taken as complete", "file", c.File, "rows", st.pos, "cursor_row", upTo)
			break
		}
		if err != nil {
			s.pager.Drop()
			return nil, fmt.Errorf("read %s at row %d: %w", c.File, st.pos, err)
		}
		st.pos++
		if _, _, unsorted := s.filter(st, row); unsorted {
			return s.replay(ctx, c, upTo, true)
		}
	}
	s.st = st
	return st, nil
}

// read returns the next page of c.File.
func (s *FileSource) read(ctx context.Context, c FileCursor) (pipeline.Page, error) {
	st, err := s.open(ctx, c)
	if err != nil {
		return pipeline.Page{}, err
	}
	records := make([]pipeline.Record, 0, min(s.cfg.PageRows, 256))
	complete := st.pos < c.Row // shorter than the cursor
	for !complete && len(records) < s.cfg.PageRows {
		row, err := st.rows.Next()
		if errors.Is(err, io.EOF) {
			complete = true
			break
		}
		if err != nil {
			s.st = nil
			s.pager.Drop()
			return pipeline.Page{}, fmt.Errorf("read %s at row %d: %w", c.File, st.pos, err)
		}
		st.pos++
		rec, ok, unsorted := s.filter(st, row)
		if unsorted {
			// Rows out of time order: count the day's rows by content
			// from here on, rebuilt from the file's start; the row is
			// read again.
			s.log.DebugContext(ctx, "revenera file rows out of time order, counting duplicates over whole days", "file", c.File, "row", st.pos)
			if st, err = s.replay(ctx, st.cursor, st.pos-1, true); err != nil {
				return pipeline.Page{}, err
			}
			continue
		}
		if ok {
			records = append(records, rec)
		}
	}
	next := c
	next.Row = st.pos
	position := c.Day.Start()
	if complete {
		s.st = nil
		s.pager.Drop()
		if c.Monthly {
			next = FileCursor{Day: c.Day.NextMonth()}
		} else {
			next = FileCursor{Day: c.Day + 1}
		}
		position = next.Day.Start()
		s.log.DebugContext(ctx, "revenera file complete", "file", c.File, "rows", st.pos)
	} else {
		st.cursor = next
	}
	return pipeline.Page{Records: records, Next: encodeFileCursor(next), Position: position}, nil
}

// filter counts row in st and returns its record when the cursor's
// reading emits it: rows of days before Day (in a monthly file), the
// first Done rows of Day and rows before From are skipped. A row is
// attributed to its file's day in a daily file, and to the day of its
// time in a monthly file (a row without a valid time: the day of the last
// row with one). Its occurrence is the number of equal rows before it on
// its day. Without full, only the current run of equal times is counted;
// a row out of time order (or without a valid time) is not counted and
// reports unsorted: the caller counts again with full.
func (s *FileSource) filter(st *readState, row zipcsv.Row) (rec pipeline.Record, emit, unsorted bool) {
	c := st.cursor
	timeText := zipcsv.Field(row.Fields, st.timeCol)
	t, ok := ParseCSVTime(timeText)
	day := c.Day
	if c.Monthly && ok {
		day = utcday.Of(t)
	} else if c.Monthly {
		day = st.lastDay
	}
	if !st.full && (!ok || (day == st.dupDay && t.Before(st.lastTime))) {
		return pipeline.Record{}, false, true
	}
	if c.Monthly && ok {
		st.lastDay = day
	}
	if day != st.dupDay || (!st.full && !t.Equal(st.lastTime)) {
		clear(st.dups)
		st.dupDay = day
	}
	st.lastTime = t
	h := hashFields(row.Fields)
	k := st.dups[h]
	st.dups[h] = k + 1
	switch {
	case day < c.Day:
		return pipeline.Record{}, false, false
	case day == c.Day:
		st.dayRows++
		if st.dayRows <= c.Done {
			return pipeline.Record{}, false, false
		}
	}
	if ok && c.From != nil && t.Before(*c.From) {
		return pipeline.Record{}, false, false
	}
	fr := &FileRow{File: c.File, Line: row.Line, Header: st.header, Fields: row.Fields, Time: t, TimeText: timeText, Occurrence: int(k), Err: row.Err}
	size := 2 + 6*len(row.Fields)
	for i, f := range row.Fields {
		size += len(f) + len(zipcsv.Field(st.header, i))
	}
	return pipeline.Record{Raw: zipcsv.AppendObject(make([]byte, 0, size+size/8), st.header, row.Fields), Value: fr}, true, false
}

// hashFields returns the FNV-1a hash of a row's fields, each followed by a
// separator byte that CSV text cannot make ambiguous (the field count is
// hashed as well). Equal rows hash equally; a collision of two different
// rows only raises the second's occurrence number, and its id stays its
// own, because the id hashes the content.
func hashFields(fields []string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, f := range fields {
		for i := 0; i < len(f); i++ {
			h ^= uint64(f[i])
			h *= prime
		}
		h ^= 0xff
		h *= prime
	}
	h ^= uint64(len(fields))
	h *= prime
	return h
}
