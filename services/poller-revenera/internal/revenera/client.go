package revenera

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/auditstream/auditstream/shared/config"
	"github.com/auditstream/auditstream/shared/httpx"
	"github.com/auditstream/auditstream/shared/utcday"
	"github.com/auditstream/auditstream/shared/zipcsv"
)

// Kind is one kind of raw data file: custom events or exceptions.
type Kind struct {
	// Stream is the stream's last name segment, e.g. custom-events.
	Stream string
	// Path is the API path segment, e.g. customEventTracking.
	Path string
	// Metric is the metric of the kind's events.
	Metric string
	// TimeColumns are the names of the time column, preferred first.
	TimeColumns []string
}

// The two kinds of raw data files.
var (
	CustomEvents = Kind{Stream: StreamCustomEvents, Path: "customEventTracking", Metric: MetricCustomEvent,
		TimeColumns: []string{"Event Time (UTC)", "Event Time", "Time (UTC)", "Time"}}
	Exceptions = Kind{Stream: StreamExceptions, Path: "exceptionTracking", Metric: MetricException,
		TimeColumns: []string{"Exception Time (UTC)", "Exception Time", "Time (UTC)", "Time"}}
)

// maxURLRenewals bounds the download URLs asked for one download: a URL
// that has expired (403) is replaced by a new one this many times.
const maxURLRenewals = 3

// timelineChunk is the most events one timeline request asks for.
const timelineChunk = 50

// Client calls the Reporting API through one Session. It is safe for
// concurrent use: every stream of the process reads through one Client.
type Client struct {
	api     *httpx.Client // authorized by session, with its jar
	dl      *httpx.Client // download URLs: no session, no cookies
	session *Session
	maxBody int64
	log     *slog.Logger

	renewals atomic.Int64
}

// ClientOptions are what NewClientFromConfig takes besides the
// configuration.
type ClientOptions struct {
	// HTTP tunes the HTTP clients. Its RateLimit is replaced by
	// REVENERA_RATE_LIMIT for the API calls; downloads are not limited.
	HTTP httpx.Config
	// Logger receives retries, logons and renewals. Default slog.Default().
	Logger *slog.Logger
	// Transport is the base transport. Default: a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Sleep waits between logon attempts. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewClientFromConfig returns the Client that cfg describes: one session
// of cfg's user, whose cookie jar and headers every API call carries.
func NewClientFromConfig(cfg *Config, o ClientOptions) (*Client, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	hcfg := o.HTTP
	hcfg.RateLimit = 0
	common := []httpx.Option{httpx.WithName(Vendor), httpx.WithLogger(o.Logger), httpx.WithTransport(o.Transport)}
	session := common
	if cfg.RateLimit > 0 {
		// One limiter for the logons and the API calls: the vendor
		// counts both.
		session = append(session[:len(session):len(session)], httpx.WithLimiter(rate.NewLimiter(rate.Limit(cfg.RateLimit), max(1, int(cfg.RateLimit)))))
	}
	logonHTTP := httpx.New(hcfg, append(session, httpx.WithCookieJar(jar))...)
	ses, err := NewSession(logonHTTP, SessionConfig{
		BaseURL: cfg.BaseURL, Username: cfg.Username, Password: cfg.Password,
		ReadPassword: config.Reader("REVENERA_PASSWORD", cfg.Password),
		Origin:       cfg.Origin, Client: cfg.Client, ClientVersion: cfg.UserAgentVersion(),
		Logger: o.Logger, Sleep: o.Sleep,
	})
	if err != nil {
		return nil, err
	}
	api := httpx.New(hcfg, append(session, httpx.WithCookieJar(jar), httpx.WithAuthorizer(ses))...)
	dl := httpx.New(hcfg, common...)
	maxBody := o.HTTP.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = httpx.DefaultMaxBodyBytes
	}
	return &Client{api: api, dl: dl, session: ses, maxBody: maxBody, log: o.Logger}, nil
}

// Session returns the client's session.
func (c *Client) Session() *Session { return c.session }

// URLRenewals returns the number of download URLs asked for again because
// the previous one had expired.
func (c *Client) URLRenewals() int64 { return c.renewals.Load() }

// call sends one API call, logging on first when there is no session, and
// returns the 2xx body. A POST carries body as JSON and is declared
// idempotent: every POST this package sends is a query.
func (c *Client) call(ctx context.Context, method string, u string, body any) ([]byte, error) {
	if err := c.session.Ensure(ctx); err != nil {
		return nil, err
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode request of %s: %w", httpx.RedactURLString(u), err)
		}
	}
	resp, err := c.api.Do(withCall(ctx), func(ctx context.Context) (*http.Request, error) {
		var req *http.Request
		var err error
		if payload != nil {
			req, err = http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		} else {
			req, err = http.NewRequestWithContext(ctx, method, u, nil)
		}
		if err != nil {
			return nil, err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
			httpx.Idempotent(req)
		}
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ListFiles lists kind's raw data files of product.
func (c *Client) ListFiles(ctx context.Context, kind Kind, product string) (Listing, error) {
	body, err := c.call(ctx, http.MethodGet, c.session.url("v3", kind.Path, "listFiles", product), nil)
	if err != nil {
		return Listing{}, fmt.Errorf("list the %s files of product %s: %w", kind.Stream, product, err)
	}
	l, err := DecodeListing(body)
	if err != nil {
		return Listing{}, fmt.Errorf("list the %s files of product %s: %w", kind.Stream, product, err)
	}
	return l, nil
}

// downloadURL asks for a download URL of a file.
func (c *Client) downloadURL(ctx context.Context, kind Kind, product, name string) (DownloadURL, error) {
	body, err := c.call(ctx, http.MethodPost, c.session.url("v3", kind.Path, "getDownloadUrl", product), map[string]string{"fileName": name})
	if err != nil {
		return DownloadURL{}, err
	}
	return DecodeDownloadURL(body)
}

// Download returns the ZIP of a file: it asks for a download URL and gets
// it without cookies; a URL refused with 403 (expired) is replaced by a
// new one, at most maxURLRenewals times. The archive is read whole into
// one buffer sized by the Content-Length (zipcsv.ReadAll), never grown by
// doubling. URLs appear in errors and logs with their signature redacted.
func (c *Client) Download(ctx context.Context, kind Kind, product, name string) ([]byte, error) {
	for renewal := 0; ; renewal++ {
		u, err := c.downloadURL(ctx, kind, product, name)
		if err != nil {
			return nil, fmt.Errorf("download %s: ask for its URL: %w", name, err)
		}
		var data []byte
		err = c.dl.DoStream(ctx, func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
		}, func(resp *http.Response) error {
			data, err = zipcsv.ReadAll(resp.Body, resp.ContentLength, c.maxBody)
			return err
		})
		if err == nil {
			return data, nil
		}
		if !httpx.IsStatus(err, http.StatusForbidden) || renewal >= maxURLRenewals {
			return nil, fmt.Errorf("download %s: %w", name, err)
		}
		c.renewals.Add(1)
		c.log.DebugContext(ctx, "revenera download URL refused, asking for a new one", "file", name, "expires_at", u.ExpiresAt, "renewal", renewal+1)
	}
}

// Events lists every tracked event of product, enabled or not.
func (c *Client) Events(ctx context.Context, product string) ([]TrackedEvent, error) {
	u := c.session.url("v3", "event-tracking", product) + "?" + url.Values{"flat": {"true"}, "showEvents": {"all"}}.Encode()
	body, err := c.call(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("list the tracked events of product %s: %w", product, err)
	}
	ev, err := DecodeEvents(body)
	if err != nil {
		return nil, fmt.Errorf("list the tracked events of product %s: %w", product, err)
	}
	return ev, nil
}

// reportEvent is one event of a timeline request.
type reportEvent struct {
	Category string `json:"category"`
	Name     string `json:"name"`
}

// Timeline returns the daily usage counts of events over r, asking for at
// most timelineChunk events per request; the series of every request are
// joined, and each request's dates must equal the first's.
func (c *Client) Timeline(ctx context.Context, product string, r utcday.Range, events []TrackedEvent) (Timeline, error) {
	var out Timeline
	for lo := 0; lo < len(events); lo += timelineChunk {
		chunk := events[lo:min(lo+timelineChunk, len(events))]
		req := struct {
			StartDate string        `json:"startDate"`
			StopDate  string        `json:"stopDate"`
			DateSplit string        `json:"dateSplit"`
			DataView  string        `json:"dataView"`
			Events    []reportEvent `json:"events"`
		}{r.From.String(), r.To.String(), "day", "usageCounts", make([]reportEvent, len(chunk))}
		for i, e := range chunk {
			req.Events[i] = reportEvent{e.Category, e.Name}
		}
		body, err := c.call(ctx, http.MethodPost, c.session.url("v3", "reporting", "eventTracking", "basic", "timeline", product), req)
		if err != nil {
			return Timeline{}, fmt.Errorf("timeline report of product %s for %s: %w", product, r, err)
		}
		t, err := DecodeTimeline(body)
		if err != nil {
			return Timeline{}, fmt.Errorf("timeline report of product %s for %s: %w", product, r, err)
		}
		if lo == 0 {
			out.Dates = t.Dates
		} else if !equalStrings(out.Dates, t.Dates) {
			return Timeline{}, fmt.Errorf("timeline report of product %s for %s: the dates of events %d.. differ from the first request's", product, r, lo)
		}
		out.Series = append(out.Series, t.Series...)
	}
	return out, nil
}

// DateRange returns the daily new, active and lost clients over r.
func (c *Client) DateRange(ctx context.Context, product string, r utcday.Range) (DateRange, error) {
	req := struct {
		StartDate    string   `json:"startDate"`
		StopDate     string   `json:"stopDate"`
		DateSplit    string   `json:"dateSplit"`
		ClientStatus []string `json:"clientStatus"`
	}{r.From.String(), r.To.String(), "day", ClientStatuses}
	body, err := c.call(ctx, http.MethodPost, c.session.url("v3", "reporting", "generic", "dateRange", product), req)
	if err != nil {
		return DateRange{}, fmt.Errorf("dateRange report of product %s for %s: %w", product, r, err)
	}
	d, err := DecodeDateRange(body)
	if err != nil {
		return DateRange{}, fmt.Errorf("dateRange report of product %s for %s: %w", product, r, err)
	}
	return d, nil
}

// ClientStatuses are the statuses the client-activity stream asks for.
var ClientStatuses = []string{"new", "active", "lost"}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
