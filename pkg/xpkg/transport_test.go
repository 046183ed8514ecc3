package xpkg

import (
	"errors"
	"net/http"
	"testing"
)

// The base transport refuses plain HTTP before dialing, so these requests
// never leave the process.
func TestPlainHTTPOnlyForLoopbackOrNamedHosts(t *testing.T) {
	rt := newBaseTransport(map[string]bool{"named.example:5000": true})
	for _, u := range []string{"http://10.1.2.3:5000/v2/", "http://registry.example/v2/", "http://192.168.1.1/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := rt.RoundTrip(req)
		var plain *plainHTTPError
		if !errors.As(err, &plain) {
			t.Errorf("%s: err = %v, want a refusal", u, err)
		}
		if re := classify(u, err); re.Kind != ErrPlainHTTP || re.Advice() == "" {
			t.Errorf("%s: classified %+v", u, re)
		}
	}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		if !isLoopback(h) {
			t.Errorf("%s should be loopback", h)
		}
	}
	if isLoopback("10.0.0.1") {
		t.Error("10.0.0.1 is not loopback")
	}
}

// The read-only transport lets reads and token requests through and
// refuses every distribution-spec write, before the inner transport sees it.
func TestReadOnlyTransport(t *testing.T) {
	var sent []string
	inner := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.Method+" "+r.URL.Path)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	rt := readOnlyTransport{inner: inner}
	for _, c := range []struct {
		method, path string
		refused      bool
	}{
		{http.MethodGet, "/v2/", false},
		{http.MethodHead, "/v2/upbound/provider-nop/manifests/v1", false},
		{http.MethodGet, "/v2/upbound/provider-nop/blobs/sha256:00", false},
		{http.MethodPost, "/token", false},
		{http.MethodPost, "/oauth2/token", false},
		{http.MethodPost, "/v2/upbound/provider-nop/blobs/uploads/", true},
		{http.MethodPost, "/v2/a/b/c/blobs/uploads/?mount=sha256:00&from=x", true},
		{http.MethodPatch, "/v2/upbound/provider-nop/blobs/uploads/123", true},
		{http.MethodPut, "/v2/upbound/provider-nop/blobs/uploads/123", true},
		{http.MethodPut, "/v2/upbound/provider-nop/manifests/v1", true},
		{http.MethodDelete, "/v2/upbound/provider-nop/manifests/sha256:00", true},
	} {
		sent = nil
		req, _ := http.NewRequest(c.method, "http://127.0.0.1:5000"+c.path, nil)
		_, err := rt.RoundTrip(req)
		if refused := errors.Is(err, ErrReadOnly); refused != c.refused || refused == (len(sent) > 0) {
			t.Errorf("%s %s: err %v, sent %v; want refused=%v", c.method, c.path, err, sent, c.refused)
		}
	}
}
