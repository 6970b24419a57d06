package revenera

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

// historyStart is where the tests' generated history begins.
var historyStart = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)

// newHistoryEnv is a simulator with rowsPerDay rows a day (large product)
// from historyStart to testNow.
func newHistoryEnv(t *testing.T, cfg revenerasim.Config, rowsPerDay int) *simEnv {
	t.Helper()
	e := newSimEnv(t, cfg)
	e.sim.Generate(historyStart, testNow, rowsPerDay)
	return e
}

func (e *simEnv) fileSource(product string, kind Kind, start time.Time, pageRows int) *FileSource {
	return NewFileSource(e.client, FileSourceConfig{Product: product, Kind: kind, Start: start, PageRows: pageRows, Clock: e.clock.Now, Logger: quietLogger()})
}

// TestFileSourceDailyMonthlyBoundary reads from START_TIME in the middle
// of a day of a month older than the oldest daily file: that month from
// its monthly file (rows before START_TIME skipped), then every daily
// file up to the open day, each row once. Then it fetches the page after
// every saved cursor with a new source, as a restarted process would,
// and checks it is the page the uninterrupted run got.
func TestFileSourceDailyMonthlyBoundary(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{}, 40)
	start := time.Date(2026, 10, 10, 12, 30, 0, 0, time.UTC)
	for _, kind := range []Kind{CustomEvents, Exceptions} {
		src := e.fileSource(large, kind, start, 50)
		norm := NewFileNormalizer(testTenant, large, kind)
		d := drain(t, src, norm, nil, 10000)
		want := expectedIDs(t, e.sim, large, kind, start, utcday.Of(testNow).Start())
		checkOnce(t, kind.Stream, d.ids, want)
		if len(d.bad) > 0 || len(d.dead) > 0 || len(want) < 100 {
			t.Fatalf("%s: %d bad, %d dead letters, %d rows", kind.Stream, len(d.bad), len(d.dead), len(want))
		}
		// Restart from every cursor: the next page is the same.
		var pagesIDs [][]string
		var nexts []pipeline.Cursor
		cur := pipeline.Cursor(nil)
		for {
			p, err := src.Fetch(context.Background(), cur)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range p.Records {
				ev, _ := norm(r, testNow)
				ids = append(ids, ev.Key())
			}
			pagesIDs, nexts = append(pagesIDs, ids), append(nexts, p.Next)
			if p.Done {
				break
			}
			cur = p.Next
		}
		for i := 0; i+1 < len(nexts); i++ {
			fresh := e.fileSource(large, kind, start, 50)
			p, err := fresh.Fetch(context.Background(), nexts[i])
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range p.Records {
				ev, _ := norm(r, testNow)
				ids = append(ids, ev.Key())
			}
			if !slices.Equal(ids, pagesIDs[i+1]) || string(p.Next) != string(nexts[i+1]) {
				t.Fatalf("%s: restart from %s gave %d records and %s, want %d and %s", kind.Stream, nexts[i], len(ids), p.Next, len(pagesIDs[i+1]), nexts[i+1])
			}
		}
	}
}

// TestFileSourceDailyAgesIntoMonthly moves the clock a day while the
// oldest daily file is being read, and while the cursor stands between
// files at it: that day's daily file is no longer listed, so its rows come
// from the monthly file, none twice, none skipped — identical rows
// included, which keep their ids.
func TestFileSourceDailyAgesIntoMonthly(t *testing.T) {
	for _, midFile := range []bool{true, false} {
		e := newHistoryEnv(t, revenerasim.Config{}, 40)
		oldest := utcday.Of(testNow) - 40 // 2026-10-24
		dup := revenerasim.Row{Time: oldest.Start().Add(9 * time.Hour), Fields: []string{"", "client-dup", "s", "Cat", "Name", "v", "1.0", "Pro", "en", "Linux", "DE", "Trial"}}
		if err := e.sim.Add(mustInt(large), revenerasim.CustomEvents, dup, dup, dup); err != nil {
			t.Fatal(err)
		}
		start := oldest.Start()
		src := e.fileSource(large, CustomEvents, start, 20)
		norm := NewFileNormalizer(testTenant, large, CustomEvents)
		var ids []string
		cur := pipeline.Cursor(nil)
		if midFile {
			p, err := src.Fetch(context.Background(), cur)
			if err != nil {
				t.Fatal(err)
			}
			var c FileCursor
			_ = json.Unmarshal(p.Next, &c)
			if c.File == "" || c.Monthly || c.Row != 20 {
				t.Fatalf("first page ends at %s, want inside the daily file", p.Next)
			}
			for _, r := range p.Records {
				ev, _ := norm(r, testNow)
				ids = append(ids, ev.Key())
			}
			cur = p.Next
		} else {
			cur = encodeFileCursor(FileCursor{Day: oldest})
		}
		e.clock.Advance(24 * time.Hour) // oldest's daily file ages out
		fresh := e.fileSource(large, CustomEvents, start, 20)
		d := drain(t, fresh, norm, cur, 10000)
		ids = append(ids, d.ids...)
		want := expectedIDs(t, e.sim, large, CustomEvents, start, utcday.Of(e.clock.Now()).Start())
		checkOnce(t, "aged", ids, want)
	}
}

func mustInt(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestFileSourceOpenDayCloses waits at the open day, and reads it once it
// closes (CloseOpenDay), with the rows that grew into it.
func TestFileSourceOpenDayCloses(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{}, 40)
	start := utcday.Of(testNow).Add(-2).Start()
	src := e.fileSource(large, CustomEvents, start, 1000)
	norm := NewFileNormalizer(testTenant, large, CustomEvents)
	d := drain(t, src, norm, nil, 100)
	cur := d.cursors[len(d.cursors)-1]
	var c FileCursor
	_ = json.Unmarshal(cur, &c)
	if c.Day != utcday.Of(testNow) {
		t.Fatalf("waits at %s, want the open day", cur)
	}
	e.sim.GrowSpan(testNow, testNow.Add(time.Hour), 50)
	end := e.sim.CloseOpenDay()
	d2 := drain(t, src, norm, cur, 100)
	want := expectedIDs(t, e.sim, large, CustomEvents, start, end)
	checkOnce(t, "after close", append(d.ids, d2.ids...), want)
	if len(d2.ids) == 0 {
		t.Fatal("nothing read from the closed day")
	}
}

// expiringTransport advances the clock past the download URLs' life
// before the first download, so that its URL is refused as expired.
type expiringTransport struct {
	clock interface{ Advance(time.Duration) time.Time }
	once  atomic.Bool
	next  http.RoundTripper
}

func (x *expiringTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, revenerasim.DownloadPath) && x.once.CompareAndSwap(false, true) {
		x.clock.Advance(time.Minute)
	}
	return x.next.RoundTrip(r)
}

// TestFileSourceExpiredURLRenewed: the first download URL has expired
// when it is used (403); a new one is asked for and the file read.
func TestFileSourceExpiredURLRenewed(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{URLTTL: 5 * time.Second}, 20)
	c, err := NewClientFromConfig(&e.cfg, ClientOptions{
		HTTP:      httpx.Config{Timeout: 5 * time.Second, MaxElapsed: 5 * time.Second, InitialInterval: time.Millisecond},
		Logger:    quietLogger(),
		Transport: &expiringTransport{clock: e.clock, next: http.DefaultTransport},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := utcday.Of(testNow).Add(-1).Start()
	src := NewFileSource(c, FileSourceConfig{Product: large, Kind: CustomEvents, Start: start, Clock: e.clock.Now, Logger: quietLogger()})
	d := drain(t, src, NewFileNormalizer(testTenant, large, CustomEvents), nil, 10)
	checkOnce(t, "renewed", d.ids, expectedIDs(t, e.sim, large, CustomEvents, start, utcday.Of(testNow).Start()))
	if st := e.sim.Stats(); st.URLsExpired != 1 || c.URLRenewals() != 1 {
		t.Fatalf("expired %d, renewals %d; want one of each", st.URLsExpired, c.URLRenewals())
	}
}

// TestFileSourceGapBeyondRetention: days older than every file are
// skipped with a dead letter naming them, and a monthly file once
// started is read to its month's end even where daily files exist.
func TestFileSourceGapBeyondRetention(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{RetentionMonths: 2}, 20)
	start := time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC)
	src := e.fileSource(large, CustomEvents, start, 1000)
	norm := NewFileNormalizer(testTenant, large, CustomEvents)
	d := drain(t, src, norm, nil, 1000)
	if len(d.dead) != 1 || !strings.Contains(d.dead[0].Reason, "2026-08-15..2026-09-30") {
		t.Fatalf("dead letters %+v, want one for the gap", d.dead)
	}
	if src.GapDays() != 47 {
		t.Fatalf("%d gap days", src.GapDays())
	}
	checkOnce(t, "after gap", d.ids, expectedIDs(t, e.sim, large, CustomEvents, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), utcday.Of(testNow).Start()))
}

// TestFileSourceTimeCursor accepts pipeline.TimeCursor: rows from the time
// on.
func TestFileSourceTimeCursor(t *testing.T) {
	e := newHistoryEnv(t, revenerasim.Config{}, 20)
	at := utcday.Of(testNow).Add(-3).Start().Add(13 * time.Hour)
	src := e.fileSource(large, CustomEvents, historyStart, 1000)
	d := drain(t, src, NewFileNormalizer(testTenant, large, CustomEvents), pipeline.TimeCursor(at), 100)
	checkOnce(t, "time cursor", d.ids, expectedIDs(t, e.sim, large, CustomEvents, at, utcday.Of(testNow).Start()))
	if _, err := src.Fetch(context.Background(), []byte(`{"x":1}`)); err == nil || !permanentErr(err) {
		t.Fatalf("bad cursor: %v", err)
	}
}
