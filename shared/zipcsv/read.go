package zipcsv

import (
	"fmt"
	"io"
)

// ReadAll reads a downloaded archive whole. sizeHint (a Content-Length,
// or -1 when unknown) lets it allocate the buffer once instead of growing
// it by doubling, which would need up to twice the file's size; at most
// limit bytes are read (a larger body is an error).
func ReadAll(r io.Reader, sizeHint, limit int64) ([]byte, error) {
	if sizeHint > limit {
		return nil, fmt.Errorf("file of %d bytes is larger than the %d allowed", sizeHint, limit)
	}
	if sizeHint < 0 {
		sizeHint = 512 << 10
	}
	buf := make([]byte, 0, sizeHint+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("file is larger than the %d bytes allowed", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
