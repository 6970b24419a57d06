// Command httpcheck is the health check of the simulator images, which have
// no shell and no curl: it sends one GET request and exits 0 when the answer
// shows that the server is serving, 1 otherwise.
//
//	httpcheck [-timeout 3s] [-max-status 499] URL
//
// Any status up to -max-status counts as serving: a simulator answers 404
// for / and 401 without credentials, and both prove that its listener is up
// (a simulator listens only after it has generated its history).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run checks the URL given in args and returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "time limit of the request")
	maxStatus := fs.Int("max-status", 499, "highest HTTP status that counts as serving")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: httpcheck [-timeout 3s] [-max-status 499] URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := check(fs.Arg(0), *timeout, *maxStatus); err != nil {
		fmt.Fprintln(stderr, "httpcheck:", err)
		return 1
	}
	return 0
}

// check sends GET url and returns an error unless the status is at most
// maxStatus.
func check(url string, timeout time.Duration, maxStatus int) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", url, err)
	}
	// A transport of its own: no proxy from the environment, no pooled
	// connection left behind.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode > maxStatus {
		return fmt.Errorf("GET %s: status %d, want at most %d", url, resp.StatusCode, maxStatus)
	}
	return nil
}
