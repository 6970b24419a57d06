package revenera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// DiscoveryInterval is the time between two looks at the products of the
// logon answer when REVENERA_PRODUCT_IDS is empty.
const DiscoveryInterval = 10 * time.Minute

// discoverBudget bounds how long one discovery retries a failed logon
// before it reports the error (and the pipeline tries again after
// DiscoveryInterval).
const discoverBudget = 3 * time.Minute

// Reader is everything the streams of an account read; *Client is one.
type Reader interface {
	FileReader
	ReportReader
}

// AccountConfig configures an Account.
type AccountConfig struct {
	// Tenant is the events' tenant_id and part of their ids. Required.
	Tenant string
	// Topic receives the events. Required.
	Topic string
	// Streams are the streams of each product (REVENERA_STREAMS).
	// Default AllStreams.
	Streams []string
	// Start is where a stream without checkpoint begins (START_TIME).
	Start time.Time
	// SafetyLag delays the reports' closed days.
	SafetyLag time.Duration
	// ReportDays is the widest report range. Default MaxReportDays.
	ReportDays int
	// PageRows is the most rows of a file page. Default DefaultPageRows.
	PageRows int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives discoveries and the sources' records. Default
	// slog.Default().
	Logger *slog.Logger
}

// Account builds the streams of one Usage Intelligence account: for each
// product, the streams of AccountConfig.Streams, all reading through one
// Reader (one session).
type Account struct {
	reader   Reader
	products func(ctx context.Context) ([]Product, error)
	cfg      AccountConfig

	mu    sync.Mutex
	known map[string]bool
}

// NewAccount returns the Account of cfg reading through r; products lists
// the products for Discover (a Session's Products) and may be nil when
// Discover is not used.
func NewAccount(r Reader, products func(ctx context.Context) ([]Product, error), cfg AccountConfig) *Account {
	if len(cfg.Streams) == 0 {
		cfg.Streams = AllStreams
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Account{reader: r, products: products, cfg: cfg, known: map[string]bool{}}
}

// Streams returns the streams of product, in the order of
// AccountConfig.Streams.
func (a *Account) Streams(product string) []pipeline.Stream {
	var out []pipeline.Stream
	for _, name := range a.cfg.Streams {
		var src pipeline.Source
		var norm pipeline.Normalizer
		switch name {
		case StreamCustomEvents, StreamExceptions:
			kind := CustomEvents
			if name == StreamExceptions {
				kind = Exceptions
			}
			src = NewFileSource(a.reader, FileSourceConfig{Product: product, Kind: kind, Start: a.cfg.Start, PageRows: a.cfg.PageRows, Clock: a.cfg.Clock, Logger: a.cfg.Logger})
			norm = NewFileNormalizer(a.cfg.Tenant, product, kind)
		case StreamEventUsage, StreamClientActivity:
			src = NewReportSource(a.reader, ReportSourceConfig{Product: product, Stream: name, Start: a.cfg.Start, SafetyLag: a.cfg.SafetyLag, Days: a.cfg.ReportDays, Clock: a.cfg.Clock, Logger: a.cfg.Logger})
			norm = NewReportNormalizer(a.cfg.Tenant, product, name)
		default:
			continue
		}
		out = append(out, pipeline.Stream{Source: src, Normalize: norm, Topic: a.cfg.Topic, Schema: event.UsageSchema, Vendor: Vendor, Tenant: a.cfg.Tenant})
	}
	return out
}

// StreamsOf returns the streams of every product of ids, in order.
func (a *Account) StreamsOf(ids []string) []pipeline.Stream {
	var out []pipeline.Stream
	for _, id := range ids {
		out = append(out, a.Streams(id)...)
	}
	return out
}

// Discover returns the streams of every product of the logon answer; it is
// the pipeline's DiscoverFunc. It logs on when there is no session,
// retrying a failed logon with backoff for a few minutes; a logon refused
// for the credentials is returned at once.
func (a *Account) Discover(ctx context.Context) ([]pipeline.Stream, error) {
	if a.products == nil {
		return nil, errors.New("revenera: no product list to discover from")
	}
	var products []Product
	rctx, cancel := context.WithTimeout(ctx, discoverBudget)
	defer cancel()
	err := pipeline.Retry(rctx, time.Second, 30*time.Second, func() error {
		var err error
		products, err = a.products(rctx)
		return err
	}, func(err error, attempt int, wait time.Duration) {
		a.cfg.Logger.WarnContext(ctx, "revenera product discovery failed, retrying", "attempt", attempt, "wait", wait, "error", err)
	})
	if err != nil {
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			err = perm.Err
		}
		return nil, fmt.Errorf("discover the products of revenera account %s: %w", a.cfg.Tenant, err)
	}
	ids := make([]string, 0, len(products))
	a.mu.Lock()
	for _, p := range products {
		if !a.known[p.ID] {
			a.known[p.ID] = true
			a.cfg.Logger.InfoContext(ctx, "revenera product found", "product", p.ID, "product_name", p.Name)
		}
		ids = append(ids, p.ID)
	}
	a.mu.Unlock()
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return a.StreamsOf(ids), nil
}
