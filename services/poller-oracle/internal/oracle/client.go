package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

// LoginReportPath is the path of the User Login Report.
const LoginReportPath = "/interop/rest/security/v1/report/userloginreport"

// ErrNotFound is wrapped by the error of a download or delete of a file
// that does not exist (404): not written yet, or already deleted.
var ErrNotFound = errors.New("no such file")

// APIError is an answer of the API that is not the one asked for: a
// non-2xx status, or a JSON error body where a file was expected. Status
// and Details are the vendor's members when the body had them.
type APIError struct {
	// Op says what was asked, e.g. "download auditstream-….csv".
	Op string
	// HTTPStatus is the HTTP status.
	HTTPStatus int
	// Status is the body's status member, or 0.
	Status int
	// Details is the body's details member, or the start of the body.
	Details string
	// Err is the underlying error (a *httpx.StatusError), if any.
	Err error
}

// Error describes the answer with the vendor's words.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.Op, e.HTTPStatus, http.StatusText(e.HTTPStatus))
	if e.Details != "" {
		s += fmt.Sprintf(" (status %d: %s)", e.Status, e.Details)
	}
	return s
}

// Unwrap returns the underlying error.
func (e *APIError) Unwrap() error { return e.Err }

// Is makes a 404 match ErrNotFound.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.HTTPStatus == http.StatusNotFound
}

// IsInvalidRange reports whether err is the vendor refusing a report's
// dates: a 400 whose details say the date range is invalid (a day older
// than the retention, in the future, or until before since).
func IsInvalidRange(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.HTTPStatus == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Details), "invalid date range")
}

// IsNameTaken reports whether err is the vendor refusing a submit because
// a file (or a running job) has its name.
func IsNameTaken(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.HTTPStatus == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Details), "already exists")
}

// Client calls the EPM Cloud REST API of one instance: the user audit
// report's submit, job status, download and delete, and the User Login
// Report.
type Client struct {
	http       *httpx.Client
	base       string
	apiVersion string
	lcmVersion string
	principal  string
	maxBody    int64
}

// ClientOptions are the optional parts of a Client.
type ClientOptions struct {
	// APIVersion and LCMVersion are the version segments. Defaults v1
	// and 11.1.2.3.600.
	APIVersion, LCMVersion string
	// Principal names the credentials in 401 errors, e.g. "user
	// acme.svc". Default "the configured credentials".
	Principal string
	// MaxBodyBytes caps a downloaded file. Default httpx's 64 MiB.
	MaxBodyBytes int64
}

// NewClient returns a client of the instance at baseURL that sends its
// requests with h (which holds the credentials).
func NewClient(h *httpx.Client, baseURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("oracle base URL %q is not an absolute URL", httpx.RedactURLString(baseURL))
	}
	c := &Client{http: h, base: strings.TrimRight(baseURL, "/"), apiVersion: opts.APIVersion, lcmVersion: opts.LCMVersion, principal: opts.Principal, maxBody: opts.MaxBodyBytes}
	if c.apiVersion == "" {
		c.apiVersion = DefaultAPIVersion
	}
	if c.lcmVersion == "" {
		c.lcmVersion = DefaultLCMVersion
	}
	if c.principal == "" {
		c.principal = "the configured credentials"
	}
	if c.maxBody <= 0 {
		c.maxBody = httpx.DefaultMaxBodyBytes
	}
	return c, nil
}

// NewClientFromConfig returns the client of cfg: its base URL, versions,
// credentials and rate limit, over hcfg (HTTP_TIMEOUT and friends).
func NewClientFromConfig(cfg *Config, hcfg httpx.Config, opts ...httpx.Option) (*Client, error) {
	hcfg.RateLimit = cfg.RateLimit
	opts = append([]httpx.Option{httpx.WithName(Vendor), httpx.WithAuthorizer(cfg.Authorizer(nil))}, opts...)
	return NewClient(httpx.New(hcfg, opts...), cfg.BaseURL, ClientOptions{
		APIVersion: cfg.APIVersion, LCMVersion: cfg.LCMVersion, Principal: cfg.Principal(), MaxBodyBytes: hcfg.MaxBodyBytes,
	})
}

// submitQuery is the q parameter of a submit.
type submitQuery struct {
	Type     string `json:"type"`
	FileName string `json:"fileName"`
	Since    string `json:"since"`
	Until    string `json:"until"`
}

// SubmitURL returns the URL of the submit of the report of since..until
// into fileName.
func (c *Client) SubmitURL(fileName string, since, until utcday.Day) string {
	q, _ := json.Marshal(submitQuery{Type: APIUserAuditReport, FileName: fileName, Since: since.String(), Until: until.String()})
	return c.base + "/interop/rest/" + url.PathEscape(c.apiVersion) + "/reports?q=" + url.QueryEscape(string(q))
}

// Submit asks for the user audit report of the days since..until, written
// to fileName, and returns the job's status URL as the answer gives it.
// The request is not idempotent (a second one would make a second job),
// so it is never retried after the server may have acted on it: such an
// error wraps httpx.ErrOutcomeUnknown, and the job may exist.
func (c *Client) Submit(ctx context.Context, fileName string, since, until utcday.Day) (string, error) {
	op := "submit user audit report " + fileName
	resp, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.SubmitURL(fileName, since, until), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return "", c.apiError(op, err)
	}
	st, err := DecodeJobStatus(resp.Body)
	if err != nil {
		// A 200 without a usable answer: the job may exist.
		return "", fmt.Errorf("%s: %w (%w)", op, err, httpx.ErrOutcomeUnknown)
	}
	if st.Failed() {
		return "", &APIError{Op: op, HTTPStatus: resp.StatusCode, Status: st.Status, Details: st.Details}
	}
	href := st.Link("Job Status")
	if href == "" {
		return "", fmt.Errorf("%s: the answer (status %d) has no Job Status link (%w)", op, st.Status, httpx.ErrOutcomeUnknown)
	}
	if u, err := url.Parse(href); err != nil || !u.IsAbs() {
		return "", fmt.Errorf("%s: Job Status link %q is not an absolute URL (%w)", op, httpx.RedactURLString(href), httpx.ErrOutcomeUnknown)
	}
	return href, nil
}

// JobStatus asks the job at href, the Job Status link of its submit
// (followed as given), how it stands.
func (c *Client) JobStatus(ctx context.Context, href string) (JobStatus, error) {
	op := "job status " + httpx.RedactURLString(href)
	resp, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return JobStatus{}, c.apiError(op, err)
	}
	st, err := DecodeJobStatus(resp.Body)
	if err != nil {
		return JobStatus{}, fmt.Errorf("%s: %w", op, err)
	}
	return st, nil
}

// snapshotURL returns the URL of a file in the snapshots, its name one
// escaped path segment (a space is %20, '/' is %2F).
func (c *Client) snapshotURL(fileName string) string {
	return c.base + "/interop/rest/" + url.PathEscape(c.lcmVersion) + "/applicationsnapshots/" + url.PathEscape(fileName)
}

// Download returns the ZIP archive of the file fileName, read whole into
// one buffer sized by Content-Length (zipcsv.ReadAll). A 404 wraps
// ErrNotFound; a JSON body instead of a file is an *APIError with the
// vendor's status and details.
func (c *Client) Download(ctx context.Context, fileName string) ([]byte, error) {
	op := "download " + fileName
	var data []byte
	err := c.http.DoStream(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.snapshotURL(fileName)+"/contents", nil)
	}, func(resp *http.Response) error {
		data = nil
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" || strings.HasSuffix(mt, "+json") {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			ae := &APIError{Op: op, HTTPStatus: resp.StatusCode}
			if st, err := DecodeJobStatus(body); err == nil {
				ae.Status, ae.Details = st.Status, st.Details
			} else {
				ae.Details = strings.TrimSpace(string(body))
			}
			return ae
		}
		b, err := zipcsv.ReadAll(resp.Body, resp.ContentLength, c.maxBody)
		if err != nil {
			return err
		}
		data = b
		return nil
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, c.apiError(op, err)
	}
	return data, nil
}

// Delete deletes the file fileName. A 404 wraps ErrNotFound.
func (c *Client) Delete(ctx context.Context, fileName string) error {
	_, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.snapshotURL(fileName), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return c.apiError("delete "+fileName, err)
	}
	return nil
}

// LoginReport returns the rows of the User Login Report of the days
// from..to.
func (c *Client) LoginReport(ctx context.Context, from, to utcday.Day) ([]Row, error) {
	op := "user login report " + from.String() + ".." + to.String()
	u := c.base + LoginReportPath + "?from_date=" + from.String() + "&to_date=" + to.String()
	resp, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return nil, c.apiError(op, err)
	}
	st, rows, err := DecodeLoginReport(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if st.Status != 0 {
		return nil, &APIError{Op: op, HTTPStatus: resp.StatusCode, Status: st.Status, Details: st.Details}
	}
	return rows, nil
}

// apiError turns a failed call's error into what the callers test: a 401
// into a message naming the credentials, a non-2xx answer into an
// *APIError with the body's status and details. Other errors (network,
// ErrOutcomeUnknown) are wrapped with op.
func (c *Client) apiError(op string, err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if se.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("oracle: 401 Unauthorized for %s: check %s: %w", c.principal, c.credentialHint(), err)
	}
	ae := &APIError{Op: op, HTTPStatus: se.StatusCode, Err: err}
	if st, derr := DecodeJobStatus([]byte(se.Body)); derr == nil {
		ae.Status, ae.Details = st.Status, st.Details
	}
	return ae
}

// credentialHint names the settings to check after a 401.
func (c *Client) credentialHint() string {
	if strings.HasPrefix(c.principal, "OAuth2") {
		return "ORACLE_CLIENT_ID/ORACLE_CLIENT_SECRET/ORACLE_SCOPE and that the client may call the instance"
	}
	return "ORACLE_USERNAME/ORACLE_PASSWORD/ORACLE_IDENTITY_DOMAIN (Basic does not work for users with MFA)"
}
