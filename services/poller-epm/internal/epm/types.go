package epm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The member names of an admin audit record, as the vendor documents them.
const (
	fieldSetName               = "SetName"
	fieldEventTime             = "EventTime"
	fieldPermissionDescription = "PermissionDescription"
	fieldDescription           = "Description"
	fieldFeature               = "Feature"
	fieldLoggedAt              = "LoggedAt"
	fieldLoggedFrom            = "LoggedFrom"
	fieldAdministrator         = "Administrator"
	fieldInternalSessionID     = "InternalSessionId"
	fieldRole                  = "Role"
)

// AdminAuditPage is one response of GET …/Sets/{SetID}/AdminAudit.
type AdminAuditPage struct {
	// TotalCount is the number of records matching the query's filter
	// when the page was served.
	TotalCount int
	// Items are the page's records in the server's order.
	Items []*Entry
}

// Entry is one admin audit record. Raw keeps the record exactly as the
// server sent it; the other fields are decoded from it. A record that does
// not decode is still an Entry: Err says why, so that it can be
// dead-lettered instead of dropped.
type Entry struct {
	// Raw is the record's JSON exactly as received.
	Raw json.RawMessage
	// Fields are the record's members by exact name; nil when the record
	// is not a JSON object.
	Fields map[string]json.RawMessage
	// Audit is the documented part of the record. A documented member of
	// an unexpected type is left zero here (and kept, as JSON text, in the
	// event's attributes by the normalizer).
	Audit AdminAudit
	// Time is the record's EventTime in UTC, truncated to the millisecond;
	// zero when EventTime is missing or invalid.
	Time time.Time
	// Err reports why the record cannot be normalized: it is not a JSON
	// object, or its EventTime is missing or invalid.
	Err error
	// SetID is the set the record was read from. Set by the Source; the
	// normalizer needs it, since records carry only the set's name.
	SetID string
	// Occurrence counts the records identical to this one (same content,
	// so same EventTime) that the stream emitted before it in the same set:
	// 0 for the first. It keeps identical records apart in their event ids.
	// Set by the Source.
	Occurrence int
}

// AdminAudit is the documented shape of an admin audit record. Member names
// match exactly (not case-insensitively as encoding/json would).
type AdminAudit struct {
	SetName               string
	EventTime             string
	PermissionDescription string
	Description           string
	Feature               string
	LoggedAt              string
	LoggedFrom            string
	Administrator         string
	// InternalSessionID is the session id as text: the vendor sends a
	// number.
	InternalSessionID string
	// Roles holds Role: one role as documented, or several when the vendor
	// sends an array.
	Roles []string
	// Typed reports, per member name, whether a present member had the
	// expected type (string, or number for InternalSessionId, string or
	// array of strings for Role). A member absent or null is not in it.
	Typed map[string]bool
}

// auditEnvelope is the wire form of AdminAuditPage with the records left raw
// and TotalCount checked for presence.
type auditEnvelope struct {
	TotalCount  *int              `json:"TotalCount"`
	AdminAudits []json.RawMessage `json:"AdminAudits"`
}

// DecodeAuditPage decodes an AdminAudit response body. It fails only when
// the envelope itself is unusable: not a JSON object, a missing or negative
// TotalCount, or AdminAudits that is not an array. A record that does not
// decode is kept with its Err set. Each Entry.Raw is a copy of the record's
// bytes, so body may be reused afterwards.
func DecodeAuditPage(body []byte) (*AdminAuditPage, error) {
	if !isObject(body) {
		return nil, errors.New("decode admin audit page: not a JSON object")
	}
	var env auditEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode admin audit page: %w", err)
	}
	switch {
	case env.TotalCount == nil:
		return nil, errors.New("decode admin audit page: TotalCount is missing")
	case *env.TotalCount < 0:
		return nil, fmt.Errorf("decode admin audit page: negative TotalCount %d", *env.TotalCount)
	}
	p := &AdminAuditPage{TotalCount: *env.TotalCount, Items: make([]*Entry, 0, len(env.AdminAudits))}
	for _, raw := range env.AdminAudits {
		// json.RawMessage already holds a copy of the record's bytes.
		p.Items = append(p.Items, decodeEntry(raw))
	}
	return p, nil
}

// errNotObject is the Err of a record that is not a JSON object.
var errNotObject = errors.New("record is not a JSON object")

// DecodeEntry decodes one record. It never fails: an undecodable record
// comes back with Err set and a copy of its bytes in Raw.
func DecodeEntry(raw []byte) *Entry {
	return decodeEntry(bytes.Clone(raw))
}

// decodeEntry is DecodeEntry of bytes the entry may keep.
func decodeEntry(raw []byte) *Entry {
	e := &Entry{Raw: raw}
	if !isObject(raw) {
		e.Err = errNotObject
		return e
	}
	if err := json.Unmarshal(raw, &e.Fields); err != nil {
		e.Fields = nil
		e.Err = fmt.Errorf("decode record: %w", err)
		return e
	}
	a := &e.Audit
	a.Typed = map[string]bool{}
	str := func(key string) string {
		v, ok := e.Fields[key]
		if !ok || isNull(v) {
			return ""
		}
		s, ok := stringValue(v)
		a.Typed[key] = ok
		return s
	}
	a.SetName = str(fieldSetName)
	a.EventTime = str(fieldEventTime)
	a.PermissionDescription = str(fieldPermissionDescription)
	a.Description = str(fieldDescription)
	a.Feature = str(fieldFeature)
	a.LoggedAt = str(fieldLoggedAt)
	a.LoggedFrom = str(fieldLoggedFrom)
	a.Administrator = str(fieldAdministrator)
	if v, ok := e.Fields[fieldInternalSessionID]; ok && !isNull(v) {
		a.InternalSessionID, a.Typed[fieldInternalSessionID] = scalarText(v)
	}
	if v, ok := e.Fields[fieldRole]; ok && !isNull(v) {
		a.Roles, a.Typed[fieldRole] = roles(v)
	}

	switch v, ok := e.Fields[fieldEventTime]; {
	case !ok || isNull(v):
		e.Err = errors.New("EventTime is missing")
	case !a.Typed[fieldEventTime]:
		e.Err = fmt.Errorf("EventTime %s is not a string", truncate(compactJSON(v), 64))
	default:
		t, err := ParseEventTime(a.EventTime)
		if err != nil {
			e.Err = err
		} else {
			e.Time = t
		}
	}
	return e
}

// stringValue returns v's text when v is a JSON string (not null). A
// string without escapes is sliced out directly; any other goes through
// encoding/json.
func stringValue(v []byte) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) && !hasControl(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// hasControl reports whether b holds a byte JSON does not allow unescaped
// in a string.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// scalarText returns a JSON number or string as text.
func scalarText(v json.RawMessage) (string, bool) {
	if s, ok := stringValue(v); ok {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", false
	}
	return n.String(), true
}

// roles returns Role as a list: one string, or an array of strings. Empty
// strings are dropped.
func roles(v json.RawMessage) ([]string, bool) {
	if one, ok := stringValue(v); ok {
		if one == "" {
			return nil, true
		}
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, false
	}
	out := many[:0]
	for _, r := range many {
		if r != "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, true
	}
	return out, true
}

// eventTimeLayouts are the EventTime forms accepted: RFC 3339 with any
// fraction (the vendor trims trailing zeros: "…:26.78Z"), and the same
// without a zone, read as UTC since the vendor documents UTC.
var eventTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// ParseEventTime parses an EventTime into a UTC instant truncated to the
// millisecond, the precision at which records are compared.
func ParseEventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("EventTime %q: missing", s)
	}
	var err error
	for _, layout := range eventTimeLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("EventTime %q: not an ISO 8601 UTC time", truncate(s, 64))
}

// Set is one set of GET …/Sets.
type Set struct {
	// ID is the set's id (a GUID), used in the AdminAudit path.
	ID string
	// Name is the set's display name.
	Name string
}

// SetsPage is one response of GET …/Sets.
type SetsPage struct {
	Sets []Set
	// SetsCount is the number of sets the account can see; 0 when the
	// response does not say.
	SetsCount int
}

// setsEnvelope is the wire form of SetsPage.
type setsEnvelope struct {
	Sets      []json.RawMessage `json:"Sets"`
	SetsCount int               `json:"SetsCount"`
}

// DecodeSets decodes a Sets response body. It fails when the body is not a
// JSON object, Sets is not an array, or a set has no string Id.
func DecodeSets(body []byte) (*SetsPage, error) {
	if !isObject(body) {
		return nil, errors.New("decode sets: not a JSON object")
	}
	var env setsEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode sets: %w", err)
	}
	if env.SetsCount < 0 {
		return nil, fmt.Errorf("decode sets: negative SetsCount %d", env.SetsCount)
	}
	p := &SetsPage{SetsCount: env.SetsCount, Sets: make([]Set, 0, len(env.Sets))}
	for i, raw := range env.Sets {
		var s struct {
			ID   *string `json:"Id"`
			Name string  `json:"Name"`
		}
		if err := json.Unmarshal(raw, &s); err != nil || s.ID == nil || *s.ID == "" {
			return nil, fmt.Errorf("decode sets: set %d has no Id", i)
		}
		p.Sets = append(p.Sets, Set{ID: *s.ID, Name: s.Name})
	}
	return p, nil
}

// LogonResult is the answer of POST …/Auth/EPM/Logon.
type LogonResult struct {
	// Token is EPMAuthenticationResult, sent later as "basic <token>".
	Token string
	// ManagerURL is the EPM server every later call goes to.
	ManagerURL string
	// PasswordExpired is IsPasswordExpired.
	PasswordExpired bool
}

// DecodeLogon decodes a logon response body. It fails when the body is not
// a JSON object or lacks the token or the manager URL. Its errors never
// quote the body, which holds the token.
func DecodeLogon(body []byte) (*LogonResult, error) {
	var v struct {
		Token      *string `json:"EPMAuthenticationResult"`
		ManagerURL *string `json:"ManagerURL"`
		Expired    *bool   `json:"IsPasswordExpired"`
	}
	if !isObject(body) || json.Unmarshal(body, &v) != nil {
		return nil, errors.New("decode logon response: not a JSON object of the documented shape")
	}
	switch {
	case v.Token == nil || *v.Token == "":
		return nil, errors.New("decode logon response: EPMAuthenticationResult is missing")
	case v.ManagerURL == nil || *v.ManagerURL == "":
		return nil, errors.New("decode logon response: ManagerURL is missing")
	}
	r := &LogonResult{Token: *v.Token, ManagerURL: *v.ManagerURL}
	if v.Expired != nil {
		r.PasswordExpired = *v.Expired
	}
	return r, nil
}

// isObject reports whether b holds a JSON object (after white space).
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// isNull reports whether v is the JSON null literal.
func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
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

// truncate shortens s to at most n bytes (on a rune boundary), marking the
// cut, so that error messages stay short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
