package oracle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/auditstream/auditstream/shared/asyncjob"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

// Reporter gets the report of one day from the vendor. The two
// implementations are the user audit report (AuditReporter: a job and a
// file) and its successor, the User Login Report (LoginReporter: one
// synchronous call); both yield the same Rows.
type Reporter interface {
	// Report requests the rows of req.Day (since = until = the day) as
	// the vendor has them now. An error means no report; files it may
	// have left in the instance were passed to req.Leftover first.
	Report(ctx context.Context, req Request) (Report, error)
}

// FileDeleter is a Reporter whose reports are files in the instance: the
// Source keeps the names of those it could not delete and deletes them
// later.
type FileDeleter interface {
	// DeleteFile deletes the file name; a file that does not exist is
	// an error wrapping ErrNotFound.
	DeleteFile(ctx context.Context, name string) error
}

// Request is one report request.
type Request struct {
	// Day is the day whose rows are asked for.
	Day utcday.Day
	// Name is the request's own file name, unique per request, so that
	// two pollers or a restart never read each other's file.
	Name string
	// Leftover, when set, is called with every file the request may
	// leave in the instance (a submit whose answer was lost, a job
	// abandoned, a delete that failed), with the time of the submit.
	Leftover func(name string, submitted time.Time, reason string)
}

// leftover calls r.Leftover when it is set.
func (r Request) leftover(submitted time.Time, reason string) {
	if r.Leftover != nil {
		r.Leftover(r.Name, submitted, reason)
	}
}

// Report is a report of one day, read as a stream of rows that can be
// restarted at any row.
type Report interface {
	// ID names the report: its file name, or the request's name.
	ID() string
	// Size is the number of bytes the report holds in memory.
	Size() int
	// Rows returns the rows from data row offset on (0 is the first).
	// A Report hands out one reader at a time: Rows again invalidates
	// the previous one; a reader at offset already is handed back.
	Rows(ctx context.Context, offset int) (RowReader, error)
	// Close releases the report.
	Close()
}

// RowReader reads the rows of a Report in the vendor's order.
type RowReader interface {
	// Next returns the next row, or io.EOF after the last. Another error
	// means the rest of the report cannot be read.
	Next() (Row, error)
	// Read returns the number of rows read so far from the report's
	// start: the offset of the next row.
	Read() int
}

// AuditReporter is the Reporter of the user audit report: submit a job
// (never retried once the vendor may have acted on it), poll its Job
// Status link as given every interval until it ends or times out,
// download the ZIP, and delete the file.
type AuditReporter struct {
	client *Client
	wait   asyncjob.Config
	log    *slog.Logger
	now    func() time.Time
}

// AuditReporterConfig configures an AuditReporter.
type AuditReporterConfig struct {
	// PollInterval and Timeout bound the wait for a job. Defaults 5s and
	// 30m.
	PollInterval, Timeout time.Duration
	// Now and Sleep tell and pass the time; tests replace them. Defaults
	// time.Now and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives failed jobs. Default slog.Default().
	Logger *slog.Logger
}

// NewAuditReporter returns the user audit reporter of client.
func NewAuditReporter(client *Client, cfg AuditReporterConfig) *AuditReporter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &AuditReporter{
		client: client,
		wait:   asyncjob.Config{Interval: cfg.PollInterval, Timeout: cfg.Timeout, Now: cfg.Now, Sleep: cfg.Sleep},
		log:    cfg.Logger,
		now:    cfg.Now,
	}
}

// downloadAttempts is how many times a file whose job said it completed is
// asked for while the download answers 404, a poll interval apart.
const downloadAttempts = 3

// Report runs one user audit report job for req.Day and returns its file.
func (a *AuditReporter) Report(ctx context.Context, req Request) (Report, error) {
	submitted := a.now()
	href, err := a.client.Submit(ctx, req.Name, req.Day, req.Day)
	if err != nil {
		if errors.Is(err, httpx.ErrOutcomeUnknown) || IsNameTaken(err) || ctx.Err() != nil {
			req.leftover(submitted, "submit answer lost")
		}
		return nil, fmt.Errorf("submit oracle user audit report for %s: %w", req.Day, err)
	}
	polls, err := asyncjob.Wait(ctx, a.wait, func(ctx context.Context) (bool, error) {
		st, err := a.client.JobStatus(ctx, href)
		switch {
		case err != nil:
			return false, err
		case st.Done():
			return true, nil
		case st.Failed():
			return false, &asyncjob.Failed{Status: st.Status, Details: st.Details}
		case st.Running():
			return false, nil
		}
		return false, fmt.Errorf("job status %d is neither running (-1), done (0) nor failed (>0): %s", st.Status, st.Details)
	})
	if err != nil {
		var failed *asyncjob.Failed
		if errors.As(err, &failed) {
			a.log.Warn("report job failed", "day", req.Day.String(), "file", req.Name, "status", failed.Status, "details", failed.Details, "polls", polls)
			return nil, fmt.Errorf("oracle user audit report for %s: %w", req.Day, err)
		}
		reason := "job status unknown"
		if errors.Is(err, asyncjob.ErrTimedOut) {
			reason = "job abandoned at its timeout"
		}
		req.leftover(submitted, reason)
		return nil, fmt.Errorf("wait for oracle user audit report for %s: %w", req.Day, err)
	}
	var data []byte
	for attempt := 1; ; attempt++ {
		data, err = a.client.Download(ctx, req.Name)
		if err == nil || !errors.Is(err, ErrNotFound) || attempt == downloadAttempts {
			break
		}
		sleep := a.wait.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if serr := sleep(ctx, max(a.wait.Interval, 100*time.Millisecond)); serr != nil {
			break
		}
	}
	if err != nil {
		req.leftover(submitted, "download failed")
		return nil, fmt.Errorf("download oracle user audit report for %s: %w", req.Day, err)
	}
	if err := a.client.Delete(ctx, req.Name); err != nil && !errors.Is(err, ErrNotFound) {
		req.leftover(submitted, "delete failed")
	}
	rep, err := NewZipReport(req.Name, data)
	if err != nil {
		return nil, fmt.Errorf("oracle user audit report for %s: %w", req.Day, err)
	}
	return rep, nil
}

// DeleteFile deletes a report file.
func (a *AuditReporter) DeleteFile(ctx context.Context, name string) error {
	return a.client.Delete(ctx, name)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ZipReport is a downloaded report file: the ZIP's bytes, decompressed and
// parsed a row at a time through a zipcsv.Pager, which keeps the reader
// open between pages and re-opens and skips for another offset.
type ZipReport struct {
	name  string
	data  []byte
	pager zipcsv.Pager
}

// NewZipReport checks that data is a ZIP holding one CSV with a report
// header and returns it as a Report named name.
func NewZipReport(name string, data []byte) (*ZipReport, error) {
	r := &ZipReport{name: name, data: data}
	rows, err := r.Rows(context.Background(), 0)
	if err != nil {
		return nil, err
	}
	_ = rows
	return r, nil
}

// ID returns the file name.
func (r *ZipReport) ID() string { return r.name }

// Size returns the ZIP's size.
func (r *ZipReport) Size() int { return len(r.data) }

// Rows returns the rows from offset on.
func (r *ZipReport) Rows(ctx context.Context, offset int) (RowReader, error) {
	rows, err := r.pager.At(ctx, r.name, offset, CSVOptions, func(context.Context) ([]byte, error) { return r.data, nil })
	if err != nil {
		return nil, fmt.Errorf("read report file %s: %w", r.name, err)
	}
	cols, err := NewColumns(rows.Header())
	if err != nil {
		return nil, fmt.Errorf("read report file %s: %w", r.name, err)
	}
	return &csvRows{rows: rows, cols: cols}, nil
}

// Close releases the file.
func (r *ZipReport) Close() {
	r.pager.Drop()
	r.data = nil
}

// csvRows reads the rows of a report CSV.
type csvRows struct {
	rows *zipcsv.Rows
	cols Columns
}

func (c *csvRows) Next() (Row, error) {
	r, err := c.rows.Next()
	if err != nil {
		return Row{}, err
	}
	return c.cols.DecodeRow(r), nil
}

func (c *csvRows) Read() int { return c.rows.Read() }

// LoginReporter is the Reporter of the User Login Report, the user audit
// report's synchronous successor.
type LoginReporter struct {
	client *Client
}

// NewLoginReporter returns the User Login Report reporter of client.
func NewLoginReporter(client *Client) *LoginReporter { return &LoginReporter{client: client} }

// Report gets the User Login Report of req.Day.
func (l *LoginReporter) Report(ctx context.Context, req Request) (Report, error) {
	rows, err := l.client.LoginReport(ctx, req.Day, req.Day)
	if err != nil {
		return nil, fmt.Errorf("get oracle user login report for %s: %w", req.Day, err)
	}
	size := 0
	for _, r := range rows {
		size += len(r.JSON)
	}
	return &sliceReport{id: req.Name, rows: rows, size: size}, nil
}

// sliceReport is a report held as decoded rows.
type sliceReport struct {
	id   string
	rows []Row
	size int
}

func (s *sliceReport) ID() string { return s.id }
func (s *sliceReport) Size() int  { return s.size }
func (s *sliceReport) Close()     { s.rows = nil }
func (s *sliceReport) Rows(_ context.Context, offset int) (RowReader, error) {
	if offset < 0 || offset > len(s.rows) {
		return nil, fmt.Errorf("report %s: offset %d past its %d rows", s.id, offset, len(s.rows))
	}
	return &sliceRows{rows: s.rows, next: offset}, nil
}

// sliceRows reads a sliceReport.
type sliceRows struct {
	rows []Row
	next int
}

func (s *sliceRows) Next() (Row, error) {
	if s.next >= len(s.rows) {
		return Row{}, io.EOF
	}
	s.next++
	return s.rows[s.next-1], nil
}

func (s *sliceRows) Read() int { return s.next }
