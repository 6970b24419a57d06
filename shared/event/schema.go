package event

import "github.com/auditstream/auditstream/schemas"

// Schema pairs an Avro schema of the contract with the Go type that encodes
// to it.
type Schema struct {
	// Text is the Avro schema (JSON).
	Text string
	// Example is a value of the Go type, e.g. (*AuditEvent)(nil).
	Example any
}

// The schemas of the contract.
var (
	AuditSchema      = Schema{Text: schemas.AuditEvent, Example: (*AuditEvent)(nil)}
	UsageSchema      = Schema{Text: schemas.UsageEvent, Example: (*UsageEvent)(nil)}
	DeadLetterSchema = Schema{Text: schemas.DeadLetter, Example: (*DeadLetter)(nil)}
)
