package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/testkit"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

func TestParseAccessTime(t *testing.T) {
	want := time.Date(2022, 7, 8, 18, 43, 21, 0, time.UTC)
	for _, s := range []string{
		"July 8, 2022 18:43:21 UTC", "July  8, 2022 18:43:21 UTC", " July 08, 2022 18:43:21 UTC ", "July 8, 2022 18:43:21",
		"JULY 8, 2022 18:43:21 utc", "Jul 8, 2022 18:43:21 GMT", "July 8, 2022 6:43:21 PM UTC", "2022-07-08T18:43:21Z",
		"2022-07-08T20:43:21+02:00", "2022-07-08 18:43:21", "2022-07-08T18:43:21", "July 8, 2022\t18:43:21 UTC",
	} {
		got, err := ParseAccessTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseAccessTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "July 8, 2022 18:43:21 PST", "July 8, 2022 18:43:21 +0200", "08/07/2022 18:43", "July 32, 2022 18:43:21 UTC", "yesterday"} {
		if got, err := ParseAccessTime(s); err == nil {
			t.Errorf("ParseAccessTime(%q) = %v, want an error", s, got)
		}
	}
	if s := FormatAccessTime(want); s != "July 8, 2022 18:43:21 UTC" || s != want.Format(oraclesim.AccessTimeLayout) {
		t.Errorf("FormatAccessTime = %q", s)
	}
}

func TestDecodeJobStatus(t *testing.T) {
	st, err := DecodeJobStatus([]byte(`{"status":-1,"details":null,"links":[{"rel":"self","href":"http://h/x","action":"POST"},{"rel":"Job Status","href":"http://h/interop/rest/11.1.2.3.600/jobs/1?token=t","action":"GET"}]}`))
	if err != nil || !st.Running() || st.Link("job status") != "http://h/interop/rest/11.1.2.3.600/jobs/1?token=t" {
		t.Fatalf("submit answer: %+v, %v", st, err)
	}
	st, err = DecodeJobStatus([]byte(`{"status":1,"details":{"code":"EPMCSS-1"}}`))
	if err != nil || !st.Failed() || st.Details != `{"code":"EPMCSS-1"}` || st.Link("Job Status") != "" {
		t.Fatalf("failed job: %+v, %v", st, err)
	}
	for _, body := range []string{``, `[]`, `{}`, `{"status":1.5}`, `{"status":99999999999}`, `<html>`} {
		if st, err := DecodeJobStatus([]byte(body)); err == nil {
			t.Errorf("DecodeJobStatus(%q) = %+v", body, st)
		}
	}
}

func TestDecodeLoginReport(t *testing.T) {
	for _, key := range []string{"items", "data", "result", "Items"} {
		st, rows, err := DecodeLoginReport([]byte(`{"status":0,"details":null,"` + key + `":[{"userLogin":"a@x.com","userName":"A","ipAddress":"10.0.0.1","accessTime":"July 8, 2022 18:43:21 UTC"},7]}`))
		if err != nil || st.Status != 0 || len(rows) != 2 || rows[0].Login != "a@x.com" || rows[0].Name != "A" || rows[0].Err != nil || rows[1].Err == nil {
			t.Fatalf("%s: %+v %+v %v", key, st, rows, err)
		}
	}
	if st, rows, err := DecodeLoginReport([]byte(`{"status":1,"details":"Invalid date range: x"}`)); err != nil || st.Status != 1 || rows != nil {
		t.Fatalf("refusal: %+v %v %v", st, rows, err)
	}
	for _, body := range []string{`{"status":0}`, `{"status":0,"items":{}}`, `null`, `[`} {
		if _, _, err := DecodeLoginReport([]byte(body)); err == nil {
			t.Errorf("DecodeLoginReport(%q) accepted", body)
		}
	}
}

// TestReportFileOfTheSimulator reads oraclesim's files of every header
// style through a ZipReport: the byte-order mark and the application id
// are skipped, and every row decodes.
func TestReportFileOfTheSimulator(t *testing.T) {
	rows := []oraclesim.Row{
		{Login: "b@example.com", Name: "B, \"Bee\"", IP: "2001:db8::2", Time: time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC)},
		{Login: "a@example.com", Name: "", IP: "10.0.0.1", Time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
	}
	for _, style := range oraclesim.HeaderStyles {
		data := zipOf(t, oraclesim.ReportCSV("YXBwaWQ=", style, rows))
		rep, err := NewZipReport("f.csv", data)
		if err != nil {
			t.Fatalf("%s: %v", style, err)
		}
		rr, err := rep.Rows(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range rows {
			got, err := rr.Next()
			if err != nil || got.Err != nil {
				t.Fatalf("%s row %d: %+v %v", style, i, got, err)
			}
			at, _ := got.At()
			if got.Login != want.Login || got.IP != want.IP || !at.Equal(want.Time) || (style != oraclesim.HeaderAlt && got.Name != want.Name) || got.Line != 3+i {
				t.Errorf("%s row %d = %+v, want %+v", style, i, got, want)
			}
		}
		if _, err := rr.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the rows: %v", style, err)
		}
	}
}

// zipOf returns a ZIP of one entry report.csv holding content.
func zipOf(t testing.TB, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zipWriter(&buf)
	f, err := zw.Create("report.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// csvSeeds are CSV files of the report's kinds, the fuzzers' seeds.
func csvSeeds(t testing.TB) [][]byte {
	t.Helper()
	rows := []oraclesim.Row{{Login: "a@example.com", Name: "A", IP: "10.0.0.1", Time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}}
	out := [][]byte{
		[]byte("\xEF\xBB\xBF\"appid\"\r\nUser Login,User Name,IP Address,Access Date and Time\r\njdoe,,10.0.0.1,\"July 8, 2022 18:43:21 UTC\"\r\nbroken\r\n"),
		[]byte("User ID,Access Time\n\"x\"\"\",\"July 8\n"),
	}
	for _, style := range oraclesim.HeaderStyles {
		out = append(out, oraclesim.ReportCSV("YXBwaWQ=", style, rows))
	}
	return out
}

// FuzzDecodeRow feeds any CSV text through the report's row decoding
// (zipcsv with IsHeader, Columns.DecodeRow) and the normalizer.
// Invariants:
//   - nothing panics, and reading ends (at io.EOF or an error);
//   - a header the reader accepts has a login and a time column;
//   - every row's Item counts up from 0, its Line is positive, and it has
//     one Name per Value;
//   - a row decodes without error only with as many fields as the header
//     and a non-empty login;
//   - the normalizer fails exactly when the row has an error or its time
//     does not parse, and its errors name the row's line;
//   - an event has the row's login as user id, a UTC event time, the
//     vendor's time string as raw_time, valid JSON in raw keyed by the
//     header, and one attribute per distinct column name.
func FuzzDecodeRow(f *testing.F) {
	for _, s := range csvSeeds(f) {
		f.Add(s)
	}
	norm := NewNormalizer(testTenant)
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := zipcsv.NewRows(bytes.NewReader(data), CSVOptions)
		if err != nil {
			return
		}
		cols, err := NewColumns(rows.Header())
		if err != nil {
			t.Fatalf("accepted header %q without login and time: %v", rows.Header(), err)
		}
		for i := 0; ; i++ {
			zr, err := rows.Next()
			if err != nil {
				return
			}
			row := cols.DecodeRow(zr)
			if row.Item != i || row.Line < 1 || len(row.Names) != len(row.Values) {
				t.Fatalf("row %d: item %d line %d, %d names %d values", i, row.Item, row.Line, len(row.Names), len(row.Values))
			}
			if row.Err == nil && (len(zr.Fields) != len(rows.Header()) || row.Login == "") {
				t.Fatalf("row %d decoded without error: %+v", i, row)
			}
			checkNormalized(t, norm, row)
		}
	})
}

// checkNormalized checks the normalizer's invariants on row.
func checkNormalized(t *testing.T, norm func(rec pipelineRecord, observed time.Time) (eventEvent, error), row Row) {
	t.Helper()
	raw := row.Raw()
	if !json.Valid(raw) {
		t.Fatalf("raw of %s is not JSON: %q", row.Where(), raw)
	}
	ev, err := norm(pipelineRecord{Raw: raw, Value: &row}, observedAt)
	_, terr := ParseAccessTime(row.Time)
	if (err != nil) != (row.Err != nil || terr != nil) {
		t.Fatalf("%s: normalize error %v, row error %v, time error %v", row.Where(), err, row.Err, terr)
	}
	if err != nil {
		if !strings.Contains(err.Error(), row.Where()) && !strings.Contains(err.Error(), "line ") {
			t.Fatalf("error %q does not name %s", err, row.Where())
		}
		return
	}
	e := asAudit(ev)
	names := map[string]bool{}
	for _, n := range row.Names {
		names[n] = true
	}
	if *e.Actor.UserID != row.Login || e.EventTime.Location() != time.UTC || *e.RawTime != row.Time || *e.Raw != string(raw) || len(e.Attributes) != len(names) {
		t.Fatalf("%s: event %+v of row %+v", row.Where(), e, row)
	}
	if !utf8.ValidString(*e.Raw) {
		t.Fatalf("raw not UTF-8")
	}
}

// FuzzDecodeJobStatus checks the decoders of the API's JSON answers — job
// status and submit (DecodeJobStatus), User Login Report
// (DecodeLoginReport) — on any body. Invariants:
//   - nothing panics;
//   - DecodeJobStatus succeeds only on a JSON object with an integer
//     status, and then exactly one of Running, Done, Failed holds unless
//     the status is below -1;
//   - DecodeLoginReport's rows carry their position, their JSON, and an
//     error exactly when they have no login or are not objects.
func FuzzDecodeJobStatus(f *testing.F) {
	for _, s := range []string{
		`{"status":-1,"details":null,"links":[{"rel":"Job Status","href":"http://h/jobs/1?token=t","action":"GET"}]}`,
		`{"status":0,"details":"Completed","links":[],"items":null}`,
		`{"status":1,"details":"EPMCSS-20643: Failed"}`,
		`{"status":8,"details":"EPMCSS-20700: Snapshot x.csv not found."}`,
		`{"status":0,"details":null,"items":[{"userLogin":"a@x.com","userName":"A","ipAddress":"10.0.0.1","accessTime":"July 8, 2022 18:43:21 UTC"}]}`,
		`{"status":0,"data":[1,{"userLogin":""}]}`,
	} {
		f.Add([]byte(s))
	}
	for _, in := range testkit.GoldenInputs(f, filepath.Join("testdata", "normalize")) {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := DecodeJobStatus(body)
		if err == nil {
			n := 0
			for _, b := range []bool{st.Running(), st.Done(), st.Failed()} {
				if b {
					n++
				}
			}
			if (st.Status >= -1 && n != 1) || (st.Status < -1 && n != 0) {
				t.Fatalf("status %d classified %d ways", st.Status, n)
			}
			if !json.Valid(body) {
				t.Fatalf("decoded invalid JSON %q", body)
			}
		}
		_, rows, err := DecodeLoginReport(body)
		if err != nil {
			return
		}
		for i, r := range rows {
			if r.Item != i || r.JSON == nil || !json.Valid(r.JSON) {
				t.Fatalf("row %d: %+v", i, r)
			}
			if (r.Err == nil) == (r.Login == "") && r.Err == nil {
				t.Fatalf("row %d without login and without error", i)
			}
			if len(r.Names) != len(r.Values) {
				t.Fatalf("row %d: %d names, %d values", i, len(r.Names), len(r.Values))
			}
		}
	})
}
