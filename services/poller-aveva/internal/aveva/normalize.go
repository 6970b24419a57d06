package aveva

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Keys the normalizer adds to dimensions (usage) or attributes (audit) of
// its own; the vendor's members keep their names.
const (
	// KeyTimeSource is "window_start" when the record had no usable time
	// and event_time is the start of the window that returned it.
	KeyTimeSource = "auditstream.time_source"
	// KeyTimeError says why a time member could not be read.
	KeyTimeError = "auditstream.time_error"
	// KeyWindow is the window that returned a record without usable time,
	// "from/to" in RFC 3339.
	KeyWindow = "auditstream.window"
)

// TimeSourceWindowStart is the value of KeyTimeSource.
const TimeSourceWindowStart = "window_start"

// The members the normalizers map to event fields, besides IDFields and
// TimeFields; the first present name of a list wins. The service README's
// mapping tables list them.
var (
	// Usage events.
	QuantityFields = []string{"credits", "creditsUsed", "creditsConsumed", "creditAmount", "creditsAmount", "amount",
		"quantity", "usageQuantity", "usage", "consumption", "value", "count", "hours", "durationHours",
		"durationMinutes", "durationSeconds", "duration", "minutes"}
	UnitFields        = []string{"unit", "units", "unitOfMeasure", "uom", "unitName"}
	UserFields        = []string{"user", "userEmail", "email", "userPrincipalName", "userName", "userId"}
	FolderFields      = []string{"folder", "folderName"}
	ServiceFields     = []string{"service", "serviceName"}
	PeriodStartFields = []string{"periodStart", "startTime", "startDate", "fromDate", "loginTime", "sessionStart"}
	PeriodEndFields   = []string{"periodEnd", "endTime", "endDate", "toDate", "logoutTime", "sessionEnd"}

	// Audit events.
	ActionFields     = []string{"operation", "action", "activity", "eventType"}
	FunctionFields   = []string{"function"}
	MessageFields    = []string{"description", "message", "details", "summary"}
	OutcomeFields    = []string{"status", "result", "outcome", "success"}
	IPFields         = []string{"ipAddress", "ip", "clientIp", "sourceIp", "remoteIp", "ipAddr"}
	ActorEmailFields = []string{"user", "userEmail", "email", "userPrincipalName"}
	ActorNameFields  = []string{"userName", "userDisplayName", "displayName"}
	ActorIDFields    = []string{"userId", "userGuid", "principalId"}
	TargetNameFields = []string{"target", "targetName", "objectName", "resourceName", "entityName"}
	TargetTypeFields = []string{"targetType", "objectType", "resourceType", "entityType"}
	TargetIDFields   = []string{"targetId", "objectId", "resourceId", "entityId"}
)

// NewNormalizer returns the normalizer of report's stream in tenant: audit
// events for the audit report, usage events for the others. It accepts
// records whose Value is the *Entry a Source emits, or records with only
// Raw set (read as ISO 8601 times, outside any window).
func NewNormalizer(tenant string, report Report) pipeline.Normalizer {
	n := normalizer{tenant: tenant, report: report.Name, stream: StreamName(tenant, report.Name)}
	if report.Audit {
		return n.audit
	}
	return n.usage
}

// normalizer maps the records of one stream to events.
type normalizer struct {
	tenant, report, stream string
}

// errNoTime is the error of a record without usable time read outside any
// window.
var errNoTime = errors.New("record has no usable time and was not fetched in a window")

// record is what both normalizers start from: the entry, its members and
// which members are mapped so far (by position).
type record struct {
	e      *Entry
	f      fields
	mapped []bool
}

// prepare decodes rec and fills the event's common fields.
func (n normalizer) prepare(rec pipeline.Record) (*record, error) {
	e, _ := rec.Value.(*Entry)
	if e == nil {
		e = DecodeEntry(rec.Raw, n.report, Window{}, isoParser)
	}
	if e.Err != nil {
		return nil, e.Err
	}
	f, err := parseFields(e.Raw)
	if err != nil {
		return nil, err
	}
	if e.Time.IsZero() && e.Window.From.IsZero() {
		return nil, errNoTime
	}
	r := &record{e: e, f: f, mapped: make([]bool, len(f.ms))}
	if i := f.index(e.TimeField); i >= 0 {
		r.mapped[i] = true
	}
	return r, nil
}

// eventTime returns the record's time, or its window's start, and adds the
// keys that say which to extra.
func (r *record) eventTime(extra map[string]string) time.Time {
	if !r.e.Time.IsZero() {
		return r.e.Time
	}
	extra[KeyTimeSource] = TimeSourceWindowStart
	extra[KeyWindow] = r.e.Window.String()
	if r.e.TimeErr != nil {
		extra[KeyTimeError] = r.e.TimeErr.Error()
	}
	return r.e.Window.From.UTC()
}

// text returns the text of the first of names that is a scalar, marking it
// mapped; "" when none is.
func (r *record) text(names []string) string {
	i, ok := r.f.find(names)
	if !ok {
		return ""
	}
	s, ok := scalarText(r.f.ms[i].val)
	if !ok {
		return ""
	}
	r.mapped[i] = true
	return s
}

// rest flattens every member not mapped into dst.
func (r *record) rest(dst map[string]string) {
	for i, m := range r.f.ms {
		if !r.mapped[i] {
			flatten(dst, m.key, m.val, 0)
		}
	}
}

// maxFlattenDepth bounds how deep objects are flattened into dotted keys;
// deeper values are kept as JSON text.
const maxFlattenDepth = 8

// flatten stores member key with value v in dst: an object member by member
// under dotted keys (an empty object as "{}"), a string as itself, any
// other value as its compact JSON text. A key already present (a member
// named like a dotted path) is not overwritten.
func flatten(dst map[string]string, key string, v json.RawMessage, depth int) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '{' && depth < maxFlattenDepth {
		if obj, err := splitObject(v); err == nil && len(obj) > 0 {
			for _, m := range obj {
				flatten(dst, key+"."+m.key, m.val, depth+1)
			}
			return
		}
	}
	if _, ok := dst[key]; ok {
		return
	}
	dst[key] = valueText(v)
}

// identity returns the event id of the record.
func (n normalizer) eventID(e *Entry) string {
	return event.ID(Vendor, n.tenant, n.stream, e.Identity)
}

// usage builds the *event.UsageEvent of one record. It is pure: observed is
// the only time it uses besides the record's and its window's.
func (n normalizer) usage(rec pipeline.Record, observed time.Time) (event.Event, error) {
	r, err := n.prepare(rec)
	if err != nil {
		return nil, err
	}
	e := r.e
	ev := &event.UsageEvent{
		EventID:      n.eventID(e),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       n.stream,
		TenantID:     n.tenant,
		RawTime:      event.Ptr(e.RawTime),
		ObservedTime: observed.UTC(),
		Metric:       n.report,
		Dimensions:   map[string]string{},
		Raw:          event.Ptr(string(e.Raw)),
	}
	ev.EventTime = r.eventTime(ev.Dimensions)
	ev.PeriodStart = r.period(PeriodStartFields)
	ev.PeriodEnd = r.period(PeriodEndFields)
	ev.User = event.Ptr(r.text(UserFields))
	ev.Folder = event.Ptr(r.text(FolderFields))
	ev.Service = event.Ptr(r.text(ServiceFields))
	if k, v, ok := r.quantity(); ok {
		ev.Value = &v
		ev.Unit = event.Ptr(r.text(UnitFields))
		if ev.Unit == nil {
			ev.Unit = event.Ptr(unitOf(k))
		}
	}
	r.rest(ev.Dimensions)
	return ev, nil
}

// period returns the time of the first of names that parses, marking it
// mapped; nil when none does.
func (r *record) period(names []string) *time.Time {
	i, ok := r.f.find(names)
	if !ok {
		return nil
	}
	t, err := isoParser.parseValue(r.f.ms[i].val)
	if err != nil {
		return nil
	}
	if r.f.ms[i].key == r.e.TimeField && !r.e.Time.IsZero() {
		t = r.e.Time // the same member, parsed with the locale
	}
	r.mapped[i] = true
	return &t
}

// quantity returns the first quantity member that holds a finite number (a
// JSON number or a numeric string), marking it mapped.
func (r *record) quantity() (key string, value float64, ok bool) {
	for _, name := range QuantityFields {
		i, found := r.f.find([]string{name})
		if !found {
			continue
		}
		k := r.f.ms[i].key
		s, isScalar := scalarText(r.f.ms[i].val)
		if !isScalar {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			continue
		}
		r.mapped[i] = true
		return k, f, true
	}
	return "", 0, false
}

// unitOf infers the unit of a quantity member without unit member from its
// name: credits, hours, minutes, seconds or count; "" when the name says
// nothing.
func unitOf(key string) string {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "credit"):
		return "credits"
	case strings.Contains(k, "hour"):
		return "hours"
	case strings.Contains(k, "minute"):
		return "minutes"
	case strings.Contains(k, "second"):
		return "seconds"
	case k == "count":
		return "count"
	}
	return ""
}

// audit builds the *event.AuditEvent of one record. It is pure: observed is
// the only time it uses besides the record's and its window's.
func (n normalizer) audit(rec pipeline.Record, observed time.Time) (event.Event, error) {
	r, err := n.prepare(rec)
	if err != nil {
		return nil, err
	}
	e := r.e
	ev := &event.AuditEvent{
		EventID:      n.eventID(e),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       n.stream,
		TenantID:     n.tenant,
		RawTime:      event.Ptr(e.RawTime),
		ObservedTime: observed.UTC(),
		Attributes:   map[string]string{},
		Raw:          event.Ptr(string(e.Raw)),
	}
	ev.EventTime = r.eventTime(ev.Attributes)
	operation := r.text(ActionFields)
	function := ""
	if i, ok := r.f.find(FunctionFields); ok {
		function, _ = scalarText(r.f.ms[i].val) // kept in attributes as well
	}
	ev.Action = event.Ptr(operation)
	ev.Message = event.Ptr(r.text(MessageFields))
	ev.Category = classify(operation, function)
	ev.ClassUID = ev.Category.ClassUID()
	ev.Outcome = r.outcome(ev.Message)
	ev.SrcIP = event.Ptr(r.text(IPFields))

	a := &event.Actor{
		UserID:   event.Ptr(r.text(ActorIDFields)),
		UserName: event.Ptr(r.text(ActorNameFields)),
	}
	if user := r.text(ActorEmailFields); user != "" {
		if strings.Contains(user, "@") {
			a.Email = &user
		} else if a.UserName == nil {
			a.UserName = &user
		} else if a.UserID == nil {
			a.UserID = &user
		}
	}
	if a.UserID != nil || a.UserName != nil || a.Email != nil {
		ev.Actor = a
	}
	ev.Target = r.target()
	r.rest(ev.Attributes)
	return ev, nil
}

// target returns what the audited action was performed on: the record's
// target members, else its service, else its folder; nil when none.
func (r *record) target() *event.Target {
	if name := r.text(TargetNameFields); name != "" {
		return &event.Target{Name: &name, Type: event.Ptr(r.text(TargetTypeFields)), ID: event.Ptr(r.text(TargetIDFields))}
	}
	for _, t := range []struct {
		typ   string
		names []string
	}{{"service", ServiceFields}, {"folder", FolderFields}} {
		if name := r.text(t.names); name != "" {
			return &event.Target{Type: event.Ptr(t.typ), Name: &name}
		}
	}
	return nil
}

// outcome reads the status member: success words give SUCCESS, failure
// words FAILURE. Without a status member, a message with failure words
// gives FAILURE; anything else is UNKNOWN.
func (r *record) outcome(message *string) event.Outcome {
	if status := r.text(OutcomeFields); status != "" {
		w := words(status)
		switch {
		case containsAny(w, failureWords) || w == " false ":
			return event.OutcomeFailure
		case containsAny(w, successWords) || w == " true ":
			return event.OutcomeSuccess
		}
		return event.OutcomeUnknown
	}
	if message != nil && containsAny(words(*message), failureWords) {
		return event.OutcomeFailure
	}
	return event.OutcomeUnknown
}

// Outcome words, matched as whole words of the lower-cased status.
var (
	successWords = []string{" success ", " succeeded ", " successful ", " ok ", " completed ", " complete ", " done "}
	failureWords = []string{" fail ", " failed ", " failure ", " error ", " denied ", " rejected ", " unauthorized ", " forbidden ", " unsuccessful "}
)

// A classification rule: an audit record whose operation or function holds
// any of the phrases falls in category. Rules are tried in order.
type rule struct {
	category event.Category
	phrases  []string
}

// rules classify audit records (matched on the lower-cased operation and
// function, words separated by single spaces):
//   - signing in and out is AUTHENTICATION;
//   - user, role, group, permission and access administration (function
//     authm, "authorization management", among them) is ACCOUNT_CHANGE;
//   - settings and configuration are CONFIG_CHANGE;
//   - folders, services, solutions and resources are ENTITY_MANAGEMENT;
//   - any other operation is API_ACTIVITY, and a record with neither
//     operation nor function is UNKNOWN.
var rules = []rule{
	{event.CategoryAuthentication, []string{" login ", " log in ", " logon ", " signin ", " sign in ", " logout ", " log out ",
		" logoff ", " signout ", " sign out ", " authentication ", " authn ", " session ", " mfa "}},
	{event.CategoryAccountChange, []string{" authm ", " user ", " users ", " userm ", " role ", " roles ", " group ", " groups ",
		" permission ", " permissions ", " access ", " invite ", " invitation ", " membership ", " password ", " assign ", " revoke ", " grant "}},
	{event.CategoryConfigChange, []string{" setting ", " settings ", " configuration ", " config ", " policy ", " policies ", " subscription "}},
	{event.CategoryEntityManagement, []string{" folder ", " folders ", " folderm ", " service ", " services ", " servicem ",
		" solution ", " solutions ", " resource ", " resources ", " instance "}},
}

// classify returns the category of an audit record from its operation and
// function.
func classify(operation, function string) event.Category {
	w := words(operation + " " + function)
	for _, r := range rules {
		if containsAny(w, r.phrases) {
			return r.category
		}
	}
	if strings.TrimSpace(w) != "" {
		return event.CategoryAPIActivity
	}
	return event.CategoryUnknown
}

// words lower-cases s, turns every run of non-alphanumeric characters into
// one space and pads the result with spaces, so phrases match whole words.
func words(s string) string {
	var b strings.Builder
	b.WriteByte(' ')
	space := true
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// containsAny reports whether s contains any of phrases.
func containsAny(s string, phrases []string) bool {
	return slices.ContainsFunc(phrases, func(p string) bool { return strings.Contains(s, p) })
}
