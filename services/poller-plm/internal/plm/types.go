package plm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/jsontree"
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
	// Raw is the row's JSON exactly as received. It is a copy: it does not
	// share memory with the body it was decoded from. The rows of a page
	// share one copy of it, each Raw capped at its row's end, so that
	// appending to one does not overwrite the next.
	Raw json.RawMessage
	// Tree is the row parsed once, for the normalizer and the cursor to
	// read without decoding it again: an object for a well-formed row,
	// another kind for a row that is not an object, and the zero Value
	// (jsontree.Invalid) when Raw is not valid JSON. Members are looked up
	// by exact name; with duplicate names the last one counts.
	Tree jsontree.Value
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

	// text is Raw as a string; the event's raw field shares it.
	text string
	// identity is the row's content identity once the Source computed it
	// for a cursor; empty until then.
	identity string
}

// LogEntry is the documented shape of a system log row. Member names match
// exactly (not case-insensitively as encoding/json would).
type LogEntry struct {
	Description string
	Timestamp   string
	Action      string
	// Details is the raw "details" member (an array in the documentation);
	// nil when absent. It shares Raw's memory.
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
	// Tree is the resource's JSON object, with all its members, including
	// the ones above.
	Tree jsontree.Value
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
//
// The body is parsed once; rows are sub-trees of it, and the strings of a
// page (its links, its entries' fields, the events normalized from them)
// share one copy of its text, which stays in memory while any of them
// does. A body that this single pass does not take (an error, or envelope
// members named in another letter case) is decoded by encoding/json as
// before, so results and errors are the same either way.
func DecodePage(body []byte) (*SystemLogsPage, error) {
	if p, ok := decodePageTree(body); ok {
		return p, nil
	}
	return decodePageJSON(body)
}

// decodePageJSON is DecodePage on encoding/json: the reference for the
// envelope and its errors.
func decodePageJSON(body []byte) (*SystemLogsPage, error) {
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

// decodePageTree is DecodePage in one pass over the body. It reports false
// when the body is not a valid page or when it cannot tell how
// encoding/json would read the envelope; decodePageJSON then decides.
func decodePageTree(body []byte) (*SystemLogsPage, bool) {
	// The body as a string: the rows' text, and every string read from
	// them, are substrings of it.
	text := string(body)
	root, err := jsontree.ParseString(text)
	if err != nil || root.Kind() != jsontree.Object {
		return nil, false
	}
	p := &SystemLogsPage{}
	var total *int
	var items jsontree.Value
	for key, v := range root.Members() {
		ok := true
		switch key {
		case "__self__":
			ok = decodeString(v, &p.Self)
		case "offset":
			ok = decodeInt(v, &p.Offset)
		case "limit":
			ok = decodeInt(v, &p.Limit)
		case "totalCount":
			ok = decodeIntPtr(v, &total)
		case "first":
			ok = decodeLink(v, &p.First)
		case "next":
			ok = decodeLink(v, &p.Next)
		case "last":
			ok = decodeLink(v, &p.Last)
		case "items":
			switch v.Kind() {
			case jsontree.Null:
				items = jsontree.Value{}
			case jsontree.Array:
				items = v
			default:
				ok = false
			}
		default:
			// encoding/json matches member names case-insensitively.
			ok = !foldsToAny(key, envelopeNames)
		}
		if !ok {
			return nil, false
		}
	}
	if total == nil || *total < 0 || p.Offset < 0 {
		return nil, false
	}
	p.TotalCount = *total
	p.Items = make([]*Entry, items.Len())
	if items.Len() == 0 {
		return p, true
	}
	// One copy of the rows' bytes and one array of entries for the page.
	start, end := items.Span()
	raws := []byte(text[start:end])
	entries := make([]Entry, items.Len())
	var refs refSlab
	i := 0
	for row := range items.Elems() {
		e := &entries[i]
		rs, re := row.Span()
		e.Raw = raws[rs-start : re-start : re-start]
		e.text = text[rs:re]
		e.Tree = row
		decodeRow(e, rs, &refs)
		p.Items[i] = e
		i++
	}
	return p, true
}

// envelopeNames and linkNames are the member names of a page and of a
// page link.
var (
	envelopeNames = []string{"__self__", "offset", "limit", "totalCount", "first", "next", "last", "items"}
	linkNames     = []string{"link", "title", "deleted", "count"}
)

// foldsToAny reports whether key equals one of names but for letter case,
// which encoding/json would take as that name.
func foldsToAny(key string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}

// decodeString stores the string v in dst as encoding/json would: null
// leaves dst alone; another kind is a type error (false).
func decodeString(v jsontree.Value, dst *string) bool {
	switch v.Kind() {
	case jsontree.Null:
		return true
	case jsontree.String:
		*dst = v.Str()
		return true
	}
	return false
}

// decodeInt stores the integer v in dst as encoding/json would.
func decodeInt(v jsontree.Value, dst *int) bool {
	switch v.Kind() {
	case jsontree.Null:
		return true
	case jsontree.Number:
		n, err := strconv.ParseInt(v.RawString(), 10, 64)
		if err != nil || int64(int(n)) != n {
			return false
		}
		*dst = int(n)
		return true
	}
	return false
}

// decodeIntPtr stores the integer v in *dst as encoding/json would: null
// sets it to nil.
func decodeIntPtr(v jsontree.Value, dst **int) bool {
	if v.IsNull() {
		*dst = nil
		return true
	}
	if *dst == nil {
		*dst = new(int)
	}
	return decodeInt(v, *dst)
}

// decodeLink stores the page link v in *dst as encoding/json would: null
// sets it to nil; an object fills the link in place.
func decodeLink(v jsontree.Value, dst **PageLink) bool {
	switch v.Kind() {
	case jsontree.Null:
		*dst = nil
		return true
	case jsontree.Object:
	default:
		return false
	}
	if *dst == nil {
		*dst = &PageLink{}
	}
	l := *dst
	for key, m := range v.Members() {
		ok := true
		switch key {
		case "link":
			ok = decodeString(m, &l.Link)
		case "title":
			ok = decodeString(m, &l.Title)
		case "deleted":
			switch m.Kind() {
			case jsontree.Null:
			case jsontree.Bool:
				l.Deleted = m.Bool()
			default:
				ok = false
			}
		case "count":
			ok = decodeInt(m, &l.Count)
		default:
			ok = !foldsToAny(key, linkNames)
		}
		if !ok {
			return false
		}
	}
	return true
}

// errNotObject is the Err of a row that is not a JSON object.
var errNotObject = errors.New("row is not a JSON object")

// DecodeEntry decodes one row. It never fails: an undecodable row comes
// back with Err set and a copy of its bytes in Raw.
func DecodeEntry(raw []byte) *Entry {
	text := string(raw)
	e := &Entry{Raw: []byte(text), text: text}
	if raw == nil {
		e.Raw = nil
	}
	tree, err := jsontree.ParseString(text)
	if err == nil {
		e.Tree = tree
	}
	if t := strings.TrimLeft(text, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		// A row must be an object; null, for one, is not.
		e.Err = errNotObject
		return e
	}
	if err != nil {
		// encoding/json words the error as DecodeEntry always did.
		var fields map[string]json.RawMessage
		if uerr := json.Unmarshal(raw, &fields); uerr != nil {
			err = uerr
		}
		e.Err = fmt.Errorf("decode row: %w", err)
		return e
	}
	decodeRow(e, 0, nil)
	return e
}

// errNotString is the error of a member that should be a string.
var errNotString = errors.New("not a string")

// decodeRow decodes the documented members of e.Tree, an object or not,
// into e. base is the offset in the parsed text of Raw's first byte; refs
// allocates the rows' Refs (nil: one by one).
func decodeRow(e *Entry, base int, refs *refSlab) {
	row := e.Tree
	if row.Kind() != jsontree.Object {
		e.Err = errNotObject
		return
	}
	// One pass over the members; a later duplicate replaces an earlier one.
	var desc, action, details, user, item, ts jsontree.Value
	for key, v := range row.Members() {
		switch key {
		case "description":
			desc = v
		case "action":
			action = v
		case "details":
			details = v
		case "user":
			user = v
		case "item":
			item = v
		case "timestamp":
			ts = v
		}
	}
	var errs []error
	e.Log.Description = stringOf(desc, "", "description", &errs)
	e.Log.Action = stringOf(action, "", "action", &errs)
	if details.Kind() != jsontree.Invalid {
		s, end := details.Span()
		e.Log.Details = e.Raw[s-base : end-base : end-base]
	}
	e.Log.User = refOf(user, "user", refs, &errs)
	e.Log.Item = refOf(item, "item", refs, &errs)
	if ts.Kind() != jsontree.Invalid && ts.Kind() != jsontree.Null && ts.Kind() != jsontree.String {
		errs = append(errs, fmt.Errorf("timestamp %s: %w", ts.Raw(), errNotString))
	} else if t, err := ParseTimestamp(ts.Str()); err != nil {
		e.Log.Timestamp = ts.Str()
		errs = append(errs, err)
	} else {
		e.Log.Timestamp = ts.Str()
		e.Time = t
	}
	e.Err = errors.Join(errs...)
}

// stringOf returns the string member key of the row, or of its member
// ref when ref is not empty; v is its value, the zero Value when absent.
// It returns "" when the member is absent or null, "" and an error in errs
// when it is not a string.
func stringOf(v jsontree.Value, ref, key string, errs *[]error) string {
	switch v.Kind() {
	case jsontree.String:
		return v.Str()
	case jsontree.Invalid, jsontree.Null:
		return ""
	}
	if ref != "" {
		key = ref + "." + key
	}
	*errs = append(*errs, fmt.Errorf("%s: %w", key, errNotString))
	return ""
}

// refOf returns the linked resource v, the member key of a row (the zero
// Value when absent): nil when it is absent or null, nil and an error in
// errs when it is not an object.
func refOf(v jsontree.Value, key string, refs *refSlab, errs *[]error) *Ref {
	switch v.Kind() {
	case jsontree.Invalid, jsontree.Null:
		return nil
	case jsontree.Object:
	default:
		*errs = append(*errs, fmt.Errorf("%s: not a JSON object", key))
		return nil
	}
	r := refs.new()
	r.Tree = v
	var link, urn, title, email jsontree.Value
	for k, m := range v.Members() {
		switch k {
		case "link":
			link = m
		case "urn":
			urn = m
		case "title":
			title = m
		case "email":
			email = m
		}
	}
	r.Link = stringOf(link, key, "link", errs)
	r.URN = stringOf(urn, key, "urn", errs)
	r.Title = stringOf(title, key, "title", errs)
	r.Email = stringOf(email, key, "email", errs)
	return r
}

// refSlab allocates the Refs of a page in blocks.
type refSlab struct {
	block []Ref
}

// new returns a zero Ref; a nil slab allocates it alone.
func (s *refSlab) new() *Ref {
	if s == nil {
		return &Ref{}
	}
	if len(s.block) == cap(s.block) {
		s.block = make([]Ref, 0, 128)
	}
	s.block = s.block[:len(s.block)+1]
	return &s.block[len(s.block)-1]
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
