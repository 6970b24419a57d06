package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// namespace is the UUIDv5 namespace of every auditstream event id.
var namespace = uuid.MustParse("6f1d3c4e-2b7a-5e39-9c1a-7a0d2f4b8e61")

// ID returns the deterministic event id of a record: a UUIDv5 over vendor,
// tenant, stream and the record's natural identity. The same inputs always
// give the same id, so a replayed record keeps its Kafka key.
func ID(vendor, tenant, stream, identity string) string {
	var b bytes.Buffer
	b.Grow(len(vendor) + len(tenant) + len(stream) + len(identity) + 3)
	b.WriteString(vendor)
	b.WriteByte(0)
	b.WriteString(tenant)
	b.WriteByte(0)
	b.WriteString(stream)
	b.WriteByte(0)
	b.WriteString(identity)
	return uuid.NewSHA1(namespace, b.Bytes()).String()
}

// ContentIdentity returns the natural identity of a record that has no vendor
// id: the hex SHA-256 of its canonical JSON (object keys sorted, no
// insignificant whitespace), so that formatting and key order do not change it.
func ContentIdentity(raw []byte) (string, error) {
	canon, err := CanonicalJSON(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// CanonicalJSON re-encodes a JSON document with object keys sorted and
// without insignificant whitespace. Numbers keep their original text.
func CanonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	// encoding/json sorts map keys and keeps json.Number text as is.
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return out, nil
}
