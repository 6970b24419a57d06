package revenerasim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSession walks through a whole session with a cookie jar: CSRF,
// logon, a call, logout, and a call after logout.
func TestSession(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()

	resp, body := c.call(http.MethodGet, CSRFPath, "")
	wantStatus(t, "request-csrf", resp, body, http.StatusNoContent, "")
	set := resp.Header.Values("Set-Cookie")
	if len(set) != 1 || !strings.HasPrefix(set[0], CookieCSRF+"=") || !strings.Contains(set[0], "Path=/") ||
		!strings.Contains(set[0], "HttpOnly") || strings.Contains(set[0], "Secure") {
		t.Fatalf("request-csrf Set-Cookie %q", set)
	}

	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon", resp, body, http.StatusOK, "")
	names := map[string]bool{}
	for _, ck := range resp.Cookies() {
		names[ck.Name] = ck.Value != "" && ck.HttpOnly && ck.Path == "/"
	}
	if !names[CookieCSRF] || !names[CookieSession] {
		t.Fatalf("logon cookies %q", resp.Header.Values("Set-Cookie"))
	}
	for _, want := range []string{`"userName":"svc-usage@example.com"`, `"products":[{"id":2876543210,"name":"Acme CAD"},{"id":2876543211,"name":"Acme Viewer"}]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("logon answer %s lacks %s", body, want)
		}
	}
	if st := e.sim.Stats(); st.Logons != 1 || st.ActiveSessions != 1 {
		t.Errorf("after logon: %+v", st)
	}

	if l := c.list(large, CustomEvents); len(l.Open) != 1 {
		t.Errorf("listFiles: %+v", l)
	}

	resp, body = c.call(http.MethodPost, LogoutPath, "{}")
	wantStatus(t, "logout", resp, body, http.StatusNoContent, "")
	resp, body = c.call(http.MethodGet, fmt.Sprintf("/v3/customEventTracking/listFiles/%d", large), "")
	wantStatus(t, "call after logout", resp, body, http.StatusUnauthorized, "Unauthorized")
	if st := e.sim.Stats(); st.Logouts != 1 || st.ActiveSessions != 0 || st.Unauthorized != 1 || st.Requests != 5 {
		t.Errorf("after logout: %+v", st)
	}
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t, Config{SecureCookies: true})
	resp, _ := e.client().call(http.MethodGet, CSRFPath, "")
	if set := resp.Header.Get("Set-Cookie"); !strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie %q is not Secure", set)
	}
}

// TestOriginAndClientHeaders checks that every /v3 call needs the
// configured Origin and the RUI-Client headers.
func TestOriginAndClientHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	paths := []struct{ method, path, body string }{
		{http.MethodGet, CSRFPath, ""},
		{http.MethodPost, LogonPath, credentials(DefaultPassword)},
		{http.MethodPost, LogoutPath, "{}"},
		{http.MethodGet, fmt.Sprintf("/v3/exceptionTracking/listFiles/%d", large), ""},
	}
	for _, p := range paths {
		for _, origin := range []string{"", "https://evil.example", "https://analytics.revenera.com/"} {
			resp, body := c.call(p.method, p.path, p.body, origin)
			wantStatus(t, p.path+" with Origin "+origin, resp, body, http.StatusForbidden, "Invalid Origin")
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+CSRFPath, nil)
	req.Header.Set("Origin", DefaultOrigin)
	req.Header.Set(HeaderClient, "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("request-csrf without RUI-Client-Version: %d", resp.StatusCode)
	}

	e2 := newEnv(t, Config{Origin: "https://eu.analytics.revenera.com"})
	c2 := e2.client()
	resp, body := c2.call(http.MethodGet, CSRFPath, "")
	wantStatus(t, "default Origin at a server configured otherwise", resp, body, http.StatusForbidden, "Invalid Origin")
	resp, body = c2.call(http.MethodGet, CSRFPath, "", "https://eu.analytics.revenera.com")
	wantStatus(t, "configured Origin", resp, body, http.StatusNoContent, "")
	if st := e.sim.Stats(); st.Forbidden != 12 || st.BadRequests != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestLogonErrors(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	resp, body := c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon without CSRF", resp, body, http.StatusBadRequest, "Cookie Missing")

	// A cookie the server never issued.
	u, _ := url.Parse(e.ts.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: CookieCSRF, Value: "forged", Path: "/"}})
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon with a forged CSRF", resp, body, http.StatusBadRequest, "Cookie Missing")

	c.csrf()
	resp, body = c.call(http.MethodPost, LogonPath, credentials("wrong"))
	wantStatus(t, "wrong password", resp, body, http.StatusUnauthorized, "Invalid username or password")
	if strings.Contains(string(body), "wrong") {
		t.Errorf("401 body echoes the password: %s", body)
	}
	resp, body = c.call(http.MethodPost, LogonPath, `{"userName":"someone@example.com","password":"revenerasim-password"}`)
	wantStatus(t, "wrong user", resp, body, http.StatusUnauthorized, "Invalid username or password")
	resp, body = c.call(http.MethodPost, LogonPath, `{"userName":`)
	wantStatus(t, "bad JSON", resp, body, http.StatusBadRequest, "")

	// The CSRF token survives failed logons.
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon after failures", resp, body, http.StatusOK, "")
	// A successful logon spends it: logging on again needs a new one.
	c.call(http.MethodPost, LogoutPath, "")
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon with the cookie the last logon set", resp, body, http.StatusBadRequest, "Cookie Missing")

	// The CSRF token lives DefaultCSRFTTL.
	c.csrf()
	e.clock.Add(DefaultCSRFTTL)
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon with an old CSRF", resp, body, http.StatusBadRequest, "Cookie Missing")

	if st := e.sim.Stats(); st.CookieMissing != 4 || st.BadCredentials != 2 || st.Logons != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

// TestCookieMissing checks the transient Cookie Missing: the token is
// spent, a new one from request-csrf works.
func TestCookieMissing(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	c.csrf()
	e.sim.CookieMissingNext(1)
	resp, body := c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "forced Cookie Missing", resp, body, http.StatusBadRequest, "Cookie Missing")
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "retry with the same CSRF", resp, body, http.StatusBadRequest, "Cookie Missing")
	c.logon()

	// At random: a rate of 1 refuses every logon.
	e2 := newEnv(t, Config{CookieMissingRate: 1})
	c2 := e2.client()
	for range 3 {
		c2.csrf()
		resp, body := c2.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
		wantStatus(t, "rate 1", resp, body, http.StatusBadRequest, "Cookie Missing")
	}
	if st := e2.sim.Stats(); st.CookieMissing != 3 || st.Logons != 0 {
		t.Errorf("Stats() = %+v", st)
	}

	// The default rate hits about one logon in ten.
	e3 := newEnv(t, Config{CookieMissingRate: DefaultCookieMissingRate, MaxSessions: -1})
	c3 := e3.client()
	missing := 0
	for range 200 {
		c3.csrf()
		if resp, _ := c3.call(http.MethodPost, LogonPath, credentials(DefaultPassword)); resp.StatusCode == http.StatusBadRequest {
			missing++
		}
	}
	if missing < 5 || missing > 40 {
		t.Errorf("%d of 200 logons answered Cookie Missing at rate 0.1", missing)
	}
}

// TestSessionLimit checks the 409 of a second logon and the recovery by
// a logout with credentials.
func TestSessionLimit(t *testing.T) {
	e := newEnv(t, Config{})
	first, second := e.client(), e.client()
	first.logon()

	second.csrf()
	resp, body := second.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "second logon", resp, body, http.StatusConflict, "A session is already active for this user. Log out and try again.")

	resp, body = second.call(http.MethodPost, LogoutPath, credentials("wrong"))
	wantStatus(t, "logout with a wrong password", resp, body, http.StatusUnauthorized, "Invalid username or password")
	resp, body = second.call(http.MethodPost, LogoutPath, credentials(DefaultPassword))
	wantStatus(t, "logout by credentials", resp, body, http.StatusNoContent, "")
	resp, body = first.call(http.MethodGet, fmt.Sprintf("/v3/event-tracking/%d?flat=true&showEvents=all", large), "")
	wantStatus(t, "the ended session", resp, body, http.StatusUnauthorized, "Unauthorized")

	// The CSRF token of the refused logon is still good.
	resp, body = second.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "logon after logout by credentials", resp, body, http.StatusOK, "")

	// A logout without a session and without credentials is a no-op.
	resp, body = first.call(http.MethodPost, LogoutPath, "")
	wantStatus(t, "empty logout", resp, body, http.StatusNoContent, "")
	if st := e.sim.Stats(); st.RefusedActive != 1 || st.ActiveSessions != 1 || st.Logouts != 2 {
		t.Errorf("Stats() = %+v", st)
	}

	// MaxSessions 2 allows two; negative, any number.
	e2 := newEnv(t, Config{MaxSessions: 2})
	e2.client().logon()
	e2.client().logon()
	c := e2.client()
	c.csrf()
	resp, body = c.call(http.MethodPost, LogonPath, credentials(DefaultPassword))
	wantStatus(t, "third logon at MaxSessions 2", resp, body, http.StatusConflict, "")
}

// TestSessionExpiry checks SessionTTL, SessionIdle and the CSRF cookie of
// the session.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	c.logon()
	path := fmt.Sprintf("/v3/event-tracking/%d?flat=true", small)
	e.clock.Add(DefaultSessionTTL - time.Second)
	resp, body := c.call(http.MethodGet, path, "")
	wantStatus(t, "just before the TTL", resp, body, http.StatusOK, "")
	e.clock.Add(time.Second)
	resp, body = c.call(http.MethodGet, path, "")
	wantStatus(t, "at the TTL", resp, body, http.StatusUnauthorized, "Unauthorized")
	if st := e.sim.Stats(); st.Expired != 1 || st.ActiveSessions != 0 {
		t.Errorf("Stats() = %+v", st)
	}
	// An expired session does not count against MaxSessions.
	c.logon()

	e2 := newEnv(t, Config{SessionIdle: 5 * time.Minute})
	c2 := e2.client()
	c2.logon()
	for range 3 {
		e2.clock.Add(4 * time.Minute)
		resp, body := c2.call(http.MethodGet, path, "")
		wantStatus(t, "used within the idle timeout", resp, body, http.StatusOK, "")
	}
	e2.clock.Add(5 * time.Minute)
	resp, body = c2.call(http.MethodGet, path, "")
	wantStatus(t, "idle", resp, body, http.StatusUnauthorized, "Unauthorized")

	// The session needs its own RUI-Csrf cookie.
	e3 := newEnv(t, Config{})
	c3 := e3.client()
	c3.logon()
	c3.csrf() // replaces the session's RUI-Csrf in the jar
	resp, body = c3.call(http.MethodGet, path, "")
	wantStatus(t, "another RUI-Csrf", resp, body, http.StatusUnauthorized, "Unauthorized")

	// ExpireSessions ends them all.
	e4 := newEnv(t, Config{})
	c4 := e4.client()
	c4.logon()
	e4.sim.ExpireSessions()
	resp, body = c4.call(http.MethodGet, path, "")
	wantStatus(t, "after ExpireSessions", resp, body, http.StatusUnauthorized, "Unauthorized")
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 2})
	c := e.client()
	c.logon()
	path := fmt.Sprintf("/v3/event-tracking/%d?flat=true", large)
	for i := range 2 {
		resp, body := c.call(http.MethodGet, path, "")
		wantStatus(t, fmt.Sprintf("call %d", i), resp, body, http.StatusOK, "")
	}
	resp, body := c.call(http.MethodGet, path, "")
	wantStatus(t, "third call in the same instant", resp, body, http.StatusTooManyRequests, "")
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	e.clock.Add(500 * time.Millisecond)
	resp, body = c.call(http.MethodGet, path, "")
	wantStatus(t, "half a second later", resp, body, http.StatusOK, "")
	// Limits are per session.
	e2 := newEnv(t, Config{RateLimit: 1, MaxSessions: -1})
	a, b := e2.client(), e2.client()
	a.logon()
	b.logon()
	for _, c := range []*apiClient{a, b} {
		resp, body := c.call(http.MethodGet, path, "")
		wantStatus(t, "first call of a session", resp, body, http.StatusOK, "")
	}
	if st := e.sim.Stats(); st.RateLimited != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	e.sim.FailNext(1, http.StatusServiceUnavailable)
	e.sim.FailNext(1, http.StatusBadGateway)
	e.sim.FailNext(1, http.StatusInternalServerError)
	// request-csrf and the logon are not subject to faults.
	c.logon()
	path := fmt.Sprintf("/v3/customEventTracking/listFiles/%d", small)
	resp, body := c.call(http.MethodGet, path, "")
	wantStatus(t, "FailNext 503", resp, body, http.StatusServiceUnavailable, "Service Unavailable")
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("503 without Retry-After")
	}
	resp, body = c.call(http.MethodGet, path, "")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "<html>") {
		t.Errorf("FailNext 502: %d %s", resp.StatusCode, body)
	}
	// Logout is subject to faults too.
	resp, body = c.call(http.MethodPost, LogoutPath, "")
	wantStatus(t, "FailNext 500 on logout", resp, body, http.StatusInternalServerError, "Internal Server Error")
	resp, body = c.call(http.MethodGet, path, "")
	wantStatus(t, "after the faults", resp, body, http.StatusOK, "")

	e2 := newEnv(t, Config{FaultRate: 1, FaultStatuses: []int{http.StatusInternalServerError}})
	c2 := e2.client()
	c2.logon()
	for range 3 {
		resp, body := c2.call(http.MethodGet, path, "")
		wantStatus(t, "FaultRate 1", resp, body, http.StatusInternalServerError, "")
	}
	if st := e2.sim.Stats(); st.ServerErrors != 3 || st.Logons != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestUnknownPathsAndProducts(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	resp, body := c.call(http.MethodGet, "/v3/meta/productProperties", "")
	wantStatus(t, "unknown path without a session", resp, body, http.StatusUnauthorized, "")
	c.logon()
	resp, body = c.call(http.MethodGet, "/v3/meta/productProperties", "")
	wantStatus(t, "unknown path", resp, body, http.StatusNotFound, "Not Found")
	resp, body = c.call(http.MethodGet, "/v3/customEventTracking/listFiles/42", "")
	wantStatus(t, "unknown product", resp, body, http.StatusNotFound, "Product not found")
	resp, body = c.call(http.MethodGet, "/v3/customEventTracking/listFiles/acme", "")
	wantStatus(t, "product not a number", resp, body, http.StatusNotFound, "Product not found")
}
