package httpx

import (
	"net/url"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://api.example.com/v1/logs?page=2&size=100", "https://api.example.com/v1/logs?page=2&size=100"},
		{"https://u:p@api.example.com/x", "https://api.example.com/x"},
		{"https://api.example.com/x?access_token=a&page=2#frag", "https://api.example.com/x?access_token=REDACTED&page=2"},
		{"https://api.example.com/x?api_key=a&apiKey=b&client_secret=c&password=d", "https://api.example.com/x?api_key=REDACTED&apiKey=REDACTED&client_secret=REDACTED&password=REDACTED"},
		{"https://s3.example.com/f?X-Amz-Signature=a&sig=b&code=c&Auth=d", "https://s3.example.com/f?X-Amz-Signature=REDACTED&sig=REDACTED&code=REDACTED&Auth=REDACTED"},
		{"https://api.example.com/x?tok%65n=a&from=2024-01-01T00%3A00%3A00Z", "https://api.example.com/x?tok%65n=REDACTED&from=2024-01-01T00%3A00%3A00Z"},
		{"https://api.example.com/x?token", "https://api.example.com/x?token=REDACTED"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != tt.want {
			t.Errorf("RedactURL(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := RedactURLString("http://a b/?token=x\x7f"); got != "<unparsable URL>" {
		t.Errorf("RedactURLString of a bad URL = %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"Wed, 01 May 2024 12:00:30 GMT", 30 * time.Second},
		{"Wed, 01 May 2024 11:59:00 GMT", 0},
		{"99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{Method: "GET", URL: "https://host/path?x=1", StatusCode: 503, Body: "busy"},
			"GET https://host/path?x=1: 503 Service Unavailable: busy"},
		{&StatusError{Method: "POST", URL: "https://host/", StatusCode: 404},
			"POST https://host/: 404 Not Found"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if got := cleanSnippet([]byte("  line1\nline2\x00\xff ")); got != "line1 line2 \uFFFD" {
		t.Errorf("cleanSnippet = %q", got)
	}
}
