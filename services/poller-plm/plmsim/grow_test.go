package plmsim

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestClosedWindowAscendingPagingSurvivesGrowth(t *testing.T) {
	e := newEnv(t, Config{Seed: 21})
	e.sim.Generate(testNow.Add(-10*24*time.Hour), testNow, map[string]int{TypeItem: 400})
	const window = "type=item&sort=timestamp%20asc&filter[from.date]=2024-11-22&filter[to.date]=2024-11-29"
	from := time.Date(2024, 11, 22, 0, 0, 0, 0, newYork)
	to := time.Date(2024, 11, 30, 0, 0, 0, 0, newYork)
	var want [][]byte
	for _, r := range e.sim.Records(TypeItem) {
		if !r.Time.Before(from) && r.Time.Before(to) {
			want = append(want, r.Raw)
		}
	}

	var got [][]byte
	total := -1
	for offset := 0; ; offset += 7 {
		p := e.page(window + "&limit=7&offset=" + itoa(offset))
		if total >= 0 && p.TotalCount != total {
			t.Fatalf("totalCount of a closed window changed from %d to %d", total, p.TotalCount)
		}
		total = p.TotalCount
		got = append(got, toBytes(p.Items)...)
		// The log grows between pages, after the window.
		e.clock.Add(time.Minute)
		e.sim.Append(TypeItem, 3, e.clock.Now())
		e.sim.GrowSpan(e.clock.Now().Add(-time.Minute), e.clock.Now(), 4)
		if offset+7 >= p.TotalCount {
			break
		}
	}
	sameRaws(t, got, want)
}

func TestOpenAscendingPagingSeesEveryRecordOnce(t *testing.T) {
	e := newEnv(t, Config{Seed: 22})
	e.sim.Generate(testNow.Add(-3*24*time.Hour), testNow, map[string]int{TypeSystem: 95})
	var got [][]byte
	var totals []int
	for offset, pages := 0, 0; ; offset, pages = offset+10, pages+1 {
		p := e.page("type=system&sort=timestamp%20asc&limit=10&offset=" + itoa(offset))
		totals = append(totals, p.TotalCount)
		got = append(got, toBytes(p.Items)...)
		if pages < 12 {
			e.clock.Add(time.Second)
			e.sim.Append(TypeSystem, 5, e.clock.Now())
		}
		if offset+10 >= p.TotalCount {
			break
		}
	}
	if totals[0] == totals[len(totals)-1] {
		t.Fatalf("totalCount stayed %d while the log grew", totals[0])
	}
	sameRaws(t, got, raws(e.sim.Records(TypeSystem)))
}

func TestNewestFirstPagingShiftsWhenTheLogGrows(t *testing.T) {
	e := newEnv(t, Config{Seed: 23})
	e.sim.Generate(testNow.Add(-24*time.Hour), testNow, map[string]int{TypeItem: 50})
	p1 := e.page("type=item&limit=10")
	e.sim.Append(TypeItem, 3, testNow)
	p2 := e.page("type=item&limit=10&offset=10")
	// The three newest records push the page down: its first three items
	// are the last three of the previous page again.
	sameRaws(t, toBytes(p2.Items[:3]), toBytes(p1.Items[7:]))
}

func TestAppendKeepsInstantOrder(t *testing.T) {
	e := newEnv(t, Config{})
	late := e.sim.Append(TypeItem, 1, testNow)
	early := e.sim.Append(TypeItem, 2, testNow.Add(-time.Hour))
	same := e.sim.Append(TypeItem, 1, testNow)
	want := [][]byte{early[0].Raw, early[1].Raw, late[0].Raw, same[0].Raw}
	sameRaws(t, raws(e.sim.Records(TypeItem)), want)
	sameRaws(t, e.pageAll("type=item&sort=timestamp%20asc", 2), want)
	if !(early[0].Seq > late[0].Seq && same[0].Seq > early[1].Seq) {
		t.Errorf("Seq %d %d %d %d are not in insertion order", late[0].Seq, early[0].Seq, early[1].Seq, same[0].Seq)
	}
	// Newest first keeps records sharing an instant in insertion order.
	sameRaws(t, e.pageAll("type=item", 2), [][]byte{late[0].Raw, same[0].Raw, early[0].Raw, early[1].Raw})
}

func TestGrowSpan(t *testing.T) {
	e := newEnv(t, Config{Seed: 24})
	after := testNow.Add(-time.Minute)
	recs := e.sim.GrowSpan(after, testNow, 200)
	types := map[string]int{}
	for i, r := range recs {
		if !r.Time.After(after) || r.Time.After(testNow) {
			t.Fatalf("record %d at %v, outside (%v, %v]", i, r.Time, after, testNow)
		}
		if i > 0 && r.Time.Before(recs[i-1].Time) {
			t.Fatalf("record %d at %v before its predecessor", i, r.Time)
		}
		types[r.Type]++
	}
	if types[TypeItem] < 90 || types[TypeSystem] < 50 {
		t.Errorf("types %v, want about 60%% items", types)
	}
	still := e.sim.GrowSpan(testNow, testNow, 3)
	for _, r := range still {
		if !r.Time.Equal(testNow) {
			t.Errorf("record at %v, want %v when the clock stands still", r.Time, testNow)
		}
	}
}

func TestStartGrowing(t *testing.T) {
	sim := New(Config{Seed: 25})
	ctx, cancel := context.WithCancel(context.Background())
	done := sim.StartGrowing(ctx, 5*time.Millisecond, 2)
	deadline := time.Now().Add(5 * time.Second)
	for len(sim.Records("")) < 6 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("only %d records after 5 s", len(sim.Records("")))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	n := len(sim.Records(""))
	time.Sleep(20 * time.Millisecond)
	recs := sim.Records("")
	if len(recs) != n {
		t.Fatalf("the log grew from %d to %d after StartGrowing stopped", n, len(recs))
	}
	if !slices.IsSortedFunc(recs, func(a, b Record) int { return a.Time.Compare(b.Time) }) {
		t.Error("grown records are not in instant order")
	}
	for _, r := range recs {
		if !json.Valid(r.Raw) || time.Since(r.Time) > time.Minute {
			t.Fatalf("record %s at %v, want valid JSON near now", r.Raw, r.Time)
		}
	}
}

func TestLateRecords(t *testing.T) {
	e := newEnv(t, Config{Seed: 26, LateRate: 0.5, LateBy: time.Minute})
	e.sim.Generate(testNow.Add(-time.Hour), testNow, map[string]int{TypeItem: 100})
	served := e.pageAll("type=item&sort=timestamp%20asc", 1000)
	after := testNow
	recs := e.sim.GrowSpan(after, testNow.Add(time.Second), 40)
	late := 0
	for _, r := range recs {
		if r.Type != TypeItem {
			continue
		}
		if !r.Time.After(after) {
			late++
		}
		if r.Time.Before(after.Add(-time.Minute)) {
			t.Fatalf("record at %v is later than LateBy", r.Time)
		}
	}
	if late == 0 {
		t.Fatal("no late item record among 40 at LateRate 0.5")
	}
	// Late records land among those already served: a client that paged up
	// to after has to look back LateBy to find them.
	all := e.sim.Records(TypeItem)
	sameRaws(t, e.pageAll("type=item&sort=timestamp%20asc", 1000), raws(all))
	if string(all[len(served)-1].Raw) == string(served[len(served)-1]) {
		t.Fatal("no late record was inserted before the last served one")
	}
}
