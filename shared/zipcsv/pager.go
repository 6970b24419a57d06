package zipcsv

import (
	"context"
	"fmt"
)

// Pager keeps the one file a stream is reading open between its pages, so
// that a page continues where the previous one stopped without
// downloading the file again or re-reading its rows. Asked for another
// position of the same file (a page read ahead and discarded, a restart
// within a process), it re-opens the archive it holds and skips to it;
// asked for another file, it drops the one it has and loads the new one.
// It is not safe for concurrent use (a Source's Fetches never are).
type Pager struct {
	key  string
	data []byte
	file *File
	rows *Rows
}

// At returns the rows of the file named key positioned at data row
// offset. load downloads the archive when the Pager does not hold key's.
// The Rows stay owned by the Pager: read from them, do not close them.
func (p *Pager) At(ctx context.Context, key string, offset int, opts Options, load func(ctx context.Context) ([]byte, error)) (*Rows, error) {
	if p.key == key && p.rows != nil && p.rows.Read() == offset {
		return p.rows, nil
	}
	if p.key != key || p.file == nil {
		p.Drop()
		data, err := load(ctx)
		if err != nil {
			return nil, err
		}
		f, err := Open(data, opts)
		if err != nil {
			return nil, err
		}
		p.key, p.data, p.file = key, data, f
	}
	if p.rows != nil {
		p.rows.Close()
		p.rows = nil
	}
	rows, err := p.file.Rows()
	if err != nil {
		p.Drop()
		return nil, err
	}
	if err := rows.Skip(offset); err != nil {
		rows.Close()
		p.Drop()
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	p.rows = rows
	return rows, nil
}

// Key returns the name of the file held, "" when none.
func (p *Pager) Key() string { return p.key }

// Bytes returns the size of the archive held.
func (p *Pager) Bytes() int { return len(p.data) }

// Drop releases the file held, so its memory can be reclaimed.
func (p *Pager) Drop() {
	if p.rows != nil {
		p.rows.Close()
	}
	*p = Pager{}
}
