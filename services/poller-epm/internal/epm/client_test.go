package epm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-epm/epmsim"
	"github.com/auditstream/auditstream/shared/httpx"
)

func TestAuditQueryRawQuery(t *testing.T) {
	tests := []struct {
		q    AuditQuery
		want string
	}{
		{AuditQuery{SetID: "s", From: time.Date(2024, 5, 26, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 28, 23, 59, 59, 999e6, time.UTC), Offset: 2, Limit: 5},
			"DateFrom=2024-05-26T00:00:00Z&DateTo=2024-05-28T23:59:59Z&Offset=2&Limit=5"},
		{AuditQuery{From: time.Date(2024, 5, 26, 2, 0, 0, 0, time.FixedZone("CEST", 2*3600)), Limit: 500},
			"DateFrom=2024-05-26T00:00:00Z&Offset=0&Limit=500"},
		{AuditQuery{Offset: 1000, Limit: 1}, "Offset=1000&Limit=1"},
	}
	for _, tt := range tests {
		got := tt.q.RawQuery()
		if got != tt.want {
			t.Errorf("RawQuery(%+v) = %s, want %s", tt.q, got, tt.want)
		}
		for _, kv := range strings.Split(got, "&") {
			_, v, _ := strings.Cut(kv, "=")
			if strings.ContainsAny(v, "+&%") {
				t.Errorf("value %q of %s holds a character the API rejects", v, got)
			}
		}
	}
}

// simClient returns a client of a simulator on clock, with cfg changed by
// change.
func simClient(t *testing.T, clock *fakeClock, scfg epmsim.Config, change func(*Config)) (*Client, *epmsim.Server) {
	t.Helper()
	w := newSimWorld(t, clock, scfg)
	if change != nil {
		change(&w.cfg)
	}
	return w.client(t), w.sim
}

// TestClientFollowsManagerURL logs on at the dispatcher and sends every
// other call to the manager, with the documented header.
func TestClientFollowsManagerURL(t *testing.T) {
	for _, version := range []string{"", "24.12.0.4372"} {
		t.Run("version="+version, func(t *testing.T) {
			clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
			c, sim := simClient(t, clock, epmsim.Config{}, func(c *Config) { c.APIVersion = version })
			a := sim.AddSet("11111111-2222-4333-8444-555555555555", "Production")
			sim.AddSet("", "")
			sim.Append(a.ID, clock.Now().Add(-time.Hour), 3, false)
			sets, err := c.Sets(t.Context())
			if err != nil || len(sets) != 2 || sets[0] != (Set{ID: a.ID, Name: "Production"}) {
				t.Fatalf("Sets = %+v, %v", sets, err)
			}
			p, err := c.AdminAudit(t.Context(), AuditQuery{SetID: a.ID, From: clock.Now().Add(-2 * time.Hour), To: clock.Now(), Limit: 500})
			if err != nil || p.TotalCount != 3 || len(p.Items) != 3 {
				t.Fatalf("AdminAudit = %+v, %v", p, err)
			}
			if st := sim.Stats(); st.Logons != 1 || st.DispatcherMisses != 0 || st.OK != 2 {
				t.Errorf("simulator %+v, want one logon and two manager calls", st)
			}
		})
	}
}

// TestSessionRenewsBeforeIdleTimeout logs on again before a call that
// follows a pause close to the tenant's inactivity timeout, so that the
// call never meets a 401; a shorter pause keeps the session.
func TestSessionRenewsBeforeIdleTimeout(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, clock, epmsim.Config{SessionTimeout: 20 * time.Minute}, nil)
	sim.AddSet("s", "S")
	call := func() {
		t.Helper()
		if _, err := c.AdminAudit(t.Context(), AuditQuery{SetID: "s", From: clock.Now().Add(-time.Hour), To: clock.Now(), Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	call()
	clock.Advance(19 * time.Minute) // less than 20m − 30s: the session is kept
	call()
	clock.Advance(19*time.Minute + 31*time.Second) // within 30s of expiry: renewed first
	call()
	if st := sim.Stats(); st.Logons != 2 || st.Unauthorized != 0 || c.Session().Logons() != 2 {
		t.Errorf("simulator %+v, session logons %d; want 2 logons and no 401", st, c.Session().Logons())
	}
}

// TestSessionRelogonOn401 logs on once more after a 401 and retries the
// call, which then succeeds.
func TestSessionRelogonOn401(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, clock, epmsim.Config{}, nil)
	sim.AddSet("s", "S")
	if _, err := c.Sets(t.Context()); err != nil {
		t.Fatal(err)
	}
	sim.ExpireSessions()
	if _, err := c.Sets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := sim.Stats(); st.Logons != 2 || st.Unauthorized != 1 || st.SetsCalls != 2 {
		t.Errorf("simulator %+v, want 2 logons, one 401, two answered calls", st)
	}
}

// TestSessionSecond401IsFinal gives up after one re-logon when the new
// session is refused too.
func TestSessionSecond401IsFinal(t *testing.T) {
	var logons, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Logon") {
			logons.Add(1)
			fmt.Fprintf(w, `{"IsPasswordExpired":false,"EPMAuthenticationResult":"tok-%d","ManagerURL":"http://%s/m"}`, logons.Load(), r.Host)
			return
		}
		calls.Add(1)
		http.Error(w, `[{"ErrorCode":"EPM000003E","ErrorMessage":"expired"}]`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.BaseURL = srv.URL
	c, err := NewClientFromConfig(&cfg, ClientOptions{HTTP: fastHTTP(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sets(t.Context())
	if !httpx.IsStatus(err, http.StatusUnauthorized) || logons.Load() != 2 || calls.Load() != 2 {
		t.Errorf("error %v after %d logons and %d calls; want a 401 after 2 of each", err, logons.Load(), calls.Load())
	}
}

func TestLogonFailures(t *testing.T) {
	tests := []struct {
		name   string
		scfg   epmsim.Config
		change func(*Config)
		want   string
	}{
		{"wrong password", epmsim.Config{}, func(c *Config) { c.Password = "wrong-s3cr3t" }, "401"},
		{"password expired", epmsim.Config{PasswordExpired: true}, nil, "the password has expired"},
		{"unknown application", epmsim.Config{ApplicationID: "other"}, nil, "401"},
		{"manager URL not absolute", epmsim.Config{ManagerURL: "/epm-manager"}, nil, "is not an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
			c, _ := simClient(t, clock, tt.scfg, tt.change)
			_, err := c.Sets(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "list epm sets at offset 0: ") {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			for _, secret := range []string{"wrong-s3cr3t", epmsim.DefaultPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals the password", err)
				}
			}
		})
	}
}

// TestLogonRefusesCleartextManager does not send the token over http when
// the dispatcher was reached over https.
func TestLogonRefusesCleartextManager(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"IsPasswordExpired":false,"EPMAuthenticationResult":"tok-secret","ManagerURL":"http://na1.epm.example"}`)
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.BaseURL = srv.URL
	c, err := NewClientFromConfig(&cfg, ClientOptions{HTTP: fastHTTP(), Logger: discardLogger(), Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sets(t.Context())
	if err == nil || !strings.Contains(err.Error(), "is not https while EPM_BASE_URL is") || strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("error %v, want a refusal without the token", err)
	}
}

// TestSessionHeader sends the documented "Authorization: basic <token>"
// and never logs the token.
func TestSessionHeader(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/EPM/API/Auth/EPM/Logon") {
			var body map[string]string
			b, _ := io.ReadAll(r.Body)
			if json.Unmarshal(b, &body) != nil || body["Username"] != "svc-audit@acme.example" || body["Password"] != "s3cr3t-value" ||
				body["ApplicationID"] != "auditstream" || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad logon", http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, `{"IsPasswordExpired":false,"EPMAuthenticationResult":"tok-abc","ManagerURL":"http://%s/mgr/"}`, r.Host)
			return
		}
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization")+" "+r.URL.Path)
		mu.Unlock()
		fmt.Fprint(w, `{"Sets":[],"SetsCount":0}`)
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.BaseURL = srv.URL + "/"
	var logs strings.Builder
	c, err := NewClientFromConfig(&cfg, ClientOptions{HTTP: fastHTTP(), Logger: newTextLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(auth) != 1 || auth[0] != "basic tok-abc /mgr/EPM/API/Sets" {
		t.Errorf("manager requests %q, want one with basic tok-abc to /mgr/EPM/API/Sets", auth)
	}
	if !strings.Contains(logs.String(), "epm logon") || strings.Contains(logs.String(), "tok-abc") || strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("logs:\n%s\nwant a logon record without secrets", logs.String())
	}
}

// TestBudgetCountsEveryAttempt counts retries and logons against the call
// budget, not only the calls the client starts.
func TestBudgetCountsEveryAttempt(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, clock, epmsim.Config{NoRateLimit: true}, func(c *Config) { c.RateLimit = []string{"2/1s"} })
	sim.AddSet("s", "S")
	sim.FailNext(3, http.StatusInternalServerError)
	if _, err := c.Sets(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Logon, 3 failures and the success: 5 sends at 2 per second.
	if got := clock.Slept(); got < 2*time.Second {
		t.Errorf("waited %s for the budget, want at least 2s for 5 calls at 2/s", got)
	}
}

func TestClientRefusesUnsafeSetID(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, clock, epmsim.Config{}, nil)
	for _, id := range []string{"a+b", "a&b", "a%20b", "a/b", ""} {
		_, err := c.AdminAudit(t.Context(), AuditQuery{SetID: id, Limit: 1})
		if !errors.Is(err, errBadURLValue) {
			t.Errorf("set id %q: error %v, want errBadURLValue", id, err)
		}
	}
	if st := sim.Stats(); st.Requests != 0 || st.Logons != 0 {
		t.Errorf("requests were sent: %+v", st)
	}
}

func TestClientSetsPaging(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, clock, epmsim.Config{NoRateLimit: true}, nil)
	for range 2500 {
		sim.AddSet("", "")
	}
	sets, err := c.Sets(t.Context())
	if err != nil || len(sets) != 2500 {
		t.Fatalf("Sets: %d sets, %v", len(sets), err)
	}
	if st := sim.Stats(); st.SetsCalls != 3 {
		t.Errorf("%d Sets calls, want 3 pages of 1000", st.SetsCalls)
	}
}
