package plm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SystemLogsPage is one response of GET /api/v3/tenants/{tenant}/system-logs.
type SystemLogsPage struct {
	// Self is the "__self__" link of the page.
	Self string `json:"__self__"`
	// Offset is the number of rows of the result set skipped before Items.
	Offset int `json:"offset"`
	// Limit is the page size the server applied.
	Limit int `json:"limit"`
	// TotalCount is the number of rows of the whole result set when the
	// page was served.
	TotalCount int `json:"totalCount"`
	// First, Next and Last link to other pages of the result set.
	First *PageLink `json:"first,omitempty"`
	Next  *PageLink `json:"next,omitempty"`
	Last  *PageLink `json:"last,omitempty"`
	// Items are the page's rows in the server's order.
	Items []*Entry `json:"-"`
}

// PageLink is one of the first/next/last links of a page.
type PageLink struct {
	Link    string `json:"link"`
	Title   string `json:"title"`
	Deleted bool   `json:"deleted"`
	Count   int    `json:"count"`
}

// Entry is one system log row. Raw keeps the row exactly as the server sent
// it; the other fields are decoded from it. A row that does not decode is
// still an Entry: Err says why, so that it can be dead-lettered instead of
// dropped.
type Entry struct {
	// Raw is the row's JSON exactly as received.
	Raw json.RawMessage
	// Fields are the row's top-level members by exact name; nil when the
	// row is not a JSON object.
	Fields map[string]json.RawMessage
	// Log is the documented part of the row; members that fail to decode
	// are left zero and reported in Err.
	Log LogEntry
	// Time is the row's instant in UTC, truncated to the millisecond; zero
	// when the timestamp is missing or invalid.
	Time time.Time
	// Err reports why the row could not be decoded or placed in time.
	Err error
	// Occurrence counts the rows identical to this one (same content, so
	// same millisecond) that the stream emitted before it: 0 for the first.
	// It keeps identical rows apart in their event ids. Set by the Source.
	Occurrence int
}

// LogEntry is the documented shape of a system log row. Member names match
// exactly (not case-insensitively as encoding/json would).
type LogEntry struct {
	Description string
	Timestamp   string
	Action      string
	// Details is the raw "details" member (an array in the documentation);
	// nil when absent.
	Details json.RawMessage
	// User is the acting user; nil when absent.
	User *Ref
	// Item is the item acted on (type=item rows); nil when absent.
	Item *Ref
}

// Ref is a linked resource of a row: the acting user or the item acted on.
type Ref struct {
	Link  string
	URN   string
	Title string
	Email string
	// Fields are all the resource's members by exact name, including the
	// ones above.
	Fields map[string]json.RawMessage
}

// pageEnvelope is the wire form of SystemLogsPage with the items left raw
// and totalCount checked for presence.
type pageEnvelope struct {
	Self       string            `json:"__self__"`
	Offset     int               `json:"offset"`
	Limit      int               `json:"limit"`
	TotalCount *int              `json:"totalCount"`
	First      *PageLink         `json:"first"`
	Next       *PageLink         `json:"next"`
	Last       *PageLink         `json:"last"`
	Items      []json.RawMessage `json:"items"`
}

// DecodePage decodes a system-logs response body. It fails only when the
// envelope itself is unusable: not a JSON object, a missing or negative
// totalCount, or items that are not an array. A row that does not decode
// is kept with its Err set. Each Entry.Raw is a copy of the row's bytes, so
// body may be reused afterwards.
func DecodePage(body []byte) (*SystemLogsPage, error) {
	var env pageEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode system logs page: %w", err)
	}
	switch {
	case env.TotalCount == nil:
		return nil, errors.New("decode system logs page: totalCount is missing")
	case *env.TotalCount < 0:
		return nil, fmt.Errorf("decode system logs page: negative totalCount %d", *env.TotalCount)
	case env.Offset < 0:
		return nil, fmt.Errorf("decode system logs page: negative offset %d", env.Offset)
	}
	p := &SystemLogsPage{
		Self:       env.Self,
		Offset:     env.Offset,
		Limit:      env.Limit,
		TotalCount: *env.TotalCount,
		First:      env.First,
		Next:       env.Next,
		Last:       env.Last,
		Items:      make([]*Entry, 0, len(env.Items)),
	}
	for _, raw := range env.Items {
		p.Items = append(p.Items, DecodeEntry(raw))
	}
	return p, nil
}

// errNotObject is the Err of a row that is not a JSON object.
var errNotObject = errors.New("row is not a JSON object")

// DecodeEntry decodes one row. It never fails: an undecodable row comes
// back with Err set and a copy of its bytes in Raw.
func DecodeEntry(raw []byte) *Entry {
	e := &Entry{Raw: bytes.Clone(raw)}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		// Unmarshal into a map accepts null; a row must be an object.
		e.Err = errNotObject
		return e
	}
	if err := json.Unmarshal(raw, &e.Fields); err != nil {
		e.Fields = nil
		e.Err = fmt.Errorf("decode row: %w", err)
		return e
	}
	var errs []error
	str := func(m map[string]json.RawMessage, prefix, key string) string {
		s, err := stringMember(m, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", prefix, key, err))
		}
		return s
	}
	ref := func(key string) *Ref {
		v, ok := e.Fields[key]
		if !ok || isNull(v) {
			return nil
		}
		r := &Ref{}
		if err := json.Unmarshal(v, &r.Fields); err != nil || r.Fields == nil {
			errs = append(errs, fmt.Errorf("%s: not a JSON object", key))
			return nil
		}
		r.Link = str(r.Fields, key+".", "link")
		r.URN = str(r.Fields, key+".", "urn")
		r.Title = str(r.Fields, key+".", "title")
		r.Email = str(r.Fields, key+".", "email")
		return r
	}
	e.Log = LogEntry{
		Description: str(e.Fields, "", "description"),
		Action:      str(e.Fields, "", "action"),
		Details:     e.Fields["details"],
		User:        ref("user"),
		Item:        ref("item"),
	}
	ts, err := stringMember(e.Fields, "timestamp")
	e.Log.Timestamp = ts
	if err != nil {
		errs = append(errs, fmt.Errorf("timestamp %s: %w", e.Fields["timestamp"], err))
	} else if t, err := ParseTimestamp(ts); err != nil {
		errs = append(errs, err)
	} else {
		e.Time = t
	}
	e.Err = errors.Join(errs...)
	return e
}

// stringMember returns the string member key of m: "" when it is absent or
// null, an error when it is not a string.
func stringMember(m map[string]json.RawMessage, key string) (string, error) {
	v, ok := m[key]
	if !ok || isNull(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errors.New("not a string")
	}
	return s, nil
}

// isNull reports whether v is the JSON null literal.
func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// ParseTimestamp parses a row's timestamp, which carries the tenant's UTC
// offset ("2019-11-12T14:56:14.259-05:00"), into a UTC instant truncated to
// the millisecond, the precision at which rows are compared.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("timestamp %q: missing", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t.UTC().Truncate(time.Millisecond), nil
}
