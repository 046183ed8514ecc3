package xpkg_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// WithWrapTransport sees every attempt: a 503 the client retries is two
// requests, as the registry saw them.
func TestWrapTransportSeesEveryAttempt(t *testing.T) {
	var failed atomic.Bool
	reg := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet && failed.CompareAndSwap(false, true) {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	ref := reg.Host + "/acme/provider-nop:v1.0.0"
	push(t, ref, xpkgtest.Package{Name: "provider-nop"}.Image(amd64))
	failed.Store(false)
	var mu sync.Mutex
	var seen []string
	c := xpkg.NewClient(xpkg.WithWrapTransport(func(next http.RoundTripper) http.RoundTripper {
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err == nil {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, resp.StatusCode))
				mu.Unlock()
			}
			return resp, err
		})
	}))
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetManifest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(seen, "\n")
	if !strings.Contains(got, "GET /v2/acme/provider-nop/manifests/v1.0.0 503\nGET /v2/acme/provider-nop/manifests/v1.0.0 200") {
		t.Fatalf("requests seen:\n%s", got)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
