package aveva

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// DateTimeLayout renders the DateTime parameters: UTC, whole seconds and no
// zone designator, as the API reference's examples (2023-09-15T13:30:00).
const DateTimeLayout = "2006-01-02T15:04:05"

// Window is a time window of a report request, [From, To) in whole UTC
// seconds. Whether the API treats To as inclusive is not documented; the
// Source stays exact either way (see the package documentation).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Width returns To − From.
func (w Window) Width() time.Duration { return w.To.Sub(w.From) }

// String renders w as "from/to" in RFC 3339.
func (w Window) String() string {
	return w.From.Format(time.RFC3339) + "/" + w.To.Format(time.RFC3339)
}

// Entry is one record of a report as fetched: its bytes and what the source
// recognised in it. A record that is not a JSON object is still an Entry,
// with Err set, so that it is dead-lettered rather than dropped.
type Entry struct {
	// Raw is the record's JSON exactly as received.
	Raw json.RawMessage
	// Report is the report the record came from.
	Report string
	// Window is the window whose response held the record.
	Window Window
	// Time is the record's instant in UTC at millisecond precision; zero
	// when the record has no usable time.
	Time time.Time
	// TimeField names the member the time was read from, and RawTime is
	// that member's text; both are empty when the record has none.
	TimeField, RawTime string
	// TimeErr says why a time member could not be read; nil otherwise.
	TimeErr error
	// IDField and ID are the record's own id member and value, when it has
	// one (see IDFields).
	IDField, ID string
	// Identity is the natural identity event ids derive from: "id:<ID>", or
	// the content hash of the record, with "@<window start>" for a record
	// without time and "#k" for the k-th identical record of a window.
	Identity string
	// Err says why the record cannot be normalized.
	Err error
}

// Record returns e as a pipeline record: its bytes, and e as the value the
// normalizer reads.
func (e *Entry) Record() pipeline.Record {
	return pipeline.Record{Raw: e.Raw, Value: e}
}

// The members recognised in records, compared case-insensitively when no
// member has the exact name; the first present name of a list wins. The
// service README's mapping tables list them.
var (
	// IDFields hold a record's own id.
	IDFields = []string{"id", "transactionId", "auditId", "eventId", "recordId", "logId", "entryId", "usageId"}
	// TimeFields hold the record's time.
	TimeFields = []string{"timestamp", "dateTime", "eventTime", "eventDate", "transactionDate", "transactionTime",
		"usageDate", "usageTime", "loginTime", "startTime", "startDate", "periodStart", "date", "time",
		"createdAt", "createdOn", "createdDate", "occurredAt", "recordedAt", "auditDate", "activityDate"}
)

// errNotObject is the Err of a record that is not a JSON object.
var errNotObject = errors.New("record is not a JSON object")

// member is one top-level member of a record.
type member struct {
	key string
	val json.RawMessage
}

// fields is a record's top-level members, sorted by name; a repeated name
// keeps its last value, as json.Unmarshal into a map would.
type fields struct {
	ms []member
}

// parseFields decodes raw as an object. Member values are sub-slices of
// raw, not copies.
func parseFields(raw []byte) (fields, error) {
	if !isObject(raw) {
		return fields{}, errNotObject
	}
	ms, err := splitObject(raw)
	if err != nil {
		return fields{}, fmt.Errorf("decode record: %w", err)
	}
	return fields{ms: ms}, nil
}

// index returns the position of the member named key, or -1.
func (f *fields) index(key string) int {
	i, ok := slices.BinarySearchFunc(f.ms, key, func(m member, k string) int { return strings.Compare(m.key, k) })
	if !ok {
		return -1
	}
	return i
}

// find returns the position of the first of names present (not null) in
// f: by exact name, else ignoring case (the first such member in sorted
// order); ok is false when none is.
func (f *fields) find(names []string) (i int, ok bool) {
	for _, n := range names {
		if i := f.index(n); i >= 0 && !isNull(f.ms[i].val) {
			return i, true
		}
	}
	for _, n := range names {
		for i, m := range f.ms {
			if strings.EqualFold(m.key, n) && !isNull(m.val) {
				return i, true
			}
		}
	}
	return -1, false
}

// splitObject returns the members of the JSON object raw sorted by name,
// as json.Unmarshal into a map[string]json.RawMessage would find them (a
// repeated name keeps its last value), but with values that are sub-slices
// of raw.
func splitObject(raw []byte) ([]member, error) {
	if !json.Valid(raw) {
		var m map[string]json.RawMessage
		err := json.Unmarshal(raw, &m)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, err
	}
	// raw is valid JSON and starts with '{' (after white space): the scan
	// below relies on both.
	ms := make([]member, 0, 16)
	i := skipSpace(raw, 0) + 1
	i = skipSpace(raw, i)
	if raw[i] == '}' {
		return ms, nil
	}
	for {
		end := endOfString(raw, i)
		key, err := unquote(raw[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(raw, end) + 1 // the ':'
		i = skipSpace(raw, i)
		end = endOfValue(raw, i)
		ms = append(ms, member{key: key, val: raw[i:end:end]})
		i = skipSpace(raw, end)
		if raw[i] == '}' {
			return sortMembers(ms), nil
		}
		i = skipSpace(raw, i+1) // after the ','
	}
}

// sortMembers sorts ms by name, keeping the last of repeated names.
func sortMembers(ms []member) []member {
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue // a later value of the same name wins
		}
		out = append(out, m)
	}
	return out
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the string that starts at b[i].
func endOfString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// endOfValue returns the index after the JSON value that starts at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = endOfString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// unquote returns the text of a JSON string literal q.
func unquote(q []byte) (string, error) {
	body := q[1 : len(q)-1]
	if !bytes.ContainsAny(body, "\\") && utf8.Valid(body) {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", err
	}
	return s, nil
}

// DecodeEntry decodes one record of report fetched in window w, parsing its
// time with p. It never fails: a record that is not an object comes back
// with Err set. Identity is set without occurrence number; the Source
// numbers identical records.
func DecodeEntry(raw json.RawMessage, report string, w Window, p TimeParser) *Entry {
	e := &Entry{Raw: raw, Report: report, Window: w}
	f, err := parseFields(raw)
	if err != nil {
		e.Err = err
		e.Identity = contentIdentity(raw)
		return e
	}
	if i, ok := f.find(IDFields); ok {
		if id, ok := scalarText(f.ms[i].val); ok && id != "" {
			e.IDField, e.ID = f.ms[i].key, id
		}
	}
	if i, ok := f.find(TimeFields); ok {
		e.TimeField = f.ms[i].key
		e.RawTime = valueText(f.ms[i].val)
		e.Time, e.TimeErr = p.parseValue(f.ms[i].val)
	}
	switch {
	case e.ID != "":
		e.Identity = "id:" + e.ID
	case e.Time.IsZero():
		// Without a time, identical records of two windows are told
		// apart by the window; a replay fetches the same window.
		e.Identity = contentIdentity(raw) + "@" + w.From.UTC().Format(time.RFC3339)
	default:
		e.Identity = contentIdentity(raw)
	}
	return e
}

// contentIdentity is event.ContentIdentity, or the hash of the bytes when
// they are not JSON (which a decoded record always is).
func contentIdentity(raw []byte) string {
	id, err := event.ContentIdentity(raw)
	if err != nil {
		return "bytes:" + hashHex(raw)
	}
	return id
}

// isNull reports whether v is the JSON null literal.
func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// scalarText returns a string member as itself and a number or boolean as
// its JSON text; ok is false for null, objects and arrays.
func scalarText(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return "", false
		}
		s, err := unquote(v)
		if err != nil {
			return "", false
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	}
	return string(v), true
}

// valueText returns a string as itself and any other value as its compact
// JSON text.
func valueText(v json.RawMessage) string {
	if s, ok := scalarText(v); ok {
		return s
	}
	return compactJSON(v)
}

// compactJSON returns v without insignificant white space; member order
// and number text are kept.
func compactJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// TimeParser parses the DateTime fields of records. ISO 8601 forms are
// always accepted; a locale adds its own format (the audit report formats
// DateTime fields for the locale parameter). A time without zone is UTC:
// the poller asks for UTC (offset=0).
type TimeParser struct {
	layouts []string
}

// isoLayouts are tried first, for every locale. A fraction of seconds is
// accepted after the seconds of any of them.
var isoLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

// Locale formats, by how the locale writes dates.
var (
	monthFirstLayouts = []string{"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006"}
	dayFirstLayouts   = []string{"2/1/2006 15:04:05", "2/1/2006 15:04", "2/1/2006 3:04:05 PM", "2/1/2006"}
	dottedLayouts     = []string{"2.1.2006 15:04:05", "2.1.2006 15:04", "2.1.2006"}
	yearFirstLayouts  = []string{"2006/1/2 15:04:05", "2006/1/2 15:04", "2006/1/2"}
)

// Languages whose locales write dates day.month.year and year/month/day;
// other locales but en-US (and en-PH, es-US) write day/month/year.
var (
	dottedLanguages    = []string{"de", "ru", "pl", "cs", "sk", "fi", "nb", "nn", "no", "da", "tr", "uk", "ro", "hr", "sl", "sr", "bg", "et", "lv", "is"}
	yearFirstLanguages = []string{"ja", "zh", "ko", "hu", "lt"}
	monthFirstLocales  = []string{"en-us", "en-ph", "es-us", "en"}
)

// NewTimeParser returns the parser for DateTime fields formatted for
// locale ("" for ISO 8601 only).
func NewTimeParser(locale string) TimeParser {
	layouts := append([]string(nil), isoLayouts...)
	if locale == "" {
		return TimeParser{layouts: layouts}
	}
	l := strings.ToLower(locale)
	lang, _, _ := strings.Cut(l, "-")
	switch {
	case containsString(monthFirstLocales, l):
		layouts = append(layouts, monthFirstLayouts...)
	case containsString(dottedLanguages, lang):
		layouts = append(layouts, dottedLayouts...)
	case containsString(yearFirstLanguages, lang):
		layouts = append(layouts, yearFirstLayouts...)
	default:
		layouts = append(layouts, dayFirstLayouts...)
	}
	return TimeParser{layouts: layouts}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Parse parses s: RFC 3339 with a zone, one of the parser's layouts in UTC,
// or the .NET form /Date(milliseconds[+hhmm])/. The result is UTC,
// truncated to the millisecond.
func (p TimeParser) Parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if zoned(s) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return normTime(t)
		}
	}
	if ms, ok := strings.CutPrefix(s, "/Date("); ok {
		if ms, ok = strings.CutSuffix(ms, ")/"); ok {
			if i := strings.IndexAny(ms[min(1, len(ms)):], "+-"); i >= 0 {
				ms = ms[:i+1] // the offset only says how to display it
			}
			if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
				return normTime(time.UnixMilli(n))
			}
		}
	}
	for _, layout := range p.layouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return normTime(t)
		}
	}
	return time.Time{}, fmt.Errorf("time %q is in no known format", truncate(s, 64))
}

// zoned reports whether s ends with a zone designator: Z or ±hh:mm.
func zoned(s string) bool {
	n := len(s)
	return n > 0 && (s[n-1] == 'Z' || s[n-1] == 'z') ||
		n > 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}

// parseValue parses a time member: a string as Parse does, or a number as
// Unix seconds (below 10^11) or milliseconds (below 10^14).
func (p TimeParser) parseValue(v json.RawMessage) (time.Time, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return time.Time{}, fmt.Errorf("time member: %w", err)
		}
		return p.Parse(s)
	}
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		n, err := strconv.ParseInt(string(v), 10, 64)
		switch {
		case err != nil:
			return time.Time{}, fmt.Errorf("time %s is not a whole number of seconds or milliseconds", truncate(string(v), 64))
		case n > -1e11 && n < 1e11:
			return normTime(time.Unix(n, 0))
		case n > -1e14 && n < 1e14:
			return normTime(time.UnixMilli(n))
		}
		return time.Time{}, fmt.Errorf("time %d is out of range", n)
	}
	return time.Time{}, fmt.Errorf("time member is %s, not a string or number", truncate(compactJSON(v), 64))
}

// minTime and maxTime bound the times accepted: Avro timestamp-millis and
// RFC 3339 both hold them.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// normTime returns t in UTC at millisecond precision, or an error when it
// is outside years 1 to 9999.
func normTime(t time.Time) (time.Time, error) {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("time %s is out of range", t.Format(time.RFC3339))
	}
	return t, nil
}

// truncate shortens s to at most n bytes for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// isoParser parses ISO 8601 times only.
var isoParser = NewTimeParser("")
