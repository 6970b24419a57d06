package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
		case "/fault":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"not found counts as serving", []string{srv.URL + "/"}, 0},
		{"unauthorized counts as serving", []string{srv.URL + "/unauthorized"}, 0},
		{"server error fails", []string{srv.URL + "/fault"}, 1},
		{"max-status narrows", []string{"-max-status", "299", srv.URL + "/unauthorized"}, 1},
		{"timeout fails", []string{"-timeout", "50ms", srv.URL + "/slow"}, 1},
		{"nothing listening fails", []string{closed}, 1},
		{"no URL is a usage error", nil, 2},
		{"two URLs are a usage error", []string{srv.URL, srv.URL}, 2},
		{"unknown flag is a usage error", []string{"-x", srv.URL}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := run(tt.args, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d; stderr: %s", tt.args, got, tt.want, stderr.String())
			}
		})
	}
}
