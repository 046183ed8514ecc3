package xpkg

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Retry policy for registry requests: what go-containerregistry retries
// (pkg/v1/remote/options.go defaultRetryStatusCodes), plus honouring
// Retry-After as oras-go does (registry/remote/retry/policy.go).
var retryStatus = map[int]bool{
	http.StatusRequestTimeout: true, http.StatusTooManyRequests: true, http.StatusInternalServerError: true,
	http.StatusBadGateway: true, http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
}

const (
	retryAttempts = 6
	retryBase     = 200 * time.Millisecond
	// maxRetryAfter caps a server's Retry-After so a hostile one cannot stall us.
	maxRetryAfter = 30 * time.Second
)

// retryTransport retries requests whose body can be replayed (no body, or
// GetBody set) on connection failures and on 408/429/5xx, with exponential
// backoff and jitter, waiting for Retry-After when the server sends it.
// Streaming uploads have no GetBody; go-containerregistry retries those whole.
type retryTransport struct {
	inner http.RoundTripper
	sleep func(context.Context, time.Duration) error
}

func newRetryTransport(inner http.RoundTripper) http.RoundTripper {
	return &retryTransport{inner: inner, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.inner.RoundTrip(r)
		last := attempt == retryAttempts-1 || !replayable || req.Context().Err() != nil
		switch {
		case err != nil && (last || !retryableError(err)):
			return nil, err
		case err == nil && (last || !retryStatus[resp.StatusCode]):
			return resp, nil
		}
		wait := backoff(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				wait = ra
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func backoff(attempt int) time.Duration {
	d := retryBase << attempt
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// retryAfter reads delta-seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if when, err := http.ParseTime(v); err == nil {
		d = time.Until(when)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var plain *plainHTTPError
	if errors.As(err, &plain) {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
