// Package zipcsv reads the report files vendors ship as a ZIP archive
// holding one CSV (Oracle EPM Cloud's user audit report, Revenera's raw
// event files) as a stream of rows: the archive's compressed bytes stay in
// memory as downloaded, the CSV is decompressed and parsed a row at a
// time and never held whole.
//
// A file may start with a UTF-8 byte-order mark and with preamble lines
// before its header (Oracle writes a quoted, encrypted application id
// there); Options.IsHeader tells the header from the preamble. Columns are
// found by name, case-insensitively, with aliases (Columns).
package zipcsv

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxPreamble is how many records before the header Options allows
// by default.
const DefaultMaxPreamble = 5

// Options tune how a file is read.
type Options struct {
	// IsHeader reports whether a record is the header. Records before it
	// are preamble and skipped. Default: the first record is the header.
	IsHeader func(fields []string) bool
	// MaxPreamble is the most records skipped looking for the header.
	// Default DefaultMaxPreamble.
	MaxPreamble int
}

// File is an opened archive: the one CSV entry of a ZIP.
type File struct {
	entry *zip.File
	opts  Options
}

// Open opens the ZIP in data. It must hold exactly one file whose name
// ends in .csv (case-insensitively; directories and other files are
// ignored). data is not copied and must not change while File is used.
func Open(data []byte, opts Options) (*File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("read zip archive of %d bytes: %w", len(data), err)
	}
	var found []*zip.File
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.FileInfo().IsDir() && strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("zip archive holds no .csv file (entries: %q)", names)
	case 1:
	default:
		return nil, fmt.Errorf("zip archive holds %d .csv files, want one (entries: %q)", len(found), names)
	}
	if opts.MaxPreamble <= 0 {
		opts.MaxPreamble = DefaultMaxPreamble
	}
	return &File{entry: found[0], opts: opts}, nil
}

// Name returns the CSV entry's name in the archive.
func (f *File) Name() string { return f.entry.Name }

// Size returns the CSV's uncompressed size as the archive states it.
func (f *File) Size() uint64 { return f.entry.UncompressedSize64 }

// Rows opens the CSV from its start, reads past the byte-order mark and
// the preamble, and returns the reader positioned at the first data row.
func (f *File) Rows() (*Rows, error) {
	rc, err := f.entry.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s in the zip archive: %w", f.entry.Name, err)
	}
	r, err := newRows(rc, f.opts)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("read %s: %w", f.entry.Name, err)
	}
	r.closer = rc
	return r, nil
}

// Row is one data row of a CSV.
type Row struct {
	// Fields are the row's values. They belong to the caller.
	Fields []string
	// Index is the row's position among the data rows, from 0.
	Index int
	// Line is the row's first line in the file, from 1 (the header and
	// preamble lines count), for error messages and dead letters.
	Line int
	// Err is set when the row is malformed (its field count differs from
	// the header's); Fields holds what was read. The rows after it are
	// read normally.
	Err error
}

// Rows reads the data rows of a CSV one at a time.
type Rows struct {
	csv    *csv.Reader
	header []string
	next   int // Index of the next row
	closer io.Closer
}

// NewRows reads a CSV (not zipped) from r; Rows of a File is the same over
// its entry. It reads the header before it returns.
func NewRows(r io.Reader, opts Options) (*Rows, error) {
	if opts.MaxPreamble <= 0 {
		opts.MaxPreamble = DefaultMaxPreamble
	}
	return newRows(r, opts)
}

func newRows(r io.Reader, opts Options) (*Rows, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	rows := &Rows{csv: cr}
	for skipped := 0; ; skipped++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no header row: the file is empty")
		}
		if err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
		if opts.IsHeader == nil || opts.IsHeader(rec) {
			rows.header = rec
			for i, h := range rec {
				rows.header[i] = strings.TrimSpace(h)
			}
			return rows, nil
		}
		if skipped >= opts.MaxPreamble {
			return nil, fmt.Errorf("no header row in the first %d records", opts.MaxPreamble+1)
		}
	}
}

// Header returns the header's column names, trimmed of spaces.
func (r *Rows) Header() []string { return r.header }

// Next returns the next data row, or io.EOF after the last. An error other
// than io.EOF means the rest of the file cannot be read.
func (r *Rows) Next() (Row, error) {
	rec, err := r.csv.Read()
	row := Row{Fields: rec, Index: r.next}
	if len(rec) > 0 {
		row.Line, _ = r.csv.FieldPos(0)
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return Row{}, io.EOF
		case errors.As(err, &pe):
			// A malformed row; the reader goes on at the next line.
			row.Line, row.Err = pe.StartLine, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
			r.next++
			return row, nil
		default:
			return Row{}, fmt.Errorf("read row %d: %w", r.next+1, err)
		}
	}
	r.next++
	if len(rec) != len(r.header) {
		row.Err = fmt.Errorf("line %d has %d fields, the header %d", row.Line, len(rec), len(r.header))
	}
	return row, nil
}

// Read returns the number of data rows read so far: the Index of the next.
func (r *Rows) Read() int { return r.next }

// Skip reads past n data rows.
func (r *Rows) Skip(n int) error {
	for range n {
		if _, err := r.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("skip to row %d: the file has only %d rows", r.next+n, r.next)
			}
			return err
		}
	}
	return nil
}

// Close releases the decompressor.
func (r *Rows) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}
