package revenerasim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// generated returns an env with 75 days of history up to testNow.
func generated(t *testing.T, cfg Config) *env {
	t.Helper()
	e := newEnv(t, cfg)
	if n := e.sim.Generate(day(testNow, -75), testNow, 200); n == 0 {
		t.Fatal("Generate added nothing")
	}
	return e
}

// csvName is the entry name of a file.
func csvName(file string) string { return strings.TrimSuffix(file, ".zip") + ".csv" }

func TestListFiles(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	for _, p := range []int64{large, small} {
		for _, kind := range Kinds {
			l := c.list(p, kind)
			if len(l.Open) != 1 || l.Open[0].FileName != fileName(p, kind, "2026-12-03") || l.Open[0].Date != "2026-12-03" || l.Open[0].Month != "" {
				t.Errorf("%d %s: open files %+v", p, kind, l.Open)
			}
			if len(l.Daily) != DefaultDailyDays {
				t.Fatalf("%d %s: %d daily files", p, kind, len(l.Daily))
			}
			for i, f := range l.Daily {
				d := day(testNow, -1-i).Format(time.DateOnly)
				if f.FileName != fileName(p, kind, d) || f.Date != d || f.Size <= 0 || f.CreatedAt == "" {
					t.Errorf("%d %s: daily file %d is %+v, want %s", p, kind, i, f, d)
				}
			}
			if len(l.Monthly) != DefaultRetentionMonths {
				t.Fatalf("%d %s: %d monthly files", p, kind, len(l.Monthly))
			}
			for i, f := range l.Monthly {
				m := time.Date(2026, time.Month(11-i), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
				if f.FileName != fileName(p, kind, m) || f.Month != m || f.Date != "" || f.Size <= 0 {
					t.Errorf("%d %s: monthly file %d is %+v, want %s", p, kind, i, f, m)
				}
			}
			// Sizes are those of the downloads, and of Files.
			files := e.sim.Files(p, kind)
			for _, f := range []fileJSON{l.Open[0], l.Daily[3], l.Monthly[0]} {
				if got := len(c.download(p, kind, f.FileName)); got != f.Size {
					t.Errorf("%s: listed size %d, downloaded %d bytes", f.FileName, f.Size, got)
				}
			}
			if files.Open[0].Name != l.Open[0].FileName || files.Daily[0].Size != l.Daily[0].Size || files.Monthly[12].Name != l.Monthly[12].FileName ||
				!files.Monthly[0].From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !files.Monthly[0].To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("Files(%d, %s) = %+v", p, kind, files)
			}
		}
	}
	// Unknown members are there for tolerant parsing.
	_, body := c.call(http.MethodGet, fmt.Sprintf("/v3/customEventTracking/listFiles/%d", large), "")
	for _, want := range []string{`"createdAt":"2026-12-03T00:00:00Z"`, `"storage":{"bucket"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("listFiles answer lacks %s", want)
		}
	}

	bare := generated(t, Config{BareFileNames: true})
	bc := bare.client()
	bc.logon()
	_, body = bc.call(http.MethodGet, fmt.Sprintf("/v3/exceptionTracking/listFiles/%d", small), "")
	var names struct {
		Open    []string `json:"openDailyFiles"`
		Daily   []string `json:"dailyFiles"`
		Monthly []string `json:"monthlyFiles"`
	}
	if err := json.Unmarshal(body, &names); err != nil {
		t.Fatalf("bare listing %s: %v", body, err)
	}
	if !reflect.DeepEqual(names.Open, []string{fileName(small, Exceptions, "2026-12-03")}) || len(names.Daily) != DefaultDailyDays ||
		names.Daily[0] != fileName(small, Exceptions, "2026-12-02") || names.Monthly[0] != fileName(small, Exceptions, "2026-11") {
		t.Errorf("bare listing %+v", names)
	}
}

// TestOpenFileClosesAtMidnight moves the clock across midnight: the open
// file becomes a daily file with the same content and then never
// changes.
func TestOpenFileClosesAtMidnight(t *testing.T) {
	e := newEnv(t, Config{})
	e.clock.Set(time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC))
	e.sim.Generate(day(testNow, -3), e.clock.Now(), 300)
	e.sim.GrowSpan(e.clock.Now().Add(-time.Minute), e.clock.Now(), 50)
	c := e.client()
	c.logon()
	name := fileName(large, CustomEvents, "2026-12-03")
	if l := c.list(large, CustomEvents); l.Open[0].FileName != name {
		t.Fatalf("open file %+v", l.Open)
	}
	openData := c.download(large, CustomEvents, name)
	_, records := unzipCSV(t, openData, csvName(name))
	want := e.sim.Rows(large, CustomEvents, day(testNow, 0), day(testNow, 1))
	if !reflect.DeepEqual(records[1:], fieldsOf(want)) {
		t.Fatalf("open file holds %d rows, Rows %d", len(records)-1, len(want))
	}

	e.clock.Add(2 * time.Minute) // 00:01 on Dec 4
	l := c.list(large, CustomEvents)
	if l.Open[0].FileName != fileName(large, CustomEvents, "2026-12-04") || l.Daily[0].FileName != name || l.Daily[0].Size != len(openData) {
		t.Fatalf("after midnight: open %+v, newest daily %+v", l.Open, l.Daily[0])
	}
	if last := l.Daily[len(l.Daily)-1].Date; last != "2026-10-25" {
		t.Errorf("oldest daily file %s", last)
	}
	closed := c.download(large, CustomEvents, name)
	if !bytes.Equal(closed, openData) {
		t.Errorf("the closed file differs from the open file it was, with no rows added")
	}

	// Growth across midnight goes to the new day only.
	if n := e.sim.GrowSpan(e.clock.Now().Add(-5*time.Minute), e.clock.Now(), 200); n == 0 {
		t.Fatal("GrowSpan added nothing")
	}
	if got := e.sim.Rows(large, CustomEvents, day(testNow, 0), day(testNow, 1)); len(got) != len(want) {
		t.Errorf("the closed day has %d rows, had %d", len(got), len(want))
	}
	if again := c.download(large, CustomEvents, name); !bytes.Equal(again, closed) {
		t.Errorf("the closed file changed")
	}
	if rows := e.sim.Rows(large, CustomEvents, day(testNow, 1), day(testNow, 2)); len(rows) == 0 {
		t.Errorf("no rows in the new open day")
	}
}

// TestCloseOpenDay closes the open file early and grows the new day in
// the background.
func TestCloseOpenDay(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	before := c.list(small, Exceptions)
	next := e.sim.CloseOpenDay()
	if want := day(testNow, 1); !next.Equal(want) || !e.sim.Now().Equal(want) {
		t.Fatalf("CloseOpenDay() = %s, Now() = %s, want %s", next, e.sim.Now(), want)
	}
	// The session follows Config.Clock, which has not moved.
	after := c.list(small, Exceptions)
	if after.Open[0].Date != "2026-12-04" || after.Daily[0].FileName != before.Open[0].FileName || after.Daily[0].Size != before.Open[0].Size {
		t.Fatalf("after CloseOpenDay: open %+v, newest daily %+v; open before %+v", after.Open, after.Daily[0], before.Open)
	}
	e.clock.Add(time.Hour)
	if got := e.sim.Now(); !got.Equal(day(testNow, 1).Add(time.Hour)) {
		t.Errorf("Now() = %s an hour later", got)
	}
	if next := e.sim.CloseOpenDay(); !next.Equal(day(testNow, 2)) {
		t.Errorf("second CloseOpenDay() = %s", next)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := e.sim.StartGrowing(ctx, 5*time.Millisecond, 20)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.sim.Rows(large, CustomEvents, day(testNow, 2), day(testNow, 3))) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if rows := e.sim.Rows(large, CustomEvents, day(testNow, 2), day(testNow, 3)); len(rows) == 0 {
		t.Fatal("StartGrowing added no rows to the open day")
	}
	if rows := e.sim.Rows(large, CustomEvents, day(testNow, 1), day(testNow, 2)); len(rows) != 0 {
		t.Errorf("StartGrowing added %d rows to a closed day", len(rows))
	}
}

// TestDailyFileAgesOut moves the clock a day: the oldest daily file goes,
// its month's file stays and holds its rows.
func TestDailyFileAgesOut(t *testing.T) {
	e := generated(t, Config{URLTTL: 48 * time.Hour})
	c := e.client()
	c.logon()
	oldest := fileName(large, CustomEvents, "2026-10-24")
	l := c.list(large, CustomEvents)
	if l.Daily[len(l.Daily)-1].FileName != oldest {
		t.Fatalf("oldest daily file %+v", l.Daily[len(l.Daily)-1])
	}
	u := c.url(large, CustomEvents, oldest)

	e.clock.Add(24 * time.Hour)
	c.logon() // the session has expired
	l = c.list(large, CustomEvents)
	for _, f := range l.Daily {
		if f.FileName == oldest {
			t.Fatalf("%s still listed a day later", oldest)
		}
	}
	if l.Daily[len(l.Daily)-1].Date != "2026-10-25" || len(l.Daily) != DefaultDailyDays {
		t.Errorf("daily files end at %s (%d)", l.Daily[len(l.Daily)-1].Date, len(l.Daily))
	}
	resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/customEventTracking/getDownloadUrl/%d", large), fmt.Sprintf(`{"fileName":%q}`, oldest))
	wantStatus(t, "URL of an aged-out file", resp, body, http.StatusNotFound, "File not found")
	resp, body = e.fetch(u.URL)
	if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("<Code>NoSuchKey</Code>")) {
		t.Errorf("download of an aged-out file: %d %s", resp.StatusCode, body)
	}

	october := fileName(large, CustomEvents, "2026-10")
	_, records := unzipCSV(t, c.download(large, CustomEvents, october), csvName(october))
	var n int
	for _, r := range records[1:] {
		if strings.HasPrefix(r[0], "2026-10-24 ") {
			n++
		}
	}
	if want := len(e.sim.Rows(large, CustomEvents, time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC))); n != want || n == 0 {
		t.Errorf("the October file holds %d rows of Oct 24, want %d", n, want)
	}
}

func TestMonthlyRetention(t *testing.T) {
	e := newEnv(t, Config{RetentionMonths: 3, DailyDays: 5})
	months := func() []string {
		var out []string
		for _, f := range e.sim.Files(small, CustomEvents).Monthly {
			out = append(out, f.Period)
		}
		return out
	}
	if got := months(); !reflect.DeepEqual(got, []string{"2026-11", "2026-10", "2026-09"}) {
		t.Errorf("months on Dec 3: %v", got)
	}
	e.clock.Set(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC))
	if got := months(); !reflect.DeepEqual(got, []string{"2026-11", "2026-10", "2026-09"}) {
		t.Errorf("months on Dec 31: %v", got)
	}
	e.clock.Add(time.Second)
	if got := months(); !reflect.DeepEqual(got, []string{"2026-12", "2026-11", "2026-10"}) {
		t.Errorf("months on Jan 1: %v", got)
	}
	// A month whose last days still have daily files has its monthly
	// file too.
	if d := e.sim.Files(small, CustomEvents).Daily; len(d) != 5 || d[0].Period != "2026-12-31" || !d[0].From.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("daily files on Jan 1: %+v", d)
	}
}

// TestFileContent checks the ZIP and CSV of monthly and daily files
// against Rows, the CRLF line ends, the quoting and that downloads are
// byte-identical.
func TestFileContent(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	nov, dec := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []int64{large, small} {
		for _, kind := range Kinds {
			name := fileName(p, kind, "2026-11")
			data := c.download(p, kind, name)
			raw, records := unzipCSV(t, data, csvName(name))
			if !reflect.DeepEqual(records[0], Header(kind)) {
				t.Errorf("%s header %q", name, records[0])
			}
			want := e.sim.Rows(p, kind, nov, dec)
			if len(want) == 0 || !reflect.DeepEqual(records[1:], fieldsOf(want)) {
				t.Errorf("%s holds %d rows, Rows of November %d", name, len(records)-1, len(want))
			}
			if bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) || !bytes.HasSuffix(raw, []byte("\r\n")) {
				t.Errorf("%s has line ends other than CRLF", name)
			}
			if again := c.download(p, kind, name); !bytes.Equal(again, data) {
				t.Errorf("%s differs between downloads", name)
			}
			daily := fileName(p, kind, "2026-11-30")
			_, records = unzipCSV(t, c.download(p, kind, daily), csvName(daily))
			if want := e.sim.Rows(p, kind, day(dec, -1), dec); !reflect.DeepEqual(records[1:], fieldsOf(want)) {
				t.Errorf("%s holds %d rows, Rows %d", daily, len(records)-1, len(want))
			}
		}
	}
	// Values that need quoting occur, and survive.
	rows := e.sim.Rows(large, CustomEvents, nov, dec)
	found := map[string]bool{}
	for _, r := range rows {
		for _, f := range r.Fields {
			for _, ch := range []string{",", `"`, "\n"} {
				if strings.Contains(f, ch) {
					found[ch] = true
				}
			}
		}
	}
	if len(found) != 3 {
		t.Errorf("November's custom events hold only the special characters %v", found)
	}
	// Times are UTC, whole seconds, in order.
	for i, r := range rows {
		if r.Fields[0] != r.Time.Format(TimeLayout) || (i > 0 && r.Time.Before(rows[i-1].Time)) {
			t.Fatalf("row %d: time %q at %s after %s", i, r.Fields[0], r.Time, rows[i-1].Time)
		}
	}
}

// TestEmptyDayFile checks that a day without rows has a file holding the
// header only.
func TestEmptyDayFile(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.Generate(day(testNow, -5), testNow, 100)
	c := e.client()
	c.logon()
	name := fileName(large, Exceptions, "2026-11-13")
	raw, records := unzipCSV(t, c.download(large, Exceptions, name), csvName(name))
	if len(records) != 1 || string(raw) != strings.Join(exceptionHeader, ",")+"\r\n" {
		t.Errorf("empty day: %q", raw)
	}
}

func TestDuplicateRows(t *testing.T) {
	e := generated(t, Config{})
	for _, kind := range Kinds {
		rows := e.sim.Rows(large, kind, day(testNow, -60), testNow)
		dups := 0
		for i := 1; i < len(rows); i++ {
			if rows[i].Time.Equal(rows[i-1].Time) && slices.Equal(rows[i].Fields, rows[i-1].Fields) {
				dups++
			}
		}
		if dups == 0 {
			t.Errorf("%s: no duplicate rows among %d", kind, len(rows))
		}
	}
}

// TestDownloadURL checks the URL, its expiry, that it needs no cookie
// and that it cannot be altered.
func TestDownloadURL(t *testing.T) {
	e := generated(t, Config{})
	c := e.client()
	c.logon()
	name := fileName(small, CustomEvents, "2026-11-20")
	u := c.url(small, CustomEvents, name)
	if !strings.HasPrefix(u.URL, e.ts.URL+DownloadPath) || !strings.Contains(u.URL, "/"+name+"?") || !strings.Contains(u.URL, "X-Amz-Signature=") {
		t.Errorf("URL %s", u.URL)
	}
	if want := testNow.Add(DefaultURLTTL).Format(time.RFC3339); u.ExpiresAt != want {
		t.Errorf("expiresAt %s, want %s", u.ExpiresAt, want)
	}
	first, _ := e.fetch(u.URL)
	e.clock.Add(DefaultURLTTL - time.Millisecond)
	if resp, _ := e.fetch(u.URL); first.StatusCode != http.StatusOK || resp.StatusCode != http.StatusOK {
		t.Fatalf("downloads before expiry: %d, %d", first.StatusCode, resp.StatusCode)
	}
	e.clock.Add(time.Millisecond)
	resp, body := e.fetch(u.URL)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/xml" ||
		!bytes.Contains(body, []byte("<Error><Code>AccessDenied</Code><Message>Request has expired</Message>")) {
		t.Errorf("expired URL: %d %s", resp.StatusCode, body)
	}

	u = c.url(small, CustomEvents, name)
	for _, bad := range []string{
		strings.Replace(u.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1),
		u.URL[:strings.Index(u.URL, "?")],
		strings.Replace(u.URL, name, fileName(small, CustomEvents, "2026-11-21"), 1),
	} {
		if resp, body := e.fetch(bad); resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
			t.Errorf("altered URL %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp, body := e.fetch(e.ts.URL + DownloadPath + "nope/" + name); resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("unknown token: %d %s", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		kind string
		p    int64
		body string
		code int
	}{
		{CustomEvents, small, `{"fileName":"2876543211_customEvents_2026-11-20.csv"}`, http.StatusNotFound},
		{Exceptions, small, fmt.Sprintf(`{"fileName":%q}`, name), http.StatusNotFound},
		{CustomEvents, large, fmt.Sprintf(`{"fileName":%q}`, name), http.StatusNotFound},
		{CustomEvents, small, `{"fileName":"2876543211_customEvents_2026-12-04.zip"}`, http.StatusNotFound},
		{CustomEvents, small, `{}`, http.StatusBadRequest},
	} {
		resp, body := c.call(http.MethodPost, fmt.Sprintf("/v3/%s/getDownloadUrl/%d", kindPath(tc.kind), tc.p), tc.body)
		wantStatus(t, tc.body, resp, body, tc.code, "")
	}
	if st := e.sim.Stats(); st.URLsIssued != 2 || st.URLsExpired != 1 || st.URLsRefused != 4 || st.Downloads != 2 {
		t.Errorf("Stats() = %+v", st)
	}

	pub := generated(t, Config{PublicURL: "https://files.example/rui/"})
	pc := pub.client()
	pc.logon()
	if u := pc.url(large, Exceptions, fileName(large, Exceptions, "2026-11")); !strings.HasPrefix(u.URL, "https://files.example/rui/download/") {
		t.Errorf("URL with PublicURL: %s", u.URL)
	}
}

func TestDownloadThrottled(t *testing.T) {
	const rate = 20000
	e := generated(t, Config{DownloadBytesPerSecond: rate})
	c := e.client()
	c.logon()
	f := e.sim.Files(large, CustomEvents).Daily[0]
	start := time.Now()
	c.download(large, CustomEvents, f.Name)
	if want := time.Duration(float64(f.Size) / rate * 0.8 * float64(time.Second)); time.Since(start) < want || want < 50*time.Millisecond {
		t.Errorf("%d bytes in %s at %d B/s", f.Size, time.Since(start), rate)
	}
}

func TestGenerate(t *testing.T) {
	a, b := New(Config{Seed: 7}), New(Config{Seed: 7})
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // a Monday
	a.Generate(from, from.AddDate(0, 0, 7), 1000)
	b.Generate(from, from.AddDate(0, 0, 7), 1000)
	for _, kind := range Kinds {
		ra, rb := a.Rows(large, kind, from, from.AddDate(0, 0, 7)), b.Rows(large, kind, from, from.AddDate(0, 0, 7))
		if len(ra) == 0 || !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: the same seed gave %d and %d rows", kind, len(ra), len(rb))
		}
	}
	// Volume: the small product a tenth, exceptions a tenth, weekends
	// quieter.
	monday := len(a.Rows(large, CustomEvents, from, from.AddDate(0, 0, 1)))
	sunday := len(a.Rows(large, CustomEvents, from.AddDate(0, 0, 6), from.AddDate(0, 0, 7)))
	week := len(a.Rows(large, CustomEvents, from, from.AddDate(0, 0, 7)))
	smallWeek := len(a.Rows(small, CustomEvents, from, from.AddDate(0, 0, 7)))
	exc := len(a.Rows(large, Exceptions, from, from.AddDate(0, 0, 7)))
	if (monday != 0 && (monday < 700 || monday > 1300)) || sunday >= monday || smallWeek*5 > week || exc*5 > week || exc*20 < week {
		t.Errorf("Monday %d, Sunday %d, week %d, small product's week %d, exceptions %d", monday, sunday, week, smallWeek, exc)
	}
	// Tens of thousands of rows a day.
	big := New(Config{Clock: func() time.Time { return from.AddDate(0, 0, 1).Add(time.Hour) }})
	start := time.Now()
	n := big.Generate(from, from.AddDate(0, 0, 1), 40000)
	f := big.Files(large, CustomEvents)
	if n < 20000 || time.Since(start) > 5*time.Second || f.Daily[0].Size < 100000 {
		t.Errorf("generated %d rows and a %d-byte file in %s", n, f.Daily[0].Size, time.Since(start))
	}
	t.Logf("generated %d rows and a %d-byte file in %s", n, f.Daily[0].Size, time.Since(start))
	if err := big.Add(large, Exceptions, Row{Time: from, Fields: []string{"x"}}); err == nil {
		t.Error("Add accepted a row of the wrong width")
	}
}

func TestShortFileNames(t *testing.T) {
	e := generated(t, Config{ShortFileNames: true})
	c := e.client()
	c.logon()
	l := c.list(large, Exceptions)
	if l.Daily[0].FileName != "2876543210_exc_2026-12-02.zip" || c.list(large, CustomEvents).Monthly[0].FileName != "2876543210_cust_2026-11.zip" {
		t.Fatalf("short names: %s, %s", l.Daily[0].FileName, c.list(large, CustomEvents).Monthly[0].FileName)
	}
	_, records := unzipCSV(t, c.download(large, Exceptions, l.Daily[0].FileName), "2876543210_exc_2026-12-02.csv")
	if len(records) < 2 {
		t.Errorf("%d records", len(records))
	}
}
