package epm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// checkSeq fails unless got equals want: every record once, in order.
func checkSeq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: emitted %d records, want %d\n got  %s\n want %s", what, len(got), len(want), summary(got), summary(want))
	}
}

// summary shortens a list of records for a failure message.
func summary(rs []string) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 12 {
			fmt.Fprintf(&b, " …(%d more)", len(rs)-i)
			break
		}
		if j := strings.Index(r, `"seq":`); j >= 0 {
			b.WriteString(strings.TrimSuffix(r[j+6:], "}") + " ")
		} else {
			b.WriteString("<identical> ")
		}
	}
	return b.String()
}

// randomLog fills set of f with n records between from and to, a third of
// them in bursts sharing one millisecond, some whole bursts on one second,
// plus records exactly on the given instants.
func randomLog(f *fakeAudit, set string, rng *rand.Rand, from, to time.Time, n int, exact ...time.Time) {
	span := to.Sub(from).Milliseconds()
	ts := slices.Clone(exact)
	for len(ts) < n {
		t := from.Add(time.Duration(rng.Int64N(span)) * time.Millisecond)
		if rng.IntN(4) == 0 {
			t = t.Truncate(time.Second)
		}
		for range 1 + rng.IntN(2)*rng.IntN(6) {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, time.Time.Compare)
	f.add(set, ts...)
}

// TestSourceBoundSemantics reads logs whose records sit on window
// boundaries — whole seconds, bursts on the boundary second and
// millisecond — through servers that read DateFrom inclusively or not and
// DateTo as a second, an instant or exclusively. Every reading must emit
// each record once, from a fresh start and after a restart from any cursor.
func TestSourceBoundSemantics(t *testing.T) {
	now := time.Date(2024, 3, 9, 13, 0, 0, 0, time.UTC)
	horizon := now.Add(-testLag)
	start := horizon.Add(-75*time.Second - 500*time.Millisecond)
	const window = 10 * time.Second
	for _, fromExclusive := range []bool{false, true} {
		for _, toMode := range []int{toSecond, toInstant, toExclusive} {
			for _, pageSize := range []int{1, 3, 500} {
				name := fmt.Sprintf("fromExclusive=%v/to=%d/page=%d", fromExclusive, toMode, pageSize)
				t.Run(name, func(t *testing.T) {
					f := newFakeAudit("s1")
					f.fromExclusive, f.toMode = fromExclusive, toMode
					var exact []time.Time
					for i := range 8 {
						b := start.Add(time.Duration(i) * window) // window boundaries
						exact = append(exact, b, b, b.Add(-time.Millisecond), b.Add(999*time.Millisecond), b.Add(time.Second))
					}
					exact = append(exact, start.Add(-time.Millisecond), start.Add(-time.Second), horizon, horizon.Add(-time.Millisecond), horizon.Add(time.Millisecond))
					randomLog(f, "s1", rand.New(rand.NewPCG(uint64(pageSize), uint64(toMode))), start.Add(-time.Minute), start.Add(2*time.Minute), 120, exact...)
					f.addIdentical("s1", start.Add(window), 4)
					want := f.between("s1", start, horizon)

					clock := fixedClock(now)
					full := drain(t, sourceFor(f, start, clock, window, pageSize, "s1"), nil, 5000)
					checkSeq(t, "full scan", raws(records(full), "s1"), want)
					// Restart from every cursor, or from a sample of 40
					// when there are many.
					step := max(1, len(full)/40)
					for k := 0; k < len(full); k += step {
						rest := drain(t, sourceFor(f, start, clock, window, pageSize, "s1"), full[k].page.Next, 5000)
						checkSeq(t, fmt.Sprintf("restart after page %d (cursor %s)", k, full[k].page.Next),
							append(raws(records(full[:k+1]), "s1"), raws(records(rest), "s1")...), want)
					}
				})
			}
		}
	}
}

// TestSourceRestartFromEveryCursor scans three sets, each its own stream,
// with bursts across page boundaries, then restarts a new Source of each
// set from the cursor of every page: each restart must give exactly the
// records the first scan gave after that page, with the same event ids.
func TestSourceRestartFromEveryCursor(t *testing.T) {
	now := time.Date(2024, 3, 11, 6, 30, 0, 0, time.UTC)
	start := now.Add(-50 * time.Hour)
	horizon := now.Add(-testLag)
	f := newFakeAudit("a", "b", "c")
	rng := rand.New(rand.NewPCG(7, 7))
	for i, set := range []string{"a", "b", "c"} {
		randomLog(f, set, rng, start.Add(-time.Hour), now.Add(time.Hour), 60+40*i, start, horizon)
	}
	burst := start.Add(3*time.Hour + 7*time.Millisecond)
	f.add("a", slices.Repeat([]time.Time{burst}, 9)...)
	f.addIdentical("b", burst, 7)
	clock := fixedClock(now)
	allIDs := map[string]bool{}
	for _, set := range []string{"a", "b", "c"} {
		norm := NewNormalizer("ACME", set)
		ids := func(recs []pipeline.Record) []string {
			var out []string
			for _, r := range recs {
				ev, err := norm(r, now)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, ev.Key())
			}
			return out
		}
		newSource := func() *Source { return sourceFor(f, start, clock, 7*time.Hour, 4, set) }

		full := drain(t, newSource(), nil, 1000)
		checkSeq(t, "set "+set, raws(records(full), set), f.between(set, start, horizon))
		fullIDs := ids(records(full))
		for _, id := range fullIDs {
			if allIDs[id] {
				t.Fatalf("set %s: two records share event id %s", set, id)
			}
			allIDs[id] = true
		}
		for i, r := range full[:len(full)-1] {
			if r.page.Done {
				t.Fatalf("set %s: page %d is Done before the set caught up", set, i)
			}
		}
		for k := range full {
			rest := drain(t, newSource(), full[k].page.Next, 1000)
			got := append(ids(records(full[:k+1])), ids(records(rest))...)
			if !slices.Equal(got, fullIDs) {
				t.Fatalf("set %s: restart after page %d (cursor %s): event ids differ from the first scan", set, k, full[k].page.Next)
			}
		}
	}
}

// TestSourceCaughtUp checks that a set reports Done once its window
// reaches the horizon, with the horizon as its position, and that a fetch
// from that cursor before time moves sends nothing.
func TestSourceCaughtUp(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	f := newFakeAudit("a")
	f.add("a", slices.Repeat([]time.Time{start.Add(time.Minute)}, 5)...)
	clock := fixedClock(now)
	src := sourceFor(f, start, clock, 24*time.Hour, 2, "a")

	res := drain(t, src, nil, 20)
	// 4 pages: each after the first re-reads its anchor, so a Limit of 2
	// yields one new record.
	if n := len(f.takeRequests()); n != 4 || len(res) != 4 {
		t.Errorf("%d requests and %d pages, want 4 of each", n, len(res))
	}
	last := res[len(res)-1].page
	if !last.Done || !last.Position.Equal(now.Add(-testLag)) {
		t.Errorf("last page Done=%v Position=%v, want Done at %v", last.Done, last.Position, now.Add(-testLag))
	}
	if c := decodeTestCursor(t, last.Next); c.End != nil || !c.Last.Equal(now.Add(-testLag)) {
		t.Errorf("cursor after catching up %s, want a closed window at the horizon", last.Next)
	}

	// Caught up: the same cursor again reads nothing.
	p, err := src.Fetch(t.Context(), last.Next)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done || len(p.Records) != 0 || !bytes.Equal(p.Next, last.Next) || len(f.takeRequests()) != 0 {
		t.Errorf("idle fetch: Done=%v records=%d next=%s; want Done, nothing read, the same cursor", p.Done, len(p.Records), p.Next)
	}
}

// TestSourceSetRefused waits the poll interval on a set the API refuses,
// without failing the Fetch (the vendor is not down) and without moving
// the cursor, and reads it once it is allowed again. Any other error fails
// the Fetch, to be retried from the same cursor.
func TestSourceSetRefused(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	f := newFakeAudit("a")
	f.add("a", start.Add(time.Minute))
	f.fail["a"] = fmt.Errorf("fetch: %w", &httpx.StatusError{StatusCode: http.StatusForbidden})
	var logs bytes.Buffer
	clock := fixedClock(now)
	src := sourceFor(f, start, clock, 24*time.Hour, 500, "a")
	src.log = slog.New(slog.NewTextHandler(&logs, nil))
	for _, cur := range []pipeline.Cursor{nil, pipeline.TimeCursor(start)} {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil || !p.Done || len(p.Records) != 0 || !bytes.Equal(p.Next, cur) || !p.Position.Equal(start) {
			t.Fatalf("refused set from %s: page %+v, error %v; want Done, the same cursor, the position of the cursor", cur, p, err)
		}
	}
	if !strings.Contains(logs.String(), "epm set refused; tried again after the poll interval") {
		t.Fatalf("no error logged:\n%s", logs.String())
	}

	delete(f.fail, "a")
	if got := raws(records(drain(t, src, nil, 10)), "a"); len(got) != 1 {
		t.Errorf("%d records once the set is allowed again, want 1", len(got))
	}

	f.fail["a"] = errors.New("connection reset")
	if _, err := src.Fetch(t.Context(), nil); err == nil {
		t.Error("a transient error did not fail the Fetch")
	}
}

// TestSourceTimeCursor moves a set to a time with pipeline.TimeCursor, as
// auditctl checkpoints reset <stream> --to TIME does: the set is read from
// that time, inclusive, whatever its START_TIME.
func TestSourceTimeCursor(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-5 * time.Hour)
	f := newFakeAudit("a")
	reset := start.Add(3*time.Hour + 250*time.Millisecond)
	f.add("a", start.Add(time.Hour), reset.Add(-time.Millisecond), reset, reset, reset.Add(time.Millisecond), start.Add(4*time.Hour))
	clock := fixedClock(now)
	for _, from := range []time.Time{reset, start.Add(-time.Hour)} {
		res := drain(t, sourceFor(f, start, clock, 24*time.Hour, 2, "a"), pipeline.TimeCursor(from), 10)
		checkSeq(t, "after a reset to "+from.String(), raws(records(res), "a"), f.between("a", from, now))
	}
}

// TestSourceShift changes a set's records under a cursor between two
// fetches; the next fetch must notice, emit every record it has not
// emitted once, and log why.
func TestSourceShift(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		// rows are the instants of the log, in ms after start.
		rows []int
		// move changes the log after a first fetch of 3 records; it
		// returns records it added that must be emitted.
		move func(f *fakeAudit, seqs []int) (extra []int)
		// logged is a message the next fetch must log.
		logged string
	}{
		{
			name: "record removed before the offset",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeAudit, seqs []int) []int {
				f.remove("s", seqs[0])
				return nil
			},
			logged: "the record at the cursor moved",
		},
		{
			name: "anchor removed",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeAudit, seqs []int) []int {
				f.remove("s", seqs[2])
				return nil
			},
			logged: "the record at the cursor moved",
		},
		{
			name: "burst: record of the cursor's instant removed",
			rows: []int{1, 5, 5, 5, 5, 5, 9},
			move: func(f *fakeAudit, seqs []int) []int {
				f.remove("s", seqs[1])
				return nil
			},
			logged: "the record at the cursor moved",
		},
		{
			name: "burst: record inserted at the cursor's instant before it",
			rows: []int{1, 5, 5, 5, 5, 5, 9},
			move: func(f *fakeAudit, seqs []int) []int {
				f.insertAt("s", 1, at(5)) // lost: indistinguishable from a record read
				return nil
			},
			logged: "the record at the cursor moved",
		},
		{
			name: "record after the cursor inserted, count grown",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeAudit, seqs []int) []int {
				return []int{f.insertAt("s", 5, at(5))}
			},
		},
		{
			name: "late record after the anchor, older than the cursor",
			rows: []int{1, 2, 3, 10, 11, 12, 13, 14},
			move: func(f *fakeAudit, seqs []int) []int {
				return []int{f.insertAt("s", 4, at(2))}
			},
			logged: "epm late records older than the cursor emitted",
		},
		{
			name: "late record before the anchor",
			rows: []int{1, 2, 3, 10, 11, 12, 13, 14},
			move: func(f *fakeAudit, seqs []int) []int {
				f.insertAt("s", 2, at(2)) // lost: before the cursor
				return nil
			},
			logged: "the record at the cursor moved",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAudit("s")
			var ts []time.Time
			for _, ms := range tt.rows {
				ts = append(ts, at(ms))
			}
			seqs := f.add("s", ts...)
			var logs bytes.Buffer
			src := sourceFor(f, start, fixedClock(now), time.Hour, 4, "s")
			src.log = slog.New(slog.NewTextHandler(&logs, nil))
			// The first page holds the margin second (empty here) and
			// the first 4 records of the window.
			p, err := src.Fetch(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range p.Records {
				got = append(got, seqOf(t, r))
			}
			if c := decodeTestCursor(t, p.Next); c.Offset != 4 || c.End == nil {
				t.Fatalf("cursor before the move %s, want an open window at offset 4", p.Next)
			}
			want := slices.Concat(seqs, tt.move(f, seqs))
			for _, r := range records(drain(t, src, p.Next, 20)) {
				got = append(got, seqOf(t, r))
			}
			sorted := slices.Sorted(slices.Values(got))
			if len(slices.Compact(slices.Clone(sorted))) != len(got) {
				t.Errorf("records emitted twice: %v", got)
			}
			if slices.Sort(want); !slices.Equal(sorted, want) {
				t.Errorf("emitted %v, want each of %v once", got, want)
			}
			if tt.logged == "" && strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("unexpected warning:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log lacks %q:\n%s", tt.logged, logs.String())
			}
		})
	}
}

// TestSourceReanchorReadsLittle checks that a change under a cursor deep
// in a large window costs a page from the cursor's second, not a rescan
// of the window.
func TestSourceReanchorReadsLittle(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-2 * time.Hour)
	f := newFakeAudit("s")
	var ts []time.Time
	for i := range 2000 {
		ts = append(ts, start.Add(time.Duration(i)*2*time.Second))
	}
	seqs := f.add("s", ts...)
	src := sourceFor(f, start, fixedClock(now), 24*time.Hour, 100, "s")
	var cur pipeline.Cursor
	emitted := 0
	for range 10 {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		emitted += len(p.Records)
		cur = p.Next
	}
	f.remove("s", seqs[0]) // the result set shifts under the cursor
	f.takeRequests()
	p, err := src.Fetch(t.Context(), cur)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.takeRequests()
	if len(reqs) != 2 || reqs[1].Offset != 0 || !reqs[1].From.Equal(utcSecond(decodeTestCursor(t, cur).Last).Add(-time.Second)) {
		t.Fatalf("requests after the shift %+v, want the anchor check and one read from the cursor's second", reqs)
	}
	if len(p.Records) == 0 || seqOf(t, p.Records[0]) != seqs[emitted] {
		t.Errorf("first record after the shift %d, want %d", seqOf(t, p.Records[0]), seqs[emitted])
	}
}

// TestSourceDoneOnlyWhenCaughtUp runs a backfill that takes time: every
// window that closes behind the horizon is followed at once (not Done),
// and the set is Done only when a window closes within a minute of it.
func TestSourceDoneOnlyWhenCaughtUp(t *testing.T) {
	now := time.Date(2024, 10, 27, 3, 0, 0, 0, time.UTC)
	start := now.Add(-5 * time.Hour)
	f := newFakeAudit("a")
	randomLog(f, "a", rand.New(rand.NewPCG(3, 3)), start.Add(-time.Hour), now, 300)
	clock := fixedClock(now)
	src := sourceFor(f, start, clock, time.Hour, 10, "a")
	var cur pipeline.Cursor
	var got []pipeline.Record
	closed := 0
	for range 500 {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		c := decodeTestCursor(t, p.Next)
		horizon := clock.Now().Add(-testLag)
		if c.End == nil {
			closed++
		}
		if caughtUp := c.End == nil && horizon.Sub(c.Last) < time.Minute; p.Done != caughtUp {
			t.Fatalf("page with cursor %s at horizon %v: Done=%v", p.Next, horizon, p.Done)
		}
		cur = p.Next
		if p.Done {
			break
		}
		clock.Advance(10 * time.Second) // the backfill takes time
	}
	if closed < 6 {
		t.Errorf("%d windows closed, want at least the 5 hours of one-hour windows and one more", closed)
	}
	checkSeq(t, "backfill", raws(got, "a"), f.between("a", start, decodeTestCursor(t, cur).Last))
}

// TestSourceUnplaceableRecord emits a record without a valid EventTime
// where the server puts it, so that it can be dead-lettered.
func TestSourceUnplaceableRecord(t *testing.T) {
	now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	f := newFakeAudit("s")
	f.add("s", start.Add(time.Minute))
	f.addRaw("s", start.Add(2*time.Minute), `{"EventTime":"yesterday","Feature":"Policies","seq":100}`)
	f.add("s", start.Add(3*time.Minute))
	res := drain(t, sourceFor(f, start, fixedClock(now), time.Hour, 500, "s"), nil, 10)
	var seqs []int
	var errs []string
	for _, r := range records(res) {
		seqs = append(seqs, seqOf(t, r))
		if _, err := NewNormalizer("ACME", "s")(r, now); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if !slices.Equal(seqs, []int{1, 100, 3}) || len(errs) != 1 || !strings.HasPrefix(errs[0], `EventTime "yesterday"`) {
		t.Errorf("records %v, normalize errors %q; want 1 100 3 and one EventTime error", seqs, errs)
	}
}

func TestSourceStartInTheFuture(t *testing.T) {
	now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	f := newFakeAudit("s")
	p, err := sourceFor(f, now.Add(time.Hour), fixedClock(now), time.Hour, 10, "s").Fetch(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done || len(p.Records) != 0 || len(f.takeRequests()) != 0 {
		t.Errorf("start after now: Done=%v records=%d; want Done, nothing read", p.Done, len(p.Records))
	}
}

func TestSourceBadCursor(t *testing.T) {
	f := newFakeAudit("s")
	src := sourceFor(f, time.Now(), fixedClock(time.Now()), time.Hour, 10, "s")
	for _, raw := range []string{
		`not json`,
		`null`,
		`{"sets":{"s":{"last":"2024-01-01T00:00:00Z"}}}`,
		`{"n":1}`,
		`{"last":"2024-01-01T00:00:00Z","n":-1}`,
		`{"last":"2024-01-01T00:00:00Z","offset":-3}`,
		`{"last":"2024-01-01T00:00:00Z","end":"2023-12-31T00:00:00Z","from":"2023-12-30T00:00:00Z"}`,
		`{"last":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z"}`,
		`{"last":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z","from":"2024-01-01T00:00:01Z"}`,
	} {
		if _, err := src.Fetch(t.Context(), pipeline.Cursor(raw)); err == nil || !strings.Contains(err.Error(), "decode cursor of epm/ACME/sets/s/admin-audit") {
			t.Errorf("cursor %s: error %v, want a cursor decode error", raw, err)
		}
	}
	if len(f.takeRequests()) != 0 {
		t.Error("a bad cursor sent requests")
	}
}

func TestSourceStream(t *testing.T) {
	src := NewSource(nil, SourceConfig{Tenant: "ACME", SetID: "47f5830e-383a-4db1-9e5f-b38ed0448a92"})
	if got := src.Stream(); got != "epm/ACME/sets/47f5830e-383a-4db1-9e5f-b38ed0448a92/admin-audit" || src.SetID() != "47f5830e-383a-4db1-9e5f-b38ed0448a92" {
		t.Errorf("Stream() = %q, SetID() = %q", got, src.SetID())
	}
}

// TestSourceWindowQueries checks the queries of a window: DateFrom a second
// before the window, DateTo its end, both whole seconds, within MaxWindow
// and the horizon.
func TestSourceWindowQueries(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 30, 0, time.UTC)
	start := time.Date(2024, 6, 1, 9, 0, 0, 250e6, time.UTC)
	f := newFakeAudit("s")
	f.add("s", start.Add(time.Hour))
	drain(t, sourceFor(f, start, fixedClock(now), time.Hour, 500, "s"), nil, 10)
	reqs := f.takeRequests()
	horizon := now.Add(-testLag).Truncate(time.Second)
	wantFrom := []time.Time{start.Truncate(time.Second).Add(-time.Second)}
	for _, q := range reqs[:len(reqs)-1] {
		wantFrom = append(wantFrom, q.To.Add(-time.Second))
	}
	for i, q := range reqs {
		if !q.From.Equal(wantFrom[i]) || q.To.Sub(q.From) > time.Hour+time.Second || q.To.After(horizon) || q.Offset != 0 || q.Limit != 500 {
			t.Errorf("query %d %+v: want DateFrom %v, at most an hour, DateTo not after %v", i, q, wantFrom[i], horizon)
		}
	}
	if last := reqs[len(reqs)-1]; !last.To.Equal(horizon) {
		t.Errorf("last query ends at %v, want the horizon %v", last.To, horizon)
	}
}

// TestSourceRescanRecountsBurst removes an emitted record of a burst under
// the cursor: the rescan that finds the anchor must leave a cursor whose n
// and hashes count exactly the emitted records of the burst still there,
// so that a later rescan skips exactly those.
func TestSourceRescanRecountsBurst(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	burst := start.Add(5 * time.Millisecond)
	f := newFakeAudit("s")
	r1 := f.add("s", start.Add(time.Millisecond))
	b := f.add("s", slices.Repeat([]time.Time{burst}, 8)...)
	f.add("s", start.Add(9*time.Millisecond))
	src := sourceFor(f, start, fixedClock(now), time.Hour, 4, "s")

	p1, err := src.Fetch(t.Context(), nil) // r1, b1, b2, b3
	if err != nil {
		t.Fatal(err)
	}
	f.remove("s", b[0])
	p2, err := src.Fetch(t.Context(), p1.Next) // rescan: r1, b2, b3 (anchor), b4
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range slices.Concat(p1.Records, p2.Records) {
		got = append(got, seqOf(t, r))
	}
	if want := []int{r1[0], b[0], b[1], b[2], b[3]}; !slices.Equal(got, want) {
		t.Fatalf("emitted %v, want %v", got, want)
	}
	c := decodeTestCursor(t, p2.Next)
	var want []string
	for _, raw := range f.between("s", burst, burst.Add(time.Millisecond))[:3] {
		want = append(want, anchorOf([]byte(raw)))
	}
	if !c.Last.Equal(burst) || c.N != 3 || !slices.Equal(c.Same, want) {
		t.Errorf("cursor after the rescan: last %v n %d same %v; want %v, 3 (b2, b3, b4), %v", c.Last, c.N, c.Same, burst, want)
	}
}

// TestOutOfOrderStopsLoudly checks that a page not in ascending EventTime
// order stops the stream with a permanent error naming the records,
// instead of letting the skip rule drop or repeat records.
func TestOutOfOrderStopsLoudly(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := newFakeAudit("s1")
	var ts []time.Time
	for i := 1; i <= 10; i++ {
		ts = append(ts, start.Add(time.Duration(i)*time.Second))
	}
	f.add("s1", ts...)
	f.insertAt("s1", 8, start.Add(2*time.Second))
	src := sourceFor(f, start, fixedClock(start.Add(time.Hour)), time.Hour, 100, "s1")
	_, err := src.Fetch(context.Background(), nil)
	var perm *backoff.PermanentError
	if !errors.Is(err, ErrOutOfOrder) || !errors.As(err, &perm) {
		t.Fatalf("Fetch = %v, want a permanent ErrOutOfOrder", err)
	}
}
