package plm

import (
	"bytes"
	"fmt"
	"math/bits"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/jsontree"
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
	// The record's bytes are normally the entry's: its parsed tree and text
	// serve then.
	text, identity := e.text, e.identity
	if !bytes.Equal(raw, e.Raw) || text == "" {
		text, identity = string(raw), ""
	}
	if identity == "" {
		var err error
		if identity, err = rowIdentity(e, raw); err != nil {
			return nil, fmt.Errorf("event identity: %w", err)
		}
	}
	if e.Occurrence > 0 {
		// The vendor logged identical rows in one millisecond: each is an
		// event of its own. The first keeps the plain content identity.
		identity += "#" + strconv.Itoa(e.Occurrence)
	}

	// The event and everything it points to, in one allocation.
	a := &auditAlloc{}
	s := a.strs[:0]
	l := e.Log
	category, outcome := classify(l.Action, l.Description, n.logType)
	ev := &a.ev
	*ev = event.AuditEvent{
		EventID:      event.ID(Vendor, n.tenant, n.stream, identity),
		Vendor:       Vendor,
		Product:      Product,
		Stream:       n.stream,
		TenantID:     n.tenant,
		EventTime:    e.Time,
		RawTime:      ptr(&s, l.Timestamp),
		ObservedTime: observed.UTC(),
		Category:     category,
		ClassUID:     category.ClassUID(),
		Action:       ptr(&s, l.Action),
		Outcome:      outcome,
		Message:      ptr(&s, l.Description),
		Raw:          ptr(&s, text),
	}
	// mapped holds the dotted paths whose values the event carries in its
	// own fields; every other member goes to Attributes.
	var mapped mappedSet

	if u := l.User; u != nil {
		act := &a.actor
		act.UserID = ptr(&s, refID(u, n.tenant))
		act.UserName = ptr(&s, u.Title)
		act.Email = ptr(&s, u.Email)
		mapped |= mapUserTitle | mapUserEmail
		if act.UserID != nil || act.UserName != nil || act.Email != nil {
			ev.Actor = act
		}
	}
	if t, ok := n.target(e, category, &mapped); ok {
		a.target = event.Target{Type: ptr(&s, t.typ), ID: ptr(&s, t.id), Name: ptr(&s, t.name)}
		ev.Target = &a.target
	}
	ev.Attributes = attributes(e.Tree, mapped)
	return ev, nil
}

// rowIdentity returns the content identity of raw, the bytes of e's
// record: from e's tree when raw is e's row.
func rowIdentity(e *Entry, raw []byte) (string, error) {
	if e.Tree.Kind() != jsontree.Invalid && bytes.Equal(raw, e.Raw) {
		return event.ContentIdentityOf(e.Tree), nil
	}
	return event.ContentIdentity(raw)
}

// auditAlloc holds an event with its actor, target and the strings its
// optional fields point to, so that building it is one allocation.
type auditAlloc struct {
	ev     event.AuditEvent
	actor  event.Actor
	target event.Target
	strs   [10]string
}

// ptr stores v in the next free string of *s and returns its address, or
// returns nil when v is empty, like event.Ptr. *s has room for every
// string an event points to.
func ptr(s *[]string, v string) *string {
	if v == "" {
		return nil
	}
	*s = append(*s, v)
	return &(*s)[len(*s)-1]
}

// mappedSet is the set of dotted paths an event carries in its own fields
// besides the ones it always does (timestamp, action, description and
// details).
type mappedSet uint8

// The paths a mappedSet may hold.
const (
	mapUserTitle mappedSet = 1 << iota
	mapUserEmail
	mapItemTitle
	mapWorkspaceTitle
)

// has reports whether the event carries the member at path.
func (m mappedSet) has(path []byte) bool {
	switch string(path) {
	case "timestamp", "action", "description", "details":
		return true
	case "user.title":
		return m&mapUserTitle != 0
	case "user.email":
		return m&mapUserEmail != 0
	case "item.title":
		return m&mapItemTitle != 0
	case "workspace.title":
		return m&mapWorkspaceTitle != 0
	}
	return false
}

// attributes returns the members of row the event does not carry in its own
// fields: "details" as compact JSON, then every member but the mapped ones
// flattened (see flatten), in key order, a later key replacing an earlier
// one that flattened to the same path.
func attributes(row jsontree.Value, mapped mappedSet) map[string]string {
	var (
		pathBuf   [128]byte
		keyBuf    [1024]byte
		attrBuf   [48]attr
		memberBuf [48]jsontree.Member
	)
	keys, attrs := keyBuf[:0], attrBuf[:0]
	members := row.SortedMembers(memberBuf[:0])
	top := len(members)
	for k := range top {
		m := members[k]
		keys, attrs, members = flatten(mapped, append(pathBuf[:0], m.Key...), m.Value, keys, attrs, members)
	}
	details, hasDetails := row.Get("details")
	n := len(attrs)
	if hasDetails {
		n++
	}
	out := make(map[string]string, n)
	if hasDetails {
		out["details"] = details.Compact()
	}
	// The keys share one string.
	all := string(keys)
	start := 0
	for _, a := range attrs {
		out[all[start:a.end]] = a.value
		start = a.end
	}
	return out
}

// attr is one attribute: its key ends at end in the keys of flatten, where
// the previous one's ends.
type attr struct {
	end   int
	value string
}

// flatten adds the member at path with value v to the attributes unless it
// is mapped: an object member by member under dotted keys (an empty object
// as "{}"), a string as itself, any other value as its compact JSON text.
// An attribute's key goes to keys and its value to attrs; members is a
// stack of the sorted members of the objects being flattened. It returns
// the three grown.
func flatten(mapped mappedSet, path []byte, v jsontree.Value, keys []byte, attrs []attr, members []jsontree.Member) ([]byte, []attr, []jsontree.Member) {
	if mapped.has(path) {
		return keys, attrs, members
	}
	var value string
	switch v.Kind() {
	case jsontree.Object:
		if v.Len() > 0 {
			base := len(members)
			members = v.SortedMembers(members)
			for k := base; k < len(members); k++ {
				m := members[k]
				keys, attrs, members = flatten(mapped, append(append(path, '.'), m.Key...), m.Value, keys, attrs, members)
			}
			clear(members[base:])
			return keys, attrs, members[:base]
		}
		value = v.Compact()
	case jsontree.String:
		value = v.Str()
	default:
		value = v.Compact()
	}
	keys = append(keys, path...)
	return keys, append(attrs, attr{end: len(keys), value: value}), members
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

// targetRef is what an event acted on; empty strings are absent fields.
type targetRef struct {
	typ, id, name string
}

// target returns what the row acted on, marking the members it maps:
// the item of item rows; for administration, the user, group or script the
// description names; the workspace of workspace settings; the tenant for
// tenant settings. False when the row names nothing.
func (n normalizer) target(e *Entry, category event.Category, mapped *mappedSet) (targetRef, bool) {
	if r := e.Log.Item; r != nil {
		*mapped |= mapItemTitle
		return targetRef{typ: targetItem, id: refID(r, n.tenant), name: r.Title}, true
	}
	if category == event.CategoryAccountChange || category == event.CategoryConfigChange {
		for _, d := range descriptionTargets {
			if m := d.re.FindStringSubmatch(e.Log.Description); m != nil && m[1] != "" {
				return targetRef{typ: d.typ, name: m[1]}, true
			}
		}
	}
	if category == event.CategoryConfigChange {
		if ws, _ := e.Tree.Get("workspace"); ws.Kind() == jsontree.Object {
			r := Ref{Title: memberString(ws, "title"), URN: memberString(ws, "urn"), Link: memberString(ws, "link")}
			*mapped |= mapWorkspaceTitle
			return targetRef{typ: targetWorkspace, id: refID(&r, n.tenant), name: r.Title}, true
		}
		if strings.Contains(strings.ToLower(e.Log.Action), "tenant") {
			return targetRef{typ: targetTenant, id: n.tenant}, true
		}
	}
	return targetRef{}, false
}

// memberString returns the string member key of obj; "" when it is absent
// or not a string.
func memberString(obj jsontree.Value, key string) string {
	v, _ := obj.Get(key)
	return v.Str()
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

// failureBit is the bit of failureWords in a phraseSet.
const failureBit = 1 << 31

// phraseSet has bit i set for a run of words that is a phrase of rules[i],
// and failureBit for a failure word.
type phraseSet uint32

// phraseIndex maps every phrase of rules and failureWords, without its
// padding, to its phraseSet; maxPhraseWords is the most words a phrase has.
var phraseIndex, maxPhraseWords = func() (map[string]phraseSet, int) {
	index := map[string]phraseSet{}
	most := 0
	add := func(p string, bit phraseSet) {
		p = strings.TrimSpace(p)
		index[p] |= bit
		most = max(most, strings.Count(p, " ")+1)
	}
	for i, r := range rules {
		for _, p := range r.phrases {
			add(p, 1<<i)
		}
	}
	for _, p := range failureWords {
		add(p, failureBit)
	}
	return index, most
}()

// classify returns the category and outcome of an action. Known actions
// succeeded unless the action or description says it failed; an unknown
// action is API_ACTIVITY in the item log (everything there acts on items)
// and UNKNOWN elsewhere, with an UNKNOWN outcome.
func classify(action, description, logType string) (event.Category, event.Outcome) {
	var buf [128]byte
	set := phrasesIn(appendWords(buf[:0], action))
	if ruleSet := set &^ failureBit; ruleSet != 0 {
		outcome := event.OutcomeSuccess
		if set&failureBit != 0 || phrasesIn(appendWords(buf[:0], description))&failureBit != 0 {
			outcome = event.OutcomeFailure
		}
		return rules[bits.TrailingZeros32(uint32(ruleSet))].category, outcome
	}
	if logType == LogTypeItem {
		return event.CategoryAPIActivity, event.OutcomeUnknown
	}
	return event.CategoryUnknown, event.OutcomeUnknown
}

// phrasesIn returns the phrases found in w, words as appendWords writes
// them: every run of up to maxPhraseWords words is looked up, which is
// what finding " phrase " in w amounts to.
func phrasesIn(w []byte) phraseSet {
	var set phraseSet
	// Word k starts after the space at starts[k].
	var startBuf [32]int
	starts := startBuf[:0]
	for i := 0; i < len(w)-1; i++ {
		if w[i] == ' ' {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(w)-1)
	for k := 0; k+1 < len(starts); k++ {
		for n := 1; n <= maxPhraseWords && k+n < len(starts); n++ {
			set |= phraseIndex[string(w[starts[k]+1:starts[k+n]])]
		}
	}
	return set
}

// appendWords appends s lower-cased to dst with every run of
// non-alphanumeric characters turned into one space, padded with spaces,
// so phrases match whole words.
func appendWords(dst []byte, s string) []byte {
	dst = append(dst, ' ')
	space := true
	for _, r := range s {
		// As strings.ToLower does, rune by rune.
		if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		} else if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			dst = utf8.AppendRune(dst, r)
			space = false
		} else if !space {
			dst = append(dst, ' ')
			space = true
		}
	}
	if !space {
		dst = append(dst, ' ')
	}
	return dst
}
