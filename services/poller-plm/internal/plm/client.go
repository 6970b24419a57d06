package plm

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
)

// SortTimestampAsc is the sort every scan requests: oldest row first, rows
// of one instant in the log's stable order.
const SortTimestampAsc = "timestamp asc"

// Client reads the system logs of one tenant through an httpx.Client, which
// authorizes, rate-limits and retries the requests.
type Client struct {
	http     *httpx.Client
	endpoint string // {BaseURL}/api/v3/tenants/{Tenant}/system-logs
	userID   string
}

// NewClient returns a Client of tenant at baseURL (the API root). userID is
// sent as X-user-id when not empty. hc carries the authorization.
func NewClient(hc *httpx.Client, baseURL, tenant, userID string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		// The parse error would quote the URL, which may hold credentials.
		return nil, fmt.Errorf("plm base URL %q is not an absolute http(s) URL", httpx.RedactURLString(baseURL))
	}
	if tenant == "" {
		return nil, fmt.Errorf("plm tenant is empty")
	}
	u.RawQuery, u.Fragment = "", ""
	u = u.JoinPath("api", "v3", "tenants", tenant, "system-logs")
	return &Client{http: hc, endpoint: u.String(), userID: userID}, nil
}

// NewClientFromConfig returns the Client that cfg describes. It builds its
// httpx.Client from hcfg and opts, adding the authorizer of cfg's
// credentials (client credentials or a static token) and the name "plm".
func NewClientFromConfig(cfg *Config, hcfg httpx.Config, opts ...httpx.Option) (*Client, error) {
	hcfg.RateLimit = cfg.RateLimit
	opts = append([]httpx.Option{httpx.WithName(Vendor), httpx.WithAuthorizer(cfg.Authorizer(nil))}, opts...)
	return NewClient(httpx.New(hcfg, opts...), cfg.BaseURL, cfg.Tenant, cfg.UserID)
}

// Authorizer returns the authorizer of cfg's credentials: a static bearer
// token when PLM_ACCESS_TOKEN is set, else APS client credentials fetched
// from PLM_TOKEN_URL with base (nil means a default client). A secret
// given as a file is read again after a 401 (a rotated Secret).
func (c *Config) Authorizer(base *http.Client) httpx.Authorizer {
	if c.AccessToken != "" {
		return httpx.NewStaticToken("Bearer", c.AccessToken, nil).WithReload(config.Reader("PLM_ACCESS_TOKEN", c.AccessToken))
	}
	return httpx.NewClientCredentials(c.TokenURL, c.ClientID, c.ClientSecret, c.Scopes, nil, base).
		WithSecretReload(config.Reader("PLM_CLIENT_SECRET", c.ClientSecret))
}

// Query selects one page of a system log.
type Query struct {
	// Type is the log type, LogTypeItem or LogTypeSystem.
	Type string
	// Offset is the number of rows of the result set to skip.
	Offset int
	// Limit is the page size.
	Limit int
	// FromDate and ToDate are whole days (YYYY-MM-DD) in the tenant's zone,
	// both inclusive; empty leaves the bound out.
	FromDate, ToDate string
}

// values returns the URL query of q, sorted by timestamp ascending.
func (q Query) values() url.Values {
	v := url.Values{}
	v.Set("type", q.Type)
	v.Set("offset", strconv.Itoa(q.Offset))
	v.Set("limit", strconv.Itoa(q.Limit))
	v.Set("sort", SortTimestampAsc)
	if q.FromDate != "" {
		v.Set("filter[from.date]", q.FromDate)
	}
	if q.ToDate != "" {
		v.Set("filter[to.date]", q.ToDate)
	}
	return v
}

// URL returns the request URL of q. Spaces are encoded as %20 rather than
// '+', which not every server decodes as a space.
func (c *Client) URL(q Query) string {
	// Encode escapes a literal '+' as %2B, so every '+' left is a space.
	return c.endpoint + "?" + strings.ReplaceAll(q.values().Encode(), "+", "%20")
}

// SystemLogs fetches the page q selects.
func (c *Client) SystemLogs(ctx context.Context, q Query) (*SystemLogsPage, error) {
	rawURL := c.URL(q)
	resp, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if c.userID != "" {
			req.Header.Set("X-user-id", c.userID)
		}
		return req, nil
	})
	if err != nil {
		return nil, fmt.Errorf("fetch system logs %s offset %d: %w", q.Type, q.Offset, err)
	}
	p, err := DecodePage(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch system logs %s offset %d: %w", q.Type, q.Offset, err)
	}
	return p, nil
}
