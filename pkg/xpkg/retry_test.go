package xpkg

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scripted answers with the responses (or errors) given, one per attempt.
type scripted struct {
	answers []func() (*http.Response, error)
	calls   int
}

func (s *scripted) RoundTrip(*http.Request) (*http.Response, error) {
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	return a()
}

func status(code int, retryAfter string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: code, Header: h, Body: http.NoBody}, nil
	}
}

func TestRetryNeverOutlastsTheDeadline(t *testing.T) {
	cases := []struct {
		name     string
		answers  []func() (*http.Response, error)
		deadline time.Duration
		// want: the status returned (0: an error), attempts, sleeps, and what the warning says.
		want, calls int
		sleeps      []time.Duration
		warn        string
	}{
		{name: "429 asking for longer than the time left", answers: []func() (*http.Response, error){status(429, "3600")}, deadline: 2 * time.Minute,
			want: 429, calls: 1, warn: "registry r.example is rate limiting (429 Too Many Requests) and asks to retry in 1h0m0s, more than the 2m0s left before --timeout: giving up"},
		{name: "429 asking for a wait that fits", answers: []func() (*http.Response, error){status(429, "5"), status(200, "")}, deadline: time.Minute,
			want: 200, calls: 2, sleeps: []time.Duration{5 * time.Second}, warn: "registry r.example is rate limiting (429 Too Many Requests) and asks to retry in 5s; waiting"},
		{name: "429 without a deadline, past the longest wait", answers: []func() (*http.Response, error){status(429, "120")},
			want: 429, calls: 1, warn: "more than xpdoctor waits (30s): giving up"},
		{name: "503 backoff past the deadline", answers: []func() (*http.Response, error){status(503, "")}, deadline: 300 * time.Millisecond,
			want: 503, calls: 2, sleeps: []time.Duration{200 * time.Millisecond}},
		{name: "connection refused is not retried", answers: []func() (*http.Response, error){func() (*http.Response, error) {
			return nil, fmt.Errorf("dial tcp 127.0.0.1:1: connect: %w", syscall.ECONNREFUSED)
		}}, deadline: time.Minute, want: 0, calls: 1},
		{name: "connection reset is retried", answers: []func() (*http.Response, error){func() (*http.Response, error) {
			return nil, fmt.Errorf("read: %w", syscall.ECONNRESET)
		}, status(200, "")}, deadline: time.Minute, want: 200, calls: 2, sleeps: []time.Duration{200 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inner := &scripted{answers: c.answers}
			var sleeps []time.Duration
			var warnings []string
			rt := &retryTransport{inner: inner, warnf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
				sleep: func(_ context.Context, d time.Duration) error {
					sleeps = append(sleeps, d.Truncate(100*time.Millisecond))
					return nil
				}}
			ctx := context.Background()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				// The notice rounds the time left to seconds: give it half a second.
				fudge := time.Duration(0)
				if c.deadline >= time.Second {
					fudge = 500 * time.Millisecond
				}
				ctx, cancel = context.WithTimeout(ctx, c.deadline+fudge)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://r.example/v2/x/manifests/v1", nil)
			resp, err := rt.RoundTrip(req)
			got := 0
			if err == nil {
				got = resp.StatusCode
			}
			if got != c.want || inner.calls != c.calls || fmt.Sprint(sleeps) != fmt.Sprint(c.sleeps) {
				t.Fatalf("status %d (err %v) after %d attempts, sleeps %v; want %d after %d, sleeps %v", got, err, inner.calls, sleeps, c.want, c.calls, c.sleeps)
			}
			if c.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.warn)) {
				t.Fatalf("warnings %q, want %q", warnings, c.warn)
			}
			if c.warn == "" && len(warnings) > 0 {
				t.Fatalf("unexpected warnings %q", warnings)
			}
		})
	}
}
