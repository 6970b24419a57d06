package epmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// timeLayout renders EventTime and LoggedAt as the vendor's .NET service
// does: UTC, milliseconds with trailing zeros trimmed ("…:30.29Z", "…:28Z").
const timeLayout = "2006-01-02T15:04:05.999Z"

// recordJSON is the served shape of a record, members in the documented
// order.
type recordJSON struct {
	SetName               string `json:"SetName"`
	EventTime             string `json:"EventTime"`
	PermissionDescription string `json:"PermissionDescription"`
	Description           string `json:"Description"`
	Feature               string `json:"Feature"`
	LoggedAt              string `json:"LoggedAt"`
	LoggedFrom            string `json:"LoggedFrom"`
	Administrator         string `json:"Administrator"`
	InternalSessionID     int64  `json:"InternalSessionId"`
	Role                  string `json:"Role"`
}

// admin is one administrator records are attributed to.
type admin struct {
	name string // an e-mail address or a plain user name
	role string
	ips  []string // the addresses the admin works from; "" is logged as empty
}

// admins are the tenant's administrators: e-mail addresses and plain user
// names, IPv4 and IPv6 addresses, and one that logs no address.
var admins = []admin{
	{"alice@example.com", "AccountAdmin", []string{"81.2.69.192", "81.2.69.144"}},
	{"bob@example.com", "SetAdmin", []string{"175.16.199.1"}},
	{"zoë.o'brien@example.com", "SetAdmin", []string{"2001:db8:85a3::8a2e:370:7334"}},
	{"epmadmin", "SetAdmin", []string{"10.20.30.40", "10.20.30.41"}},
	{"CORP\\jdoe", "HelpDesk", []string{"89.160.20.128"}},
	{"svc-epmlogs@example.com", "SetUser", []string{"67.43.156.0"}},
	{"auditor", "AuditOnly", []string{""}},
	{"maría.garcía@example.com", "SetAdmin", []string{"2a02:cf40::1"}},
}

// setNames name the sets AddSet creates without a name.
var setNames = []string{"Production", "Workstations/EU", "Servers (Linux)", "R&D <lab>", "Kiosks"}

// The objects descriptions name.
var (
	policyNames = []string{"Block ransomware", "Elevate installers", "Allow \"Signed\" drivers", "Just-in-time admin", "Default macOS policy"}
	computers   = []string{"LAPTOP-7F3K2", "WS-FIN-0042", "srv-db-01.corp.example", "MACBOOK-ANNA", "VDI-POOL-17"}
	groups      = []string{"Finance laptops", "Build servers", "Kiosks & shared", "Developers"}
	userNames   = []string{"carol@example.com", "dave", "erin@example.com", "CORP\\frank"}
	roleNames   = []string{"Set Admin", "Audit Only", "Help Desk", "Power User"}
	appGroups   = []string{"Browsers", "Developer tools", "Remote access <blocked>"}
)

// feature is a kind of activity: its Feature, PermissionDescription and
// description templates.
type feature struct {
	name       string
	permission string
	weight     int
	descs      []func(g *generator, set *simSet) string
}

// features are the activities generated, weighted like a busy console:
// mostly reads and API use, some changes, some sign-ins.
var features = []feature{
	{"Login", "None", 8, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "Logon to EPM management console" },
		func(*generator, *simSet) string { return "Logon failed: wrong user name or password" },
		func(*generator, *simSet) string { return "Logout from EPM management console" },
	}},
	{"Account Management", "Manage account users and roles", 6, []func(*generator, *simSet) string{
		func(g *generator, _ *simSet) string {
			return fmt.Sprintf("Add user '%s' with role '%s'", pick(g, userNames), pick(g, roleNames))
		},
		func(g *generator, _ *simSet) string {
			return fmt.Sprintf("Update role of user '%s' to '%s'", pick(g, userNames), pick(g, roleNames))
		},
		func(g *generator, _ *simSet) string { return fmt.Sprintf("Delete user '%s'", pick(g, userNames)) },
		func(g *generator, _ *simSet) string {
			return fmt.Sprintf("Reset password of user '%s'", pick(g, userNames))
		},
	}},
	{"Policies", "View all policies and application groups. Read and export policy and application group", 14, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "Read policies" },
		func(g *generator, _ *simSet) string { return fmt.Sprintf("Create policy '%s'", pick(g, policyNames)) },
		func(g *generator, _ *simSet) string { return fmt.Sprintf("Update policy '%s'", pick(g, policyNames)) },
		func(g *generator, _ *simSet) string { return fmt.Sprintf("Delete policy '%s'", pick(g, policyNames)) },
	}},
	{"Agent Config", "View all policies and application groups. Read and export policy and application group", 5, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "Read \"General configuration\" Agent Configuration policy" },
		func(*generator, *simSet) string { return "Update \"General configuration\" Agent Configuration policy" },
	}},
	{"My Computers", "View Download Agent Installation", 8, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "Get agent installation packages. OS: 'all'" },
		func(g *generator, _ *simSet) string { return fmt.Sprintf("Delete computer '%s'", pick(g, computers)) },
		func(g *generator, _ *simSet) string {
			return fmt.Sprintf("Add computer '%s' to group '%s'", pick(g, computers), pick(g, groups))
		},
	}},
	{"Sets", "None", 6, []func(*generator, *simSet) string{
		func(_ *generator, s *simSet) string { return "Enter Set " + s.Name },
		func(_ *generator, s *simSet) string { return "Update set " + s.Name + " properties" },
	}},
	{"Application Groups", "View all policies and application groups. Read and export policy and application group", 3, []func(*generator, *simSet) string{
		func(g *generator, _ *simSet) string {
			return fmt.Sprintf("Create application group '%s'", pick(g, appGroups))
		},
	}},
	{"Reports", "View Reports", 3, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "(ReportController) GetReportTypes executed successfully." },
	}},
	{"WebPage", "None", 10, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "View My Computers" },
		func(*generator, *simSet) string { return "View Get Started" },
	}},
	{"End-User UI", "View End-user UI", 2, []func(*generator, *simSet) string{
		func(*generator, *simSet) string { return "Read End User UIs" },
	}},
	{"Public API", "View all events and files.", 12, []func(*generator, *simSet) string{
		func(g *generator, s *simSet) string {
			return fmt.Sprintf("API Get events raw details /API/Sets/%s/Events/Search?limit=%d&nextCursor=start POST setId: Me, offset: 0, limit: %d, sortBy: Date, sortDir: asc",
				s.ID, 100*(1+g.rng.IntN(10)), 100*(1+g.rng.IntN(10)))
		},
	}},
}

// generator makes deterministic records.
type generator struct {
	rng    *rand.Rand
	weight int
}

func newGenerator(seed int64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x65706d))}
	for _, f := range features {
		g.weight += f.weight
	}
	return g
}

// pick returns a random element of list.
func pick[T any](g *generator, list []T) T { return list[g.rng.IntN(len(list))] }

// guid returns a random GUID in the vendor's lower-case form.
func (g *generator) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// feature returns a random feature by weight.
func (g *generator) feature() *feature {
	n := g.rng.IntN(g.weight)
	for i := range features {
		if n < features[i].weight {
			return &features[i]
		}
		n -= features[i].weight
	}
	return &features[len(features)-1]
}

// adminSession returns the session id and logon time of admin a at t: an admin
// works in sessions of two hours, logged on shortly after the session's
// start.
func adminSession(ai int, t time.Time) (id int64, loggedAt time.Time) {
	bucket := t.Truncate(2 * time.Hour)
	loggedAt = bucket.Add(time.Duration(ai*37)*time.Second + time.Duration(ai*113)*time.Millisecond)
	if loggedAt.After(t) {
		loggedAt = bucket
	}
	return 1000 + (bucket.Unix()/7200%100000)*10 + int64(ai), loggedAt
}

// build returns a record of set at instant t (UTC, milliseconds).
func (g *generator) build(set *simSet, t time.Time) Record {
	f := g.feature()
	ai := g.rng.IntN(len(admins))
	a := admins[ai]
	id, loggedAt := adminSession(ai, t)
	return render(set, t, f.name, f.permission, pick(g, f.descs)(g, set), a.name, a.role, pick(g, a.ips), id, loggedAt)
}

// render returns the record with the given members.
func render(set *simSet, t time.Time, featureName, permission, desc, adminName, role, ip string, sessionID int64, loggedAt time.Time) Record {
	rec := recordJSON{
		SetName:               set.Name,
		EventTime:             t.UTC().Format(timeLayout),
		PermissionDescription: permission,
		Description:           desc,
		Feature:               featureName,
		LoggedAt:              loggedAt.UTC().Format(timeLayout),
		LoggedFrom:            ip,
		Administrator:         adminName,
		InternalSessionID:     sessionID,
		Role:                  role,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		// Unreachable: the record holds only strings and a number.
		panic(fmt.Sprintf("epmsim: encode record: %v", err))
	}
	return Record{Feature: featureName, Time: t.UTC(), Raw: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
}

// instants returns n instants in [from, to) at millisecond precision,
// ascending: about a third of them in bursts sharing one millisecond, and
// a tenth on whole seconds. Nil when the span is empty.
func (g *generator) instants(from, to time.Time, n int) []time.Time {
	span := to.Sub(from).Milliseconds()
	if span <= 0 || n <= 0 {
		return nil
	}
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t := from.Add(time.Duration(g.rng.Int64N(span)) * time.Millisecond)
		if g.rng.IntN(10) == 0 {
			t = t.Truncate(time.Second)
			if t.Before(from) {
				t = t.Add(time.Second)
			}
			if !t.Before(to) {
				continue
			}
		}
		k := 1
		if g.rng.IntN(20) == 0 {
			k = 2 + g.rng.IntN(20) // a burst
		}
		for range min(k, n-len(out)) {
			out = append(out, t.UTC())
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// Generate adds n records to set setID at instants in [from, to), with
// bursts of records sharing one EventTime; in some bursts the records are
// identical in every member. The same Config.Seed and the same calls give
// the same records. It returns the records added, in order.
func (s *Server) Generate(setID string, from, to time.Time, n int) []Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	set := s.st.mustSetLocked(setID)
	g := s.st.gen
	out := make([]Record, 0, n)
	var prev Record
	for _, t := range g.instants(from, to, n) {
		var rec Record
		if len(out) > 0 && prev.Time.Equal(t) && g.rng.IntN(3) == 0 {
			// A repeated call in the same millisecond: identical.
			rec = Record{Feature: prev.Feature, Time: prev.Time, Raw: prev.Raw}
		} else {
			rec = g.build(set, t)
		}
		rec = s.st.insertLocked(set, rec)
		out = append(out, rec)
		prev = rec
	}
	return out
}

// Append adds n records to set setID all at the instant at (truncated to
// the millisecond) and returns them: distinct records, or, with identical,
// n copies of one record. Records at or after the newest one are appended
// at the end of the log; an earlier at inserts them in order, as a vendor
// indexing records late would.
func (s *Server) Append(setID string, at time.Time, n int, identical bool) []Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	set := s.st.mustSetLocked(setID)
	t := time.UnixMilli(at.UnixMilli()).UTC()
	out := make([]Record, 0, n)
	var first Record
	for i := range n {
		rec := s.st.gen.build(set, t)
		if identical && i > 0 {
			rec = Record{Feature: first.Feature, Time: first.Time, Raw: first.Raw}
		}
		rec = s.st.insertLocked(set, rec)
		if i == 0 {
			first = rec
		}
		out = append(out, rec)
	}
	return out
}

// apiCallRecord returns the "Public API" record the vendor writes for an
// admin audit call of user from ip, in session sessionID logged on at
// loggedAt.
func apiCallRecord(set *simSet, now time.Time, path, rawQuery, user, ip string, sessionID int64, loggedAt time.Time, q auditQuery) Record {
	desc := fmt.Sprintf("API Get Admin audit data %s?%s GET DateFrom: %s, DateTo: %s, offset: %d, limit: %d",
		strings.TrimPrefix(path, "/EPM"), rawQuery, formatOpt(q.from), formatOpt(q.to), q.offset, q.limit)
	return render(set, time.UnixMilli(now.UnixMilli()), "Public API", "None", desc, user, "SetUser", ip, sessionID, loggedAt)
}

// formatOpt writes t as the vendor echoes a date parameter; "" when absent.
func formatOpt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}
