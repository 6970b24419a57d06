package main

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"
)

// vendor is one poller of the demo and its simulator.
type vendor struct {
	name   string
	binary string
	topics []string
	// startSim builds the simulator with history from start until now and
	// starts its live activity, owned by ctx.
	startSim func(ctx context.Context, start time.Time) (sim, error)
}

// sim is a running simulator: its handler and the poller settings that
// point at it.
type sim struct {
	handler http.Handler
	env     func(baseURL string) map[string]string
	// done, when not nil, closes once the simulator's background work
	// (owned by the ctx given to startSim) has stopped.
	done <-chan struct{}
}

// vendors are the demo's pollers, in name order. Each vendor_<name>.go file
// registers its own from init, so adding a vendor is one new file.
var vendors []vendor

// register adds v to vendors.
func register(v vendor) {
	vendors = append(vendors, v)
	sort.Slice(vendors, func(i, j int) bool { return vendors[i].name < vendors[j].name })
}

func selectVendors(only string) []vendor {
	if only == "" {
		return vendors
	}
	want := map[string]bool{}
	for _, v := range strings.Split(only, ",") {
		want[strings.TrimSpace(v)] = true
	}
	var out []vendor
	for _, v := range vendors {
		if want[v.name] {
			out = append(out, v)
		}
	}
	return out
}
