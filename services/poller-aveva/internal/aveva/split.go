package aveva

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
)

// cursor is the JSON position of a stream:
//
//	{"last": "2024-03-04T10:00:00Z",
//	 "pending": [{"from": "2024-03-04T10:00:00Z", "to": "2024-03-04T10:15:00Z"},
//	             {"from": "2024-03-04T10:15:00Z", "to": "2024-03-04T10:30:00Z"},
//	             {"from": "2024-03-04T10:30:00Z", "to": "2024-03-04T11:00:00Z"}],
//	 "seen": ["9f2c4e1a0b7d3e55"]}
//
// Its invariant: every record before Last has been emitted; of the records
// in the second [Last, Last+1s), exactly those whose identity hashes are in
// Seen have been emitted; nothing else has. Pending, when not empty, are
// the windows still to fetch of a window being split, contiguous and in
// time order, the first starting at Last.
type cursor struct {
	// Last is where the next window starts, in whole UTC seconds.
	Last time.Time `json:"last"`
	// Pending is the stack of sub-windows of a split window not yet
	// published, earliest first. At most one level per halving, so it stays
	// short (13 windows for 1h down to 1s).
	Pending []Window `json:"pending,omitempty"`
	// Seen holds seenKey of the records emitted in [Last, Last+1s), the
	// only records a server with an inclusive upper bound serves again in
	// the next window.
	Seen []string `json:"seen,omitempty"`
}

// maxSeen bounds Seen. Past it, a server whose upper bound is inclusive may
// serve a record of the boundary second twice (a duplicate, never a loss);
// the Source logs it.
const maxSeen = 2000

// seenKeyLen is the number of hex digits of an identity hash in Seen.
const seenKeyLen = 16

// seenKey returns the short hash of an identity kept in a cursor.
func seenKey(identity string) string {
	return hashHex([]byte(identity))[:seenKeyLen]
}

// hashHex returns the hex SHA-256 of b.
func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// decodeCursor returns the cursor of raw, or one at start when raw is
// empty. pipeline.TimeCursor ({"last": t}) is a cursor without pending
// windows: the stream starts at t, inclusive. Times are floored to the
// second, the precision of the API's DateTime parameters.
func decodeCursor(raw pipeline.Cursor, start time.Time) (cursor, error) {
	if len(raw) == 0 {
		return cursor{Last: floorSecond(start)}, nil
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return cursor{}, fmt.Errorf("decode cursor: %w", err)
	}
	if c.Last.IsZero() {
		return cursor{}, errors.New("decode cursor: no last time")
	}
	c.Last = floorSecond(c.Last)
	at := c.Last
	for i := range c.Pending {
		w := &c.Pending[i]
		w.From, w.To = floorSecond(w.From), floorSecond(w.To)
		switch {
		case !w.From.Equal(at):
			return cursor{}, fmt.Errorf("decode cursor: pending window %d starts at %s, not %s", i, w.From.Format(time.RFC3339), at.Format(time.RFC3339))
		case !w.To.After(w.From):
			return cursor{}, fmt.Errorf("decode cursor: pending window %d is empty", i)
		}
		at = w.To
	}
	if len(c.Seen) > maxSeen {
		return cursor{}, fmt.Errorf("decode cursor: %d seen records, at most %d", len(c.Seen), maxSeen)
	}
	return c, nil
}

// encode returns c as JSON.
func (c cursor) encode() pipeline.Cursor {
	b, err := json.Marshal(c)
	if err != nil {
		// Unreachable: a cursor holds only valid times and strings.
		panic(fmt.Sprintf("aveva: encode cursor: %v", err))
	}
	return b
}

// floorSecond returns t in UTC, floored to the second.
func floorSecond(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
}

// splittable reports whether w can be halved into windows of at least
// minWidth whole seconds each.
func (w Window) splittable(minWidth time.Duration) bool {
	return w.Width() >= 2*max(minWidth, time.Second)
}

// halves splits w at its middle, rounded down to the second.
func (w Window) halves() (left, right Window) {
	mid := w.From.Add((w.Width() / 2).Truncate(time.Second))
	return Window{From: w.From, To: mid}, Window{From: mid, To: w.To}
}

// split replaces the first pending window by its two halves.
func (c *cursor) split() (left, right Window) {
	left, right = c.Pending[0].halves()
	rest := c.Pending[1:]
	pending := make([]Window, 0, len(rest)+2)
	pending = append(pending, left, right)
	c.Pending = append(pending, rest...)
	return left, right
}
