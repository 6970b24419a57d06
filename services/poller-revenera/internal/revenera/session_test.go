package revenera

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/services/poller-revenera/revenerasim"
)

func permanentErr(err error) bool {
	var p *backoff.PermanentError
	return errors.As(err, &p)
}

// listOnce lists the custom events files of the large product.
func listOnce(e *simEnv, c *Client) error {
	_, err := c.ListFiles(context.Background(), CustomEvents, large)
	return err
}

func TestSessionLogonAndHeaders(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	products, err := e.client.Session().Products(context.Background())
	if err != nil || len(products) != 2 || products[0].ID != large || products[0].Name == "" {
		t.Fatalf("products %+v, %v", products, err)
	}
	st := e.sim.Stats()
	if st.Logons != 1 || st.Forbidden != 0 || st.BadRequests != 0 || st.ActiveSessions != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSessionCookieMissingIsRetried(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	e.sim.CookieMissingNext(3)
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.CookieMissing != 3 || st.Logons != 1 {
		t.Fatalf("stats %+v, want 3 Cookie Missing then one logon", st)
	}
	// Bounded: a Cookie Missing on every attempt fails the logon.
	e2 := newSimEnv(t, revenerasim.Config{})
	e2.sim.CookieMissingNext(100)
	err := listOnce(e2, e2.client)
	if err == nil || !strings.Contains(err.Error(), "Cookie Missing") || permanentErr(err) {
		t.Fatalf("endless Cookie Missing: %v", err)
	}
	if st := e2.sim.Stats(); st.CookieMissing != maxLogonAttempts {
		t.Fatalf("%d logons tried, want %d", st.CookieMissing, maxLogonAttempts)
	}
}

func TestSessionActiveSessionIsLoggedOut(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	// A predecessor killed without its logout left its session active.
	old := e.newClient(t, e.cfg)
	if err := listOnce(e, old); err != nil {
		t.Fatal(err)
	}
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	st := e.sim.Stats()
	if st.RefusedActive != 1 || st.Logouts != 1 || st.Logons != 2 || st.ActiveSessions != 1 {
		t.Fatalf("stats %+v, want a 409, a logout and a logon", st)
	}
}

func TestSessionExpiredRelogsOnce(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	st := e.sim.Stats()
	if st.Unauthorized != 1 || st.Logons != 2 {
		t.Fatalf("stats %+v, want one 401 and a second logon", st)
	}
	if e.client.Session().Logons() != 2 {
		t.Fatalf("%d logons", e.client.Session().Logons())
	}
}

func TestSessionWrongPasswordIsPermanent(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	cfg := e.cfg
	cfg.Password = "wrong"
	c := e.newClient(t, cfg)
	err := listOnce(e, c)
	if err == nil || !errors.Is(err, ErrCredentials) || !permanentErr(err) || !strings.Contains(err.Error(), revenerasim.DefaultUsername) {
		t.Fatalf("wrong password: %v; want a permanent error naming the user", err)
	}
	if strings.Contains(err.Error(), "wrong") && strings.Contains(err.Error(), `"wrong"`) {
		t.Fatalf("the error shows the password: %v", err)
	}
	// Remembered: no further logon is sent.
	if err2 := listOnce(e, c); !errors.Is(err2, ErrCredentials) {
		t.Fatalf("second call: %v", err2)
	}
	if st := e.sim.Stats(); st.BadCredentials != 1 {
		t.Fatalf("%d refused logons, want 1", st.BadCredentials)
	}
}

func TestSessionWrongOriginIsPermanent(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	cfg := e.cfg
	cfg.Origin = "https://example.com"
	c := e.newClient(t, cfg)
	err := listOnce(e, c)
	if err == nil || !permanentErr(err) || !strings.Contains(err.Error(), "REVENERA_ORIGIN") {
		t.Fatalf("wrong origin: %v", err)
	}
}

func TestSessionLogout(t *testing.T) {
	e := newSimEnv(t, revenerasim.Config{})
	if err := e.client.Session().Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.Logouts != 0 {
		t.Fatalf("logout without a session sent: %+v", st)
	}
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Session().Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.Logouts != 1 || st.ActiveSessions != 0 {
		t.Fatalf("stats %+v, want the session logged out", st)
	}
	// A call after the logout logs on again.
	if err := listOnce(e, e.client); err != nil {
		t.Fatal(err)
	}
}
