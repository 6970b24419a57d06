package oraclesim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

// user is one account of the generated population.
type user struct {
	login, name string
	ips         []string // the addresses the user logs in from, most used first
}

// oddUsers are accounts whose login or name needs care: commas and quotes
// (CSV quoting), non-ASCII letters, '+' and an apostrophe in logins, upper
// case in a login (it sorts before lower case), empty names.
var oddUsers = []struct{ login, name string }{
	{"obrien.sean@example.com", "O'Brien, Seán"},
	{"jj.doe@example.com", `Jane "JJ" Doe`},
	{"zoe.muller@example.com", "Zoë Müller"},
	{"li.wei@example.com", "李伟"},
	{"ops+audit@example.com", ""},
	{"svc_epm_integration@example.com", ""},
	{"jörg.straße@example.de", "Jörg Straße"},
	{"Admin.User@Example.com", "Admin User"},
	{"garcia.maria@example.com", "García, María José"},
	{"tony.d'angelo@example.com", "Tony D'Angelo"},
}

// Parts of the generated users' names: the first element is the display
// form, the second the form in the login.
var (
	firstNames = [][2]string{
		{"Ana", "ana"}, {"Björn", "bjorn"}, {"Chen", "chen"}, {"Dmitri", "dmitri"}, {"Emma", "emma"},
		{"Farah", "farah"}, {"Giulia", "giulia"}, {"Hiro", "hiro"}, {"Inés", "ines"}, {"Jamal", "jamal"},
		{"Kofi", "kofi"}, {"Lena", "lena"}, {"Mateo", "mateo"}, {"Nadia", "nadia"}, {"Olivia", "olivia"},
		{"Priya", "priya"}, {"Quentin", "quentin"}, {"Rosa", "rosa"}, {"Sven", "sven"}, {"Tariq", "tariq"},
		{"Uma", "uma"}, {"Victor", "victor"}, {"Wen", "wen"}, {"Xavier", "xavier"}, {"Yara", "yara"},
		{"Zoltán", "zoltan"}, {"Amélie", "amelie"}, {"Bruno", "bruno"}, {"Chloé", "chloe"}, {"Diego", "diego"},
	}
	lastNames = [][2]string{
		{"Silva", "silva"}, {"Larsen", "larsen"}, {"Wei", "wei"}, {"Ivanov", "ivanov"}, {"Jones", "jones"},
		{"Khan", "khan"}, {"Rossi", "rossi"}, {"Tanaka", "tanaka"}, {"García", "garcia"}, {"Wright", "wright"},
		{"Mensah", "mensah"}, {"Schmidt", "schmidt"}, {"López", "lopez"}, {"Haddad", "haddad"}, {"Brown", "brown"},
		{"Patel", "patel"}, {"Dubois", "dubois"}, {"Moreno", "moreno"}, {"Nilsson", "nilsson"}, {"Aziz", "aziz"},
		{"Okafor", "okafor"}, {"Novak", "novak"}, {"Zhang", "zhang"}, {"Martin", "martin"}, {"Costa", "costa"},
		{"Nagy", "nagy"}, {"Lefèvre", "lefevre"}, {"Ferreira", "ferreira"}, {"Smith-Jones", "smith-jones"}, {"Kowalski", "kowalski"},
	}
	// hourWeights is the relative login activity of each UTC hour of a
	// working day; weekends have a quarter of it.
	hourWeights = [24]int{2, 1, 1, 1, 2, 4, 8, 14, 20, 22, 22, 20, 16, 18, 20, 20, 18, 14, 10, 7, 5, 4, 3, 2}
)

// populationSize is the number of users generated besides oddUsers: enough
// that tens of thousands of logins a day are mostly distinct rows.
const populationSize = 4000

// generator makes deterministic logins.
type generator struct {
	rng   *rand.Rand
	users []user
}

func newGenerator(seed int64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x6f7261636c65))}
	for _, u := range oddUsers {
		g.users = append(g.users, user{login: u.login, name: u.name, ips: g.addresses()})
	}
	seen := map[string]int{}
	for len(g.users) < len(oddUsers)+populationSize {
		f, l := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
		local := f[1] + "." + l[1]
		seen[local]++
		if n := seen[local]; n > 1 {
			local += fmt.Sprint(n)
		}
		name := f[0] + " " + l[0]
		if g.rng.IntN(20) == 0 {
			name = "" // a user without a display name
		}
		g.users = append(g.users, user{login: local + "@example.com", name: name, ips: g.addresses()})
	}
	// Shuffle so that the busiest users (the lowest indexes of pickUser)
	// include some odd ones.
	g.rng.Shuffle(len(g.users), func(i, j int) { g.users[i], g.users[j] = g.users[j], g.users[i] })
	return g
}

// addresses returns one to three addresses of a user, a fifth of them
// IPv6.
func (g *generator) addresses() []string {
	n := 1 + g.rng.IntN(3)
	out := make([]string, n)
	for i := range out {
		if g.rng.IntN(5) == 0 {
			var b [16]byte
			copy(b[:], []byte{0x20, 0x01, 0x0d, 0xb8})
			b[4], b[5] = byte(g.rng.IntN(256)), byte(g.rng.IntN(256))
			for j := 12 + g.rng.IntN(4); j < 16; j++ {
				b[j] = byte(g.rng.IntN(256))
			}
			out[i] = netip.AddrFrom16(b).String()
			continue
		}
		nets := [][3]byte{{198, 51, 100}, {203, 0, 113}, {192, 0, 2}, {10, 20, 30}}
		p := nets[g.rng.IntN(len(nets))]
		out[i] = netip.AddrFrom4([4]byte{p[0], p[1], p[2], byte(1 + g.rng.IntN(254))}).String()
	}
	return out
}

// pickUser returns a user, skewed so that a few users log in much more
// often than most.
func (g *generator) pickUser() *user {
	u := g.rng.Float64()
	return &g.users[int(u*u*float64(len(g.users)))]
}

// weight returns the relative activity at t.
func weight(t time.Time) int {
	w := hourWeights[t.Hour()]
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		w = max(1, w/4)
	}
	return w
}

// instant returns a random instant in [from, to) drawn by the daily
// pattern, in whole seconds.
func (g *generator) instant(from time.Time, span time.Duration) time.Time {
	for {
		t := from.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Second).UTC()
		if t.Before(from) {
			continue
		}
		if g.rng.IntN(22) < weight(t) {
			return t
		}
	}
}

// session appends to out the logins of one sitting of a user starting at
// t, at most n and none at or after to: usually one login, sometimes a
// burst of several, some at the same second, some within five minutes,
// some later, a few from another of the user's addresses.
func (g *generator) session(out []Row, t, to time.Time, n int) []Row {
	u := g.pickUser()
	ip := u.ips[0]
	if len(u.ips) > 1 && g.rng.IntN(4) == 0 {
		ip = u.ips[1+g.rng.IntN(len(u.ips)-1)]
	}
	k := 1
	if g.rng.IntN(4) == 0 {
		k = 2 + g.rng.IntN(5)
	}
	for i := 0; i < min(k, n); i++ {
		if i > 0 {
			if g.rng.IntN(3) > 0 {
				t = t.Add(time.Duration(1+g.rng.IntN(150)) * time.Second)
			}
			if len(u.ips) > 1 && g.rng.IntN(10) == 0 {
				ip = u.ips[g.rng.IntN(len(u.ips))]
			}
		}
		if !t.Before(to) {
			break
		}
		out = append(out, Row{Login: u.login, Name: u.name, IP: ip, Time: t})
	}
	return out
}

// Generate adds n raw logins with instants in [from, to) following a daily
// pattern (busy working hours, quiet nights and weekends) with bursts: a
// quarter of the sittings log in two to six times, some at the same second,
// most within five minutes. It returns the number added: n, or 0 when the
// span is empty. The same Config.Seed and the same calls give the same
// logins.
func (s *Server) Generate(from, to time.Time, n int) int {
	from, to = from.UTC(), to.UTC()
	span := to.Sub(from)
	if n <= 0 || span < time.Second {
		return 0
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	g := s.gen
	added := make([]Row, 0, n)
	for len(added) < n {
		added = g.session(added, g.instant(from, span), to, n-len(added))
	}
	for _, l := range added {
		s.st.addLocked(l)
	}
	return len(added)
}

// GrowAt adds n raw logins at instant at (truncated to the second), each
// by a user chosen as Generate does, and drops the days older than the
// retention.
func (s *Server) GrowAt(at time.Time, n int) {
	at = at.UTC().Truncate(time.Second)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for range n {
		u := s.gen.pickUser()
		s.st.addLocked(Row{Login: u.login, Name: u.name, IP: u.ips[0], Time: at})
	}
	s.st.pruneLocked(dayNumber(at) - int64(s.cfg.RetentionDays) - 1)
}

// StartGrowing adds n logins at the Clock's time every interval until ctx
// is done, in a new goroutine, as live users would. The returned channel
// is closed when the goroutine has returned, so the owner cancels ctx and
// then waits for it.
func (s *Server) StartGrowing(ctx context.Context, every time.Duration, n int) <-chan struct{} {
	return simkit.Start(ctx, func(ctx context.Context) {
		simkit.Grow(ctx, every, s.cfg.Clock, func(_, until time.Time) { s.GrowAt(until, n) })
	})
}

// Users returns the logins of the generated population, for tests that
// look for a particular kind of user.
func (s *Server) Users() []string {
	out := make([]string, len(s.gen.users))
	for i, u := range s.gen.users {
		out[i] = u.login
	}
	return out
}
