package cluster

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrReadOnly is the error of every request ReadOnly refuses.
var ErrReadOnly = errors.New("this Kubernetes client is read-only: it sends no request but GET (get, list, watch, discovery)")

// ReadOnly wraps a Kubernetes API transport so that it only reads: every
// request but GET and HEAD (create, update, patch, delete, and the POSTs of
// SelfSubjectAccessReviews and dry runs) is refused before it is sent.
// Use it as rest.Config.Wrap(ReadOnly).
func ReadOnly(rt http.RoundTripper) http.RoundTripper { return readOnly{rt} }

type readOnly struct{ inner http.RoundTripper }

func (t readOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%s %s refused: %w", r.Method, r.URL.Path, ErrReadOnly)
	}
	return t.inner.RoundTrip(r)
}
