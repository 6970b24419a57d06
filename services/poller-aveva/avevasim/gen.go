package avevasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes of served records (see the package documentation).
type (
	creditsJSON struct {
		TransactionID      string      `json:"transactionId"`
		TransactionDate    string      `json:"transactionDate"`
		HostingType        string      `json:"hostingType"`
		ProductName        string      `json:"productName"`
		ProductCode        string      `json:"productCode"`
		User               string      `json:"user"`
		Folder             string      `json:"folder"`
		Service            string      `json:"service"`
		CreditsAgreementID string      `json:"creditsAgreementId"`
		TransactionType    string      `json:"transactionType"`
		Credits            json.Number `json:"credits"`
		Description        string      `json:"description"`
	}
	userUsageJSON struct {
		User            string      `json:"user"`
		UserName        string      `json:"userName"`
		Folder          string      `json:"folder"`
		Service         string      `json:"service"`
		LoginTime       string      `json:"loginTime"`
		LogoutTime      *string     `json:"logoutTime"`
		DurationMinutes json.Number `json:"durationMinutes"`
		ClientType      string      `json:"clientType"`
	}
	serviceUsageJSON struct {
		Folder    string      `json:"folder"`
		Service   string      `json:"service"`
		UsageDate string      `json:"usageDate"`
		Metric    string      `json:"metric"`
		Quantity  json.Number `json:"quantity"`
		Unit      string      `json:"unit"`
	}
	resourceUsageJSON struct {
		ResourceID    string            `json:"resourceId"`
		ResourceName  string            `json:"resourceName"`
		ResourceType  string            `json:"resourceType"`
		Folder        string            `json:"folder"`
		Service       string            `json:"service"`
		Timestamp     string            `json:"timestamp"`
		Quantity      string            `json:"quantity"`
		UnitOfMeasure string            `json:"unitOfMeasure"`
		Tags          map[string]string `json:"tags"`
	}
	auditJSON struct {
		ID          string `json:"id"`
		DateTime    string `json:"dateTime"`
		User        string `json:"user"`
		UserName    string `json:"userName"`
		Operation   string `json:"operation"`
		Function    string `json:"function"`
		Folder      string `json:"folder"`
		Service     string `json:"service"`
		Description string `json:"description"`
		IPAddress   string `json:"ipAddress"`
		Status      string `json:"status"`
	}
)

// Vocabulary of generated records.
var (
	simUsers = []struct{ email, name string }{
		{"ana.silva@example.com", "Ana Silva"}, {"bjorn.larsen@example.com", "Bjørn Larsen"},
		{"chen.wei@example.com", "Chen Wei"}, {"dmitri.ivanov@example.com", "Dmitri Ivanov"},
		{"emma.jones@example.com", "Emma Jones"}, {"farah.khan@example.com", "Farah Khan"},
		{"giulia.rossi@example.com", "Giulia Rossi"}, {"hiro.tanaka@example.com", "Hiro Tanaka"},
		{"ines.garcia@example.com", "Inés García"}, {"jamal.wright@example.com", "Jamal Wright"},
		{"test-user@example.com", "Test User"}, {"svc-integration@example.com", "Integration Service"},
	}
	simFolders  = []string{"Folder 1", "Folder 2", "Folder 3", "Folder 4", "Folder 5"}
	simServices = []string{"Service 1", "Service 2", "Service 3", "Service 4", "Service 5"}
	simProducts = []struct{ name, code string }{
		{"Product 1", "Prod-001"}, {"AVEVA Unified Engineering", "UE-002"},
		{"AVEVA PI Data Infrastructure", "PDI-003"}, {"AVEVA Insight", "INS-004"},
	}
	simHosting    = []string{"Cloud", "Cloud", "Cloud", "Self-hosted"}
	simAgreements = []string{"0001", "0002"}
	simMetrics    = []struct{ metric, unit string }{
		{"ComputeHours", "hours"}, {"StorageGB", "GB"}, {"ApiCalls", "calls"}, {"Streams", "streams"},
	}
	simResourceTypes = []struct{ typ, unit string }{{"Historian", "GB"}, {"Workspace", "hours"}, {"Gateway", "MB"}}
	simClients       = []string{"Web", "Desktop", "Mobile"}
	// simAudit lists the audit functions and their operations; function
	// codes follow the reference's example "authm".
	simAudit = []struct {
		function   string
		operations []string
	}{
		{"authn", []string{"login", "logout"}},
		{"authm", []string{"assign", "revoke"}},
		{"userm", []string{"add", "update", "delete"}},
		{"folderm", []string{"add", "update", "delete"}},
		{"servicem", []string{"add", "update"}},
	}
)

// generator makes deterministic records.
type generator struct {
	rng *rand.Rand
	seq int64
	dup float64
}

func newGenerator(cfg Config) *generator {
	return &generator{rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x61766576)), dup: cfg.DuplicateRate}
}

// pick returns a random element of list.
func pick[T any](g *generator, list []T) T { return list[g.rng.IntN(len(list))] }

// marshal renders v without HTML escaping and without trailing newline.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Unreachable: the record types hold only strings and numbers.
		panic(fmt.Sprintf("avevasim: encode record: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// decimal renders f with the given number of decimals, as a JSON number.
func decimal(f float64, decimals int) json.Number {
	return json.Number(strconv.FormatFloat(f, 'f', decimals, 64))
}

// record makes one record of report at instant t (UTC; milliseconds are
// kept only where the report's format has them). It returns the entries to
// store: one, or two identical ones for a duplicated record.
func (g *generator) record(report string, t time.Time) []*entry {
	g.seq++
	e := &entry{report: report, seq: g.seq, filter: map[string]string{}}
	set := func(k, v string) { e.filter[k] = strings.ToLower(v) }
	user := pick(g, simUsers)
	folder, service := pick(g, simFolders), pick(g, simServices)
	set("folder", folder)
	set("service", service)
	switch report {
	case CreditsTransaction:
		t = t.Truncate(time.Millisecond)
		p := pick(g, simProducts)
		typ, credits := "Consumption", float64(g.rng.IntN(5000)+1)/100
		if g.rng.IntN(50) == 0 {
			typ, credits = "Refund", -credits
		}
		r := creditsJSON{
			TransactionID:      fmt.Sprintf("CT-%010d", g.seq),
			TransactionDate:    t.Format("2006-01-02T15:04:05.000"),
			HostingType:        pick(g, simHosting),
			ProductName:        p.name,
			ProductCode:        p.code,
			User:               user.email,
			Folder:             folder,
			Service:            service,
			CreditsAgreementID: pick(g, simAgreements),
			TransactionType:    typ,
			Credits:            decimal(credits, 2),
			Description:        fmt.Sprintf("%s of %s in %s", typ, p.name, service),
		}
		set("hostingType", r.HostingType)
		set("productName", r.ProductName)
		set("productCode", r.ProductCode)
		set("user", r.User)
		set("creditsAgreementId", r.CreditsAgreementID)
		e.raw = marshal(r)
	case UserUsage:
		t = t.Truncate(time.Second)
		minutes := g.rng.IntN(480) + 1
		r := userUsageJSON{
			User: user.email, UserName: user.name, Folder: folder, Service: service,
			LoginTime:       t.Format("2006-01-02T15:04:05"),
			DurationMinutes: decimal(float64(minutes)+float64(g.rng.IntN(60))/60, 2),
			ClientType:      pick(g, simClients),
		}
		if g.rng.IntN(20) > 0 { // some sessions are still open
			out := t.Add(time.Duration(minutes) * time.Minute).Format("2006-01-02T15:04:05")
			r.LogoutTime = &out
		}
		set("user", r.User)
		e.raw = marshal(r)
	case ServiceUsage:
		t = t.Truncate(time.Second)
		m := pick(g, simMetrics)
		r := serviceUsageJSON{
			Folder: folder, Service: service,
			UsageDate: t.Format("2006-01-02T15:04:05Z"),
			Metric:    m.metric,
			Quantity:  decimal(float64(g.rng.IntN(100000))/1000, 3),
			Unit:      m.unit,
		}
		e.raw = marshal(r)
	case ResourceUsage:
		t = t.Truncate(time.Second)
		rt := pick(g, simResourceTypes)
		n := g.rng.IntN(40) + 1
		r := resourceUsageJSON{
			ResourceID:    fmt.Sprintf("RES-%03d", n),
			ResourceName:  fmt.Sprintf("%s-%02d", strings.ToLower(rt.typ), n),
			ResourceType:  rt.typ,
			Folder:        folder,
			Service:       service,
			Timestamp:     t.Format("2006-01-02T15:04:05+00:00"),
			Quantity:      strconv.FormatFloat(float64(g.rng.IntN(1000000))/1000, 'f', 3, 64),
			UnitOfMeasure: rt.unit,
			Tags:          map[string]string{"env": pick(g, []string{"prod", "test"}), "site": pick(g, []string{"north", "south"})},
		}
		set("resourceId", r.ResourceID)
		e.raw = marshal(r)
	case Audit:
		t = t.Truncate(time.Second)
		a := pick(g, simAudit)
		op := pick(g, a.operations)
		status := "Success"
		if g.rng.IntN(25) == 0 {
			status = "Failed"
		}
		r := &auditJSON{
			ID:          fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12), 0x8000|g.rng.IntN(1<<14), g.rng.Int64N(1<<48)),
			User:        user.email,
			UserName:    user.name,
			Operation:   op,
			Function:    a.function,
			Folder:      folder,
			Service:     service,
			Description: auditDescription(a.function, op, pick(g, simUsers).email, folder, service),
			IPAddress:   fmt.Sprintf("203.0.113.%d", g.rng.IntN(254)+1),
			Status:      status,
		}
		set("user", r.User)
		set("operation", r.Operation)
		set("function", r.Function)
		e.audit = r
		e.raw = renderAudit(r, t, 0, "")
	default:
		panic(fmt.Sprintf("avevasim: unknown report %q", report))
	}
	e.t = t.UTC()
	out := []*entry{e}
	if g.dup > 0 && e.audit == nil && report != CreditsTransaction && g.rng.Float64() < g.dup {
		g.seq++
		twin := *e
		twin.seq = g.seq
		out = append(out, &twin)
	}
	return out
}

// auditDescription describes an audited operation.
func auditDescription(function, op, other, folder, service string) string {
	switch function {
	case "authn":
		return "User " + op
	case "authm":
		if op == "assign" {
			return "Assigned role 'Contributor' to " + other + " in " + folder
		}
		return "Revoked role 'Contributor' from " + other + " in " + folder
	case "userm":
		return "User " + other + ": " + op
	case "folderm":
		return "Folder '" + folder + "': " + op
	default:
		return "Service '" + service + "': " + op
	}
}

// renderAudit renders an audit record with its dateTime at instant t shown
// for offset (minutes, UTC minus local) and locale.
func renderAudit(r *auditJSON, t time.Time, offset int, locale string) []byte {
	c := *r
	c.DateTime = formatLocal(t.Add(-time.Duration(offset)*time.Minute), locale)
	return marshal(&c)
}

// formatLocal formats a wall-clock time for locale (see the package
// documentation).
func formatLocal(t time.Time, locale string) string {
	l := strings.ToLower(locale)
	lang, _, _ := strings.Cut(l, "-")
	switch {
	case l == "":
		return t.Format("2006-01-02T15:04:05")
	case l == "en-us":
		return t.Format("1/2/2006 3:04:05 PM")
	case lang == "de":
		return t.Format("02.01.2006 15:04:05")
	case lang == "ja":
		return t.Format("2006/01/02 15:04:05")
	default:
		return t.Format("02/01/2006 15:04:05")
	}
}
