package telemetry

import (
	"context"
	"errors"
	"net"
)

// Error classes of ErrorClass, the error_class of auditstream_stream_up.
const (
	ClassNone         = "none"
	ClassUnauthorized = "unauthorized"
	ClassRefused      = "refused"
	ClassRateLimited  = "rate_limited"
	ClassVendorError  = "vendor_error"
	ClassTimeout      = "timeout"
	ClassNetwork      = "network"
	ClassOther        = "other"
)

// httpStatus is an error that carries an HTTP status (httpx.StatusError).
type httpStatus interface{ HTTPStatus() int }

// ErrorClass sorts err into a few classes an operator acts on: the vendor
// refused the credentials (unauthorized: 401, 403) or the request
// (refused: other 4xx), limits the rate (rate_limited: 429), fails
// (vendor_error: 5xx), did not answer in time (timeout) or could not be
// reached (network). nil is none.
func ErrorClass(err error) string {
	if err == nil {
		return ClassNone
	}
	var hs httpStatus
	if errors.As(err, &hs) {
		switch code := hs.HTTPStatus(); {
		case code == 401 || code == 403:
			return ClassUnauthorized
		case code == 429:
			return ClassRateLimited
		case code >= 500:
			return ClassVendorError
		case code >= 400:
			return ClassRefused
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ClassTimeout
		}
		return ClassNetwork
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return ClassNetwork
	}
	return ClassOther
}
