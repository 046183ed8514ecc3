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
