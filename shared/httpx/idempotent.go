package httpx

import (
	"errors"
	"net"
	"net/http"
)

// ErrOutcomeUnknown is wrapped by the error of a request that is not
// idempotent and failed in a way that leaves open whether the server acted
// on it (a timeout, a dropped connection, a 5xx): it was not retried, and
// the caller must find out or repeat it knowingly.
var ErrOutcomeUnknown = errors.New("not idempotent, so not retried: the server may have acted on it")

// idempotencyKey is the header net/http itself reads to treat a POST as
// replayable. Idempotent sets it with a nil value, which net/http never
// sends.
const idempotencyKey = "Idempotency-Key"

// Idempotent declares req safe to send more than once — a POST that only
// queries, or a logon — so the Client retries it like a GET. It marks the
// request the way net/http does (an Idempotency-Key header with a nil
// value, which is not sent), so the transport also replays it on a
// keep-alive connection the server had closed. It returns req.
func Idempotent(req *http.Request) *http.Request {
	if _, ok := req.Header[idempotencyKey]; !ok {
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header[idempotencyKey] = nil
	}
	return req
}

// isIdempotent reports whether req may be repeated: its method is
// idempotent (RFC 9110 section 9.2.2), or it carries an idempotency key
// (Idempotent, or a real Idempotency-Key or X-Idempotency-Key header).
func isIdempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, a := req.Header[idempotencyKey]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// neverSent reports whether err shows the request never reached a server:
// the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
