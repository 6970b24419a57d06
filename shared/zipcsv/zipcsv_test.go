package zipcsv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// makeZip returns a ZIP with the named entries.
func makeZip(t testing.TB, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, entries[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const oracleCSV = "\xEF\xBB\xBF\"kJ3xQ29zZWNyZXQ=\"\r\n" +
	"User Login,User Name,IP Address,Access Date and Time\r\n" +
	"jdoe@example.com,John Doe,10.0.0.1,\"July 28, 2022 18:43:21 UTC\"\r\n" +
	"asmith@example.com,,2001:db8::1,\"July 28, 2022 18:50:00 UTC\"\r\n" +
	"broken,row\r\n" +
	"\"x@example.com\",\"Quote \"\"Q\"\" Name, Jr.\",10.0.0.2,\"July 29, 2022 01:00:00 UTC\"\r\n"

func isOracleHeader(f []string) bool { return NewColumns(f).Has("User Login", "User ID") }

func TestRowsOfOracleReport(t *testing.T) {
	f, err := Open(makeZip(t, "report.csv", oracleCSV), Options{IsHeader: isOracleHeader})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if got := strings.Join(rows.Header(), "|"); got != "User Login|User Name|IP Address|Access Date and Time" {
		t.Errorf("header = %s", got)
	}
	var got []string
	for {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%d@%d:%s", row.Index, row.Line, strings.Join(row.Fields, "|"))
		if row.Err != nil {
			s += " ERR"
		}
		got = append(got, s)
	}
	want := []string{
		"0@3:jdoe@example.com|John Doe|10.0.0.1|July 28, 2022 18:43:21 UTC",
		"1@4:asmith@example.com||2001:db8::1|July 28, 2022 18:50:00 UTC",
		"2@5:broken|row ERR",
		`3@6:x@example.com|Quote "Q" Name, Jr.|10.0.0.2|July 29, 2022 01:00:00 UTC`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("<html>error</html>"), "read zip archive"},
		{"no csv", makeZip(t, "readme.txt", "x"), "no .csv file"},
		{"two csv", makeZip(t, "a.csv", "h\n", "b.CSV", "h\n"), "2 .csv files"},
	}
	for _, tt := range tests {
		if _, err := Open(tt.data, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open = %v, want %q", tt.name, err, tt.want)
		}
	}
	f, err := Open(makeZip(t, "dir/", "", "a.csv", "\"appid\"\n\"other\"\n"), Options{IsHeader: isOracleHeader, MaxPreamble: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rows(); err == nil || !strings.Contains(err.Error(), "no header row") {
		t.Errorf("Rows without header = %v", err)
	}
	f, _ = Open(makeZip(t, "a.csv", ""), Options{})
	if _, err := f.Rows(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Rows of an empty file = %v", err)
	}
}

func TestColumns(t *testing.T) {
	c := NewColumns([]string{" ACCESS DATE AND TIME", "ip address", "User Login", "user login"})
	tests := []struct {
		names []string
		want  int
	}{
		{[]string{"Access Date and Time", "Access Time"}, 0},
		{[]string{"Access Time", "access date and time"}, 0},
		{[]string{"IP Address"}, 1},
		{[]string{"User Login"}, 2},
		{[]string{"User Name"}, -1},
	}
	for _, tt := range tests {
		if got := c.Index(tt.names...); got != tt.want {
			t.Errorf("Index(%q) = %d, want %d", tt.names, got, tt.want)
		}
	}
	if Field([]string{"a"}, 3) != "" || Field([]string{"a"}, -1) != "" || Field([]string{"a"}, 0) != "a" {
		t.Error("Field out of range")
	}
}

func TestAppendObject(t *testing.T) {
	got := AppendObject(nil, []string{"A", "B \"q\""}, []string{"x\n\t\x01", "é\xff", "extra"})
	var m map[string]string
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if m["A"] != "x\n\t\x01" || m["B \"q\""] != "é\uFFFD" || m["column 3"] != "extra" {
		t.Errorf("object = %s", got)
	}
	if string(AppendObject(nil, []string{"A"}, nil)) != "{}" {
		t.Error("empty row")
	}
}

func TestPager(t *testing.T) {
	var body strings.Builder
	body.WriteString("n,v\n")
	for i := range 10 {
		fmt.Fprintf(&body, "%d,v%d\n", i, i)
	}
	data := makeZip(t, "f.csv", body.String())
	loads := 0
	load := func(context.Context) ([]byte, error) { loads++; return data, nil }
	var p Pager
	read := func(key string, offset, n int) string {
		rows, err := p.At(context.Background(), key, offset, Options{}, load)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for range n {
			row, err := rows.Next()
			if err != nil {
				break
			}
			out = append(out, row.Fields[0])
		}
		return strings.Join(out, ",")
	}
	if got := read("f", 0, 3); got != "0,1,2" {
		t.Errorf("page 1 = %s", got)
	}
	if got := read("f", 3, 3); got != "3,4,5" || loads != 1 {
		t.Errorf("page 2 = %s after %d loads", got, loads)
	}
	if got := read("f", 3, 2); got != "3,4" || loads != 1 {
		t.Errorf("page 2 again = %s after %d loads, want a re-open without download", got, loads)
	}
	if got := read("g", 8, 5); got != "8,9" || loads != 2 {
		t.Errorf("other file = %s after %d loads", got, loads)
	}
	if _, err := p.At(context.Background(), "g", 11, Options{}, load); err == nil {
		t.Error("offset past the end accepted")
	}
	if p.Key() != "" {
		t.Error("a failed At kept the file")
	}
}

func TestReadAll(t *testing.T) {
	b, err := ReadAll(strings.NewReader("hello"), 5, 10)
	if err != nil || string(b) != "hello" {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
	if b, err := ReadAll(strings.NewReader(strings.Repeat("x", 2000)), -1, 5000); err != nil || len(b) != 2000 {
		t.Errorf("ReadAll without hint = %d, %v", len(b), err)
	}
	if _, err := ReadAll(strings.NewReader("hello world"), -1, 5); err == nil {
		t.Error("body over the limit accepted")
	}
	if _, err := ReadAll(strings.NewReader(""), 50, 5); err == nil {
		t.Error("Content-Length over the limit accepted")
	}
}

// FuzzRows checks that any CSV text is read to its end without a panic:
// every row has an increasing Index, and a row is either well formed
// (as many fields as the header) or carries an error.
func FuzzRows(f *testing.F) {
	f.Add([]byte(oracleCSV))
	f.Add([]byte("a,b\n1,2\n\"3\n"))
	f.Add([]byte("\xEF\xBB\xBFa\n\"\"\"\n"))
	f.Add([]byte("a,b\n1,\"x\"y,2\n3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := NewRows(bytes.NewReader(data), Options{IsHeader: func(f []string) bool { return len(f) > 1 }})
		if err != nil {
			return
		}
		n := len(rows.Header())
		for i := 0; ; i++ {
			row, err := rows.Next()
			if err != nil {
				return
			}
			if row.Index != i {
				t.Fatalf("row %d has Index %d", i, row.Index)
			}
			if row.Err == nil && len(row.Fields) != n {
				t.Fatalf("row %d has %d fields, header %d, and no error", i, len(row.Fields), n)
			}
			if i > len(data) {
				t.Fatalf("more rows than bytes")
			}
		}
	})
}
