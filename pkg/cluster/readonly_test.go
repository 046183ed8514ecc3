package cluster

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// ReadOnly lets GET and HEAD through and refuses every other method before
// the inner transport sees it.
func TestReadOnly(t *testing.T) {
	var sent []string
	rt := ReadOnly(roundTripper(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.Method)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	}))
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequest(m, "https://127.0.0.1:6443/apis/pkg.crossplane.io/v1/providers", strings.NewReader("{}"))
		_, err := rt.RoundTrip(req)
		if read := m == http.MethodGet || m == http.MethodHead; read == errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v", m, err)
		}
	}
	if strings.Join(sent, ",") != "GET,HEAD" {
		t.Errorf("sent %v", sent)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
