package epm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
)

// DateLayout is the only date form the API takes: ISO 8601 in UTC, whole
// seconds, "Z" rather than an offset (a '+' is not allowed in URL values).
const DateLayout = "2006-01-02T15:04:05Z"

// setsPageSize is the Limit of each GET …/Sets.
const setsPageSize = 1000

// Client reads sets and their admin audit from the EPM server of one
// tenant. Every call goes to the session's manager URL through an
// httpx.Client that the session authorizes, and waits for the tenant's call
// budget first.
type Client struct {
	http    *httpx.Client
	session *Session
	budget  *httpx.Budget
	version string
}

// NewClient returns a Client. hc must be authorized by session (httpx
// WithAuthorizer); budget may be nil.
func NewClient(hc *httpx.Client, session *Session, budget *httpx.Budget, version string) *Client {
	return &Client{http: hc, session: session, budget: budget, version: version}
}

// ClientOptions are what NewClientFromConfig takes besides the
// configuration.
type ClientOptions struct {
	// HTTP tunes both HTTP clients (logon and API calls). Its RateLimit is
	// ignored: the call budget of EPM_RATE_LIMIT replaces it.
	HTTP httpx.Config
	// Logger receives retries and logons. Default slog.Default().
	Logger *slog.Logger
	// Transport is the base transport. Default: a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Clock tells the time for the session and the budget. Default time.Now.
	Clock func() time.Time
	// Sleep waits for the budget. Default: a timer. A test with a fake
	// clock passes a function that advances it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewClientFromConfig returns the Client that cfg describes: a session
// with cfg's credentials, and one call budget of EPM_RATE_LIMIT shared by
// the logons and the API calls, which counts every attempt sent.
func NewClientFromConfig(cfg *Config, o ClientOptions) (*Client, error) {
	limits, err := httpx.ParseLimits(cfg.RateLimit)
	if err != nil {
		return nil, fmt.Errorf("EPM_RATE_LIMIT: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	budget := httpx.NewBudget(limits, o.Clock, o.Sleep)
	hcfg := o.HTTP
	hcfg.RateLimit = 0
	rt := budget.RoundTripper(o.Transport)
	logonHTTP := httpx.New(hcfg, httpx.WithName(Vendor), httpx.WithLogger(o.Logger), httpx.WithTransport(rt))
	session, err := NewSession(logonHTTP, budget, SessionConfig{
		BaseURL: cfg.BaseURL, Version: cfg.APIVersion,
		Username: cfg.Username, Password: cfg.Password, ApplicationID: cfg.ApplicationID,
		Timeout: cfg.SessionTimeout, Clock: o.Clock, Logger: o.Logger,
		ReadPassword: config.Reader("EPM_PASSWORD", cfg.Password),
	})
	if err != nil {
		return nil, err
	}
	apiHTTP := httpx.New(hcfg, httpx.WithName(Vendor), httpx.WithLogger(o.Logger), httpx.WithTransport(rt), httpx.WithAuthorizer(session))
	return NewClient(apiHTTP, session, budget, cfg.APIVersion), nil
}

// Session returns the client's session.
func (c *Client) Session() *Session { return c.session }

// Budget returns the client's call budget (nil when it has none).
func (c *Client) Budget() *httpx.Budget { return c.budget }

// AuditQuery selects one page of a set's admin audit.
type AuditQuery struct {
	// SetID is the set.
	SetID string
	// From and To are DateFrom and DateTo, written in whole seconds
	// (DateLayout); a zero time leaves the bound out.
	From, To time.Time
	// Offset is the number of records to skip; Limit the page size.
	Offset, Limit int
}

// RawQuery returns the URL query of q, written without any escaping: the
// API rejects '+', '&' and '%' in URL values, and none of its values needs
// escaping.
func (q AuditQuery) RawQuery() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if !q.From.IsZero() {
		add("DateFrom", FormatDate(q.From))
	}
	if !q.To.IsZero() {
		add("DateTo", FormatDate(q.To))
	}
	add("Offset", strconv.Itoa(q.Offset))
	add("Limit", strconv.Itoa(q.Limit))
	return b.String()
}

// FormatDate writes t as DateLayout, truncated to the second.
func FormatDate(t time.Time) string { return t.UTC().Truncate(time.Second).Format(DateLayout) }

// errBadURLValue is returned for a set id the API could not take.
var errBadURLValue = errors.New("holds a character the EPM API does not accept in URLs ('+', '&', '%', '/', '?', '#' or white space)")

// checkPathValue reports whether v can be sent as a path segment without
// escaping.
func checkPathValue(v string) error {
	if v == "" || strings.ContainsAny(v, "+&%/?#\\ \t\r\n") {
		return errBadURLValue
	}
	return nil
}

// endpoint returns {manager}/EPM/API[/{version}]/{rest...}?{rawQuery}.
func (c *Client) endpoint(manager *url.URL, rawQuery string, rest ...string) string {
	u := manager.JoinPath(apiSegments(c.version, rest...)...)
	u.RawQuery = rawQuery
	return u.String()
}

// get sends a GET of the endpoint of rest with rawQuery to the manager and
// returns the body. The URL is rebuilt for every attempt, so that a retry
// after a re-logon goes to the new session's manager.
func (c *Client) get(ctx context.Context, rawQuery string, rest ...string) ([]byte, error) {
	// Log on first if needed, then take the call from the budget: the
	// request then goes out as soon as the budget lets it (building it
	// never waits for a logon), so that the budget records the call when
	// the vendor sees it.
	if _, err := c.session.Manager(ctx); err != nil {
		return nil, err
	}
	ctx = withCall(ctx)
	if c.budget != nil {
		var err error
		if ctx, err = c.budget.Prepay(ctx); err != nil {
			return nil, fmt.Errorf("wait for the EPM call budget: %w", err)
		}
	}
	resp, err := c.http.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		m, err := c.session.managerURL()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(m, rawQuery, rest...), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Sets returns every set the account can see, paging with Offset and Limit
// until SetsCount is reached.
func (c *Client) Sets(ctx context.Context) ([]Set, error) {
	var out []Set
	for offset := 0; ; {
		body, err := c.get(ctx, "Offset="+strconv.Itoa(offset)+"&Limit="+strconv.Itoa(setsPageSize), "Sets")
		if err != nil {
			return nil, fmt.Errorf("list epm sets at offset %d: %w", offset, err)
		}
		p, err := DecodeSets(body)
		if err != nil {
			return nil, fmt.Errorf("list epm sets at offset %d: %w", offset, err)
		}
		out = append(out, p.Sets...)
		offset += len(p.Sets)
		// A server that ignores paging answers every set at once with no
		// count; one that pages says how many there are.
		if len(p.Sets) == 0 || p.SetsCount == 0 || offset >= p.SetsCount {
			return out, nil
		}
	}
}

// AdminAudit fetches the page q selects.
func (c *Client) AdminAudit(ctx context.Context, q AuditQuery) (*AdminAuditPage, error) {
	if err := checkPathValue(q.SetID); err != nil {
		return nil, fmt.Errorf("fetch admin audit of set %q: set id %w", q.SetID, err)
	}
	body, err := c.get(ctx, q.RawQuery(), "Sets", q.SetID, "AdminAudit")
	if err != nil {
		return nil, fmt.Errorf("fetch admin audit of set %s offset %d: %w", q.SetID, q.Offset, err)
	}
	p, err := DecodeAuditPage(body)
	if err != nil {
		return nil, fmt.Errorf("fetch admin audit of set %s offset %d: %w", q.SetID, q.Offset, err)
	}
	return p, nil
}
