package xpkg

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// pingCache answers the `GET /v2/` version check once per registry and
// scheme. go-containerregistry pings the registry every time it builds an
// authenticated transport (pkg/v1/remote/transport/transport.go
// NewWithContext), and xpdoctor builds one per repository and scope: a copy
// of ten packages used to ping thirty times. The challenge a registry
// answers (200, or 401 with WWW-Authenticate) does not depend on the
// repository, so one real ping serves them all; token exchanges, which are
// per repository, are not cached.
type pingCache struct {
	mu    sync.Mutex
	pings map[string]*pingEntry
}

type pingEntry struct {
	done   chan struct{}
	status int
	header http.Header
	ok     bool
	// notTLS is the error of an https ping that a plain-HTTP server
	// answered: go-containerregistry pings https and http at once for a
	// registry it may reach over HTTP (loopback, --insecure-registry:
	// transport/ping.go), and that server will not start speaking TLS
	// within the run.
	notTLS error
}

func newPingCache() *pingCache {
	return &pingCache{pings: map[string]*pingEntry{}}
}

// wrap returns a RoundTripper that answers pings from the cache and sends
// everything else to next.
func (p *pingCache) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet || req.URL.Path != "/v2/" {
			return next.RoundTrip(req)
		}
		key := req.URL.Scheme + "://" + strings.ToLower(req.URL.Host)
		p.mu.Lock()
		e, seen := p.pings[key]
		if !seen {
			e = &pingEntry{done: make(chan struct{})}
			p.pings[key] = e
		}
		p.mu.Unlock()
		if seen {
			select {
			case <-e.done:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
			if e.ok {
				return &http.Response{StatusCode: e.status, Status: http.StatusText(e.status), Header: e.header.Clone(),
					Body: http.NoBody, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
			}
			if e.notTLS != nil {
				return nil, e.notTLS
			}
			return next.RoundTrip(req)
		}
		resp, err := next.RoundTrip(req)
		var notTLS tls.RecordHeaderError
		switch {
		case err == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized):
			e.status, e.header, e.ok = resp.StatusCode, resp.Header.Clone(), true
		case err != nil && req.URL.Scheme == "https" && errors.As(err, &notTLS):
			e.notTLS = err
		default:
			// A failed ping is not remembered: the next transport pings again.
			p.mu.Lock()
			delete(p.pings, key)
			p.mu.Unlock()
		}
		close(e.done)
		if err == nil && e.ok {
			// The caller reads only the status and headers.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		}
		return resp, err
	})
}
