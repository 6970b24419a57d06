package oracle

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Vendor and Product label the events.
const (
	Vendor  = "oracle"
	Product = "epm-cloud"
)

// Action is the action of every event: the report lists logins.
const Action = "login"

// StreamName returns the stream of a tenant's user audit,
// "oracle/<tenant>/user-audit".
func StreamName(tenant string) string { return "oracle/" + tenant + "/user-audit" }

// Identity returns the natural identity of a login row: the login, the
// client address and the access time in UTC (RFC 3339), as a JSON array so
// that no login or address can make two rows collide. The report and the
// User Login Report write the same rows, so both give the same identity,
// and the rows of a day are the same whichever report or selection they
// were read in.
func Identity(login, ip string, at time.Time) string {
	b, _ := json.Marshal([]string{login, ip, at.UTC().Format(time.RFC3339)})
	return string(b)
}

// EventID returns the event id of a row of tenant.
func EventID(tenant, login, ip string, at time.Time) string {
	return event.ID(Vendor, tenant, StreamName(tenant), Identity(login, ip, at))
}

// NewNormalizer returns the normalizer of tenant's user audit stream. The
// records' Value is a *Row.
func NewNormalizer(tenant string) pipeline.Normalizer {
	stream := StreamName(tenant)
	return func(rec pipeline.Record, observed time.Time) (event.Event, error) {
		row, ok := rec.Value.(*Row)
		if !ok {
			return nil, fmt.Errorf("record of type %T is not an oracle row", rec.Value)
		}
		ev, err := Normalize(tenant, stream, row, observed)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return ev, nil
	}
}

// Normalize maps one row to an audit event. It is pure. Every event is a
// successful login (AUTHENTICATION, action login, outcome SUCCESS): the
// report lists the users who logged in, not failed attempts. A row that is
// malformed, has no login, or whose access time does not parse is an
// error naming its line (or item).
func Normalize(tenant, stream string, row *Row, observed time.Time) (*event.AuditEvent, error) {
	if row.Err != nil {
		return nil, row.Err
	}
	if row.Login == "" {
		return nil, fmt.Errorf("%s has no user login", row.Where())
	}
	at, err := row.At()
	if err != nil {
		return nil, err
	}
	attrs := make(map[string]string, len(row.Names))
	for i, n := range row.Names {
		if i < len(row.Values) {
			attrs[n] = row.Values[i]
		}
	}
	actor := &event.Actor{UserID: event.Ptr(row.Login), UserName: event.Ptr(row.Name)}
	if looksLikeEmail(row.Login) {
		actor.Email = event.Ptr(row.Login)
	}
	raw := string(row.Raw())
	return &event.AuditEvent{
		EventID:      event.ID(Vendor, tenant, stream, Identity(row.Login, row.IP, at)),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       stream,
		TenantID:     tenant,
		EventTime:    at,
		RawTime:      event.Ptr(row.Time),
		ObservedTime: observed.UTC(),
		Category:     event.CategoryAuthentication,
		ClassUID:     event.CategoryAuthentication.ClassUID(),
		Action:       event.Ptr(Action),
		Outcome:      event.OutcomeSuccess,
		Actor:        actor,
		SrcIP:        srcIP(row.IP),
		Attributes:   attrs,
		Raw:          &raw,
	}, nil
}

// srcIP returns the address when it is an IPv4 or IPv6 address (an
// IPv4-mapped IPv6 address as IPv4), else nil: the text stays in the
// attributes either way.
func srcIP(s string) *string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	return event.Ptr(a.Unmap().String())
}

// looksLikeEmail reports whether s is a plausible e-mail address: one '@'
// with text before it and a dotted domain after it, no spaces.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && !strings.Contains(domain, "@") && strings.Contains(strings.Trim(domain, "."), ".") &&
		!strings.ContainsAny(s, " \t\r\n,;<>")
}
