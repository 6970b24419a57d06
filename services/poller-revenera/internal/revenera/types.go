package revenera

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/utcday"
)

// This file decodes the vendor's JSON answers. Every decoder is tolerant:
// ids may be numbers or strings, members the product does not use are
// ignored (and kept where the event has room for them), and one bad entry
// of a list is reported rather than failing the whole answer.

// Product is one product of the account, from the logon answer.
type Product struct {
	// ID is the product id of the API paths, as decimal text.
	ID string
	// Name is the product's display name; may be empty.
	Name string
}

// Logon is the part of the logon answer the poller uses.
type Logon struct {
	UserName string
	Products []Product
}

// DecodeLogon reads the answer of POST /v3/auth/web. products is a list of
// {"id","name"} (ids as numbers or strings), or an object keyed by product
// id; a product without a usable id is left out.
func DecodeLogon(b []byte) (Logon, error) {
	var raw struct {
		UserName string          `json:"userName"`
		Products json.RawMessage `json:"products"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Logon{}, fmt.Errorf("decode logon answer: %w", err)
	}
	out := Logon{UserName: raw.UserName}
	add := func(id, name string) {
		if validProductID(id) {
			out.Products = append(out.Products, Product{ID: id, Name: name})
		}
	}
	p := bytes.TrimSpace(raw.Products)
	switch {
	case len(p) == 0 || bytes.Equal(p, []byte("null")):
	case p[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(p, &list); err != nil {
			return Logon{}, fmt.Errorf("decode logon answer: products: %w", err)
		}
		for _, e := range list {
			var prod struct {
				ID   json.RawMessage `json:"id"`
				Name json.RawMessage `json:"name"`
			}
			if json.Unmarshal(e, &prod) == nil {
				add(idText(prod.ID), text(prod.Name))
			} else {
				add(idText(e), "")
			}
		}
	case p[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			return Logon{}, fmt.Errorf("decode logon answer: products: %w", err)
		}
		for id, v := range m {
			var prod struct {
				Name json.RawMessage `json:"name"`
			}
			_ = json.Unmarshal(v, &prod)
			add(id, text(prod.Name))
		}
	default:
		return Logon{}, errors.New("decode logon answer: products is neither a list nor an object")
	}
	return out, nil
}

// idText returns a JSON number or string as its text, "" for anything else.
func idText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// text returns a JSON string, or the text of another scalar, "" otherwise.
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' || raw[0] == '[' || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// File is one raw data file of a listing.
type File struct {
	// Name is the file name, e.g. "2876543210_customEvents_2026-12-03.zip".
	Name string
	// Day is the file's day, or the first day of a monthly file's month.
	Day utcday.Day
	// Monthly marks a monthly file, Open today's growing file.
	Monthly, Open bool
	// Size is the ZIP's size in bytes as listed, -1 when not given.
	Size int64
}

// Listing is the answer of listFiles.
type Listing struct {
	Open, Daily, Monthly []File
	// Problems lists the entries that could not be read (no name, no
	// period), to be logged.
	Problems []string
}

// Trailing periods of file names: _2026-12-03.zip and _2026-11.zip.
var (
	dayInName   = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})\.zip$`)
	monthInName = regexp.MustCompile(`(\d{4}-\d{2})\.zip$`)
)

// DecodeListing reads the answer of GET …/listFiles/{product}:
// {"openDailyFiles":[F],"dailyFiles":[F],"monthlyFiles":[F]}, where F is
// {"fileName","date"|"month","size",…} or a bare file name. The period
// comes from date or month, else from the file name; an entry with neither
// a name nor a period is reported in Problems and left out.
func DecodeListing(b []byte) (Listing, error) {
	var raw struct {
		Open    []json.RawMessage `json:"openDailyFiles"`
		Daily   []json.RawMessage `json:"dailyFiles"`
		Monthly []json.RawMessage `json:"monthlyFiles"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Listing{}, fmt.Errorf("decode file listing: %w", err)
	}
	var l Listing
	read := func(list string, entries []json.RawMessage, monthly, open bool) []File {
		var out []File
		for i, e := range entries {
			f, err := decodeFile(e, monthly)
			if err != nil {
				l.Problems = append(l.Problems, fmt.Sprintf("%s[%d]: %v", list, i, err))
				continue
			}
			f.Open = open
			out = append(out, f)
		}
		return out
	}
	l.Open = read("openDailyFiles", raw.Open, false, true)
	l.Daily = read("dailyFiles", raw.Daily, false, false)
	l.Monthly = read("monthlyFiles", raw.Monthly, true, false)
	return l, nil
}

// decodeFile reads one entry of a listing.
func decodeFile(e json.RawMessage, monthly bool) (File, error) {
	f := File{Monthly: monthly, Size: -1}
	var period string
	if name := text(e); name != "" && bytes.TrimSpace(e)[0] == '"' {
		f.Name = name
	} else {
		var obj struct {
			FileName json.RawMessage `json:"fileName"`
			Name     json.RawMessage `json:"name"`
			Date     json.RawMessage `json:"date"`
			Month    json.RawMessage `json:"month"`
			Size     json.RawMessage `json:"size"`
		}
		if err := json.Unmarshal(e, &obj); err != nil {
			return File{}, fmt.Errorf("not a file name or object: %w", err)
		}
		f.Name = text(obj.FileName)
		if f.Name == "" {
			f.Name = text(obj.Name)
		}
		if monthly {
			period = text(obj.Month)
			if period == "" {
				period = text(obj.Date)
			}
		} else {
			period = text(obj.Date)
		}
		if n, ok := number(obj.Size); ok && n >= 0 && n < 1<<53 {
			f.Size = int64(n)
		}
	}
	if f.Name == "" || strings.ContainsAny(f.Name, "\x00/\\") {
		return File{}, fmt.Errorf("no usable file name (%.80q)", f.Name)
	}
	day, err := parsePeriod(period, f.Name, monthly)
	if err != nil {
		return File{}, err
	}
	f.Day = day
	return f, nil
}

// parsePeriod returns the day of a daily file, or the first day of a
// monthly file's month, from the listed period or else from the name.
func parsePeriod(period, name string, monthly bool) (utcday.Day, error) {
	if monthly {
		if len(period) >= 7 {
			if d, err := utcday.ParseMonth(period[:7]); err == nil {
				return d, nil
			}
		}
		if m := monthInName.FindStringSubmatch(name); m != nil {
			if d, err := utcday.ParseMonth(m[1]); err == nil {
				return d, nil
			}
		}
		return 0, fmt.Errorf("file %.80q: no month in its entry or name", name)
	}
	if d, err := utcday.Parse(period); err == nil {
		return d, nil
	}
	if m := dayInName.FindStringSubmatch(name); m != nil {
		if d, err := utcday.Parse(m[1]); err == nil {
			return d, nil
		}
	}
	return 0, fmt.Errorf("file %.80q: no date in its entry or name", name)
}

// number reads a JSON number, or a string holding one; it reports false
// for anything else, and for NaN and infinities.
func number(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// DownloadURL is the answer of getDownloadUrl.
type DownloadURL struct {
	URL string
	// ExpiresAt is zero when the answer has none or it does not parse.
	ExpiresAt time.Time
}

// DecodeDownloadURL reads {"url","expiresAt"}; the url must be absolute
// http(s).
func DecodeDownloadURL(b []byte) (DownloadURL, error) {
	var raw struct {
		URL       json.RawMessage `json:"url"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return DownloadURL{}, fmt.Errorf("decode download URL answer: %w", err)
	}
	out := DownloadURL{URL: text(raw.URL)}
	if !strings.HasPrefix(out.URL, "https://") && !strings.HasPrefix(out.URL, "http://") {
		return DownloadURL{}, errors.New("decode download URL answer: no absolute http(s) url")
	}
	if t, err := time.Parse(time.RFC3339, text(raw.ExpiresAt)); err == nil {
		out.ExpiresAt = t.UTC()
	}
	return out, nil
}

// TrackedEvent is one event of GET /v3/event-tracking.
type TrackedEvent struct {
	Category, Name string
	// Enabled is nil when the answer does not say.
	Enabled *bool
}

// DecodeEvents reads {"result":[{"category","name","enabled"}]} (the flat
// form), or the categorized form [{"category","events":[{"name",
// "enabled"}]}]. Entries without a category or a name are left out.
func DecodeEvents(b []byte) ([]TrackedEvent, error) {
	var raw struct {
		Result []struct {
			Category json.RawMessage `json:"category"`
			Name     json.RawMessage `json:"name"`
			Enabled  *bool           `json:"enabled"`
			Events   []struct {
				Name    json.RawMessage `json:"name"`
				Enabled *bool           `json:"enabled"`
			} `json:"events"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decode event list: %w", err)
	}
	var out []TrackedEvent
	seen := map[[2]string]bool{}
	add := func(cat, name string, enabled *bool) {
		k := [2]string{cat, name}
		if cat == "" || name == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, TrackedEvent{Category: cat, Name: name, Enabled: enabled})
	}
	for _, r := range raw.Result {
		cat := text(r.Category)
		if len(r.Events) > 0 {
			for _, e := range r.Events {
				add(cat, text(e.Name), e.Enabled)
			}
			continue
		}
		add(cat, text(r.Name), r.Enabled)
	}
	return out, nil
}

// Series is one event's values of a timeline report.
type Series struct {
	Category, Name string
	// Values are the raw values, one per date.
	Values []json.RawMessage
}

// Timeline is the answer of the timeline report.
type Timeline struct {
	// Dates are the dates as sent ("2026-11-01" or "2026-11-01T00:00:00Z").
	Dates  []string
	Series []Series
}

// DecodeTimeline reads {"result":{"dates":[...],"series":[{"category",
// "name","values":[...]}]}}.
func DecodeTimeline(b []byte) (Timeline, error) {
	var raw struct {
		Result *struct {
			Dates  []json.RawMessage `json:"dates"`
			Series []struct {
				Category json.RawMessage   `json:"category"`
				Name     json.RawMessage   `json:"name"`
				Values   []json.RawMessage `json:"values"`
			} `json:"series"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Timeline{}, fmt.Errorf("decode timeline report: %w", err)
	}
	if raw.Result == nil {
		return Timeline{}, errors.New("decode timeline report: no result")
	}
	t := Timeline{Dates: texts(raw.Result.Dates)}
	for _, s := range raw.Result.Series {
		t.Series = append(t.Series, Series{Category: text(s.Category), Name: text(s.Name), Values: s.Values})
	}
	return t, nil
}

// DateRange is the answer of the dateRange report.
type DateRange struct {
	Dates []string
	// Statuses maps each status of the answer (new, active, lost, or any
	// other list the vendor adds) to its values, one per date.
	Statuses map[string][]json.RawMessage
}

// DecodeDateRange reads {"result":{"dates":[...],"new":[...],
// "active":[...],"lost":[...]}}; every other member of result that is a
// list is a status too.
func DecodeDateRange(b []byte) (DateRange, error) {
	var raw struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return DateRange{}, fmt.Errorf("decode dateRange report: %w", err)
	}
	if raw.Result == nil {
		return DateRange{}, errors.New("decode dateRange report: no result")
	}
	var dates []json.RawMessage
	if err := json.Unmarshal(raw.Result["dates"], &dates); err != nil {
		return DateRange{}, fmt.Errorf("decode dateRange report: dates: %w", err)
	}
	out := DateRange{Dates: texts(dates), Statuses: map[string][]json.RawMessage{}}
	for k, v := range raw.Result {
		if k == "dates" {
			continue
		}
		var vals []json.RawMessage
		if json.Unmarshal(v, &vals) == nil && vals != nil {
			out.Statuses[k] = vals
		}
	}
	return out, nil
}

func texts(raw []json.RawMessage) []string {
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = text(r)
	}
	return out
}
