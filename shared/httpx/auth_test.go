package httpx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "client-1"
	testClientSecret = "cs3cret-value"
)

// tokenServer is a fake OAuth2 token endpoint. It issues tok-1, tok-2, …
// and answers failStatus to the first failures requests.
type tokenServer struct {
	t          *testing.T
	expiresIn  int
	failStatus int
	failures   int32
	calls      atomic.Int32
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	if err := r.ParseForm(); err != nil {
		s.t.Error(err)
	}
	user, pass, _ := r.BasicAuth()
	if r.PostFormValue("client_id") != "" {
		user, pass = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("scope") != "audit.read" {
		s.t.Errorf("token request form = %v", r.PostForm)
	}
	w.Header().Set("Content-Type", "application/json")
	if user != testClientID || pass != testClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	if n <= s.failures {
		w.WriteHeader(s.failStatus)
		io.WriteString(w, `{"error":"temporarily_unavailable"}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": fmt.Sprintf("tok-%d", n-s.failures),
		"token_type":   "bearer",
		"expires_in":   s.expiresIn,
	})
}

func newTokenServer(t *testing.T, expiresIn int) (*tokenServer, string) {
	ts := &tokenServer{t: t, expiresIn: expiresIn}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	return ts, srv.URL + "/oauth/token"
}

func TestClientCredentialsCachesAndRenews(t *testing.T) {
	type step struct {
		at        time.Duration // clock offset from the start
		refresh   bool
		wantToken string
	}
	tests := []struct {
		name      string
		expiresIn int
		steps     []step
	}{
		{
			name:      "long-lived token renews a minute early",
			expiresIn: 3600,
			steps: []step{
				{at: 0, wantToken: "tok-1"},
				{at: time.Hour - 61*time.Second, wantToken: "tok-1"},
				{at: time.Hour - 59*time.Second, wantToken: "tok-2"},
				{at: time.Hour, wantToken: "tok-2"},
				{at: time.Hour, refresh: true, wantToken: "tok-3"},
				{at: time.Hour + time.Second, wantToken: "tok-3"},
			},
		},
		{
			name:      "short-lived token renews a tenth early",
			expiresIn: 100,
			steps: []step{
				{at: 0, wantToken: "tok-1"},
				{at: 89 * time.Second, wantToken: "tok-1"},
				{at: 91 * time.Second, wantToken: "tok-2"},
			},
		},
		{
			name:      "token without expiry is kept",
			expiresIn: 0,
			steps: []step{
				{at: 0, wantToken: "tok-1"},
				{at: 1000 * time.Hour, wantToken: "tok-1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, tokenURL := newTokenServer(t, tt.expiresIn)
			cc := NewClientCredentials(tokenURL, testClientID, testClientSecret, []string{"audit.read"},
				http.Header{"X-User-Id": {"user-7"}}, nil)
			start := time.Now()
			var offset time.Duration
			cc.now = func() time.Time { return start.Add(offset) }
			for i, s := range tt.steps {
				offset = s.at
				if s.refresh {
					if err := cc.Refresh(context.Background()); err != nil {
						t.Fatalf("step %d: Refresh: %v", i, err)
					}
				}
				req := httptest.NewRequest(http.MethodGet, "http://vendor.example/api", nil)
				if err := cc.Authorize(context.Background(), req); err != nil {
					t.Fatalf("step %d: Authorize: %v", i, err)
				}
				if got := req.Header.Get("Authorization"); got != "Bearer "+s.wantToken {
					t.Errorf("step %d at %v: Authorization = %q, want Bearer %s", i, s.at, got, s.wantToken)
				}
				if got := req.Header.Get("X-User-Id"); got != "user-7" {
					t.Errorf("step %d: X-User-Id = %q", i, got)
				}
			}
			last := tt.steps[len(tt.steps)-1].wantToken
			if got := fmt.Sprintf("tok-%d", ts.calls.Load()); got != last {
				t.Errorf("token endpoint served up to %s, want %s", got, last)
			}
			if strings.Contains(cc.String(), testClientSecret) {
				t.Errorf("String() leaks the secret: %s", cc)
			}
		})
	}
}

func TestClientCredentialsWithClient(t *testing.T) {
	tests := []struct {
		name           string
		clientSecret   string
		failStatus     int
		failures       int32
		revoked        string // a token the API rejects with 401
		wantErr        bool
		wantTokenCalls int32
		wantAPICalls   int32
	}{
		{name: "revoked token is refreshed", clientSecret: testClientSecret, revoked: "tok-1", wantTokenCalls: 2, wantAPICalls: 2},
		{name: "token endpoint unavailable is retried", clientSecret: testClientSecret, failStatus: 503, failures: 2, wantTokenCalls: 3, wantAPICalls: 1},
		{name: "rejected credentials are permanent", clientSecret: "wrong-secret", wantErr: true, wantTokenCalls: 2, wantAPICalls: 0},
	}
	// oauth2 detects the client authentication style: a failed request with
	// the credentials in the header is repeated with them in the form.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, tokenURL := newTokenServer(t, 3600)
			ts.failStatus, ts.failures = tt.failStatus, tt.failures
			api, apiSeq := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-User-Id") != "user-7" {
					t.Errorf("X-User-Id = %q", r.Header.Get("X-User-Id"))
				}
				if r.Header.Get("Authorization") == "Bearer "+tt.revoked {
					status(http.StatusUnauthorized)(w, r)
					return
				}
				io.WriteString(w, "done")
			})
			cc := NewClientCredentials(tokenURL, testClientID, tt.clientSecret, []string{"audit.read"},
				http.Header{"X-User-Id": {"user-7"}}, nil)
			c, _ := newTestClient(testConfig(), WithAuthorizer(cc))
			_, err := c.Do(context.Background(), get(api.URL))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Do = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tt.clientSecret) {
				t.Errorf("error leaks the client secret: %v", err)
			}
			if got := ts.calls.Load(); got != tt.wantTokenCalls {
				t.Errorf("token endpoint called %d times, want %d", got, tt.wantTokenCalls)
			}
			if got := apiSeq.calls.Load(); got != tt.wantAPICalls {
				t.Errorf("API called %d times, want %d", got, tt.wantAPICalls)
			}
		})
	}
}
