// Package event holds the Go form of the Avro event contract in schemas/:
// AuditEvent, UsageEvent and DeadLetter, and the deterministic event id.
//
// Field tags name the Avro fields; a nil pointer is Avro null.
package event

import (
	"time"
)

// Event is a normalized record ready to encode: an *AuditEvent or a *UsageEvent.
type Event interface {
	// Key is the Kafka message key: the event id.
	Key() string
	// OccurredAt is the event time in UTC.
	OccurredAt() time.Time
}

// Category is the OCSF-style class of an audit event.
type Category string

// The categories of the AuditCategory enum, and their OCSF class ids in ClassUID.
const (
	CategoryUnknown          Category = "UNKNOWN"
	CategoryAuthentication   Category = "AUTHENTICATION"
	CategoryAccountChange    Category = "ACCOUNT_CHANGE"
	CategoryAPIActivity      Category = "API_ACTIVITY"
	CategoryAuthorization    Category = "AUTHORIZATION"
	CategoryEntityManagement Category = "ENTITY_MANAGEMENT"
	CategoryConfigChange     Category = "CONFIG_CHANGE"
)

// ClassUID returns the OCSF class id of the category (0 when unknown).
func (c Category) ClassUID() int32 {
	switch c {
	case CategoryAuthentication:
		return 3002
	case CategoryAccountChange:
		return 3001
	case CategoryAPIActivity:
		return 6003
	case CategoryAuthorization:
		return 3003
	case CategoryEntityManagement:
		return 3004
	case CategoryConfigChange:
		return 5019
	default:
		return 0
	}
}

// Outcome says whether an audited action succeeded.
type Outcome string

// The symbols of the Outcome enum.
const (
	OutcomeUnknown Outcome = "UNKNOWN"
	OutcomeSuccess Outcome = "SUCCESS"
	OutcomeFailure Outcome = "FAILURE"
)

// Actor is who performed an audited action.
type Actor struct {
	UserID    *string  `avro:"user_id" json:"user_id,omitempty"`
	UserName  *string  `avro:"user_name" json:"user_name,omitempty"`
	Email     *string  `avro:"email" json:"email,omitempty"`
	Roles     []string `avro:"roles" json:"roles,omitempty"`
	SessionID *string  `avro:"session_id" json:"session_id,omitempty"`
}

// Target is what an audited action was performed on.
type Target struct {
	Type *string `avro:"type" json:"type,omitempty"`
	ID   *string `avro:"id" json:"id,omitempty"`
	Name *string `avro:"name" json:"name,omitempty"`
}

// AuditEvent is io.auditstream.AuditEvent (schemas/audit_event.avsc).
type AuditEvent struct {
	EventID      string            `avro:"event_id" json:"event_id"`
	Vendor       string            `avro:"vendor" json:"vendor"`
	Product      string            `avro:"product" json:"product"`
	Stream       string            `avro:"stream" json:"stream"`
	TenantID     string            `avro:"tenant_id" json:"tenant_id"`
	EventTime    time.Time         `avro:"event_time" json:"event_time"`
	RawTime      *string           `avro:"raw_time" json:"raw_time,omitempty"`
	ObservedTime time.Time         `avro:"observed_time" json:"observed_time"`
	Category     Category          `avro:"category" json:"category"`
	ClassUID     int32             `avro:"class_uid" json:"class_uid"`
	Action       *string           `avro:"action" json:"action,omitempty"`
	Outcome      Outcome           `avro:"outcome" json:"outcome"`
	Actor        *Actor            `avro:"actor" json:"actor,omitempty"`
	SrcIP        *string           `avro:"src_ip" json:"src_ip,omitempty"`
	Target       *Target           `avro:"target" json:"target,omitempty"`
	Message      *string           `avro:"message" json:"message,omitempty"`
	Attributes   map[string]string `avro:"attributes" json:"attributes"`
	Raw          *string           `avro:"raw" json:"raw,omitempty"`
}

// Key returns the event id.
func (e *AuditEvent) Key() string { return e.EventID }

// OccurredAt returns the event time.
func (e *AuditEvent) OccurredAt() time.Time { return e.EventTime }

// UsageEvent is io.auditstream.UsageEvent (schemas/usage_event.avsc).
type UsageEvent struct {
	EventID      string            `avro:"event_id" json:"event_id"`
	Vendor       string            `avro:"vendor" json:"vendor"`
	Product      string            `avro:"product" json:"product"`
	Stream       string            `avro:"stream" json:"stream"`
	TenantID     string            `avro:"tenant_id" json:"tenant_id"`
	EventTime    time.Time         `avro:"event_time" json:"event_time"`
	RawTime      *string           `avro:"raw_time" json:"raw_time,omitempty"`
	ObservedTime time.Time         `avro:"observed_time" json:"observed_time"`
	PeriodStart  *time.Time        `avro:"period_start" json:"period_start,omitempty"`
	PeriodEnd    *time.Time        `avro:"period_end" json:"period_end,omitempty"`
	Metric       string            `avro:"metric" json:"metric"`
	Value        *float64          `avro:"value" json:"value,omitempty"`
	Unit         *string           `avro:"unit" json:"unit,omitempty"`
	User         *string           `avro:"user" json:"user,omitempty"`
	Service      *string           `avro:"service" json:"service,omitempty"`
	Folder       *string           `avro:"folder" json:"folder,omitempty"`
	Dimensions   map[string]string `avro:"dimensions" json:"dimensions"`
	Raw          *string           `avro:"raw" json:"raw,omitempty"`
}

// Key returns the event id.
func (e *UsageEvent) Key() string { return e.EventID }

// OccurredAt returns the event time.
func (e *UsageEvent) OccurredAt() time.Time { return e.EventTime }

// Stage says where a dead-lettered record failed.
type Stage string

// The symbols of the DeadLetterStage enum.
const (
	StageUnknown   Stage = "UNKNOWN"
	StageDecode    Stage = "DECODE"
	StageNormalize Stage = "NORMALIZE"
	StageEncode    Stage = "ENCODE"
	StageFetch     Stage = "FETCH"
)

// DeadLetter is io.auditstream.DeadLetter (schemas/dead_letter.avsc).
type DeadLetter struct {
	Vendor       string    `avro:"vendor" json:"vendor"`
	Stream       string    `avro:"stream" json:"stream"`
	TenantID     string    `avro:"tenant_id" json:"tenant_id"`
	Topic        string    `avro:"topic" json:"topic"`
	Stage        Stage     `avro:"stage" json:"stage"`
	Reason       string    `avro:"reason" json:"reason"`
	ObservedTime time.Time `avro:"observed_time" json:"observed_time"`
	Cursor       *string   `avro:"cursor" json:"cursor,omitempty"`
	Raw          []byte    `avro:"raw" json:"raw"`
}

// Ptr returns a pointer to v, or nil when v is the zero value: the Avro
// null of an optional field.
func Ptr[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
