package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// maxSnippet is how much of an error response body a StatusError keeps.
const maxSnippet = 512

// StatusError is a non-2xx response that was not retried or still failed
// when the retry budget was spent.
type StatusError struct {
	// Method is the request method.
	Method string
	// URL is the request URL without userinfo and with the values of
	// secret-looking query parameters redacted.
	URL string
	// StatusCode is the response status.
	StatusCode int
	// Body is the start of the response body (at most 512 bytes), with
	// control characters replaced by spaces.
	Body string
	// RetryAfter is the wait the Retry-After header asked for, or 0.
	RetryAfter time.Duration
}

// Error returns e.g. "GET https://host/path?x=1: 503 Service Unavailable: <body>".
// HTTPStatus returns the response status, for classifying errors
// without importing this package (telemetry.ErrorClass).
func (e *StatusError) HTTPStatus() int { return e.StatusCode }

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// newStatusError reads the start of resp's body into a StatusError.
func newStatusError(method, redactedURL string, resp *http.Response, now time.Time) *StatusError {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return &StatusError{
		Method:     method,
		URL:        redactedURL,
		StatusCode: resp.StatusCode,
		Body:       cleanSnippet(snippet),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
}

func cleanSnippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// IsStatus reports whether err is or wraps a *StatusError with code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.StatusCode == code
}

// BodyTooLargeError is a response body larger than Config.MaxBodyBytes.
// It is permanent.
type BodyTooLargeError struct {
	// Limit is the cap in bytes.
	Limit int64
}

// Error says the body exceeded the limit.
func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("response body exceeds the limit of %d bytes", e.Limit)
}

// redacted replaces the value of a secret query parameter.
const redacted = "REDACTED"

// secretParamWords are the substrings that make a query parameter name
// secret-looking (compared in lower case).
var secretParamWords = []string{"token", "secret", "password", "passwd", "pwd", "key", "signature", "sig", "code", "auth", "credential", "session"}

func secretParam(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretParamWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactURL returns u without userinfo and fragment, and with the value of
// every query parameter whose name looks secret (holds token, secret,
// password, key, signature, code, auth, credential, session, …) replaced
// by REDACTED. Other parameters keep their order and encoding.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	r.User = nil
	r.Fragment, r.RawFragment = "", ""
	if r.RawQuery != "" {
		parts := strings.Split(r.RawQuery, "&")
		for i, p := range parts {
			rawName, _, _ := strings.Cut(p, "=")
			name, err := url.QueryUnescape(rawName)
			if err != nil {
				name = rawName
			}
			if secretParam(name) {
				parts[i] = rawName + "=" + redacted
			}
		}
		r.RawQuery = strings.Join(parts, "&")
	}
	return r.String()
}

// RedactURLString is RedactURL for a URL string; a string that does not
// parse is replaced entirely, since it cannot be redacted safely.
func RedactURLString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return RedactURL(u)
}
