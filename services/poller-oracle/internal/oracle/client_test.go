package oracle

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/services/poller-oracle/oraclesim"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/utcday"
)

// TestSubmitIsNotRetried checks that a submit whose answer is a 5xx is
// not sent again by the HTTP client — exactly one job per submit attempt
// — and says its outcome is unknown; the job it made still writes its
// file.
func TestSubmitIsNotRetried(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{}, simNow)
	day := utcday.Of(simNow) - 1
	w.sim.LoseNextSubmits(1)
	_, err := w.client.Submit(t.Context(), "lost.csv", day, day)
	if !errors.Is(err, httpx.ErrOutcomeUnknown) {
		t.Fatalf("lost submit: %v, want ErrOutcomeUnknown", err)
	}
	w.sim.FailNext(1, http.StatusInternalServerError)
	if _, err := w.client.Submit(t.Context(), "failed.csv", day, day); !errors.Is(err, httpx.ErrOutcomeUnknown) {
		t.Fatalf("500 on submit: %v, want ErrOutcomeUnknown", err)
	}
	if jobs := w.sim.Jobs(); len(jobs) != 1 || !jobs[0].Lost {
		t.Fatalf("jobs %+v, want the lost one only", jobs)
	}
	_, err = w.client.Submit(t.Context(), "lost.csv", day, day)
	if !IsNameTaken(err) {
		t.Fatalf("second submit of a name: %v, want a name taken", err)
	}
	if _, err := w.client.Submit(t.Context(), "old.csv", day-200, day-200); !IsInvalidRange(err) {
		t.Fatalf("submit of an expired day: %v, want an invalid range", err)
	}
}

// TestReportLifecycle submits, polls the Job Status link as given, meets a
// 404 for a download before the job is done, downloads and deletes.
func TestReportLifecycle(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{}, simNow)
	day := utcday.Of(simNow) - 1
	w.sim.Generate(day.Start(), day.End(), 50)
	href, err := w.client.Submit(t.Context(), "r 1.csv", day, day)
	if err != nil || !strings.Contains(href, "/jobs/") {
		t.Fatalf("submit: %q, %v", href, err)
	}
	if _, err := w.client.Download(t.Context(), "r 1.csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("download before the job is done: %v, want ErrNotFound", err)
	}
	st, err := w.client.JobStatus(t.Context(), href)
	if err != nil || !st.Running() {
		t.Fatalf("job status: %+v, %v", st, err)
	}
	w.clock.Advance(10 * time.Second)
	if st, err = w.client.JobStatus(t.Context(), href); err != nil || !st.Done() {
		t.Fatalf("job status later: %+v, %v", st, err)
	}
	data, err := w.client.Download(t.Context(), "r 1.csv")
	if err != nil || len(data) < 100 {
		t.Fatalf("download: %d bytes, %v", len(data), err)
	}
	if err := w.client.Delete(t.Context(), "r 1.csv"); err != nil {
		t.Fatal(err)
	}
	if err := w.client.Delete(t.Context(), "r 1.csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if len(w.sim.Snapshots()) != 0 {
		t.Fatal("file left")
	}
}

// TestDownloadJSONError checks that a JSON body instead of a file is an
// error with the vendor's status and details.
func TestDownloadJSONError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":1,"details":"EPMCSS-99: no snapshot for you"}`))
	}))
	defer srv.Close()
	c, _ := NewClient(httpx.New(httpx.Config{}), srv.URL, ClientOptions{})
	_, err := c.Download(t.Context(), "x.csv")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 1 || !strings.Contains(err.Error(), "no snapshot for you") {
		t.Fatalf("download of a JSON body: %v", err)
	}
}

// TestAuthentication checks Basic with and without an identity domain,
// OAuth2 client credentials, and that a 401 names the user, never the
// password.
func TestAuthentication(t *testing.T) {
	w := newSimWorld(t, oraclesim.Config{IdentityDomain: "idcs-acme"}, simNow)
	day := utcday.Of(simNow)
	if _, err := w.client.LoginReport(t.Context(), day, day); err != nil {
		t.Fatalf("Basic with the domain: %v", err)
	}
	bad := w.newClient(t, NewBasic(oraclesim.DefaultUsername, oraclesim.DefaultPassword), "user "+oraclesim.DefaultUsername)
	_, err := bad.LoginReport(t.Context(), day, day)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized for user "+oraclesim.DefaultUsername) || !strings.Contains(err.Error(), "MFA") {
		t.Fatalf("Basic without the domain: %v", err)
	}
	wrong := w.newClient(t, NewBasic("idcs-acme."+oraclesim.DefaultUsername, "wrong-password-123"), "user idcs-acme."+oraclesim.DefaultUsername)
	_, err = wrong.Submit(t.Context(), "x.csv", day, day)
	if err == nil || strings.Contains(err.Error(), "wrong-password-123") || !strings.Contains(err.Error(), "idcs-acme."+oraclesim.DefaultUsername) {
		t.Fatalf("wrong password: %v", err)
	}

	plain := newSimWorld(t, oraclesim.Config{}, simNow)
	if _, err := plain.client.LoginReport(t.Context(), day, day); err != nil {
		t.Fatalf("Basic without a domain: %v", err)
	}
	cfg := Config{ClientID: oraclesim.DefaultClientID, ClientSecret: oraclesim.DefaultClientSecret, TokenURL: plain.url + oraclesim.TokenPath}
	oauth := plain.newClient(t, cfg.Authorizer(nil), cfg.Principal())
	if _, err := oauth.LoginReport(t.Context(), day, day); err != nil {
		t.Fatalf("OAuth2: %v", err)
	}
	if plain.sim.Stats().TokensIssued != 1 {
		t.Fatalf("tokens issued: %d", plain.sim.Stats().TokensIssued)
	}
}
