package event

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/auditstream/auditstream/shared/jsontree"
)

// namespace is the UUIDv5 namespace of every auditstream event id.
var namespace = uuid.MustParse("6f1d3c4e-2b7a-5e39-9c1a-7a0d2f4b8e61")

// ID returns the deterministic event id of a record: a UUIDv5 over vendor,
// tenant, stream and the record's natural identity. The same inputs always
// give the same id, so a replayed record keeps its Kafka key.
func ID(vendor, tenant, stream, identity string) string {
	// uuid.NewSHA1(namespace, vendor\0tenant\0stream\0identity), hashed in
	// one buffer that stays on the stack for usual lengths.
	var buf [256]byte
	b := append(buf[:0], namespace[:]...)
	b = append(b, vendor...)
	b = append(b, 0)
	b = append(b, tenant...)
	b = append(b, 0)
	b = append(b, stream...)
	b = append(b, 0)
	b = append(b, identity...)
	sum := sha1.Sum(b)
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// ContentIdentity returns the natural identity of a record that has no vendor
// id: the hex SHA-256 of its canonical JSON (object keys sorted, no
// insignificant whitespace), so that formatting and key order do not change it.
func ContentIdentity(raw []byte) (string, error) {
	v, err := parseCanonical(raw)
	if err != nil {
		return "", err
	}
	return ContentIdentityOf(v), nil
}

// ContentIdentityOf returns ContentIdentity of the document v was parsed
// from (v being its top-level value), for a caller that already parsed it.
func ContentIdentityOf(v jsontree.Value) string {
	var buf [2048]byte
	sum := sha256.Sum256(v.AppendCanonical(buf[:0]))
	var id [2 * sha256.Size]byte
	hex.Encode(id[:], sum[:])
	return string(id[:])
}

// CanonicalJSON re-encodes a JSON document with object keys sorted and
// without insignificant whitespace. Numbers keep their original text;
// strings are encoded as json.Marshal encodes them. It reads the first JSON
// value of raw and ignores what follows it, as json.Decoder does. The form
// is jsontree's Value.AppendCanonical: event ids derive from it, so it
// never changes.
func CanonicalJSON(raw []byte) ([]byte, error) {
	v, err := parseCanonical(raw)
	if err != nil {
		return nil, err
	}
	return v.AppendCanonical(nil), nil
}

// parseCanonical parses the first JSON value of raw. Its error is the one
// encoding/json's decoder gives, which CanonicalJSON always returned.
func parseCanonical(raw []byte) (jsontree.Value, error) {
	v, _, err := jsontree.ParsePrefix(raw)
	if err != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		var discard any
		if derr := dec.Decode(&discard); derr != nil {
			err = derr
		}
		return jsontree.Value{}, fmt.Errorf("canonical json: %w", err)
	}
	return v, nil
}
