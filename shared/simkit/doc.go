// Package simkit holds what a faithful vendor API simulator needs besides
// the vendor's own behaviour: an OAuth2 client-credentials token endpoint
// with expiring tokens and a per-token rate limit answering 429 with
// Retry-After (Tokens), injected faults — queued failures, a random fault
// rate, slow responses (Faults) —, the vendor-neutral answers of a
// gateway or a limit (WriteJSON, WriteFailure), a debug log of every
// request (Logged), a history that keeps growing in the background (Grow,
// Start), and the main program of a simulator command: flags for the log
// level, JSON logs, a listener and a graceful shutdown on SIGINT or
// SIGTERM (NewLogger, Serve).
//
// The simulators of the pollers (plmsim, epmsim, avevasim) build on it;
// what their vendor does differently — paths, error bodies, sessions,
// paging — stays in each simulator.
package simkit
