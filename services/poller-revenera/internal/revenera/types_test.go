package revenera

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/utcday"
)

func TestDecodeListing(t *testing.T) {
	l, err := DecodeListing([]byte(`{
		"openDailyFiles":[{"fileName":"1_customEvents_2026-12-03.zip","date":"2026-12-03","size":"120"}],
		"dailyFiles":["1_customEvents_2026-12-02.zip",{"fileName":"1_customEvents_2026-12-01.zip","size":5,"storage":{"x":1}},{"date":"2026-11-30"},42],
		"monthlyFiles":[{"fileName":"1_customEvents_2026-11.zip","month":"2026-11"},{"fileName":"weird.zip","month":"2026-10-01T00:00:00Z"},"1_customEvents_2026-09.zip"],
		"extra":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Open) != 1 || l.Open[0].Day != utcday.Date(2026, 12, 3) || l.Open[0].Size != 120 || !l.Open[0].Open {
		t.Errorf("open %+v", l.Open)
	}
	if len(l.Daily) != 2 || l.Daily[0].Day != utcday.Date(2026, 12, 2) || l.Daily[0].Size != -1 || l.Daily[1].Size != 5 {
		t.Errorf("daily %+v", l.Daily)
	}
	if len(l.Monthly) != 3 || l.Monthly[1].Day != utcday.Date(2026, 10, 1) || l.Monthly[2].Day != utcday.Date(2026, 9, 1) || !l.Monthly[0].Monthly {
		t.Errorf("monthly %+v", l.Monthly)
	}
	if len(l.Problems) != 2 {
		t.Errorf("problems %q", l.Problems)
	}
	if _, err := DecodeListing([]byte(`[]`)); err == nil {
		t.Error("a list accepted")
	}
}

func TestDecodeLogon(t *testing.T) {
	for _, body := range []string{
		`{"userName":"u","products":[{"id":2876543210,"name":"CAD"},{"id":"2876543211"},{"id":-1},{"name":"no id"}],"beatInterval":302}`,
		`{"userName":"u","products":{"2876543210":{"name":"CAD"},"2876543211":{}}}`,
	} {
		l, err := DecodeLogon([]byte(body))
		if err != nil || len(l.Products) != 2 || l.UserName != "u" {
			t.Errorf("%s: %+v, %v", body, l, err)
		}
	}
}

func TestDecodeReports(t *testing.T) {
	ev, err := DecodeEvents([]byte(`{"result":[{"category":"A","name":"x","enabled":true},{"category":"A","name":"x"},{"category":"B","events":[{"name":"y","enabled":false}]},{"name":"no category"}]}`))
	if err != nil || len(ev) != 2 || *ev[0].Enabled != true || ev[1].Name != "y" {
		t.Fatalf("events %+v, %v", ev, err)
	}
	tl, err := DecodeTimeline([]byte(`{"result":{"dates":["2026-11-01T00:00:00Z"],"series":[{"category":"A","name":"x","values":["3"],"extra":1}]}}`))
	if err != nil || len(tl.Series) != 1 || tl.Dates[0] != "2026-11-01T00:00:00Z" {
		t.Fatalf("timeline %+v, %v", tl, err)
	}
	dr, err := DecodeDateRange([]byte(`{"result":{"dates":["2026-11-01"],"new":[1],"active":[2],"lost":[0],"note":"x"}}`))
	if err != nil || len(dr.Statuses) != 3 {
		t.Fatalf("dateRange %+v, %v", dr, err)
	}
	if _, err := DecodeTimeline([]byte(`{}`)); err == nil {
		t.Error("timeline without result accepted")
	}
	u, err := DecodeDownloadURL([]byte(`{"url":"https://s3.example/x.zip?X-Amz-Signature=abc","expiresAt":"2026-12-03T14:05:19Z"}`))
	if err != nil || u.ExpiresAt.IsZero() {
		t.Fatalf("download URL %+v, %v", u, err)
	}
	if _, err := DecodeDownloadURL([]byte(`{"url":"/relative"}`)); err == nil {
		t.Error("relative URL accepted")
	}
}

// FuzzDecodeListing checks that any answer decodes without a panic and
// that every entry is accounted for: it is a file of its list, with a
// name holding no path separator and a period (a month's first day for
// a monthly file), or it is reported in Problems.
func FuzzDecodeListing(f *testing.F) {
	f.Add([]byte(`{"openDailyFiles":[{"fileName":"1_customEvents_2026-12-03.zip","date":"2026-12-03","size":1}],"dailyFiles":["1_customEvents_2026-12-02.zip"],"monthlyFiles":[{"fileName":"1_customEvents_2026-11.zip","month":"2026-11"}]}`))
	f.Add([]byte(`{"dailyFiles":[null,1,{"fileName":"a/b_2026-01-01.zip"},{"name":"x_2026-13-01.zip"}],"monthlyFiles":["x_2026-02.zip",{"month":"2026-02"}]}`))
	f.Add([]byte(`{"dailyFiles":[{"fileName":"x.zip","date":"2026-02-30","size":1e400}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeListing(data)
		if err != nil {
			return
		}
		var raw struct {
			Open, Daily, Monthly []json.RawMessage
		}
		_ = json.Unmarshal(data, &struct {
			Open    *[]json.RawMessage `json:"openDailyFiles"`
			Daily   *[]json.RawMessage `json:"dailyFiles"`
			Monthly *[]json.RawMessage `json:"monthlyFiles"`
		}{&raw.Open, &raw.Daily, &raw.Monthly})
		if got, want := len(l.Open)+len(l.Daily)+len(l.Monthly)+len(l.Problems), len(raw.Open)+len(raw.Daily)+len(raw.Monthly); got != want {
			t.Fatalf("%d files and problems for %d entries", got, want)
		}
		for _, list := range [][]File{l.Open, l.Daily, l.Monthly} {
			for _, file := range list {
				if file.Name == "" || strings.ContainsAny(file.Name, "/\\\x00") {
					t.Fatalf("file name %q", file.Name)
				}
				if file.Monthly && file.Day != file.Day.Month() {
					t.Fatalf("monthly file %q of day %s", file.Name, file.Day)
				}
			}
		}
	})
}

// zipOf returns a ZIP holding one CSV entry.
func zipOf(t testing.TB, csv []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("f.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(csv)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeFiles lists one closed daily file and serves its ZIP.
type fakeFiles struct {
	day  utcday.Day
	data []byte
}

func (f *fakeFiles) ListFiles(context.Context, Kind, string) (Listing, error) {
	return Listing{Open: []File{{Name: "open.zip", Day: f.day + 1, Open: true}}, Daily: []File{{Name: "1_customEvents_" + f.day.String() + ".zip", Day: f.day}}}, nil
}

func (f *fakeFiles) Download(context.Context, Kind, string, string) ([]byte, error) {
	return f.data, nil
}

// readRows drains a FileSource over one daily file of csv and returns the
// number of events, of normalize errors (with their messages) and of data
// rows the file has.
func readRows(t testing.TB, csv []byte, pageRows int) (events, failed int, errs []string) {
	day := utcday.Date(2026, 12, 2)
	src := NewFileSource(&fakeFiles{day: day, data: zipOf(t, csv)}, FileSourceConfig{Product: "1", Kind: CustomEvents, Start: day.Start(), PageRows: pageRows, Logger: quietLogger()})
	norm := NewFileNormalizer(testTenant, "1", CustomEvents)
	var cur []byte
	for range 100000 {
		p, err := src.Fetch(context.Background(), cur)
		if err != nil {
			return -1, -1, []string{err.Error()}
		}
		for _, r := range p.Records {
			if !json.Valid(r.Raw) {
				t.Fatalf("raw %q is not JSON", r.Raw)
			}
			if _, err := norm(r, time.Time{}); err != nil {
				failed++
				errs = append(errs, err.Error())
			} else {
				events++
			}
		}
		if p.Done {
			return
		}
		cur = p.Next
	}
	t.Fatal("no end")
	return
}

// TestMalformedRowsAreDeadLettered: a short row and a bad time are normalize
// errors with their line; the rows after them and the file complete.
func TestMalformedRowsAreDeadLettered(t *testing.T) {
	csv := "Event Time (UTC),Client ID,Event Category,Event Name\r\n" +
		"2026-12-02 00:00:01,c1,A,x\r\n" +
		"2026-12-02 00:00:02,c1\r\n" +
		"yesterday,c1,A,x\r\n" +
		"\"2026-12-02 00:00:03\",\"c,2\",\"A\",\"multi\r\nline\"\r\n" +
		"2026-12-02 00:00:03,\"c,2\",A,\"multi\r\nline\"\r\n"
	events, failed, errs := readRows(t, []byte(csv), 2)
	if events != 3 || failed != 2 || !strings.Contains(errs[0], "line 3") || !strings.Contains(errs[1], "line 4") {
		t.Fatalf("%d events, %d failed: %q", events, failed, errs)
	}
}

// FuzzFileRows checks the CSV row decoding of a file stream: any CSV text
// in a daily file is read to its end without a panic, in pages, and every
// data row becomes exactly one record — an event, or a normalize error
// (a dead letter) — with a valid JSON raw form: none is lost.
func FuzzFileRows(f *testing.F) {
	f.Add([]byte("Event Time (UTC),Client ID\r\n2026-12-02 00:00:01,c1\r\n2026-12-02 00:00:01,c1\r\n"), uint8(1))
	f.Add([]byte("Event Time (UTC),Client ID\n\"x\n,\"\"\n2026-12-02 00:00:01"), uint8(3))
	f.Add([]byte("\xEF\xBB\xBFa,b\n1,2,3\n\xff,\"\n"), uint8(0))
	f.Fuzz(func(t *testing.T, csv []byte, page uint8) {
		events, failed, errs := readRows(t, csv, int(page%5)+1)
		if events < 0 {
			// The file has no header or cannot be read: an error, never
			// a silent skip.
			if len(errs) != 1 || errs[0] == "" {
				t.Fatal("failure without an error")
			}
			return
		}
		rows := 0
		src := NewFileSource(&fakeFiles{day: utcday.Date(2026, 12, 2), data: zipOf(t, csv)}, FileSourceConfig{Product: "1", Kind: CustomEvents, Start: utcday.Date(2026, 12, 2).Start(), PageRows: 1 << 20, Logger: quietLogger()})
		if p, err := src.Fetch(context.Background(), nil); err == nil {
			var c FileCursor
			_ = json.Unmarshal(p.Next, &c)
			rows = len(p.Records)
		}
		if events+failed != rows {
			t.Fatalf("%d events and %d failures for %d rows", events, failed, rows)
		}
	})
}

// FuzzReports checks the report decoders and the report sources: any
// answer gives no panic, only values of the requested days, at most one
// event per (day, metric, event), and every value of the answer is an
// event or a dead letter.
func FuzzReports(f *testing.F) {
	f.Add([]byte(`{"result":{"dates":["2026-11-01","2026-11-02"],"series":[{"category":"A","name":"x","values":[1,2]}]}}`),
		[]byte(`{"result":{"dates":["2026-11-01T00:00:00Z","2026-11-02"],"new":[1,2],"active":["3",4],"lost":[0,0]}}`))
	f.Add([]byte(`{"result":{"dates":["2026-11-01","2026-11-01","x"],"series":[{"category":"A","name":"x","values":[1,null,{}]},{"category":"A","name":"x","values":[]}]}}`),
		[]byte(`{"result":{"dates":[1,null],"new":[1],"active":"x"}}`))
	f.Fuzz(func(t *testing.T, timeline, dateRange []byte) {
		fr := &fakeReports{events: []TrackedEvent{{Category: "A", Name: "x"}}, timeline: string(timeline), dr: string(dateRange)}
		now := time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC)
		for _, stream := range []string{StreamEventUsage, StreamClientActivity} {
			src := NewReportSource(fr, ReportSourceConfig{Product: "1", Stream: stream, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Days: 2, Clock: func() time.Time { return now }, Logger: quietLogger()})
			p, err := src.Fetch(context.Background(), nil)
			if err != nil {
				continue
			}
			norm := NewReportNormalizer(testTenant, "1", stream)
			seen := map[string]bool{}
			for _, r := range p.Records {
				ev, err := norm(r, now)
				if err != nil {
					t.Fatalf("%s: normalize: %v", stream, err)
				}
				v := r.Value.(*ReportValue)
				if v.Day < utcday.Date(2026, 11, 1) || v.Day > utcday.Date(2026, 11, 2) || seen[ev.Key()] {
					t.Fatalf("%s: value %+v out of range or twice", stream, v)
				}
				seen[ev.Key()] = true
			}
		}
	})
}

// TestDuplicatesOutOfTimeOrder: equal rows that are not adjacent in a file
// out of time order still get occurrences 0, 1, 2 — distinct event ids —
// whatever the page size and wherever a restart lands.
func TestDuplicatesOutOfTimeOrder(t *testing.T) {
	csv := "Event Time (UTC),Client ID,Event Name\r\n" +
		"2026-12-02 00:00:05,c1,a\r\n" +
		"2026-12-02 00:00:06,c1,b\r\n" +
		"2026-12-02 00:00:05,c1,a\r\n" + // out of order, a repeat of row 1
		"2026-12-02 00:00:07,c1,c\r\n" +
		"2026-12-02 00:00:05,c1,a\r\n" +
		"2026-12-02 00:00:07,c1,c\r\n"
	day := utcday.Date(2026, 12, 2)
	files := &fakeFiles{day: day, data: zipOf(t, []byte(csv))}
	norm := NewFileNormalizer(testTenant, "1", CustomEvents)
	for _, pageRows := range []int{1, 2, 100} {
		src := NewFileSource(files, FileSourceConfig{Product: "1", Kind: CustomEvents, Start: day.Start(), PageRows: pageRows, Logger: quietLogger()})
		d := drain(t, src, norm, nil, 100)
		seen := map[string]bool{}
		for _, id := range d.ids {
			seen[id] = true
		}
		if len(d.ids) != 6 || len(seen) != 6 {
			t.Fatalf("page %d: %d events, %d distinct; want 6", pageRows, len(d.ids), len(seen))
		}
		// A restart from every cursor reads the same ids.
		for i, cur := range d.cursors {
			again := drain(t, NewFileSource(files, FileSourceConfig{Product: "1", Kind: CustomEvents, Start: day.Start(), PageRows: pageRows, Logger: quietLogger()}), norm, cur, 100)
			for _, id := range again.ids {
				if !seen[id] {
					t.Fatalf("page %d: restart %d gave a new id", pageRows, i)
				}
			}
			if len(again.ids) != 6-min(6, (i+1)*pageRows) {
				t.Fatalf("page %d: restart %d read %d", pageRows, i, len(again.ids))
			}
		}
	}
}
