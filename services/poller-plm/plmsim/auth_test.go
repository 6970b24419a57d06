package plmsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/simkit"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t, Config{TokenTTL: 90 * time.Second})
	tests := []struct {
		name       string
		method     string
		basic      [2]string // id, secret; empty: no Basic auth
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"basic", http.MethodPost, [2]string{DefaultClientID, DefaultClientSecret}, url.Values{"grant_type": {"client_credentials"}}, http.StatusOK, ""},
		{"form fields", http.MethodPost, [2]string{}, url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}, http.StatusOK, ""},
		{"wrong secret", http.MethodPost, [2]string{DefaultClientID, "nope"}, url.Values{"grant_type": {"client_credentials"}}, http.StatusUnauthorized, "invalid_client"},
		{"wrong id", http.MethodPost, [2]string{}, url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}, "client_secret": {DefaultClientSecret}}, http.StatusUnauthorized, "invalid_client"},
		{"no credentials", http.MethodPost, [2]string{}, url.Values{"grant_type": {"client_credentials"}}, http.StatusUnauthorized, "invalid_client"},
		{"other grant", http.MethodPost, [2]string{DefaultClientID, DefaultClientSecret}, url.Values{"grant_type": {"password"}}, http.StatusBadRequest, "unsupported_grant_type"},
		{"GET", http.MethodGet, [2]string{DefaultClientID, DefaultClientSecret}, nil, http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.ts.URL+TokenPath, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, body := e.do(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			switch {
			case tt.wantStatus == http.StatusOK:
				var tr simkit.TokenResponse
				if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn != 90 {
					t.Fatalf("token response %s, want a Bearer token expiring in 90 s", body)
				}
			case tt.wantError != "":
				var oe simkit.OAuthError
				if err := json.Unmarshal(body, &oe); err != nil || oe.Error != tt.wantError {
					t.Fatalf("error body %s, want error %q", body, tt.wantError)
				}
				if strings.Contains(string(body), "nope") {
					t.Fatalf("error body %s echoes the secret", body)
				}
			}
		})
	}
	// The env's own token plus the two above.
	if st := e.sim.Stats(); st.TokensIssued != 3 || st.TokensRejected != 4 {
		t.Errorf("Stats() = %+v, want 3 issued and 4 rejected", st)
	}
}

func TestSystemLogsAuth(t *testing.T) {
	e := newEnv(t, Config{TokenTTL: 10 * time.Second, StaticToken: "static-secret", UserIDs: []string{"svc@example.com", "other@example.com"}})
	e.sim.Append(TypeSystem, 1, testNow)
	expired := e.newToken()
	e.clock.Add(10 * time.Second)
	fresh := e.newToken()

	tests := []struct {
		name          string
		authorization string
		userID        string
		wantStatus    int
		wantCode      string
		wantChallenge bool
	}{
		{"issued token", "Bearer " + fresh, "svc@example.com", http.StatusOK, "", false},
		{"user id in other case", "Bearer " + fresh, "OTHER@example.com", http.StatusOK, "", false},
		{"static token", "Bearer static-secret", "svc@example.com", http.StatusOK, "", false},
		{"lower-case scheme", "bearer " + fresh, "svc@example.com", http.StatusOK, "", false},
		{"no Authorization", "", "svc@example.com", http.StatusUnauthorized, "MISSING_TOKEN", true},
		{"Basic scheme", "Basic " + fresh, "svc@example.com", http.StatusUnauthorized, "MISSING_TOKEN", true},
		{"empty bearer", "Bearer ", "svc@example.com", http.StatusUnauthorized, "MISSING_TOKEN", true},
		{"unknown token", "Bearer 0123456789", "svc@example.com", http.StatusUnauthorized, "INVALID_TOKEN", true},
		{"expired token", "Bearer " + expired, "svc@example.com", http.StatusUnauthorized, "EXPIRED_TOKEN", true},
		{"no X-user-id", "Bearer " + fresh, "", http.StatusUnauthorized, "MISSING_USER_ID", false},
		{"unknown X-user-id", "Bearer " + fresh, "intruder@example.com", http.StatusUnauthorized, "UNKNOWN_USER_ID", false},
	}
	var unauthorized int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := e.logsRequest("type=system")
			req.Header.Del("Authorization")
			req.Header.Del("X-user-id")
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			if tt.userID != "" {
				req.Header.Set("X-user-id", tt.userID)
			}
			resp, body := e.do(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == http.StatusOK {
				return
			}
			unauthorized++
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.ErrorCode != tt.wantCode {
				t.Fatalf("body %s, want errorCode %s", body, tt.wantCode)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.wantChallenge {
				t.Fatalf("WWW-Authenticate %q, want present: %v", resp.Header.Get("WWW-Authenticate"), tt.wantChallenge)
			}
		})
	}
	if got := e.sim.Stats().Unauthorized; got != unauthorized {
		t.Errorf("Stats().Unauthorized = %d, want %d", got, unauthorized)
	}
}

func TestTokenExpiresAfterTTL(t *testing.T) {
	e := newEnv(t, Config{TokenTTL: 5 * time.Second})
	if status, body := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("fresh token: status %d: %s", status, body)
	}
	e.clock.Add(4999 * time.Millisecond)
	if status, body := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("token 1 ms before expiry: status %d: %s", status, body)
	}
	e.clock.Add(time.Millisecond)
	if status, _ := e.get("type=item"); status != http.StatusUnauthorized {
		t.Fatalf("token at expiry: status %d, want 401", status)
	}
	e.token = e.newToken()
	if status, body := e.get("type=item"); status != http.StatusOK {
		t.Fatalf("renewed token: status %d: %s", status, body)
	}
}
