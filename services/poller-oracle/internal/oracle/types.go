package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/zipcsv"
)

// Column aliases of the report CSV, matched case-insensitively, in order of
// preference. The vendor has written the header in several ways
// (`User Login,User Name,IP Address,Access Date and Time`, `User ID,IP
// Address,Access Time`, other case and order, extra columns).
var (
	LoginColumns = []string{"User Login", "User ID", "UserLogin", "User", "Login"}
	NameColumns  = []string{"User Name", "UserName", "Name", "Display Name"}
	IPColumns    = []string{"IP Address", "IPAddress", "IP", "Client IP"}
	TimeColumns  = []string{"Access Date and Time", "Access Time", "Date", "Access Date", "Login Time", "Time"}
)

// Field names of the User Login Report's JSON items, matched
// case-insensitively, in order of preference.
var (
	loginFields = []string{"userLogin", "userId", "login", "user"}
	nameFields  = []string{"userName", "name", "displayName"}
	ipFields    = []string{"ipAddress", "ip", "clientIp"}
	timeFields  = []string{"accessTime", "accessDateTime", "accessDateAndTime", "date", "time"}
)

// IsHeader reports whether a CSV record is the report's header: it names a
// login and an access time column. The byte-order mark and the quoted,
// encrypted application id before it are not.
func IsHeader(fields []string) bool {
	c := zipcsv.NewColumns(fields)
	return c.Has(LoginColumns...) && c.Has(TimeColumns...)
}

// CSVOptions are the zipcsv options of the report file.
var CSVOptions = zipcsv.Options{IsHeader: IsHeader}

// Row is one row of a report, from either API: the fields the event is
// made of, the vendor's record, and where it was read. It is the Value of
// the pipeline records of this package.
type Row struct {
	// Login, Name, IP and Time are the user login, display name, client
	// address and access time as the vendor wrote them (trimmed).
	Login, Name, IP, Time string
	// Names and Values are every column (CSV) or field (JSON) of the
	// row, in the vendor's order; a JSON value that is not a string is
	// its JSON text.
	Names, Values []string
	// Line is the row's first line in the CSV file (from 1), or 0 for an
	// item of the User Login Report.
	Line int
	// Item is the row's position among the report's rows, from 0.
	Item int
	// Err is a decoding problem (a field count that differs from the
	// header's, an item that is not an object); the row cannot become an
	// event.
	Err error
	// JSON is the item as the User Login Report sent it; nil for a CSV
	// row.
	JSON []byte
}

// Where names the row's position for error messages: "line 12" or "item 3".
func (r *Row) Where() string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d", r.Line)
	}
	return fmt.Sprintf("item %d", r.Item+1)
}

// At returns the row's access time in UTC, or an error naming the row when
// the row is malformed or has no parsable time.
func (r *Row) At() (time.Time, error) {
	if r.Err != nil {
		return time.Time{}, r.Err
	}
	t, err := ParseAccessTime(r.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", r.Where(), err)
	}
	return t, nil
}

// Columns maps a report header to the fields a Row needs.
type Columns struct {
	header                []string
	login, name, ip, time int
}

// NewColumns finds the columns of header; a missing login or time column
// is an error (the header of a report must have both).
func NewColumns(header []string) (Columns, error) {
	c := zipcsv.NewColumns(header)
	cols := Columns{header: header, login: c.Index(LoginColumns...), name: c.Index(NameColumns...), ip: c.Index(IPColumns...), time: c.Index(TimeColumns...)}
	if cols.login < 0 || cols.time < 0 {
		return cols, fmt.Errorf("report header %q has no user login or access time column", header)
	}
	return cols, nil
}

// Header returns the header the columns were found in.
func (c Columns) Header() []string { return c.header }

// DecodeRow turns one CSV row into a Row: the mapped fields, every column,
// and the row's decoding error (zipcsv's, or a missing login).
func (c Columns) DecodeRow(r zipcsv.Row) Row {
	row := Row{
		Login:  strings.TrimSpace(zipcsv.Field(r.Fields, c.login)),
		Name:   strings.TrimSpace(zipcsv.Field(r.Fields, c.name)),
		IP:     strings.TrimSpace(zipcsv.Field(r.Fields, c.ip)),
		Time:   strings.TrimSpace(zipcsv.Field(r.Fields, c.time)),
		Values: r.Fields,
		Line:   r.Line,
		Item:   r.Index,
		Err:    r.Err,
	}
	row.Names = make([]string, len(r.Fields))
	for i := range r.Fields {
		if i < len(c.header) {
			row.Names[i] = c.header[i]
		} else {
			row.Names[i] = fmt.Sprintf("column %d", i+1)
		}
	}
	if row.Err == nil && row.Login == "" {
		row.Err = fmt.Errorf("line %d has no user login", r.Line)
	}
	return row
}

// Raw returns the row as the JSON object the events keep in raw: the CSV
// row keyed by header (zipcsv.AppendObject), or the item's members.
func (r *Row) Raw() []byte {
	if r.JSON != nil {
		return r.JSON
	}
	return zipcsv.AppendObject(nil, r.Names, r.Values)
}

// accessLayouts are the forms of an access time after normalizeSpaces and
// with a trailing UTC/GMT/Z removed, all read as UTC.
var accessLayouts = []string{
	"January 2, 2006 15:04:05",
	"Jan 2, 2006 15:04:05",
	"January 2, 2006 3:04:05 PM",
	"Jan 2, 2006 3:04:05 PM",
	"January 2 2006 15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// ParseAccessTime reads an access time of the report, "July 28, 2022
// 18:43:21 UTC" (Go layout "January 2, 2006 15:04:05 MST" in UTC), and
// tolerates what the vendor's writers vary: several spaces, a zero-padded
// day, abbreviated or upper-case months, a 12-hour clock, a missing or
// GMT/Z zone, and ISO 8601 (with an offset, converted to UTC). A zone
// other than UTC/GMT/Z or a numeric offset is refused rather than guessed.
func ParseAccessTime(s string) (time.Time, error) {
	v := normalizeSpaces(s)
	if v == "" {
		return time.Time{}, errors.New("empty access time")
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	for _, zone := range []string{" UTC", " GMT", " Z", "Z", " +0000", " +00:00"} {
		if len(v) > len(zone) && strings.EqualFold(v[len(v)-len(zone):], zone) {
			v = strings.TrimSpace(v[:len(v)-len(zone)])
			break
		}
	}
	for _, layout := range accessLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("access time %q is not like %q", s, "July 28, 2022 18:43:21 UTC")
}

// normalizeSpaces trims s and folds every run of white space to one space.
func normalizeSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// FormatAccessTime writes t as the vendor does: "July 28, 2022 18:43:21 UTC".
func FormatAccessTime(t time.Time) string {
	return t.UTC().Format("January 2, 2006 15:04:05 MST")
}

// Link is one element of the links of an answer.
type Link struct {
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Action string `json:"action"`
}

// JobStatus is the answer of a submit or of a job status call: status -1
// is running, 0 done, positive failed (with details).
type JobStatus struct {
	Status  int
	Details string
	Links   []Link
}

// Running, Done and Failed classify the status.
func (j JobStatus) Running() bool { return j.Status == -1 }

// Done reports a job that completed.
func (j JobStatus) Done() bool { return j.Status == 0 }

// Failed reports a job the vendor failed.
func (j JobStatus) Failed() bool { return j.Status > 0 }

// Link returns the href of the link whose rel is rel (case-insensitively,
// ignoring spaces around it), or "".
func (j JobStatus) Link(rel string) string {
	for _, l := range j.Links {
		if strings.EqualFold(strings.TrimSpace(l.Rel), rel) {
			return strings.TrimSpace(l.Href)
		}
	}
	return ""
}

// statusBody is the JSON every answer of the API has.
type statusBody struct {
	Status  *json.Number    `json:"status"`
	Details json.RawMessage `json:"details"`
	Links   []Link          `json:"links"`
}

// DecodeJobStatus reads the answer of a submit or a job status call. It
// requires an integer status; details may be a string, null or anything
// else (kept as JSON text); links may be missing.
func DecodeJobStatus(body []byte) (JobStatus, error) {
	var b statusBody
	if err := json.Unmarshal(body, &b); err != nil {
		return JobStatus{}, fmt.Errorf("decode job status: %w", err)
	}
	if b.Status == nil {
		return JobStatus{}, errors.New("decode job status: no status member")
	}
	n, err := b.Status.Int64()
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return JobStatus{}, fmt.Errorf("decode job status: status %s is not an integer", *b.Status)
	}
	return JobStatus{Status: int(n), Details: detailsText(b.Details), Links: b.Links}, nil
}

// detailsText returns a details member as text: the string, "" for null
// or missing, else the JSON.
func detailsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// DecodeLoginReport reads the User Login Report's answer: status (0 is
// success), details, and the rows under items, data or result, whose
// members are matched by name case-insensitively. An item that is not an
// object becomes a Row with Err set, so that it reaches the dead-letter
// topic instead of being dropped.
func DecodeLoginReport(body []byte) (JobStatus, []Row, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return JobStatus{}, nil, fmt.Errorf("decode user login report: %w", err)
	}
	if env == nil {
		return JobStatus{}, nil, errors.New("decode user login report: not a JSON object")
	}
	st := JobStatus{Details: detailsText(lookup(env, "details"))}
	if raw := lookup(env, "status"); raw != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return JobStatus{}, nil, fmt.Errorf("decode user login report: status %s is not a number", raw)
		}
		v, err := n.Int64()
		if err != nil {
			return JobStatus{}, nil, fmt.Errorf("decode user login report: status %s is not an integer", raw)
		}
		st.Status = int(v)
	}
	var items json.RawMessage
	for _, k := range []string{"items", "data", "result"} {
		if raw := lookup(env, k); raw != nil && string(bytes.TrimSpace(raw)) != "null" {
			items = raw
			break
		}
	}
	if items == nil {
		if st.Status != 0 {
			return st, nil, nil
		}
		return st, nil, errors.New("decode user login report: no items, data or result member")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(items, &list); err != nil {
		return JobStatus{}, nil, fmt.Errorf("decode user login report: rows are not an array: %w", err)
	}
	rows := make([]Row, len(list))
	for i, raw := range list {
		rows[i] = DecodeLoginItem(raw, i)
	}
	return st, rows, nil
}

// DecodeLoginItem turns one item of the User Login Report into a Row.
func DecodeLoginItem(raw json.RawMessage, i int) Row {
	row := Row{Item: i, JSON: append([]byte(nil), bytes.TrimSpace(raw)...)}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		row.Names, row.Values = []string{"item"}, []string{string(bytes.TrimSpace(raw))}
		row.Err = fmt.Errorf("item %d is not a JSON object", i+1)
		return row
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			row.Err = fmt.Errorf("item %d: %w", i+1, err)
			return row
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			row.Err = fmt.Errorf("item %d: %w", i+1, err)
			return row
		}
		row.Names = append(row.Names, kt.(string))
		row.Values = append(row.Values, detailsText(v))
	}
	pick := func(names []string) string {
		for _, n := range names {
			for j, k := range row.Names {
				if strings.EqualFold(k, n) {
					return strings.TrimSpace(row.Values[j])
				}
			}
		}
		return ""
	}
	row.Login, row.Name, row.IP, row.Time = pick(loginFields), pick(nameFields), pick(ipFields), pick(timeFields)
	if row.Login == "" {
		row.Err = fmt.Errorf("item %d has no user login", i+1)
	}
	return row
}

// lookup returns the member of env named k, case-insensitively.
func lookup(env map[string]json.RawMessage, k string) json.RawMessage {
	if v, ok := env[k]; ok {
		return v
	}
	for name, v := range env {
		if strings.EqualFold(name, k) {
			return v
		}
	}
	return nil
}
