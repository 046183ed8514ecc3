package xpkg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Head sends the HEAD that Crossplane resolves a package reference with
// before it reads anything (internal/xpkg/fetch.go@v1.20.0 K8sFetcher.Head,
// crossplane-runtime:pkg/xpkg/fetch.go@v2.3.3) and judges the answer as
// go-containerregistry's remote.Head does, so that a failure carries the
// very text Crossplane puts before its GET fallback's
// (ggcr:pkg/v1/remote/fetcher.go headManifest; the same code at v0.19.2,
// v0.20.6 and v0.21.6, which Crossplane v1.20.0, v2.1.3 and v2.3.4 pin).
func (c *Client) Head(ctx context.Context, ref name.Reference) *HeadResponse {
	fail := func(err error) *HeadResponse {
		h := &HeadResponse{Error: err.Error()}
		var terr *transport.Error
		if errors.As(err, &terr) {
			h.StatusCode = terr.StatusCode
		}
		return h
	}
	t, err := c.transportFor(ctx, ref.Context())
	if err != nil {
		return fail(err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", ref.Context().Scheme(), ref.Context().RegistryStr(), ref.Context().RepositoryStr(), ref.Identifier())
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", strings.Join(acceptedManifestTypes, ","))
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return fail(err)
	}
	if resp.Header.Get("Content-Type") == "" {
		return fail(fmt.Errorf("HEAD %s: response did not include Content-Type header", u))
	}
	if resp.ContentLength == -1 {
		// sic: go-containerregistry says GET here.
		return fail(fmt.Errorf("GET %s: response did not include Content-Length header", u))
	}
	dh := resp.Header.Get("Docker-Content-Digest")
	if dh == "" {
		return fail(fmt.Errorf("HEAD %s: response did not include Docker-Content-Digest header", u))
	}
	digest, err := v1.NewHash(dh)
	if err != nil {
		return fail(err)
	}
	if d, ok := ref.(name.Digest); ok && digest.String() != d.DigestStr() {
		return fail(fmt.Errorf("manifest digest: %q does not match requested digest: %q for %q", digest, d.DigestStr(), ref))
	}
	return &HeadResponse{Digest: digest.String()}
}
