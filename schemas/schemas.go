// Package schemas embeds the Avro event contract: the schemas every poller
// registers in the Schema Registry and writes its values with.
//
// The .avsc files are the product's public interface. Every released version
// of each schema is kept under history/<name>/NNNN.avsc; the tests check the
// current schema against every one of them at FULL_TRANSITIVE compatibility.
package schemas

import _ "embed"

// AuditEvent is the Avro schema of io.auditstream.AuditEvent, the value of
// every <vendor>.audit topic.
//
//go:embed audit_event.avsc
var AuditEvent string

// UsageEvent is the Avro schema of io.auditstream.UsageEvent, the value of
// every <vendor>.usage topic.
//
//go:embed usage_event.avsc
var UsageEvent string

// DeadLetter is the Avro schema of io.auditstream.DeadLetter, the value of
// the dead-letter topic.
//
//go:embed dead_letter.avsc
var DeadLetter string

// All maps each schema's file stem to its text.
func All() map[string]string {
	return map[string]string{
		"audit_event": AuditEvent,
		"usage_event": UsageEvent,
		"dead_letter": DeadLetter,
	}
}
