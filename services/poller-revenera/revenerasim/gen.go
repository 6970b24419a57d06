package revenerasim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// Shape of the generated data.
const (
	// maxLife is the longest life of a client, in days.
	maxLife = 730
	// meanLife is the mean life of a client, in days, as cohort draws
	// it: a quarter 1 to 3 days, half about 90, a quarter maxLife.
	meanLife = 0.25*2 + 0.5*90 + 0.25*maxLife
	// duplicateRate is the share of custom event rows written twice,
	// identical; exceptions get twice that.
	duplicateRate = 0.01
	// exceptionRate is the number of exceptions per custom event.
	exceptionRate = 0.1
	// quietRate is the share of days on which a product reports nothing
	// (a collection outage): its daily files hold the header only.
	quietRate = 0.03
)

// hourWeights is the share of a day's rows in each UTC hour.
var hourWeights = [24]float64{2, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 9, 10, 11, 11, 10, 9, 7, 6, 5, 4, 3, 2}

// hourWeightSum is the sum of hourWeights.
var hourWeightSum = func() float64 {
	var s float64
	for _, w := range hourWeights {
		s += w
	}
	return s
}()

// weighted is a value with a weight.
type weighted[T any] struct {
	w float64
	v T
}

// pick returns a value of ws chosen with its weight.
func pick[T any](rng *rand.Rand, ws []weighted[T]) T {
	var total float64
	for _, x := range ws {
		total += x.w
	}
	u := rng.Float64() * total
	for _, x := range ws {
		if u < x.w {
			return x.v
		}
		u -= x.w
	}
	return ws[len(ws)-1].v
}

// eventSpec is a custom event and how its value is made.
type eventSpec struct {
	Event
	values []string // "" among them: sometimes empty; nil: always empty
	number func(*rand.Rand) string
}

// num returns a value maker of whole numbers in [lo, hi].
func num(lo, hi int) func(*rand.Rand) string {
	return func(rng *rand.Rand) string { return strconv.Itoa(lo + rng.IntN(hi-lo+1)) }
}

// seconds returns a value maker of decimal seconds up to hi.
func seconds(hi float64) func(*rand.Rand) string {
	return func(rng *rand.Rand) string {
		return strconv.FormatFloat(math.Round(rng.Float64()*hi*100)/100, 'f', -1, 64)
	}
}

// Vocabulary of the large and the small product. Names and values hold
// commas, quotes, newlines and non-ASCII letters on purpose.
var (
	searchValues   = []string{"bolt M8", "flange, 4 holes", `"hex nut" DIN 934`, "Größe 10", "bracket"}
	feedbackValues = []string{"Love the new ribbon.\nBut export is slow, please fix", `Crashes when I press "Undo" twice`, "ok", "速い！"}
	cadEvents      = []weighted[eventSpec]{
		{30, eventSpec{Event: Event{"File", "Open"}}},
		{25, eventSpec{Event: Event{"File", "Save"}}},
		{8, eventSpec{Event: Event{"File", "Export"}, values: []string{"DWG", "PDF", "STEP", "IGES, legacy"}}},
		{6, eventSpec{Event: Event{"File", "Print"}, number: num(1, 40)}},
		{12, eventSpec{Event: Event{"Modeling", "Extrude"}, values: []string{"", "25", "12.5", "100"}}},
		{7, eventSpec{Event: Event{"Modeling", "Fillet"}}},
		{5, eventSpec{Event: Event{"Modeling", "Boolean, Union"}}},
		{4, eventSpec{Event: Event{"Render", "High Quality"}, number: seconds(90)}},
		{6, eventSpec{Event: Event{"Search", "Query"}, values: searchValues}},
		{1, eventSpec{Event: Event{"Feedback", "Comment"}, values: feedbackValues}},
		{3, eventSpec{Event: Event{"Licensing", "Checkout"}, values: []string{"CAD-PRO", "CAD-SIM", "CAD-PRO"}}},
		{5, eventSpec{Event: Event{"UI", `Ribbon "Home" Click`}}},
		{2, eventSpec{Event: Event{"Help", "Tutorial Opened"}, values: []string{"", "Getting started", "Sketching, part 2"}}},
	}
	viewerEvents = []weighted[eventSpec]{
		{30, eventSpec{Event: Event{"File", "Open"}}},
		{6, eventSpec{Event: Event{"File", "Print"}, number: num(1, 12)}},
		{20, eventSpec{Event: Event{"View", "Zoom"}, number: num(10, 800)}},
		{12, eventSpec{Event: Event{"View", "Rotate"}}},
		{8, eventSpec{Event: Event{"Markup", "Add Note"}, values: []string{"", "check this, please", "Maß prüfen"}}},
		{6, eventSpec{Event: Event{"Search", "Query"}, values: searchValues}},
		{1, eventSpec{Event: Event{"Feedback", "Comment"}, values: feedbackValues}},
	}
	// disabledEvent is listed by event-tracking, disabled, and never
	// occurs.
	disabledEvent = Event{Category: "Legacy", Name: "Classic Toolbar"}

	exceptionSpecs = []weighted[[2]string]{
		{30, [2]string{"System.NullReferenceException", "Object reference not set to an instance of an object."}},
		{15, [2]string{"System.IO.IOException", `The process cannot access the file 'C:\Users\j.doe\Drawings\part, rev 2.dwg' because it is being used by another process.`}},
		{10, [2]string{"Acme.Licensing.LicenseException", `License "CAD-PRO" could not be checked out: server license.acme.local:27000 unreachable`}},
		{5, [2]string{"System.OutOfMemoryException", "Exception of type 'System.OutOfMemoryException' was thrown.\n   at Acme.Cad.Mesh.Build(Int32 lod)\n   at Acme.Cad.Render.Frame()"}},
		{8, [2]string{"Acme.Render.GpuException", `GPU driver reset, device="NVIDIA RTX A2000", code=0x887A0005`}},
		{6, [2]string{"System.UnauthorizedAccessException", "Zugriff auf den Pfad \"D:\\Projekte\\Übersicht.dwg\" wurde verweigert."}},
	}

	editions  = []weighted[string]{{50, "Professional"}, {25, "Standard"}, {15, "Enterprise"}, {10, "Trial"}}
	languages = []weighted[string]{{45, "en-US"}, {15, "de-DE"}, {10, "ja-JP"}, {10, "fr-FR"}, {8, "pt-BR"}, {7, "zh-CN"}, {5, "ko-KR"}}
	systems   = []weighted[string]{{40, "Windows 11 Pro (64-bit)"}, {30, "Windows 10 Enterprise (64-bit)"}, {15, "macOS 14.5"}, {10, "Windows Server 2022"}, {5, "Ubuntu 22.04 LTS"}}
	countries = []weighted[string]{{35, "United States"}, {15, "Germany"}, {10, "Japan"}, {8, "France"}, {8, "Brazil"}, {7, "Korea, Republic of"}, {7, "India"}, {5, "United Kingdom"}, {5, "Côte d'Ivoire"}}
	licenses  = []weighted[string]{{55, "purchased"}, {20, "subscription"}, {15, "evaluation"}, {10, "freeware"}}
)

// stackHashes caches the Stack Hash of each exception spec.
var stackHashes = func() map[[2]string]string {
	out := map[[2]string]string{}
	for _, s := range exceptionSpecs {
		h := fnv.New64a()
		h.Write([]byte(s.v[0] + "\x00" + s.v[1]))
		out[s.v] = fmt.Sprintf("%016x", h.Sum64())
	}
	return out
}()

// client is one installation of a product.
type client struct {
	id          string
	leave       int // first day it no longer reports
	version     string
	edition     string
	language    string
	os, country string
	license     string
}

// population is the clients of one product. A cohort of clients joins on
// every day, each living a number of days; both are derived from the seed,
// the product and the day alone, so that the population of a day does not
// depend on the order of calls.
type population struct {
	seed    uint64
	perDay  float64 // mean size of a cohort
	vocab   []weighted[eventSpec]
	cohorts map[int][]*client
	// alive caches the clients of aliveDay, oldest cohort first.
	aliveDay int
	alive    []*client
}

// newPopulation returns the population of product p, about clients×Scale
// clients alive at a time.
func newPopulation(seed int64, clients int, p Product) *population {
	vocab := viewerEvents
	if p.Scale >= 0.5 {
		vocab = cadEvents
	}
	return &population{
		seed:     uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(p.ID),
		perDay:   float64(clients) * p.Scale / meanLife,
		vocab:    vocab,
		cohorts:  map[int][]*client{},
		aliveDay: math.MinInt,
	}
}

// dayRand returns the random source of day d for purpose.
func (pop *population) dayRand(d int, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(pop.seed^purpose, uint64(int64(d))))
}

// cohort returns the clients that join on day d.
func (pop *population) cohort(d int) []*client {
	if c, ok := pop.cohorts[d]; ok {
		return c
	}
	rng := pop.dayRand(d, 0x636f686f7274)
	n := round(rng, pop.perDay*(0.5+rng.Float64()))
	out := make([]*client, n)
	for i := range out {
		var life int
		switch u := rng.Float64(); {
		case u < 0.25:
			life = 1 + rng.IntN(3)
		case u < 0.75:
			life = min(maxLife, 1+int(rng.ExpFloat64()*90))
		default:
			life = maxLife
		}
		release := d / 75 // a release every 75 days
		out[i] = &client{
			id:       fmt.Sprintf("%015X", rng.Uint64()>>4),
			leave:    d + life,
			version:  fmt.Sprintf("%d.%d.%d", 8+release/4%20, release%4, rng.IntN(3)),
			edition:  pick(rng, editions),
			language: pick(rng, languages),
			os:       pick(rng, systems),
			country:  pick(rng, countries),
			license:  pick(rng, licenses),
		}
	}
	pop.cohorts[d] = out
	return out
}

// aliveOn returns the clients alive on day d.
func (pop *population) aliveOn(d int) []*client {
	if d == pop.aliveDay {
		return pop.alive
	}
	var out []*client
	for c := d - maxLife + 1; c <= d; c++ {
		for _, cl := range pop.cohort(c) {
			if cl.leave > d {
				out = append(out, cl)
			}
		}
	}
	pop.aliveDay, pop.alive = d, out
	return out
}

// dayFactor is the share of the nominal rows a product reports on day d:
// weekends are quieter, every day varies, and a few days are silent.
func (pop *population) dayFactor(d int) float64 {
	rng := pop.dayRand(d, 0x646179)
	if rng.Float64() < quietRate {
		return 0
	}
	f := 0.85 + 0.3*rng.Float64()
	switch dayTime(d).Weekday() {
	case time.Saturday:
		f *= 0.45
	case time.Sunday:
		f *= 0.35
	}
	return f
}

// generator holds the random source of generated rows.
type generator struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// round returns x rounded down or up at random, up with the probability
// of its fraction.
func round(rng *rand.Rand, x float64) int {
	n := int(x)
	if rng.Float64() < x-float64(n) {
		n++
	}
	return n
}

// newUUID returns a random UUID in its usual form.
func newUUID(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

// span makes about n custom events of product pop, and their exceptions,
// at Unix seconds in [lo, hi), as sessions of clients alive on day d. The
// caller holds g.mu.
func (g *generator) span(pop *population, d int, lo, hi int64, n int) (events, exceptions []row) {
	alive := pop.aliveOn(d)
	if n <= 0 || hi <= lo || len(alive) == 0 {
		return nil, nil
	}
	rng := g.rng
	for len(events) < n {
		// Older clients (first in alive) are a little more active.
		cl := alive[int(float64(len(alive))*math.Pow(rng.Float64(), 1.3))]
		session := newUUID(rng)
		t := lo + rng.Int64N(hi-lo)
		for k := 1 + int(rng.ExpFloat64()*5); k > 0 && len(events) < n; k-- {
			ev := pick(rng, pop.vocab)
			var value string
			switch {
			case ev.number != nil:
				value = ev.number(rng)
			case len(ev.values) > 0:
				value = ev.values[rng.IntN(len(ev.values))]
			}
			ts := time.Unix(t, 0).UTC().Format(TimeLayout)
			r := row{t: t, fields: []string{ts, cl.id, session, ev.Category, ev.Name, value, cl.version, cl.edition, cl.language, cl.os, cl.country, cl.license}}
			events = append(events, r)
			if rng.Float64() < duplicateRate {
				events = append(events, r)
			}
			if rng.Float64() < exceptionRate {
				ex := pick(rng, exceptionSpecs)
				x := row{t: t, fields: []string{ts, cl.id, session, ex[0], ex[1], stackHashes[ex], cl.version, cl.os}}
				exceptions = append(exceptions, x)
				if rng.Float64() < 2*duplicateRate {
					exceptions = append(exceptions, x)
				}
			}
			t = min(hi-1, t+1+rng.Int64N(90))
		}
	}
	return events, exceptions
}

// Generate adds, to every product, custom events at times in [from, to)
// — rowsPerDay on a full weekday for a product of Scale 1, scaled by each
// product's Scale, fewer at night and on weekends, none on an occasional
// silent day — and about a tenth as many exceptions. It returns the
// number of rows added. The same Config.Seed and the same calls give the
// same rows. Rows added to a closed day change its files: Generate is for
// setting up history, not for a running server's closed days.
func (s *Server) Generate(from, to time.Time, rowsPerDay int) int {
	lo, hi := from.Unix(), to.Unix()
	if from.Nanosecond() > 0 {
		lo++
	}
	if to.Nanosecond() > 0 {
		hi++
	}
	if rowsPerDay <= 0 || hi <= lo {
		return 0
	}
	total := 0
	for _, p := range s.st.products {
		// One hour at a time, inserted a day at a time.
		var events, exceptions []row
		flush := func() {
			s.st.mu.Lock()
			s.st.insertLocked(p, 0, events)
			s.st.insertLocked(p, 1, exceptions)
			s.st.mu.Unlock()
			total += len(events) + len(exceptions)
			events, exceptions = nil, nil
		}
		for h := lo - lo%3600; h < hi; h += 3600 {
			a, b := max(lo, h), min(hi, h+3600)
			d := dayOf(h)
			s.st.gen.mu.Lock()
			f := p.gen.dayFactor(d)
			want := float64(rowsPerDay) * p.Scale * f * hourWeights[(h/3600)%24] / hourWeightSum * float64(b-a) / 3600
			ev, ex := s.st.gen.span(p.gen, d, a, b, round(s.st.gen.rng, want))
			s.st.gen.mu.Unlock()
			events, exceptions = append(events, ev...), append(exceptions, ex...)
			if (h/3600)%24 == 23 {
				flush()
			}
		}
		flush()
	}
	return total
}

// GrowSpan adds, to every product, about n custom events scaled by its
// Scale (and a tenth as many exceptions) at times in (after, until], as
// live clients report them, and returns the number of rows added. Rows
// never go to a closed day: the span is cut to the open day of the data
// clock, so a closed file never changes.
func (s *Server) GrowSpan(after, until time.Time, n int) int {
	hi := until.Unix() + 1
	d := dayOf(hi - 1)
	lo := max(after.Unix()+1, int64(d)*86400)
	if lo >= hi {
		lo = hi - 1
	}
	total := 0
	for _, p := range s.st.products {
		s.st.gen.mu.Lock()
		ev, ex := s.st.gen.span(p.gen, d, lo, hi, round(s.st.gen.rng, float64(n)*p.Scale))
		s.st.gen.mu.Unlock()
		s.st.mu.Lock()
		if today := dayNumber(s.now()); today == d {
			s.st.insertLocked(p, 0, ev)
			s.st.insertLocked(p, 1, ex)
			total += len(ev) + len(ex)
		}
		s.st.mu.Unlock()
	}
	return total
}

// Grow calls GrowSpan with n every interval, over the data clock's time
// since the previous tick, until ctx is done, and then returns. Run it in
// a goroutine the caller owns, or use StartGrowing.
func (s *Server) Grow(ctx context.Context, every time.Duration, n int) {
	simkit.Grow(ctx, every, s.now, func(after, until time.Time) { s.GrowSpan(after, until, n) })
}

// StartGrowing runs Grow in a new goroutine. The goroutine lives until ctx
// is done; the returned channel is closed when it has returned, so the
// owner cancels ctx and then waits for the channel.
func (s *Server) StartGrowing(ctx context.Context, every time.Duration, n int) <-chan struct{} {
	return simkit.Start(ctx, func(ctx context.Context) { s.Grow(ctx, every, n) })
}

// Add adds rows of kind to a product as given (Fields in header order;
// Fields[0] is rewritten from Time, truncated to the second) and returns
// an error for an unknown product or a row of the wrong width. Like
// Generate, rows added to a closed day change its files.
func (s *Server) Add(productID int64, kind string, rows ...Row) error {
	k := kindIndex(kind)
	p := s.product(productID)
	if p == nil {
		return fmt.Errorf("revenerasim: no product %d", productID)
	}
	width := len(customEventHeader)
	if k == 1 {
		width = len(exceptionHeader)
	}
	add := make([]row, 0, len(rows))
	for i, r := range rows {
		if len(r.Fields) != width {
			return fmt.Errorf("revenerasim: row %d has %d fields, %s rows have %d", i, len(r.Fields), kind, width)
		}
		f := slices.Clone(r.Fields)
		t := r.Time.Unix()
		f[colTime] = time.Unix(t, 0).UTC().Format(TimeLayout)
		add = append(add, row{t: t, fields: f})
	}
	s.st.mu.Lock()
	s.st.insertLocked(p, k, add)
	s.st.mu.Unlock()
	return nil
}
