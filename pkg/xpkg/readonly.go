package xpkg

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// ErrReadOnly is the error of every write a read-only Client refuses.
var ErrReadOnly = errors.New("this registry client is read-only: it sends no request that writes (upload, mount, manifest push, delete)")

// WithReadOnly makes a Client that cannot write: the push side (push.go)
// fails with ErrReadOnly before it asks for a push token, and the
// transport under every request refuses the distribution-spec requests
// that write before they are sent. `kubectl xpdoctor mcp` builds every
// registry client with it.
func WithReadOnly() Option { return func(c *Client) { c.readOnly = true } }

// uploadPath is the only POST of the distribution spec: starting a blob
// upload or a cross-repository mount, POST /v2/<name>/blobs/uploads/
// (OCI distribution-spec v1.1.0 spec.md, end-4a, end-4b, end-11). Token
// endpoints take POST too (the OAuth2 refresh-token grant of the Docker
// token spec, used with identity tokens): those only read.
var uploadPath = regexp.MustCompile(`^/v2/.+/blobs/uploads/`)

// readOnlyTransport refuses every request that could change a registry:
// PUT (manifests, upload completion), PATCH (upload chunks), DELETE, and
// POST to an upload path. GET, HEAD and token POSTs pass.
type readOnlyTransport struct{ inner http.RoundTripper }

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if writes(r) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%s %s://%s%s refused: %w", r.Method, r.URL.Scheme, r.URL.Host, r.URL.Path, ErrReadOnly)
	}
	return t.inner.RoundTrip(r)
}

func writes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	case http.MethodPost:
		return uploadPath.MatchString(r.URL.Path)
	}
	return true
}
