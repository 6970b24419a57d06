// Package checkpointtest is the conformance suite every checkpoint.Store
// passes.
package checkpointtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/checkpoint"
)

// NewStore returns an empty store with its own backing data, and reopen,
// which returns a new store on the same backing data as a restarted process
// would see it. Both stores are released by t's cleanup.
type NewStore func(t *testing.T) (store checkpoint.Store, reopen func() checkpoint.Store)

// Run runs the suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore NewStore)
	}{
		{"GetUnknown", testGetUnknown},
		{"SaveGet", testSaveGet},
		{"LastWriteWins", testLastWriteWins},
		{"Reset", testReset},
		{"ManyStreams", testManyStreams},
		{"OddBytes", testOddBytes},
		{"NilCursor", testNilCursor},
		{"UpdatedAtDefault", testUpdatedAtDefault},
		{"InvalidInput", testInvalidInput},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentSaves", testConcurrentSaves},
		{"ReturnsCopies", testReturnsCopies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// base is a checkpoint with every field set.
func base(stream string, n int) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{
		Stream:    stream,
		Cursor:    json.RawMessage(fmt.Sprintf(`{"offset":%d,"window":"2025-06-01T00:00:00Z"}`, n)),
		Position:  time.Date(2025, 6, 1, 12, 0, n%60, 123456789, time.UTC),
		UpdatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
		Topic:     "plm.audit",
		Records:   int64(n),
	}
}

// equal reports how got differs from want under the Store contract: the
// cursor compacted, times equal as instants.
func equal(got, want checkpoint.Checkpoint) string {
	var cur bytes.Buffer
	if len(want.Cursor) > 0 {
		if err := json.Compact(&cur, want.Cursor); err != nil {
			return fmt.Sprintf("want cursor %q is invalid: %v", want.Cursor, err)
		}
	}
	if string(want.Cursor) == "null" {
		cur.Reset()
	}
	switch {
	case got.Stream != want.Stream:
		return fmt.Sprintf("stream %q, want %q", got.Stream, want.Stream)
	case !bytes.Equal(got.Cursor, cur.Bytes()):
		return fmt.Sprintf("cursor %q, want %q", got.Cursor, cur.Bytes())
	case (got.Cursor == nil) != (cur.Len() == 0):
		return fmt.Sprintf("cursor %q (nil %t), want nil %t", got.Cursor, got.Cursor == nil, cur.Len() == 0)
	case !got.Position.Equal(want.Position):
		return fmt.Sprintf("position %v, want %v", got.Position, want.Position)
	case !got.UpdatedAt.Equal(want.UpdatedAt):
		return fmt.Sprintf("updated_at %v, want %v", got.UpdatedAt, want.UpdatedAt)
	case got.Topic != want.Topic:
		return fmt.Sprintf("topic %q, want %q", got.Topic, want.Topic)
	case got.Records != want.Records:
		return fmt.Sprintf("records %d, want %d", got.Records, want.Records)
	}
	return ""
}

func mustSave(t *testing.T, s checkpoint.Store, cp checkpoint.Checkpoint) {
	t.Helper()
	if err := s.Save(ctx(t), cp); err != nil {
		t.Fatalf("Save(%q): %v", cp.Stream, err)
	}
}

func expect(t *testing.T, s checkpoint.Store, want checkpoint.Checkpoint) {
	t.Helper()
	got, err := s.Get(ctx(t), want.Stream)
	if err != nil {
		t.Fatalf("Get(%q): %v", want.Stream, err)
	}
	if d := equal(got, want); d != "" {
		t.Errorf("Get(%q): %s", want.Stream, d)
	}
}

func expectNotFound(t *testing.T, s checkpoint.Store, stream string) {
	t.Helper()
	if got, err := s.Get(ctx(t), stream); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Get(%q) = %+v, %v; want ErrNotFound", stream, got, err)
	}
}

func expectList(t *testing.T, s checkpoint.Store, want []checkpoint.Checkpoint) {
	t.Helper()
	got, err := s.List(ctx(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("List returned %d checkpoints, want %d", len(got), len(want))
	}
	for i := range want {
		if d := equal(got[i], want[i]); d != "" {
			t.Errorf("List[%d]: %s", i, d)
		}
	}
}

func testGetUnknown(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	expectNotFound(t, s, "never/saved")
	expectList(t, s, nil)
	expectNotFound(t, reopen(), "never/saved")
}

func testSaveGet(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	cp := base("plm/acme/system-logs", 7)
	mustSave(t, s, cp)
	expect(t, s, cp)
	expectNotFound(t, s, "plm/acme/other")
	expect(t, reopen(), cp)
}

func testLastWriteWins(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	for i := range 5 {
		mustSave(t, s, base("epm/t1/audit", i))
	}
	want := base("epm/t1/audit", 4)
	expect(t, s, want)
	r := reopen()
	expect(t, r, want)
	expectList(t, r, []checkpoint.Checkpoint{want})
}

func testReset(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	mustSave(t, s, base("a", 1))
	mustSave(t, s, base("b", 2))
	if err := s.Reset(ctx(t), "a"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	expectNotFound(t, s, "a")
	expectList(t, s, []checkpoint.Checkpoint{base("b", 2)})
	if err := s.Reset(ctx(t), "never/saved"); err != nil {
		t.Errorf("Reset of a stream without checkpoint: %v", err)
	}

	r := reopen()
	expectNotFound(t, r, "a")
	expectNotFound(t, r, "never/saved")
	expectList(t, r, []checkpoint.Checkpoint{base("b", 2)})

	// A stream saved again after its reset lives again, also after a restart.
	mustSave(t, r, base("a", 3))
	expect(t, r, base("a", 3))
	expect(t, reopen(), base("a", 3))
}

func testManyStreams(t *testing.T, newStore NewStore) {
	const streams, saves = 50, 20
	s, reopen := newStore(t)
	name := func(i int) string { return fmt.Sprintf("vendor/tenant-%02d/stream", i) }
	for n := range saves { // interleaved: every stream's n-th save, then the next
		for i := range streams {
			mustSave(t, s, base(name(i), i*1000+n))
		}
	}
	for i := 0; i < streams; i += 10 {
		if err := s.Reset(ctx(t), name(i)); err != nil {
			t.Fatal(err)
		}
	}
	var want []checkpoint.Checkpoint
	for i := range streams {
		if i%10 != 0 {
			want = append(want, base(name(i), i*1000+saves-1))
		}
	}
	expectList(t, s, want)
	r := reopen()
	expectList(t, r, want)
	for i := range streams {
		if i%10 == 0 {
			expectNotFound(t, r, name(i))
		} else {
			expect(t, r, base(name(i), i*1000+saves-1))
		}
	}
}

func testOddBytes(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	cursors := []string{
		`"<a href=\"x\">&amp;</a>"`,                              // HTML characters must not be escaped
		"\"a\xffb\xfe\"",                                         // invalid UTF-8 inside a string
		`"\u0000\u001f\\\/\b\f\n\r\t"`,                           // escapes stay as written
		"\"\u2028\u2029 é 漢字 🎉\"",                                // raw non-ASCII
		`{ "page" : [ 1 , 2.50 , -0 , 1e400 ] , "next" : null }`, // spacing and numbers
		`123456789012345678901234567890`,                         // beyond float64 and int64
		`"` + string(bytes.Repeat([]byte("x"), 64<<10)) + `"`,    // 64 KiB
	}
	var want []checkpoint.Checkpoint
	for i, c := range cursors {
		cp := checkpoint.Checkpoint{
			Stream:    fmt.Sprintf("odd/%02d/é 🎉\t\"x\"", i),
			Cursor:    json.RawMessage(c),
			Position:  time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("odd", -(3*3600+1800))),
			UpdatedAt: time.Unix(0, 1).UTC(),
			Topic:     "t<&>",
			Records:   math.MaxInt64 - int64(i),
		}
		mustSave(t, s, cp)
		expect(t, s, cp)
		want = append(want, cp)
	}
	r := reopen()
	for _, cp := range want {
		expect(t, r, cp)
	}
}

func testNilCursor(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	for i, c := range []json.RawMessage{nil, {}, json.RawMessage("null")} {
		cp := base(fmt.Sprintf("nil/%d", i), 1)
		cp.Cursor = c
		mustSave(t, s, cp)
		cp.Cursor = nil
		expect(t, s, cp)
		expect(t, reopen(), cp)
	}
}

func testUpdatedAtDefault(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	cp := base("now", 1)
	cp.UpdatedAt = time.Time{}
	before := time.Now()
	mustSave(t, s, cp)
	got, err := s.Get(ctx(t), "now")
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.Before(before.Add(-time.Second)) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("UpdatedAt of a checkpoint saved without one = %v, want about %v", got.UpdatedAt, before)
	}
}

func testInvalidInput(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	bad := base("bad/cursor", 1)
	bad.Cursor = json.RawMessage(`{"unterminated":`)
	if err := s.Save(ctx(t), bad); err == nil {
		t.Error("Save with an invalid JSON cursor succeeded")
	}
	if err := s.Save(ctx(t), base("", 1)); err == nil {
		t.Error("Save with an empty stream succeeded")
	}
	if err := s.Reset(ctx(t), ""); err == nil {
		t.Error("Reset of an empty stream succeeded")
	}
	expectNotFound(t, s, "bad/cursor")
	expectList(t, reopen(), nil)
}

func testCancelledContext(t *testing.T, newStore NewStore) {
	s, reopen := newStore(t)
	mustSave(t, s, base("kept", 1))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	if err := s.Save(cancelled, base("kept", 2)); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := s.Save(cancelled, base("new", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := s.Reset(cancelled, "kept"); !errors.Is(err, context.Canceled) {
		t.Errorf("Reset with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := s.Get(cancelled, "kept"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := s.List(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled ctx: %v, want context.Canceled", err)
	}
	// Nothing changed.
	expect(t, s, base("kept", 1))
	expectNotFound(t, s, "new")
	expectList(t, reopen(), []checkpoint.Checkpoint{base("kept", 1)})
}

func testConcurrentSaves(t *testing.T, newStore NewStore) {
	const workers, saves = 8, 10
	s, reopen := newStore(t)
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*saves)
	for w := range workers {
		wg.Go(func() {
			for n := range saves {
				if err := s.Save(c, base(fmt.Sprintf("w%d", w), n)); err != nil {
					errs <- err
				}
				if _, err := s.List(c); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []checkpoint.Checkpoint
	for w := range workers {
		want = append(want, base(fmt.Sprintf("w%d", w), saves-1))
	}
	expectList(t, s, want)
	expectList(t, reopen(), want)
}

func testReturnsCopies(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	cp := base("copy", 1)
	mustSave(t, s, cp)
	cp.Cursor[0] = 'X' // the caller's slice is not kept

	got, err := s.Get(ctx(t), "copy")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Cursor {
		got.Cursor[i] = 'Y' // nor is the returned one shared
	}
	list, err := s.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	list[0].Cursor[0] = 'Z'
	expect(t, s, base("copy", 1))
}
