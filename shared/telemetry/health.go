package telemetry

import (
	"sync"
)

// Components a poller depends on, for [NewHealth] and [Health.Set].
const (
	ComponentKafka    = "kafka"
	ComponentRegistry = "registry"
)

// reasonNotReached is the readiness reason of a component never reported.
const reasonNotReached = "not reached yet"

// Health tracks readiness. A process is ready when every component has been
// reached successfully and the last report of each was a success: a
// component never reported, or whose last report was an error, is not ready.
// A Health is safe for concurrent use.
type Health struct {
	mu         sync.Mutex
	components []string         // in registration order
	last       map[string]error // absent: never reported
}

// NewHealth returns a Health that waits for each of components, for example
// ComponentKafka and ComponentRegistry. With no components,
// it is always ready.
func NewHealth(components ...string) *Health {
	h := &Health{last: make(map[string]error, len(components))}
	for _, c := range components {
		h.add(c)
	}
	return h
}

// Set records the outcome of the latest attempt to reach component: nil for
// success, else the error, whose text /readyz shows (it must hold no secret).
// A component not given to NewHealth is added, and counts from then on.
func (h *Health) Set(component string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(component)
	h.last[component] = err
}

// Expect registers component as needed for readiness, not reached yet
// unless it was reported before.
func (h *Health) Expect(component string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(component)
}

// Ready reports whether every component is ready and, for each one that is
// not, why: "not reached yet" or its last error's text. The map is empty
// when ready.
func (h *Health) Ready() (bool, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	notReady := make(map[string]string)
	for _, c := range h.components {
		err, reported := h.last[c]
		switch {
		case !reported:
			notReady[c] = reasonNotReached
		case err != nil:
			notReady[c] = err.Error()
		}
	}
	return len(notReady) == 0, notReady
}

// add registers component once; h.mu must be held, or h not yet shared.
func (h *Health) add(component string) {
	for _, c := range h.components {
		if c == component {
			return
		}
	}
	h.components = append(h.components, component)
}
