package aveva

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/httpx"
)

// Paths of the Report data REST API below the base URL.
const (
	UsagePathPrefix = "/reports/v1/integration/"
	AuditPath       = "/reports/v1/audit"
)

// Client reads the reports of one AVEVA CONNECT account through an
// httpx.Client, which authorizes, rate-limits and retries the requests.
type Client struct {
	http        *httpx.Client
	base        *url.URL
	usageParams string
}

// NewClient returns a Client of the API at baseURL. usageParams is
// ParamsInBody or ParamsInQuery: where the usage reports' parameters go.
// hc carries the authorization.
func NewClient(hc *httpx.Client, baseURL, usageParams string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		// The parse error would quote the URL, which may hold credentials.
		return nil, fmt.Errorf("aveva base URL %q is not an absolute http(s) URL", httpx.RedactURLString(baseURL))
	}
	if usageParams != ParamsInBody && usageParams != ParamsInQuery {
		return nil, fmt.Errorf("aveva usage parameters must go in %q or %q, not %q", ParamsInBody, ParamsInQuery, usageParams)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return &Client{http: hc, base: u, usageParams: usageParams}, nil
}

// NewClientFromConfig returns the Client that cfg describes. It builds its
// httpx.Client from hcfg and opts, adding the authorizer of cfg's
// credentials, cfg's rate limit and the name "aveva".
func NewClientFromConfig(cfg *Config, hcfg httpx.Config, opts ...httpx.Option) (*Client, error) {
	hcfg.RateLimit = cfg.RateLimit
	opts = append([]httpx.Option{httpx.WithName(Vendor), httpx.WithAuthorizer(cfg.Authorizer(nil))}, opts...)
	return NewClient(httpx.New(hcfg, opts...), cfg.BaseURL, cfg.UsageParams)
}

// Query selects the records of one report in one window.
type Query struct {
	// Report is the report read.
	Report Report
	// From and To are the window's bounds, sent in UTC whole seconds.
	From, To time.Time
	// Params are the report's optional parameters (filters, locale); the
	// audit report's range and offset are added by the client.
	Params map[string]string
}

// values returns every parameter of q: its dates, the audit report's range
// and offset=0 (times in the response are UTC), and Params.
func (q Query) values() map[string]string {
	v := make(map[string]string, len(q.Params)+4)
	for k, p := range q.Params {
		v[k] = p
	}
	from, to := q.From.UTC().Format(DateTimeLayout), q.To.UTC().Format(DateTimeLayout)
	if q.Report.Audit {
		v[ParamRange], v[ParamFrom], v[ParamTo], v[ParamOffset] = RangeCustom, from, to, "0"
	} else {
		v[ParamFromDate], v[ParamToDate] = from, to
	}
	return v
}

// Request returns the method, URL and body (nil for none) of q.
func (c *Client) Request(q Query) (method, rawURL string, body []byte) {
	v := q.values()
	if q.Report.Audit {
		return http.MethodGet, c.endpoint(AuditPath) + "?" + encodeQuery(v), nil
	}
	u := c.endpoint(UsagePathPrefix + url.PathEscape(q.Report.Name))
	if c.usageParams == ParamsInQuery {
		return http.MethodPost, u + "?" + encodeQuery(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Unreachable: a map of strings always encodes.
		panic(fmt.Sprintf("aveva: encode request body: %v", err))
	}
	return http.MethodPost, u, b
}

// endpoint returns the base URL joined with path.
func (c *Client) endpoint(path string) string {
	return strings.TrimSuffix(c.base.String(), "/") + path
}

// encodeQuery encodes v sorted by name, with spaces as %20 (not every
// server decodes '+' as a space).
func encodeQuery(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(v[k]), "+", "%20"))
	}
	return b.String()
}

// Records fetches the records of q, decoding the response as a stream
// (DecodeRecords). With limit > 0 it stops reading after limit records.
// Each record is a copy of its bytes.
func (c *Client) Records(ctx context.Context, q Query, limit int) ([]json.RawMessage, error) {
	method, rawURL, body := c.Request(q)
	var out []json.RawMessage
	err := c.http.DoStream(ctx, func(ctx context.Context) (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		// A usage report is a query sent as a POST: safe to repeat.
		return httpx.Idempotent(req), nil
	}, func(resp *http.Response) error {
		// A retried attempt starts over: drop what a failed one read.
		clear(out)
		out = out[:0]
		_, _, err := DecodeRecords(resp.Body, func(raw json.RawMessage) bool {
			out = append(out, raw)
			return limit <= 0 || len(out) < limit
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch aveva %s %s to %s: %w", q.Report.Name,
			q.From.UTC().Format(DateTimeLayout), q.To.UTC().Format(DateTimeLayout), err)
	}
	return out, nil
}
