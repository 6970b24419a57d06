package plm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Vendor and Product label every PLM event.
const (
	Vendor  = "plm"
	Product = "Autodesk Fusion Manage"
)

// StreamName returns the stream of one log type of a tenant, e.g.
// "plm/ACME/system-logs/item". It is the checkpoint key and the events'
// stream field.
func StreamName(tenant, logType string) string {
	return Vendor + "/" + tenant + "/system-logs/" + logType
}

// NewNormalizer returns the normalizer of the stream of logType in tenant.
// It accepts records whose Value is the *Entry a Source emits, or records
// with only Raw set.
func NewNormalizer(tenant, logType string) pipeline.Normalizer {
	n := normalizer{tenant: tenant, logType: logType, stream: StreamName(tenant, logType)}
	return n.normalize
}

// normalizer maps system log rows of one stream to audit events.
type normalizer struct {
	tenant, logType, stream string
}

// normalize builds the *event.AuditEvent of one row. It is pure: observed
// is the only time it uses besides the row's own.
func (n normalizer) normalize(rec pipeline.Record, observed time.Time) (event.Event, error) {
	e, _ := rec.Value.(*Entry)
	raw := rec.Raw
	if e == nil {
		e = DecodeEntry(raw)
	}
	if len(raw) == 0 {
		raw = e.Raw
	}
	if e.Err != nil {
		return nil, e.Err
	}
	identity, err := event.ContentIdentity(raw)
	if err != nil {
		return nil, fmt.Errorf("event identity: %w", err)
	}
	if e.Occurrence > 0 {
		// The vendor logged identical rows in one millisecond: each is an
		// event of its own. The first keeps the plain content identity.
		identity += "#" + strconv.Itoa(e.Occurrence)
	}

	l := e.Log
	category, outcome := classify(l.Action, l.Description, n.logType)
	ev := &event.AuditEvent{
		EventID:      event.ID(Vendor, n.tenant, n.stream, identity),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       n.stream,
		TenantID:     n.tenant,
		EventTime:    e.Time,
		RawTime:      event.Ptr(l.Timestamp),
		ObservedTime: observed.UTC(),
		Category:     category,
		ClassUID:     category.ClassUID(),
		Action:       event.Ptr(l.Action),
		Outcome:      outcome,
		Message:      event.Ptr(l.Description),
		Attributes:   map[string]string{},
		Raw:          event.Ptr(string(raw)),
	}
	// mapped holds the dotted paths whose values the event carries in its
	// own fields; every other member goes to Attributes.
	mapped := map[string]bool{"timestamp": true, "action": true, "description": true, "details": true}

	if u := l.User; u != nil {
		a := &event.Actor{
			UserID:   event.Ptr(refID(u, n.tenant)),
			UserName: event.Ptr(u.Title),
			Email:    event.Ptr(u.Email),
		}
		mapped["user.title"], mapped["user.email"] = true, true
		if a.UserID != nil || a.UserName != nil || a.Email != nil {
			ev.Actor = a
		}
	}
	ev.Target = n.target(e, category, mapped)

	if d, ok := e.Fields["details"]; ok {
		ev.Attributes["details"] = compactJSON(d)
	}
	for _, k := range sortedKeys(e.Fields) {
		flatten(ev.Attributes, k, e.Fields[k], mapped)
	}
	return ev, nil
}

// Target types set by the normalizer.
const (
	targetItem      = "item"
	targetUser      = "user"
	targetGroup     = "group"
	targetScript    = "script"
	targetWorkspace = "workspace"
	targetTenant    = "tenant"
)

// descriptionTargets find the object of an administrative action in its
// description, e.g. "User 'Zoë O'Brien' created": the name is everything
// between the first quote after the noun and the last quote.
var descriptionTargets = []struct {
	re  *regexp.Regexp
	typ string
}{
	{regexp.MustCompile(`^User '(.*)' [^']*$`), targetUser},
	{regexp.MustCompile(`^Group '(.*)' [^']*$`), targetGroup},
	{regexp.MustCompile(`^Role '.*' assigned to group '(.*)'$`), targetGroup},
	{regexp.MustCompile(`^Script '(.*)' [^']*$`), targetScript},
}

// target returns what the row acted on, marking the members it maps:
// the item of item rows; for administration, the user, group or script the
// description names; the workspace of workspace settings; the tenant for
// tenant settings. Nil when the row names nothing.
func (n normalizer) target(e *Entry, category event.Category, mapped map[string]bool) *event.Target {
	refTarget := func(key, typ string, r *Ref) *event.Target {
		mapped[key+".title"] = true
		return &event.Target{Type: event.Ptr(typ), ID: event.Ptr(refID(r, n.tenant)), Name: event.Ptr(r.Title)}
	}
	if e.Log.Item != nil {
		return refTarget("item", targetItem, e.Log.Item)
	}
	if category == event.CategoryAccountChange || category == event.CategoryConfigChange {
		for _, d := range descriptionTargets {
			if m := d.re.FindStringSubmatch(e.Log.Description); m != nil && m[1] != "" {
				return &event.Target{Type: event.Ptr(d.typ), Name: event.Ptr(m[1])}
			}
		}
	}
	if category == event.CategoryConfigChange {
		if ws, ok := e.Fields["workspace"]; ok {
			var r Ref
			if json.Unmarshal(ws, &r.Fields) == nil && r.Fields != nil {
				r.Title, _ = stringMember(r.Fields, "title")
				r.URN, _ = stringMember(r.Fields, "urn")
				r.Link, _ = stringMember(r.Fields, "link")
				return refTarget("workspace", targetWorkspace, &r)
			}
		}
		if strings.Contains(strings.ToLower(e.Log.Action), "tenant") {
			return &event.Target{Type: event.Ptr(targetTenant), ID: event.Ptr(n.tenant)}
		}
	}
	return nil
}

// refID returns the id of a linked resource: the last segment of its URN
// after the tenant prefix ("urn:adsk.plm:tenant.user:ACME.jdoe" → "jdoe",
// "urn:adsk.plm:tenant.workspace.item:ACME.8.1001" → "8.1001"); when the
// URN names another tenant or is absent, the last segment of its link
// ("/api/v3/users/jdoe" → "jdoe"); else the URN's last segment; else "".
func refID(r *Ref, tenant string) string {
	urnID := r.URN[strings.LastIndexByte(r.URN, ':')+1:]
	if len(urnID) > len(tenant)+1 && strings.EqualFold(urnID[:len(tenant)+1], tenant+".") {
		return urnID[len(tenant)+1:]
	}
	if r.Link != "" {
		if id := path.Base(r.Link); id != "." && id != "/" {
			return id
		}
	}
	return urnID
}

// flatten stores the member key with value v in attrs unless mapped[key]:
// an object member by member under dotted keys (an empty object as "{}"),
// a string as itself, any other value as its compact JSON text.
func flatten(attrs map[string]string, key string, v json.RawMessage, mapped map[string]bool) {
	if mapped[key] {
		return
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err == nil && len(obj) > 0 {
			for _, k := range sortedKeys(obj) {
				flatten(attrs, key+"."+k, obj[k], mapped)
			}
			return
		}
	}
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			attrs[key] = s
			return
		}
	}
	attrs[key] = compactJSON(v)
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

// sortedKeys returns the keys of m in order, so attributes are built
// deterministically.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// A classification rule: a row whose action holds any of the phrases falls
// in category. Rules are tried in order; the first match wins.
type rule struct {
	category event.Category
	phrases  []string
}

// rules classify the vendor's actions (matched on the lower-cased action,
// words separated by single spaces, with spaces around it):
//   - log in, log out and failed log in are AUTHENTICATION;
//   - user, group, role and permission administration is ACCOUNT_CHANGE;
//   - tenant, workspace and script settings are CONFIG_CHANGE: they change
//     how the tenant behaves rather than its data, which is how a SIEM
//     separates configuration drift from user activity;
//   - item, BOM, attachment, workflow and lifecycle changes are API_ACTIVITY.
//
// Settings words are tried before item words ("Workflow Settings Changed"
// configures a workflow), and "workspace" alone after them ("Workspace Item
// Created" is item activity).
var rules = []rule{
	{event.CategoryAuthentication, []string{" log in ", " login ", " logon ", " log on ", " sign in ", " signin ",
		" log out ", " logout ", " log off ", " logoff ", " sign out ", " signout ", " session "}},
	{event.CategoryAccountChange, []string{" user ", " users ", " group ", " groups ", " role ", " roles ",
		" permission ", " permissions ", " password ", " membership "}},
	{event.CategoryConfigChange, []string{" setting ", " settings ", " script ", " scripts ", " tenant ",
		" configuration ", " picklist ", " picklists "}},
	{event.CategoryAPIActivity, []string{" item ", " items ", " bom ", " attachment ", " attachments ",
		" workflow ", " transition ", " lifecycle ", " revision ", " milestone ", " milestones ", " relationship ",
		" relationships ", " change order "}},
	{event.CategoryConfigChange, []string{" workspace ", " workspaces ", " field ", " fields "}},
}

// failureWords mark an action that did not succeed, in the action or the
// description.
var failureWords = []string{" fail ", " failed ", " failure ", " unsuccessful ", " denied ", " rejected ", " locked "}

// classify returns the category and outcome of an action. Known actions
// succeeded unless the action or description says it failed; an unknown
// action is API_ACTIVITY in the item log (everything there acts on items)
// and UNKNOWN elsewhere, with an UNKNOWN outcome.
func classify(action, description, logType string) (event.Category, event.Outcome) {
	a := words(action)
	for _, r := range rules {
		if containsAny(a, r.phrases) {
			outcome := event.OutcomeSuccess
			if containsAny(a, failureWords) || containsAny(words(description), failureWords) {
				outcome = event.OutcomeFailure
			}
			return r.category, outcome
		}
	}
	if logType == LogTypeItem {
		return event.CategoryAPIActivity, event.OutcomeUnknown
	}
	return event.CategoryUnknown, event.OutcomeUnknown
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
