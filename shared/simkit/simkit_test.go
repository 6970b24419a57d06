package simkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaultsQueueBeforeRandom(t *testing.T) {
	f := NewFaults(FaultConfig{Seed: 1, Rate: 1, Statuses: []int{500}})
	f.FailNext(1, 502)
	f.FailNext(1, 429)
	f.SlowNext(1, time.Second)
	for i, want := range []struct {
		status int
		delay  time.Duration
	}{{502, time.Second}, {429, 0}, {500, 0}} {
		if status, delay := f.Next(); status != want.status || delay != want.delay {
			t.Fatalf("request %d: %d after %s, want %d after %s", i, status, delay, want.status, want.delay)
		}
	}
	if status, _ := NewFaults(FaultConfig{}).Next(); status != 0 {
		t.Fatalf("no faults configured, got %d", status)
	}
}

func TestTokensIssueExpireAndLimit(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := NewTokens(TokenConfig{Realm: "sim", ClientID: "id", ClientSecret: "secret", TTL: time.Minute, RateLimit: 1, Clock: func() time.Time { return now }})
	issue := func(secret string) (*httptest.ResponseRecorder, string) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"id"}, "client_secret": {secret}}
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		tok.ServeHTTP(rec, req)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec, body.AccessToken
	}
	if rec, _ := issue("wrong"); rec.Code != http.StatusUnauthorized || tok.Rejected() != 1 {
		t.Fatalf("wrong secret: %d, %d rejected", rec.Code, tok.Rejected())
	}
	rec, token := issue("secret")
	if rec.Code != http.StatusOK || token == "" || tok.Issued() != 1 {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	state := func(h string) TokenState {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		_, s := tok.Authenticate(httptest.NewRecorder(), req)
		return s
	}
	if s := state("Bearer " + token); s != TokenValid {
		t.Fatalf("fresh token: state %d", s)
	}
	if _, limited := tok.Limit(token); limited {
		t.Fatal("first request limited")
	}
	if d, limited := tok.Limit(token); !limited || d != 1 {
		t.Fatalf("second request in the same instant: limited %v, retry after %d", limited, d)
	}
	if s := state(""); s != TokenMissing {
		t.Fatalf("no token: state %d", s)
	}
	if s := state("Bearer nope"); s != TokenUnknown {
		t.Fatalf("unknown token: state %d", s)
	}
	now = now.Add(time.Minute)
	if s := state("Bearer " + token); s != TokenExpired {
		t.Fatalf("token at its expiry: state %d", s)
	}
}

func TestWriteFailure(t *testing.T) {
	for _, tc := range []struct {
		status     int
		written    bool
		retryAfter string
	}{{429, false, "1"}, {503, false, "1"}, {502, true, ""}, {504, true, ""}, {500, false, ""}} {
		rec := httptest.NewRecorder()
		if got := WriteFailure(rec, tc.status); got != tc.written || rec.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%d: written %v, Retry-After %q", tc.status, got, rec.Header().Get("Retry-After"))
		}
		if tc.written && (rec.Code != tc.status || !strings.Contains(rec.Body.String(), "<html>")) {
			t.Errorf("%d: answered %d %q", tc.status, rec.Code, rec.Body)
		}
	}
}
