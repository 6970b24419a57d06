package plmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// timestampLayout renders a record's timestamp: milliseconds and the numeric
// offset of the zone it is rendered in, e.g. 2019-11-12T14:56:14.259-05:00.
const timestampLayout = "2006-01-02T15:04:05.000-07:00"

// The JSON shapes of a served record. Field order follows the vendor's
// documented sample; item and workspace are this simulator's additions (see
// the package documentation).
type (
	recordJSON struct {
		Description string       `json:"description"`
		Timestamp   string       `json:"timestamp"`
		Action      string       `json:"action"`
		Details     []detailJSON `json:"details"`
		User        userJSON     `json:"user"`
		Item        *refJSON     `json:"item,omitempty"`
		Workspace   *refJSON     `json:"workspace,omitempty"`
	}
	detailJSON struct {
		FieldName string  `json:"fieldName"`
		OldValue  *string `json:"oldValue"`
		NewValue  *string `json:"newValue"`
	}
	userJSON struct {
		Link   string    `json:"link"`
		URN    string    `json:"urn"`
		Title  string    `json:"title"`
		Status string    `json:"status"`
		Email  string    `json:"email"`
		Image  imageJSON `json:"image"`
	}
	imageJSON struct {
		Small  string `json:"small"`
		Medium string `json:"medium"`
		Large  string `json:"large"`
	}
	refJSON struct {
		Link  string `json:"link"`
		URN   string `json:"urn"`
		Title string `json:"title"`
	}
)

// simUser is one tenant user that records are attributed to.
type simUser struct {
	id, title, email, status string
}

// users are the tenant's users; the first three are administrators and the
// only ones performing administrative (non log-in) system actions. The names
// include non-ASCII letters and an apostrophe on purpose.
var users = []simUser{
	{"jdoe", "John Doe", "john.doe@example.com", "Active"},
	{"praman", "Priya Raman", "priya.raman@example.com", "Active"},
	{"wzhang", "Wei Zhang", "wei.zhang@example.com", "Active"},
	{"jroe", "Jane Roe", "jane.roe@example.com", "Active"},
	{"cmendes", "Carlos Mendes", "carlos.mendes@example.com", "Active"},
	{"falsayed", "Fatima Al-Sayed", "fatima.al-sayed@example.com", "Active"},
	{"jmuller", "José Müller", "jose.muller@example.com", "Active"},
	{"zobrien", "Zoë O'Brien", "zoe.obrien@example.com", "Active"},
	{"lmurphy", "Liam Murphy", "liam.murphy@example.com", "Active"},
	{"atanaka", "Aiko Tanaka", "aiko.tanaka@example.com", "Active"},
	{"opetrova", "Olga Petrova", "olga.petrova@example.com", "Active"},
	{"kmensah", "Kwame Mensah", "kwame.mensah@example.com", "Active"},
	{"eschmidt", "Emma Schmidt", "emma.schmidt@example.com", "Active"},
	{"nwilliams", "Noah Williams", "noah.williams@example.com", "Active"},
	{"srossi", "Sofia Rossi", "sofia.rossi@example.com", "Active"},
	{"mgarcia", "Mateo García", "mateo.garcia@example.com", "Active"},
	{"hcohen", "Hannah Cohen", "hannah.cohen@example.com", "Active"},
	{"apatel", "Arjun Patel", "arjun.patel@example.com", "Active"},
	{"gkim", "Grace Kim", "grace.kim@example.com", "Active"},
	{"lmartin", "Lucas Martin", "lucas.martin@example.com", "Inactive"},
}

// numAdmins is how many users, from the start of users, are administrators.
const numAdmins = 3

// simWorkspace is a workspace items live in.
type simWorkspace struct {
	id     int
	title  string
	prefix string
	nouns  []string
	weight int
}

var workspaces = []simWorkspace{
	{8, "Items", "PRT", []string{"Bracket, Steel, 40 mm", "Housing, ABS", "Hex Bolt M8x30", "PCB Assembly Rev C", "Gasket, EPDM", "Motor Mount", "Cable Harness 12-pin", "Bearing 6204-2RS", "Front Panel", "Heat Sink 40x40"}, 50},
	{9, "Change Orders", "CO", []string{"Update drawing tolerances", "Replace obsolete capacitor", "Supplier change for gasket", "Release Rev B"}, 15},
	{10, "Problem Reports", "PR", []string{"Cracked housing in field", "Wrong torque spec", "Label misprint"}, 10},
	{57, "Products", "PRD", []string{"Model X200 Drill", "Compact Pump CP-3", "Sensor Hub"}, 10},
	{79, "R&D Projects", "PRJ", []string{"Battery life study", "Lightweight chassis <phase 2>"}, 5},
	{23, "Suppliers", "SUP", []string{"Acme Fasteners Inc.", "Nordic Plastics AB", "Shenzhen PCB Co., Ltd."}, 10},
}

// simItem is one item of a workspace.
type simItem struct {
	ws    *simWorkspace
	dmsID int
	title string
}

// weighted is an action and its relative frequency within its record type.
type weighted struct {
	action string
	weight int
}

// actionMix is the relative frequency of each action per record type.
var actionMix = map[string][]weighted{
	TypeSystem: {
		{"Log In", 45}, {"Log Out", 25}, {"Log In Failed", 8}, {"User Created", 3},
		{"User Updated", 5}, {"User Deactivated", 1}, {"Group Membership Changed", 4},
		{"Role Assigned", 3}, {"Tenant Settings Changed", 1}, {"Workspace Settings Changed", 3},
		{"Script Changed", 2},
	},
	TypeItem: {
		{"Item Viewed", 30}, {"Item Edited", 25}, {"Item Created", 10}, {"Workflow Transition", 12},
		{"Attachment Added", 8}, {"BOM Changed", 8}, {"Lifecycle Changed", 4}, {"Item Deleted", 3},
	},
}

// Value pools of the generated details.
var (
	editFields = []struct {
		name   string
		values []string
	}{
		{"DESCRIPTION", []string{"Initial release", "Updated per CO review", "Customer request: \"quiet\" variant", "Rev B"}},
		{"COST", []string{"12.50", "13.10", "9.95", "104.00"}},
		{"WEIGHT", []string{"0.25", "0.31", "1.2", "0.9"}},
		{"MATERIAL", []string{"Steel", "Aluminum 6061", "ABS", "PA66-GF30"}},
		{"LEAD_TIME", []string{"5", "10", "15", "30"}},
		{"UNIT_OF_MEASURE", []string{"Each", "Kilogram", "Meter"}},
		{"REVISION_NOTES", []string{"", "Tolerance ±0.05 mm", "Drawing updated", "See attached report"}},
	}
	// transitions are the workflow actions of change-managed workspaces;
	// problemTransitions those of Problem Reports.
	transitions = []transition{
		{"Submit for Review", "Create", "Review"},
		{"Approve", "Review", "Approved"},
		{"Reject", "Review", "Create"},
		{"Release", "Approved", "Released"},
	}
	problemTransitions = []transition{
		{"Start Investigation", "Open", "Investigating"},
		{"Close", "Investigating", "Closed"},
		{"Reopen", "Closed", "Open"},
	}
	lifecycles   = [][2]string{{"Preliminary", "Pre-Release"}, {"Pre-Release", "Production"}, {"Production", "Obsolete"}}
	attachments  = []string{"drawing_rev_B.pdf", "test-report.xlsx", "3D model.step", "photo_0042.jpg", "spec sheet (v2).docx"}
	groups       = []string{"Engineering", "Quality", "Purchasing", "Manufacturing", "Administrators"}
	roles        = []string{"Viewer", "Change Analyst", "BOM Editor", "Supplier Manager", "Workspace Admin"}
	userSettings = [][3]string{
		{"Licence Type", "Participant", "Professional"},
		{"Time Zone", "America/New_York", "Europe/Berlin"},
		{"Organization", "Engineering", "Quality"},
	}
	tenantSettings = [][3]string{
		{"Session Timeout (minutes)", "60", "120"},
		{"Password Policy", "Standard", "Strong"},
		{"Date Format", "MM/dd/yyyy", "yyyy-MM-dd"},
	}
	scripts = []string{"CO_Validation", "Item_OnCreate", "BOM_Rollup", "PR_Notify"}
)

// transition is a workflow action and the states it moves an item between.
type transition struct{ action, from, to string }

// generator builds records. It is not safe for concurrent use; the store
// guards it with its lock.
type generator struct {
	tenant   string
	loc      *time.Location
	alt      []*time.Location
	altRate  float64
	rng      *rand.Rand
	items    []*simItem
	nextDMS  int
	nextItem map[int]int // workspace id → next item number
}

// newGenerator returns a generator with an initial pool of items.
func newGenerator(cfg Config) *generator {
	g := &generator{
		tenant:   cfg.Tenant,
		loc:      cfg.Location,
		alt:      cfg.AltLocations,
		altRate:  cfg.AltLocationRate,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x504c4d)),
		nextDMS:  1001,
		nextItem: map[int]int{},
	}
	for range 120 {
		g.newItem()
	}
	return g
}

// newItem creates an item in a weighted random workspace and adds it to the pool.
func (g *generator) newItem() *simItem {
	total := 0
	for _, ws := range workspaces {
		total += ws.weight
	}
	n := g.rng.IntN(total)
	ws := &workspaces[len(workspaces)-1]
	for i := range workspaces {
		if n < workspaces[i].weight {
			ws = &workspaces[i]
			break
		}
		n -= workspaces[i].weight
	}
	g.nextItem[ws.id]++
	it := &simItem{
		ws:    ws,
		dmsID: g.nextDMS,
		title: fmt.Sprintf("%s-%06d - %s", ws.prefix, g.nextItem[ws.id], ws.nouns[g.rng.IntN(len(ws.nouns))]),
	}
	g.nextDMS++
	g.items = append(g.items, it)
	return it
}

// pickItem returns a random item of the pool, creating one if it is empty.
func (g *generator) pickItem() *simItem {
	if len(g.items) == 0 {
		return g.newItem()
	}
	return g.items[g.rng.IntN(len(g.items))]
}

// pickUser returns a random user, the first ones more often than the last.
func (g *generator) pickUser() simUser {
	return users[min(g.rng.IntN(len(users)), g.rng.IntN(len(users)))]
}

// pickAdmin returns a random administrator.
func (g *generator) pickAdmin() simUser {
	return users[g.rng.IntN(numAdmins)]
}

// pickAction draws an action of type typ by its weight.
func (g *generator) pickAction(typ string) string {
	mix := actionMix[typ]
	total := 0
	for _, w := range mix {
		total += w.weight
	}
	n := g.rng.IntN(total)
	for _, w := range mix {
		if n < w.weight {
			return w.action
		}
		n -= w.weight
	}
	return mix[len(mix)-1].action
}

// renderLocation returns the zone a new record's timestamp is rendered in.
func (g *generator) renderLocation() *time.Location {
	if len(g.alt) > 0 && g.altRate > 0 && g.rng.Float64() < g.altRate {
		return g.alt[g.rng.IntN(len(g.alt))]
	}
	return g.loc
}

// pick returns a random element of s.
func pick[T any](g *generator, s []T) T {
	return s[g.rng.IntN(len(s))]
}

// str returns a pointer to s, for detail values.
func str(s string) *string { return &s }

// change is a detail whose value changed from old to new.
func change(field, old, new string) detailJSON {
	return detailJSON{FieldName: field, OldValue: str(old), NewValue: str(new)}
}

// set is a detail whose value was set where there was none.
func set(field, new string) detailJSON {
	return detailJSON{FieldName: field, NewValue: str(new)}
}

// build returns a new record of type typ at instant t (already truncated to
// milliseconds), with its raw JSON rendered.
func (g *generator) build(typ string, t time.Time) *entry {
	t = t.In(g.renderLocation())
	action := g.pickAction(typ)
	rec := recordJSON{
		Timestamp: t.Format(timestampLayout),
		Action:    action,
		Details:   []detailJSON{},
	}
	var u simUser
	if typ == TypeItem {
		u = g.pickUser()
		g.itemRecord(&rec)
	} else {
		u = g.systemRecord(&rec)
	}
	rec.User = g.userRef(u)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		// Unreachable: every field is a string, a pointer to one, or a struct of them.
		panic(fmt.Sprintf("plmsim: encode record: %v", err))
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return &entry{
		rec:            Record{Type: typ, Action: action, Time: t, Raw: raw},
		ms:             t.UnixMilli(),
		desc:           rec.Description,
		descLower:      strings.ToLower(rec.Description),
		userTitle:      u.title,
		userTitleLower: strings.ToLower(u.title),
		userEmailLower: strings.ToLower(u.email),
		userIDLower:    strings.ToLower(u.id),
	}
}

// userRef renders u as the record's user object.
func (g *generator) userRef(u simUser) userJSON {
	const images = "https://images.profile.autodesk.com/default/user_X%d.png"
	return userJSON{
		Link:   "/api/v3/users/" + u.id,
		URN:    "urn:adsk.plm:tenant.user:" + g.tenant + "." + u.id,
		Title:  u.title,
		Status: u.status,
		Email:  u.email,
		Image: imageJSON{
			Small:  fmt.Sprintf(images, 20),
			Medium: fmt.Sprintf(images, 50),
			Large:  fmt.Sprintf(images, 120),
		},
	}
}

// itemRef renders it as the record's item object.
func (g *generator) itemRef(it *simItem) *refJSON {
	return &refJSON{
		Link:  fmt.Sprintf("/api/v3/workspaces/%d/items/%d", it.ws.id, it.dmsID),
		URN:   fmt.Sprintf("urn:adsk.plm:tenant.workspace.item:%s.%d.%d", g.tenant, it.ws.id, it.dmsID),
		Title: it.title,
	}
}

// workspaceRef renders ws as the record's workspace object.
func (g *generator) workspaceRef(ws *simWorkspace) *refJSON {
	return &refJSON{
		Link:  fmt.Sprintf("/api/v3/workspaces/%d", ws.id),
		URN:   fmt.Sprintf("urn:adsk.plm:tenant.workspace:%s.%d", g.tenant, ws.id),
		Title: ws.title,
	}
}

// itemRecord fills the description, details, item and workspace of an
// item-related record.
func (g *generator) itemRecord(rec *recordJSON) {
	var it *simItem
	if rec.Action == "Item Created" {
		it = g.newItem()
	} else {
		it = g.pickItem()
	}
	rec.Item = g.itemRef(it)
	rec.Workspace = g.workspaceRef(it.ws)
	switch rec.Action {
	case "Item Created":
		rec.Description = fmt.Sprintf("Item '%s' created", it.title)
		rec.Details = append(rec.Details, set("NUMBER", strings.SplitN(it.title, " - ", 2)[0]))
	case "Item Edited":
		rec.Description = fmt.Sprintf("Item '%s' edited", it.title)
		for _, i := range g.rng.Perm(len(editFields))[:1+g.rng.IntN(3)] {
			f := editFields[i]
			j := g.rng.IntN(len(f.values))
			k := (j + 1 + g.rng.IntN(len(f.values)-1)) % len(f.values)
			rec.Details = append(rec.Details, change(f.name, f.values[j], f.values[k]))
		}
	case "Item Deleted":
		rec.Description = fmt.Sprintf("Item '%s' deleted", it.title)
		g.removeItem(it)
	case "Item Viewed":
		rec.Description = fmt.Sprintf("Item '%s' viewed", it.title)
	case "Workflow Transition":
		trs := transitions
		if it.ws.prefix == "PR" {
			trs = problemTransitions
		}
		tr := pick(g, trs)
		rec.Description = fmt.Sprintf("Workflow action '%s' performed on '%s'", tr.action, it.title)
		rec.Details = append(rec.Details, change("Workflow State", tr.from, tr.to))
	case "Attachment Added":
		file := pick(g, attachments)
		rec.Description = fmt.Sprintf("Attachment '%s' added to '%s'", file, it.title)
		rec.Details = append(rec.Details, set("Attachment", file))
	case "BOM Changed":
		child := g.pickItem()
		rec.Description = fmt.Sprintf("Bill of materials of '%s' changed", it.title)
		if g.rng.IntN(2) == 0 {
			rec.Details = append(rec.Details, set("BOM Item", fmt.Sprintf("%s (qty %d)", child.title, 1+g.rng.IntN(8))))
		} else {
			q := 1 + g.rng.IntN(8)
			rec.Details = append(rec.Details, change("Quantity: "+child.title, fmt.Sprint(q), fmt.Sprint(q+1+g.rng.IntN(4))))
		}
	case "Lifecycle Changed":
		lc := pick(g, lifecycles)
		rec.Description = fmt.Sprintf("Lifecycle of '%s' changed to '%s'", it.title, lc[1])
		rec.Details = append(rec.Details, change("Lifecycle", lc[0], lc[1]))
	}
}

// removeItem takes a deleted item out of the pool.
func (g *generator) removeItem(it *simItem) {
	for i, x := range g.items {
		if x == it {
			g.items = append(g.items[:i], g.items[i+1:]...)
			return
		}
	}
}

// systemRecord fills the description, details and workspace of a
// system-related record and returns the acting user.
func (g *generator) systemRecord(rec *recordJSON) simUser {
	switch rec.Action {
	case "Log In":
		rec.Description = "Log in successful"
		return g.pickUser()
	case "Log In Failed":
		rec.Description = pick(g, []string{"Log in failed: invalid credentials", "Log in failed: user is inactive", "Log in failed: account locked"})
		return g.pickUser()
	case "Log Out":
		rec.Description = pick(g, []string{"Log out successful", "Session timed out"})
		return g.pickUser()
	}
	admin := g.pickAdmin()
	target := pick(g, users)
	switch rec.Action {
	case "User Created":
		rec.Description = fmt.Sprintf("User '%s' created", target.title)
		rec.Details = append(rec.Details, set("Email", target.email), set("Licence Type", "Professional"))
	case "User Updated":
		s := pick(g, userSettings)
		rec.Description = fmt.Sprintf("User '%s' updated", target.title)
		rec.Details = append(rec.Details, change(s[0], s[1], s[2]))
	case "User Deactivated":
		rec.Description = fmt.Sprintf("User '%s' deactivated", target.title)
		rec.Details = append(rec.Details, change("Status", "Active", "Inactive"))
	case "Group Membership Changed":
		grp := pick(g, groups)
		rec.Description = fmt.Sprintf("Group '%s' membership changed", grp)
		if g.rng.IntN(3) == 0 {
			rec.Details = append(rec.Details, detailJSON{FieldName: "Members", OldValue: str(target.title)})
		} else {
			rec.Details = append(rec.Details, set("Members", target.title))
		}
	case "Role Assigned":
		role, grp := pick(g, roles), pick(g, groups)
		rec.Description = fmt.Sprintf("Role '%s' assigned to group '%s'", role, grp)
		rec.Details = append(rec.Details, change("Roles", "Viewer", "Viewer, "+role))
	case "Tenant Settings Changed":
		s := pick(g, tenantSettings)
		rec.Description = "Tenant settings changed"
		rec.Details = append(rec.Details, change(s[0], s[1], s[2]))
	case "Workspace Settings Changed":
		ws := &workspaces[g.rng.IntN(len(workspaces))]
		rec.Description = fmt.Sprintf("Workspace '%s' settings changed", ws.title)
		rec.Details = append(rec.Details, change("Descriptor", "[NUMBER]", "[NUMBER] - [TITLE]"))
		rec.Workspace = g.workspaceRef(ws)
	case "Script Changed":
		v := 2 + g.rng.IntN(30)
		rec.Description = fmt.Sprintf("Script '%s' changed", pick(g, scripts))
		rec.Details = append(rec.Details, change("Script Version", fmt.Sprint(v), fmt.Sprint(v+1)))
	}
	return admin
}

// activity reports how likely activity is at t in the tenant's zone, in
// (0,1]: office hours on weekdays are busiest.
func (g *generator) activity(t time.Time) float64 {
	lt := t.In(g.loc)
	switch {
	case lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday:
		return 0.1
	case lt.Hour() >= 7 && lt.Hour() < 19:
		return 1
	default:
		return 0.15
	}
}

// instants returns n sorted instants in [from, to), at millisecond precision,
// denser in office hours, with about one in twenty sharing the millisecond of
// its predecessor (bursts).
func (g *generator) instants(from, to time.Time, n int) []time.Time {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	if time.UnixMilli(lo).Before(from) {
		lo++
	}
	if hi <= lo {
		return nil
	}
	ms := make([]int64, 0, n)
	for len(ms) < n {
		m := lo + g.rng.Int64N(hi-lo)
		if g.rng.Float64() < g.activity(time.UnixMilli(m)) {
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	out := make([]time.Time, n)
	for i, m := range ms {
		if i > 0 && g.rng.IntN(20) == 0 {
			m = ms[i-1]
			ms[i] = m
		}
		out[i] = time.UnixMilli(m)
	}
	return out
}
