package epm

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Vendor and Product label every EPM event.
const (
	Vendor  = "epm"
	Product = "CyberArk Endpoint Privilege Manager"
)

// AttrSetID is the attribute holding the id of the set a record was read
// from; the record itself names the set only by SetName. A record member
// of the same name would be kept as "record.set_id".
const AttrSetID = "set_id"

// StreamName returns the stream of a set's admin audit, e.g.
// "epm/ACME/sets/47f5830e-383a-4db1-9e5f-b38ed0448a92/admin-audit". It is
// the set's checkpoint key and its events' stream field.
func StreamName(tenant, setID string) string {
	return Vendor + "/" + tenant + "/sets/" + setID + "/admin-audit"
}

// NewNormalizer returns the normalizer of a set's admin audit stream. It
// accepts records whose Value is the *Entry a Source of that set emits.
func NewNormalizer(tenant, setID string) pipeline.Normalizer {
	n := normalizer{tenant: tenant, setID: setID, stream: StreamName(tenant, setID)}
	return n.normalize
}

// normalizer maps admin audit records of one set to audit events.
type normalizer struct {
	tenant, setID, stream string
}

// errNoEntry is returned for a record without its decoded entry.
var errNoEntry = errors.New("epm record without its decoded entry")

// Identity returns the natural identity of a record of setID: the set id
// and the hash of the record's canonical JSON, with "#k" for the k-th
// identical record at one time (k > 0). Tests compute expected event ids
// with it.
func Identity(setID string, raw []byte, occurrence int) (string, error) {
	hash, err := event.ContentIdentity(raw)
	if err != nil {
		return "", fmt.Errorf("event identity: %w", err)
	}
	id := setID + "/" + hash
	if occurrence > 0 {
		id += "#" + strconv.Itoa(occurrence)
	}
	return id, nil
}

// normalize builds the *event.AuditEvent of one record. It is pure:
// observed is the only time it uses besides the record's own.
func (n normalizer) normalize(rec pipeline.Record, observed time.Time) (event.Event, error) {
	e, _ := rec.Value.(*Entry)
	if e == nil {
		return nil, errNoEntry
	}
	raw := rec.Raw
	if len(raw) == 0 {
		raw = e.Raw
	}
	if e.Err != nil {
		return nil, e.Err
	}
	if e.SetID != "" && e.SetID != n.setID {
		return nil, fmt.Errorf("epm record of set %s in the stream of set %s", e.SetID, n.setID)
	}
	identity, err := Identity(n.setID, raw, e.Occurrence)
	if err != nil {
		return nil, err
	}

	a := e.Audit
	category, outcome := classify(a.Feature, a.Description)
	ev := &event.AuditEvent{
		EventID:      event.ID(Vendor, n.tenant, n.stream, identity),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       n.stream,
		TenantID:     n.tenant,
		EventTime:    e.Time,
		RawTime:      event.Ptr(a.EventTime),
		ObservedTime: observed.UTC(),
		Category:     category,
		ClassUID:     category.ClassUID(),
		Action:       event.Ptr(a.Feature),
		Outcome:      outcome,
		Message:      event.Ptr(a.Description),
		Attributes:   map[string]string{AttrSetID: n.setID},
		Raw:          event.Ptr(string(raw)),
	}
	// mapped holds the members the event carries in its own fields; every
	// other member goes to Attributes.
	mapped := map[string]bool{fieldEventTime: true}
	typed := func(key string) bool { return a.Typed[key] }
	if typed(fieldFeature) {
		mapped[fieldFeature] = true
	}
	if typed(fieldDescription) {
		mapped[fieldDescription] = true
	}

	actor := &event.Actor{}
	if typed(fieldAdministrator) {
		mapped[fieldAdministrator] = true
		if isEmail(a.Administrator) {
			actor.Email = event.Ptr(a.Administrator)
		} else {
			actor.UserName = event.Ptr(strings.TrimSpace(a.Administrator))
		}
	}
	if typed(fieldRole) {
		mapped[fieldRole] = true
		actor.Roles = a.Roles
	}
	if typed(fieldInternalSessionID) {
		mapped[fieldInternalSessionID] = true
		actor.SessionID = event.Ptr(a.InternalSessionID)
	}
	if actor.Email != nil || actor.UserName != nil || len(actor.Roles) > 0 || actor.SessionID != nil {
		ev.Actor = actor
	}
	if ip, ok := parseIP(a.LoggedFrom); ok && typed(fieldLoggedFrom) {
		mapped[fieldLoggedFrom] = true
		ev.SrcIP = event.Ptr(ip)
	}

	for k, v := range e.Fields {
		if mapped[k] {
			continue
		}
		if k == AttrSetID {
			k = "record." + k
		}
		if s, ok := stringValue(v); ok {
			ev.Attributes[k] = s
		} else {
			ev.Attributes[k] = compactJSON(v)
		}
	}
	return ev, nil
}

// parseIP returns the canonical text of an IPv4 or IPv6 address (an
// IPv4-mapped IPv6 address as IPv4, without zone), also when a port is
// attached; false when s is not an address.
func parseIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return "", false
		}
		addr = ap.Addr()
	}
	return addr.WithZone("").Unmap().String(), true
}

// isEmail reports whether s has the shape of an e-mail address: one '@'
// between a non-empty local part and a dotted domain, no white space or
// angle brackets.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || strings.ContainsAny(s, " \t\r\n<>,;\\\"") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	return !slices.Contains(labels, "")
}

// knownFeatures maps the vendor's features (the activity groupings of the
// EPM console and API), written as words, to their category:
//   - sign-ins to the console or the API are AUTHENTICATION;
//   - account, administrator and role administration is ACCOUNT_CHANGE;
//   - policy, computer, set and every other console or API activity is
//     API_ACTIVITY.
var knownFeatures = map[string]event.Category{
	" login ":                       event.CategoryAuthentication,
	" logon ":                       event.CategoryAuthentication,
	" logout ":                      event.CategoryAuthentication,
	" authentication ":              event.CategoryAuthentication,
	" sign in ":                     event.CategoryAuthentication,
	" saml ":                        event.CategoryAuthentication,
	" account management ":          event.CategoryAccountChange,
	" accounts ":                    event.CategoryAccountChange,
	" users ":                       event.CategoryAccountChange,
	" user management ":             event.CategoryAccountChange,
	" administrators ":              event.CategoryAccountChange,
	" account administrators ":      event.CategoryAccountChange,
	" set administrators ":          event.CategoryAccountChange,
	" roles ":                       event.CategoryAccountChange,
	" role management ":             event.CategoryAccountChange,
	" permissions ":                 event.CategoryAccountChange,
	" policies ":                    event.CategoryAPIActivity,
	" advanced policies ":           event.CategoryAPIActivity,
	" agent config ":                event.CategoryAPIActivity,
	" my computers ":                event.CategoryAPIActivity,
	" computers ":                   event.CategoryAPIActivity,
	" computer groups ":             event.CategoryAPIActivity,
	" sets ":                        event.CategoryAPIActivity,
	" set management ":              event.CategoryAPIActivity,
	" application groups ":          event.CategoryAPIActivity,
	" public api ":                  event.CategoryAPIActivity,
	" reports ":                     event.CategoryAPIActivity,
	" webpage ":                     event.CategoryAPIActivity,
	" end user ui ":                 event.CategoryAPIActivity,
	" events ":                      event.CategoryAPIActivity,
	" events management ":           event.CategoryAPIActivity,
	" threat analysis ":             event.CategoryAPIActivity,
	" threat protection ":           event.CategoryAPIActivity,
	" inbox ":                       event.CategoryAPIActivity,
	" dashboard ":                   event.CategoryAPIActivity,
	" policy audit ":                event.CategoryAPIActivity,
	" endpoint management ":         event.CategoryAPIActivity,
	" trusted sources ":             event.CategoryAPIActivity,
	" default policies ":            event.CategoryAPIActivity,
	" privilege threat protection ": event.CategoryAPIActivity,
}

// A classification rule: text holding any of the phrases falls in
// category. Rules are tried in order; the first match wins.
type rule struct {
	category event.Category
	phrases  []string
}

// rules classify features the table does not know, and, for a feature
// that matches nothing, the description. Sign-in words come first, then
// account words ("Add user 'x' to set 'y'" administers an account), then
// the objects of the console and the API.
var rules = []rule{
	{event.CategoryAuthentication, []string{" login ", " logon ", " log in ", " log on ", " logout ", " logoff ",
		" log out ", " log off ", " sign in ", " signin ", " sign out ", " signout ", " authentication ",
		" authenticate ", " authenticated ", " saml ", " mfa ", " sso "}},
	{event.CategoryAccountChange, []string{" account ", " accounts ", " user ", " users ", " administrator ",
		" administrators ", " admin ", " admins ", " role ", " roles ", " permission ", " permissions ",
		" password ", " membership "}},
	{event.CategoryAPIActivity, []string{" policy ", " policies ", " computer ", " computers ", " endpoint ",
		" endpoints ", " agent ", " agents ", " set ", " sets ", " application ", " applications ", " api ",
		" report ", " reports ", " webpage ", " ui ", " event ", " events ", " threat ", " inbox ", " dashboard ",
		" configuration ", " script ", " scripts ", " file ", " files "}},
}

// failureWords mark an activity that did not succeed, in the feature or
// the description.
var failureWords = []string{" fail ", " failed ", " failure ", " unsuccessful ", " denied ", " rejected "}

// classify returns the category and outcome of a record. The feature
// decides (the table, then the rules); a feature that matches nothing lets
// the description decide by the same rules. A classified activity
// succeeded unless its feature or description says it failed; an
// unclassified one is UNKNOWN with an UNKNOWN outcome.
func classify(feature, description string) (event.Category, event.Outcome) {
	f, d := words(feature), words(description)
	category, ok := knownFeatures[f]
	if !ok {
		category = matchRules(f)
	}
	if category == event.CategoryUnknown {
		category = matchRules(d)
	}
	switch {
	case containsAny(f, failureWords) || containsAny(d, failureWords):
		return category, event.OutcomeFailure
	case category == event.CategoryUnknown:
		return category, event.OutcomeUnknown
	default:
		return category, event.OutcomeSuccess
	}
}

// matchRules returns the category of the first rule a phrase of which s
// holds, or UNKNOWN.
func matchRules(s string) event.Category {
	for _, r := range rules {
		if containsAny(s, r.phrases) {
			return r.category
		}
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
