package plm

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/pipeline"
)

const testLag = 2 * time.Minute

// sourceFor returns a system-log Source of c with the given settings.
func sourceFor(c SystemLogReader, start time.Time, clock func() time.Time, window time.Duration, pageSize int, log *slog.Logger) *Source {
	if log == nil {
		log = discardLogger()
	}
	return NewSource(c, SourceConfig{
		Tenant: "ACME", LogType: LogTypeSystem, Start: start, SafetyLag: testLag,
		MaxWindow: window, PageSize: pageSize, Clock: clock, Logger: log,
	})
}

// decodeTestCursor decodes a cursor a Source returned.
func decodeTestCursor(t *testing.T, raw pipeline.Cursor) cursor {
	t.Helper()
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cursor %s: %v", raw, err)
	}
	return c
}

// checkOnce fails unless got is want: every row exactly once, in order.
func checkOnce(t *testing.T, got, want []int) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("emitted rows\n %v\nwant\n %v", got, want)
	}
}

func TestSourceBurstAcrossPageBoundary(t *testing.T) {
	now := time.Date(2024, 3, 9, 13, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	burst := start.Add(time.Second + 7*time.Millisecond)
	f, c := newFakeLog(t, mustZone(t, "America/New_York"))
	f.add(start.Add(-time.Millisecond), start.Add(-time.Millisecond)) // before START_TIME: dropped
	f.add(start)                                                      // START_TIME is inclusive
	f.add(slices.Repeat([]time.Time{burst}, 7)...)
	f.add(burst.Add(time.Millisecond))
	horizon := now.Add(-testLag)
	f.add(horizon, horizon.Add(time.Millisecond), now) // the last two are after the window

	clock, _ := fixedClock(now)
	for _, pageSize := range []int{1, 2, 3, 4, 8, 1000} {
		res := drain(t, sourceFor(c, start, clock, 24*time.Hour, pageSize, nil), nil, 100)
		checkOnce(t, allSeqs(res), f.between(start, horizon))
		last := res[len(res)-1].page
		if !last.Position.Equal(horizon) {
			t.Errorf("page size %d: final position %v, want %v", pageSize, last.Position, horizon)
		}
		if cur := decodeTestCursor(t, last.Next); !cur.Last.Equal(horizon) || cur.N != 1 || cur.End != nil {
			t.Errorf("page size %d: final cursor %+v, want last=%v n=1 and no end", pageSize, cur, horizon)
		}
	}
}

// randomLog fills f with n rows between from and to, a third of them in
// bursts sharing one millisecond, plus rows exactly on the given instants.
func randomLog(f *fakeLog, rng *rand.Rand, from, to time.Time, n int, exact ...time.Time) {
	span := to.Sub(from).Milliseconds()
	ts := slices.Clone(exact)
	for len(ts) < n {
		t := from.Add(time.Duration(rng.Int64N(span)) * time.Millisecond)
		for range 1 + rng.IntN(2)*rng.IntN(5) {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, time.Time.Compare)
	f.add(ts...)
}

// TestSourceRestartFromEveryCursor scans a log with bursts, in zones at
// both ends of the UTC offsets, then restarts a new Source from the cursor
// of every page: each restart must give exactly the rows the first scan
// gave after that page.
func TestSourceRestartFromEveryCursor(t *testing.T) {
	for _, zone := range []string{"America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "UTC"} {
		t.Run(zone, func(t *testing.T) {
			f, c := newFakeLog(t, mustZone(t, zone))
			now := time.Date(2024, 3, 11, 6, 30, 0, 0, time.UTC) // across the US DST change
			start := now.Add(-50 * time.Hour)
			const window = 7 * time.Hour
			horizon := now.Add(-testLag)
			rng := rand.New(rand.NewPCG(7, uint64(len(zone))))
			randomLog(f, rng, start.Add(-30*time.Hour), now.Add(time.Hour), 160,
				start, start, start.Add(window), start.Add(window), start.Add(window+time.Millisecond), horizon, horizon.Add(time.Millisecond))
			want := f.between(start, horizon)
			clock, _ := fixedClock(now)
			newSource := func() *Source { return sourceFor(c, start, clock, window, 4, nil) }

			full := drain(t, newSource(), nil, 1000)
			checkOnce(t, allSeqs(full), want)
			for i, r := range full[:len(full)-1] {
				if r.page.Done {
					t.Fatalf("page %d is Done before the scan caught up", i)
				}
			}
			for k := range full {
				rest := drain(t, newSource(), full[k].page.Next, 1000)
				got := append(allSeqs(full[:k+1]), allSeqs(rest)...)
				if !slices.Equal(got, want) {
					t.Fatalf("restart after page %d (cursor %s): emitted\n %v\nwant\n %v", k, full[k].page.Next, got, want)
				}
			}
		})
	}
}

// TestSourceDayRange checks the query days of a window: UTC days of
// last − 14h and T + 14h, and that a new from_date restarts the offset at 0
// while an unchanged one re-reads the anchor at offset − 1.
func TestSourceDayRange(t *testing.T) {
	f, c := newFakeLog(t, mustZone(t, "America/New_York"))
	now := time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC)
	start := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	randomLog(f, rand.New(rand.NewPCG(1, 1)), start.Add(-24*time.Hour), now, 120)
	clock, _ := fixedClock(now)
	src := sourceFor(c, start, clock, 3*time.Hour, 5, nil)

	var cur pipeline.Cursor
	resets := 0
	for range 200 {
		prev := cursor{Last: start}
		if cur != nil {
			prev = decodeTestCursor(t, cur)
		}
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		reqs := f.takeRequests()
		next := decodeTestCursor(t, p.Next)
		if len(reqs) == 0 {
			if !p.Done {
				t.Fatal("a fetch without request must be Done")
			}
			break
		}
		first := reqs[0]
		if prev.End == nil {
			end := prev.Last.Add(3 * time.Hour)
			if h := now.Add(-testLag); h.Before(end) {
				end = h
			}
			wantFrom, wantTo := prev.Last.Add(-14*time.Hour).Format(time.DateOnly), end.Add(14*time.Hour).Format(time.DateOnly)
			if first.FromDate != wantFrom || first.ToDate != wantTo {
				t.Fatalf("window (%v, %v]: days %s..%s, want %s..%s", prev.Last, end, first.FromDate, first.ToDate, wantFrom, wantTo)
			}
		}
		switch {
		case first.FromDate != prev.FromDate:
			resets++
			if first.Offset != 0 {
				t.Fatalf("from_date %s → %s: first request at offset %d, want 0", prev.FromDate, first.FromDate, first.Offset)
			}
		case prev.Offset > 0:
			if first.Offset != prev.Offset-1 {
				t.Fatalf("same from_date: first request at offset %d, want the anchor at %d", first.Offset, prev.Offset-1)
			}
		}
		for _, q := range reqs {
			if q.Type != LogTypeSystem || q.Limit != 5 || q.FromDate != next.FromDate || q.ToDate != next.ToDate {
				t.Fatalf("request %+v does not match cursor %s", q, p.Next)
			}
		}
		cur = p.Next
		if p.Done {
			break
		}
	}
	if resets < 3 {
		t.Fatalf("from_date changed %d times, want at least 3 over two days", resets)
	}
}

// TestSourceShift moves rows under a cursor between two fetches; the next
// fetch must notice, emit every row it has not emitted once, and log why.
func TestSourceShift(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		// rows are the instants of the log, in ms after start.
		rows []int
		// closeAt, when not 0, is the end of a first window scanned to
		// completion; otherwise one fetch reads the first page of 3 rows
		// of a window still open.
		closeAt int
		// move changes the log; it returns rows it added that must be
		// emitted.
		move func(f *fakeLog, seqs []int) (extra []int)
		// logged is a message the next fetch must log.
		logged string
	}{
		{
			name: "row removed before the offset",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeLog, seqs []int) []int {
				f.remove(seqs[0])
				return nil
			},
			logged: "plm rows removed before the cursor",
		},
		{
			name: "anchor removed",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeLog, seqs []int) []int {
				f.remove(seqs[2])
				return nil
			},
			logged: "plm row at the cursor is gone",
		},
		{
			name: "late row inserted before the offset",
			rows: []int{1, 2, 3, 4, 5, 6, 7, 8},
			move: func(f *fakeLog, seqs []int) []int {
				f.insertAt(0, at(0)) // lost: older than the cursor, before it
				return nil
			},
			logged: "plm rows inserted before the cursor were not emitted",
		},
		{
			name: "burst: row of the cursor's instant removed",
			rows: []int{1, 5, 5, 5, 5, 5, 9},
			move: func(f *fakeLog, seqs []int) []int {
				f.remove(seqs[1])
				return nil
			},
			logged: "plm rows removed before the cursor",
		},
		{
			name: "burst: row of the cursor's instant inserted first",
			rows: []int{1, 5, 5, 5, 5, 5, 9},
			move: func(f *fakeLog, seqs []int) []int {
				f.insertAt(1, at(5)) // lost: indistinguishable from a row read
				return nil
			},
			logged: "plm rows inserted before the cursor were not emitted",
		},
		{
			name:    "late row after the anchor",
			rows:    []int{1, 2, 3, 10, 11, 12, 13, 14},
			closeAt: 4, // the cursor is at 4 ms, its anchor the row at 3 ms
			move: func(f *fakeLog, seqs []int) []int {
				return []int{f.insertAt(3, at(3))}
			},
			logged: "plm late rows older than the cursor emitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeLog(t, time.UTC)
			var ts []time.Time
			for _, ms := range tt.rows {
				ts = append(ts, at(ms))
			}
			seqs := f.add(ts...)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			clock, setClock := fixedClock(now)
			src := sourceFor(c, start, clock, time.Hour, 3, log)

			var got []int
			var cur pipeline.Cursor
			if tt.closeAt > 0 {
				setClock(at(tt.closeAt).Add(testLag))
				res := drain(t, src, nil, 10)
				got, cur = allSeqs(res), res[len(res)-1].page.Next
			} else {
				p, err := src.Fetch(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				got, cur = allSeqs([]fetchResult{{seqs: seqsOf(t, p)}}), p.Next
			}
			if c := decodeTestCursor(t, cur); c.Offset != 3 || c.Anchor != anchorOf(f.rows[2].raw) {
				t.Fatalf("cursor before the move %s, want offset 3 at the third row", cur)
			}
			want := slices.Concat(seqs, tt.move(f, seqs))
			setClock(now)
			got = append(got, allSeqs(drain(t, src, cur, 20))...)

			sorted := slices.Sorted(slices.Values(got))
			if len(slices.Compact(slices.Clone(sorted))) != len(got) {
				t.Errorf("rows emitted twice: %v", got)
			}
			if slices.Sort(want); !slices.Equal(sorted, want) {
				t.Errorf("emitted %v, want each of %v once", got, want)
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log lacks %q:\n%s", tt.logged, logs.String())
			}
		})
	}
}

// seqsOf returns the sequence numbers of the records of p.
func seqsOf(t *testing.T, p pipeline.Page) []int {
	t.Helper()
	var out []int
	for _, rec := range p.Records {
		out = append(out, seqOf(t, rec))
	}
	return out
}

func TestSourceDoneOnlyWhenCaughtUp(t *testing.T) {
	f, c := newFakeLog(t, mustZone(t, "Europe/Berlin"))
	now := time.Date(2024, 10, 27, 3, 0, 0, 0, time.UTC)
	start := now.Add(-5 * time.Hour)
	randomLog(f, rand.New(rand.NewPCG(3, 3)), start.Add(-time.Hour), now, 40)
	clock, setClock := fixedClock(now)
	src := sourceFor(c, start, clock, time.Hour, 1000, nil)

	res := drain(t, src, nil, 100)
	if len(res) != 5 {
		t.Errorf("%d fetches, want 5 windows of at most 1h", len(res))
	}
	for i, r := range res {
		wantEnd := start.Add(time.Duration(i+1) * time.Hour)
		if h := now.Add(-testLag); h.Before(wantEnd) {
			wantEnd = h
		}
		if r.page.Done != (i == len(res)-1) || !r.page.Position.Equal(wantEnd) {
			t.Errorf("fetch %d: Done=%v Position=%v, want Done only at the end and position %v", i, r.page.Done, r.page.Position, wantEnd)
		}
	}
	checkOnce(t, allSeqs(res), f.between(start, now.Add(-testLag)))

	// Caught up: the same cursor again reads nothing and sends nothing.
	cur := res[len(res)-1].page.Next
	f.takeRequests()
	p, err := src.Fetch(t.Context(), cur)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done || len(p.Records) != 0 || !bytes.Equal(p.Next, cur) || len(f.takeRequests()) != 0 {
		t.Errorf("idle fetch: Done=%v records=%d next=%s requests sent; want Done, none, the same cursor %s", p.Done, len(p.Records), p.Next, cur)
	}

	// New rows, and time passes: one more window, caught up again.
	seqs := f.add(now.Add(time.Minute), now.Add(3*time.Minute))
	setClock(now.Add(10 * time.Minute))
	more := drain(t, src, cur, 10)
	if len(more) != 1 {
		t.Errorf("%d fetches after 10 minutes, want 1", len(more))
	}
	checkOnce(t, allSeqs(more), f.between(now.Add(-testLag).Add(time.Millisecond), now.Add(8*time.Minute)))
	if !slices.Equal(allSeqs(more)[len(allSeqs(more))-2:], seqs) {
		t.Errorf("new rows %v not at the end of %v", seqs, allSeqs(more))
	}
}

// TestSourceGap crosses days without rows, much longer than the window.
func TestSourceGap(t *testing.T) {
	f, c := newFakeLog(t, time.UTC)
	now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	start := now.Add(-72 * time.Hour)
	f.add(start.Add(-time.Second), now.Add(-time.Hour), now.Add(-time.Hour))
	clock, _ := fixedClock(now)
	res := drain(t, sourceFor(c, start, clock, 4*time.Hour, 10, nil), nil, 100)
	checkOnce(t, allSeqs(res), f.between(start, now))
}

// TestSourceGrowth appends rows at the clock's time while a scan runs: the
// log grows at the end, the clock moves, and every row arrives once.
func TestSourceGrowth(t *testing.T) {
	f, c := newFakeLog(t, mustZone(t, "Asia/Kolkata"))
	now := time.Date(2024, 5, 5, 18, 0, 0, 0, time.UTC)
	start := now.Add(-20 * time.Hour)
	rng := rand.New(rand.NewPCG(9, 9))
	randomLog(f, rng, start, now, 100)
	clock, setClock := fixedClock(now)
	src := sourceFor(c, start, clock, 6*time.Hour, 7, nil)

	var got []int
	var cur pipeline.Cursor
	for range 400 {
		p, err := src.Fetch(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range p.Records {
			got = append(got, seqOf(t, rec))
		}
		cur = p.Next
		// New rows arrive at the clock's time, some in bursts; the clock
		// moves on by up to a minute.
		for range rng.IntN(4) {
			f.add(slices.Repeat([]time.Time{now}, 1+rng.IntN(3))...)
		}
		now = now.Add(time.Duration(rng.IntN(60_000)) * time.Millisecond)
		setClock(now)
	}
	want := f.between(start, decodeTestCursor(t, cur).Last)
	checkOnce(t, got, want)
	if len(want) < 300 {
		t.Fatalf("only %d rows; the log did not grow enough to test anything", len(want))
	}
}

// TestSourceUnplaceableRow emits a row without a valid timestamp where the
// server puts it, so that it can be dead-lettered.
func TestSourceUnplaceableRow(t *testing.T) {
	f, c := newFakeLog(t, time.UTC)
	now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	f.add(start.Add(time.Minute))
	f.addRaw(start.Add(2*time.Minute), `{"description":"odd","timestamp":"yesterday","action":"Log In","seq":100}`)
	f.add(start.Add(3 * time.Minute))
	clock, _ := fixedClock(now)
	src := sourceFor(c, start, clock, time.Hour, 1000, nil)
	res := drain(t, src, nil, 10)
	checkOnce(t, allSeqs(res), []int{1, 100, 3})

	norm := NewNormalizer("ACME", LogTypeSystem)
	var errs []string
	for _, rec := range res[0].page.Records {
		if _, err := norm(rec, now); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], `timestamp "yesterday"`) {
		t.Errorf("normalize errors %q, want one about the timestamp", errs)
	}
}

func TestSourceStartInTheFuture(t *testing.T) {
	f, c := newFakeLog(t, time.UTC)
	now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	clock, _ := fixedClock(now)
	p, err := sourceFor(c, now.Add(time.Hour), clock, time.Hour, 10, nil).Fetch(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done || len(p.Records) != 0 || len(f.takeRequests()) != 0 {
		t.Errorf("start after now: Done=%v records=%d; want Done, nothing read", p.Done, len(p.Records))
	}
	if cur := decodeTestCursor(t, p.Next); !cur.Last.Equal(now.Add(time.Hour)) || cur.N != 0 {
		t.Errorf("cursor %s, want the start", p.Next)
	}
}

func TestSourceBadCursor(t *testing.T) {
	_, c := newFakeLog(t, time.UTC)
	src := sourceFor(c, time.Now(), time.Now, time.Hour, 10, nil)
	for _, raw := range []string{
		`not json`,
		`{"n":1,"offset":0}`,
		`{"last":"2024-01-01T00:00:00Z","n":-1,"offset":0}`,
		`{"last":"2024-01-01T00:00:00Z","n":0,"offset":-3}`,
		`{"last":"2024-01-01T00:00:00Z","n":0,"offset":0,"end":"2023-12-31T00:00:00Z"}`,
	} {
		if _, err := src.Fetch(t.Context(), pipeline.Cursor(raw)); err == nil || !strings.Contains(err.Error(), "decode cursor of plm/ACME/system-logs/system") {
			t.Errorf("cursor %s: error %v, want a cursor decode error", raw, err)
		}
	}
}

func TestSourceStream(t *testing.T) {
	src := NewSource(nil, SourceConfig{Tenant: "ACME", LogType: LogTypeItem})
	if got := src.Stream(); got != "plm/ACME/system-logs/item" {
		t.Errorf("Stream() = %q", got)
	}
}
