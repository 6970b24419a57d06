package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestStaticTokenReloadsAfter401 is a Kubernetes Secret rotation: the
// vendor stops accepting the old token, the file now holds the new one,
// and the next call succeeds after one 401 without a restart.
func TestStaticTokenReloadsAfter401(t *testing.T) {
	var mu sync.Mutex
	valid, file := "Bearer new", "old"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != valid {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}))
	t.Cleanup(srv.Close)
	read := func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return file, nil
	}
	tok := NewStaticToken("Bearer", "old", nil).WithReload(read)
	c, _ := newTestClient(testConfig(), WithAuthorizer(tok))

	// The token in the file is still the rejected one: a clear error.
	if _, err := c.Do(context.Background(), get(srv.URL)); !errors.Is(err, ErrStaticTokenRejected) {
		t.Fatalf("Do with the rejected token still in the file = %v", err)
	}
	mu.Lock()
	file = "new"
	mu.Unlock()
	if _, err := c.Do(context.Background(), get(srv.URL)); err != nil {
		t.Fatalf("Do after the rotation = %v", err)
	}
	if _, err := c.Do(context.Background(), get(srv.URL)); err != nil {
		t.Fatalf("Do with the new token = %v", err)
	}
	// Without WithReload nothing changes: a 401 is permanent.
	c2, _ := newTestClient(testConfig(), WithAuthorizer(NewStaticToken("Bearer", "old", nil)))
	if _, err := c2.Do(context.Background(), get(srv.URL)); !errors.Is(err, ErrStaticTokenRejected) {
		t.Fatalf("Do with a static token = %v", err)
	}
}

// TestClientCredentialsRereadsTheSecret: the client secret is rotated at
// the token endpoint and in the file; the next token fetch uses the new one.
func TestClientCredentialsRereadsTheSecret(t *testing.T) {
	ts := &tokenServer{t: t, expiresIn: 3600}
	tokens := httptest.NewServer(ts)
	t.Cleanup(tokens.Close)
	secret := "stale"
	cc := NewClientCredentials(tokens.URL, testClientID, "stale", []string{"audit.read"}, nil, nil).
		WithSecretReload(func() (string, error) { return secret, nil })
	req, _ := http.NewRequest(http.MethodGet, "http://vendor.example/", nil)
	if err := cc.Authorize(context.Background(), req); err == nil {
		t.Fatal("Authorize with a stale secret succeeded")
	}
	secret = testClientSecret
	if err := cc.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after the rotation = %v", err)
	}
	if err := cc.Authorize(context.Background(), req); err != nil || req.Header.Get("Authorization") == "" {
		t.Fatalf("Authorize = %v, header %q", err, req.Header.Get("Authorization"))
	}
}
