package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

const backoffStop = backoff.Stop

// newBackOff returns the backoff of one Do: exponential with jitter
// (randomization factor 0.5), ending after MaxElapsed.
func (c *Client) newBackOff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.cfg.InitialInterval),
		backoff.WithMaxInterval(c.cfg.MaxInterval),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(c.cfg.MaxElapsed),
	)
}

// retryableStatus reports whether a response status is worth retrying.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// classify says whether err, the failure of an attempt run under actx
// (derived from the caller's ctx), is worth retrying, and why.
func classify(ctx, actx context.Context, err error) (retryable bool, reason string) {
	switch {
	case ctx.Err() != nil:
		return false, ""
	case errors.Is(context.Cause(actx), errAttemptTimeout):
		return true, "timeout"
	case transient(err):
		return true, "network"
	}
	return false, ""
}

// temporary marks an error as worth retrying; Authorizers use it.
type temporary struct{ err error }

func (e *temporary) Error() string { return e.err.Error() }
func (e *temporary) Unwrap() error { return e.err }

// transient reports whether err is a network or I/O failure that another
// attempt may not meet. Certificate errors and cancellations are not.
func transient(err error) bool {
	var (
		tmp        *temporary
		certVerify *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		netErr     net.Error
	)
	err = unwrapURLError(err)
	switch {
	case errors.As(err, &tmp):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &certVerify), errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return false
}

// unwrapURLError returns the cause of a *url.Error, whose message would
// repeat the unredacted URL, or err itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// parseRetryAfter returns the wait a Retry-After header asks for, in
// delta-seconds or HTTP-date form; 0 when absent, invalid or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// cappedBody is a response body that fails with *BodyTooLargeError past
// limit bytes, records the first read error, and, for DoStream, pushes the
// attempt's timeout back on every read.
type cappedBody struct {
	body    io.ReadCloser
	left    int64 // bytes still allowed
	limit   int64
	idle    *time.Timer // nil for Do
	timeout time.Duration
	readErr error // first error of body other than io.EOF
	tooBig  error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.tooBig != nil {
		return 0, b.tooBig
	}
	if b.left <= 0 {
		// At the limit: the body is too large if one more byte exists.
		var probe [1]byte
		n, err := b.body.Read(probe[:])
		if n > 0 {
			b.tooBig = &BodyTooLargeError{Limit: b.limit}
			return 0, b.tooBig
		}
		return 0, b.record(err)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.idle != nil {
		b.idle.Reset(b.timeout)
	}
	return n, b.record(err)
}

func (b *cappedBody) record(err error) error {
	if err != nil && err != io.EOF && b.readErr == nil {
		b.readErr = err
	}
	return err
}

func (b *cappedBody) Close() error { return b.body.Close() }
