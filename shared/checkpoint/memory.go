package checkpoint

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStore is a Store in memory, for tests. A Save goes through the
// encoding KafkaStore writes, so both stores return the same values.
type MemoryStore struct {
	backing *memoryBacking
	now     func() time.Time

	mu    sync.RWMutex // guards state
	state *table
}

// memoryBacking plays the topic: the stores of one backing read it when
// opened and write through to it.
type memoryBacking struct {
	mu    sync.Mutex
	state *table
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{backing: &memoryBacking{state: newTable()}, now: time.Now, state: newTable()}
}

// Reopen returns a new MemoryStore on the backing data of m, as a restarted
// process would find it: it holds every checkpoint saved so far through m or
// any other store reopened from it. Like a KafkaStore, each store serves
// what it loaded plus its own writes.
func (m *MemoryStore) Reopen() *MemoryStore {
	m.backing.mu.Lock()
	defer m.backing.mu.Unlock()
	return &MemoryStore{backing: m.backing, now: m.now, state: m.backing.state.clone()}
}

// Get returns the checkpoint of stream, or ErrNotFound.
func (m *MemoryStore) Get(ctx context.Context, stream string) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, fmt.Errorf("get checkpoint %q: %w", stream, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	cp, err := m.state.get(stream)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("get checkpoint %q: %w", stream, err)
	}
	return cp, nil
}

// List returns every checkpoint, ordered by stream.
func (m *MemoryStore) List(ctx context.Context) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	cps, err := m.state.list()
	if err != nil {
		return cps, fmt.Errorf("list checkpoints: %w", err)
	}
	return cps, nil
}

// Save stores cp as the checkpoint of cp.Stream.
func (m *MemoryStore) Save(ctx context.Context, cp Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save checkpoint %q: %w", cp.Stream, err)
	}
	value, err := encode(cp, m.now())
	if err != nil {
		return fmt.Errorf("save checkpoint %q: %w", cp.Stream, err)
	}
	m.set(cp.Stream, value)
	return nil
}

// Reset deletes the checkpoint of stream.
func (m *MemoryStore) Reset(ctx context.Context, stream string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reset checkpoint %q: %w", stream, err)
	}
	if stream == "" {
		return fmt.Errorf("reset checkpoint %q: empty stream name", stream)
	}
	m.set(stream, nil)
	return nil
}

// set writes value (nil: a reset) to the backing data and to m's state.
func (m *MemoryStore) set(stream string, value []byte) {
	m.backing.mu.Lock()
	defer m.backing.mu.Unlock()
	m.backing.state.set(stream, value)
	m.mu.Lock()
	m.state.set(stream, value)
	m.mu.Unlock()
}
