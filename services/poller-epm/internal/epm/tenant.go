package epm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
)

// Reader lists a tenant's sets and reads their admin audit; *Client is one.
// It must be safe for concurrent use: the streams of every set of a tenant
// read through one Reader at once.
type Reader interface {
	AuditReader
	Sets(ctx context.Context) ([]Set, error)
}

// TenantConfig configures a Tenant.
type TenantConfig struct {
	// Tenant names the streams and is the events' tenant_id. Required.
	Tenant string
	// Topic receives the events. Required.
	Topic string
	// Start is where a set without checkpoint begins, inclusive
	// (START_TIME).
	Start time.Time
	// SafetyLag keeps windows this far behind the clock.
	SafetyLag time.Duration
	// MaxWindow is the widest window one scan covers. Default 7 days.
	MaxWindow time.Duration
	// PageSize is the Limit of each request. Default MaxPageSize.
	PageSize int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives set discoveries and the sources' warnings. Default
	// slog.Default().
	Logger *slog.Logger
}

// Tenant builds the streams of one EPM tenant: one per set, each with its
// own checkpoint, all reading through the tenant's one Reader, so that they
// share its session and its call budget.
type Tenant struct {
	reader Reader
	cfg    TenantConfig

	mu    sync.Mutex
	known map[string]bool // set ids found or refused, to log each once
}

// NewTenant returns the Tenant of cfg reading through r.
func NewTenant(r Reader, cfg TenantConfig) *Tenant {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Tenant{reader: r, cfg: cfg, known: map[string]bool{}}
}

// NewTenant returns the Tenant that c describes, reading through r,
// starting sets at start and lagging lag behind the clock.
func (c *Config) NewTenant(r Reader, start time.Time, lag time.Duration, log *slog.Logger) *Tenant {
	return NewTenant(r, TenantConfig{
		Tenant: c.Tenant, Topic: c.Topic, Start: start, SafetyLag: lag,
		MaxWindow: c.MaxWindow, PageSize: c.PageSize, Logger: log,
	})
}

// Stream returns the stream of set id.
func (t *Tenant) Stream(id string) pipeline.Stream {
	return pipeline.Stream{
		Source: NewSource(t.reader, SourceConfig{
			Tenant: t.cfg.Tenant, SetID: id, Start: t.cfg.Start, SafetyLag: t.cfg.SafetyLag,
			MaxWindow: t.cfg.MaxWindow, PageSize: t.cfg.PageSize, Clock: t.cfg.Clock, Logger: t.cfg.Logger,
		}),
		Normalize: NewNormalizer(t.cfg.Tenant, id),
		Topic:     t.cfg.Topic,
		Schema:    event.AuditSchema,
		Vendor:    Vendor,
		Tenant:    t.cfg.Tenant,
	}
}

// Streams returns the streams of the sets ids (EPM_SET_IDS), in order.
func (t *Tenant) Streams(ids []string) []pipeline.Stream {
	out := make([]pipeline.Stream, 0, len(ids))
	for _, id := range ids {
		out = append(out, t.Stream(id))
	}
	return out
}

// Discover lists the sets the account can see (GET …/Sets) and returns one
// stream per set, sorted by set id; it is the pipeline's DiscoverFunc. The
// pipeline starts the streams of sets it does not run yet, each from its
// checkpoint or START_TIME, and ignores the others. A set whose id could
// not be sent in a URL unescaped is left out, with an error logged once.
func (t *Tenant) Discover(ctx context.Context) ([]pipeline.Stream, error) {
	sets, err := t.reader.Sets(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover the sets of epm tenant %s: %w", t.cfg.Tenant, err)
	}
	slices.SortFunc(sets, func(a, b Set) int { return strings.Compare(a.ID, b.ID) })
	sets = slices.CompactFunc(sets, func(a, b Set) bool { return a.ID == b.ID })
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]pipeline.Stream, 0, len(sets))
	for _, set := range sets {
		ok := setIDPattern.MatchString(set.ID)
		if !t.known[set.ID] {
			t.known[set.ID] = true
			if ok {
				t.cfg.Logger.InfoContext(ctx, "epm set found", "set", set.ID, "set_name", set.Name, "stream", StreamName(t.cfg.Tenant, set.ID))
			} else {
				t.cfg.Logger.ErrorContext(ctx, "epm set not polled: its id cannot be sent in a URL", "set", set.ID, "set_name", set.Name)
			}
		}
		if ok {
			out = append(out, t.Stream(set.ID))
		}
	}
	return out, nil
}
