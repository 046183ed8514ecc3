package xpkg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
	// maxRetryAfter bounds the wait for a Retry-After when the request has
	// no deadline, so a hostile server cannot stall us.
	maxRetryAfter = 30 * time.Second
)

// retryTransport retries requests whose body can be replayed (no body, or
// GetBody set) on connection failures and on 408/429/5xx, with exponential
// backoff and jitter, waiting for Retry-After when the server sends it.
// Streaming uploads have no GetBody; go-containerregistry retries those whole.
// It never waits past the request's deadline: when the next wait would end
// after it, it returns what it has now (a 429 stays a 429, a reset stays a
// reset), so the user sees the registry's answer, not "deadline exceeded".
type retryTransport struct {
	inner http.RoundTripper
	sleep func(context.Context, time.Duration) error
	// warnf tells the user that a registry asks to wait (nil: silent).
	warnf func(format string, args ...any)
}

func newRetryTransport(inner http.RoundTripper, warnf func(string, ...any)) http.RoundTripper {
	return &retryTransport{inner: inner, sleep: sleepCtx, warnf: warnf}
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
		asked := false
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				wait, asked = ra, true
			}
		}
		budget, hasDeadline := timeLeft(req.Context())
		if !hasDeadline && asked {
			budget = maxRetryAfter
		}
		if asked && resp != nil && t.warnf != nil {
			t.warnf("%s", waitNotice(req, resp, wait, budget, hasDeadline))
		}
		if wait > budget {
			// Waiting would outlast the deadline: answer now.
			if resp != nil {
				return resp, nil
			}
			return nil, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// timeLeft is how long until the context's deadline (unbounded without one).
func timeLeft(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Duration(math.MaxInt64), false
	}
	return time.Until(d), true
}

// waitNotice says that a registry asks to wait, how long, and what we do.
func waitNotice(req *http.Request, resp *http.Response, wait, budget time.Duration, hasDeadline bool) string {
	what := fmt.Sprintf("registry %s answered %d %s", req.URL.Host, resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == http.StatusTooManyRequests {
		what = fmt.Sprintf("registry %s is rate limiting (429 Too Many Requests)", req.URL.Host)
	}
	what += fmt.Sprintf(" and asks to retry in %s", wait.Round(time.Second))
	switch {
	case wait <= budget:
		return what + "; waiting"
	case hasDeadline:
		return what + fmt.Sprintf(", more than the %s left before --timeout: giving up", max(budget, 0).Round(time.Second))
	default:
		return what + fmt.Sprintf(", more than xpdoctor waits (%s): giving up", maxRetryAfter)
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
	return max(d, 0), true
}

func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var plain *plainHTTPError
	if errors.As(err, &plain) {
		return false
	}
	// Nothing listens, or the name does not resolve: retrying only hides
	// the cause behind the deadline.
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
