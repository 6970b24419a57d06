package aveva

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// RecordKeys are the members of a response object that may hold the
// records, compared case-insensitively.
var RecordKeys = []string{"data", "items", "records", "value", "result"}

// maxEnvelopeDepth is how many objects deep the records array is looked
// for: {"data": {"items": [...]}} is found, deeper nesting is not.
const maxEnvelopeDepth = 3

// maxMemberNames bounds the member names an error lists.
const maxMemberNames = 8

// DecodeRecords reads a report response body from r as a stream and calls fn
// with each record, in order, without ever holding the whole body. The body
// is either a JSON array of records, or an object whose records array is
// the value of one of RecordKeys, at most maxEnvelopeDepth objects deep
// through other RecordKeys members ({"data": {"items": [...]}}). Other
// members are skipped. A records member that is null, an empty body and a
// body that is null mean no records.
//
// fn gets each element's bytes as a fresh copy it may keep; elements that
// are not objects are passed on too (the caller dead-letters them). fn
// returns false to stop: DecodeRecords then returns at once with stopped
// set, leaving the rest of the body unread.
//
// It fails when the body is not JSON, is a scalar, has no records array or
// two of them, or has data after its value. Errors from r are wrapped, so
// errors.Is finds them.
func DecodeRecords(r io.Reader, fn func(raw json.RawMessage) bool) (n int, stopped bool, err error) {
	d := &recordDecoder{dec: json.NewDecoder(r), fn: fn}
	// Numbers as json.Number: a scalar member such as {"value": 1e400}
	// must be skipped, not fail a conversion to float64.
	d.dec.UseNumber()
	if err := d.decode(); err != nil {
		return d.n, false, fmt.Errorf("decode report response: %w", err)
	}
	return d.n, d.stopped, nil
}

// recordDecoder is the state of one DecodeRecords.
type recordDecoder struct {
	dec     *json.Decoder
	fn      func(json.RawMessage) bool
	n       int
	stopped bool
	found   bool     // a records array was read
	null    bool     // a records member was null
	members []string // the first top-level member names, for errors
	more    int      // top-level members not in members
}

func (d *recordDecoder) decode() error {
	tok, err := d.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil // an empty body: no records
	}
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		d.found = true
		if err := d.array(); err != nil || d.stopped {
			return err
		}
	case json.Delim('{'):
		if err := d.object(0); err != nil || d.stopped {
			return err
		}
		if !d.found && !d.null {
			return fmt.Errorf("no records array: want a JSON array, or an object with one of the members %s (members: %s)",
				strings.Join(RecordKeys, ", "), d.memberList())
		}
	case nil:
		// null: no records.
	default:
		return fmt.Errorf("the response is a JSON %s, not an array or an object", kindOf(tok))
	}
	switch tok, err := d.dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	default:
		return fmt.Errorf("data after the response's JSON value (a %s)", kindOf(tok))
	}
}

// array reads the elements of an array whose '[' was read, and its ']'.
func (d *recordDecoder) array() error {
	for d.dec.More() {
		var raw json.RawMessage
		if err := d.dec.Decode(&raw); err != nil {
			return err
		}
		d.n++
		if !d.fn(raw) {
			d.stopped = true
			return nil
		}
	}
	_, err := d.dec.Token()
	return err
}

// object reads the members of an object whose '{' was read, and its '}'.
// depth is 0 for the top-level object.
func (d *recordDecoder) object(depth int) error {
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if depth == 0 {
			if len(d.members) < maxMemberNames {
				d.members = append(d.members, key)
			} else {
				d.more++
			}
		}
		if !isRecordKey(key) {
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		tok, err = d.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('['):
			if d.found {
				return fmt.Errorf("two records arrays (the second under %q)", key)
			}
			d.found = true
			if err := d.array(); err != nil || d.stopped {
				return err
			}
		case json.Delim('{'):
			if depth+1 < maxEnvelopeDepth {
				if err := d.object(depth + 1); err != nil || d.stopped {
					return err
				}
			} else if err := skipOpened(d.dec); err != nil {
				return err
			}
		case nil:
			d.null = true
		default:
			// A scalar under a records key ({"value": 5}) holds no records.
		}
	}
	_, err := d.dec.Token()
	return err
}

// skipOpened reads up to the end of the object or array whose opening
// delimiter was just read.
func skipOpened(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// isRecordKey reports whether key is one of RecordKeys, ignoring case.
func isRecordKey(key string) bool {
	for _, k := range RecordKeys {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// memberList returns the first top-level member names, quoted, for errors.
func (d *recordDecoder) memberList() string {
	if len(d.members) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, m := range d.members {
		if i > 0 {
			b.WriteString(", ")
		}
		if len(m) > 40 {
			m = m[:40] + "…"
		}
		fmt.Fprintf(&b, "%q", m)
	}
	if d.more > 0 {
		fmt.Fprintf(&b, " and %d more", d.more)
	}
	return b.String()
}

// kindOf names the JSON kind of a token.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		if tok == json.Delim('{') {
			return "object"
		}
		return "delimiter"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}

// isObject reports whether raw is a JSON object (by its first byte).
func isObject(raw []byte) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}
