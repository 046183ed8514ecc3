package xpkg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The registry write side: the few distribution-spec requests a byte-for-byte
// copy needs, each one round trip, on the client's cached transports (one
// ping per registry, one token per repository). go-containerregistry's
// remote.WriteLayer and remote.Put build a new transport, and so ping, on
// every call, and WriteLayer HEADs the blob again before uploading it;
// package transfer decides what to send and calls these.

func (c *Client) pushTransport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	if c.readOnly {
		return nil, fmt.Errorf("%s: %w", repo, ErrReadOnly)
	}
	t, err := c.transportFor(ctx, repo, transport.PushScope)
	if err != nil {
		return nil, classify(repo.String(), err)
	}
	return t, nil
}

func repoURL(repo name.Repository, rest string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), rest)
}

// StatBlob asks the destination (HEAD) whether it holds a blob and with what
// size: size is -1 when the registry answers 404. The answer is the
// registry's claim, not proof (a proxy may answer 200 for anything);
// ServedBlobSize and a full read are the proofs.
func (c *Client) StatBlob(ctx context.Context, repo name.Repository, digest string) (int64, error) {
	return c.head(ctx, repo, "blobs/"+digest, digest)
}

// StatManifest asks (HEAD) whether the repository holds a manifest by digest.
func (c *Client) StatManifest(ctx context.Context, repo name.Repository, digest string) (bool, error) {
	n, err := c.head(ctx, repo, "manifests/"+digest, digest)
	return n >= 0, err
}

// head sends a HEAD and returns the Content-Length, -1 for 404.
func (c *Client) head(ctx context.Context, repo name.Repository, path, digest string) (int64, error) {
	t, err := c.pushTransport(ctx, repo)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, repoURL(repo, path), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", strings.Join(acceptedManifestTypes, ","))
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return 0, classify(repo.String()+"@"+digest, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return max(resp.ContentLength, 0), nil
	case http.StatusNotFound:
		return -1, nil
	}
	return 0, classify(repo.String()+"@"+digest, transport.CheckError(resp, http.StatusOK))
}

// contentRange reads the total of "bytes 0-0/TOTAL".
var contentRange = regexp.MustCompile(`^bytes \d+-\d+/(\d+)$`)

// ServedBlobSize proves the registry serves a blob and says its size, with
// a one-byte ranged GET (distribution spec "Pulling blobs", Range): unlike a
// HEAD, it makes the registry (or the storage it redirects to) open the
// blob. size is -1 when the blob is not served (404). A registry that
// ignores Range answers 200 with the whole length, and the body is not read.
func (c *Client) ServedBlobSize(ctx context.Context, repo name.Repository, digest string) (int64, error) {
	t, err := c.pushTransport(ctx, repo)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, repoURL(repo, "blobs/"+digest), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return 0, classify(repo.String()+"@"+digest, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 16))
		if m := contentRange.FindStringSubmatch(resp.Header.Get("Content-Range")); m != nil {
			return strconv.ParseInt(m[1], 10, 64)
		}
		return 0, &RegistryError{Kind: ErrInvalid, Ref: repo.String() + "@" + digest, Detail: fmt.Sprintf("ranged blob read answered Content-Range %q, not bytes N-M/SIZE", resp.Header.Get("Content-Range"))}
	case http.StatusOK:
		return resp.ContentLength, nil
	case http.StatusNotFound:
		return -1, nil
	}
	return 0, classify(repo.String()+"@"+digest, transport.CheckError(resp, http.StatusOK, http.StatusPartialContent))
}

// OpenPushedBlob streams a blob of a destination repository (for --verify=full).
func (c *Client) OpenPushedBlob(ctx context.Context, repo name.Repository, digest string) (io.ReadCloser, error) {
	t, err := c.pushTransport(ctx, repo)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, repoURL(repo, "blobs/"+digest), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, classify(repo.String()+"@"+digest, err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, classify(repo.String()+"@"+digest, err)
	}
	return resp.Body, nil
}

// MountBlob asks the registry to link a blob from another repository of the
// same registry (distribution spec "Mounting a blob from another
// repository"). It reports false when the registry started an upload
// instead (202: it does not mount, as go-containerregistry's in-process
// registry), and the caller uploads.
func (c *Client) MountBlob(ctx context.Context, repo name.Repository, from, digest string) (bool, error) {
	t, err := c.pushTransport(ctx, repo)
	if err != nil {
		return false, err
	}
	u := repoURL(repo, "blobs/uploads/?mount="+url.QueryEscape(digest)+"&from="+url.QueryEscape(from))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return false, classify(repo.String(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		return false, nil
	}
	return false, classify(repo.String(), transport.CheckError(resp, http.StatusCreated, http.StatusAccepted))
}

// PushBlob uploads size bytes of body as digest in two requests: POST to
// open an upload, then one PUT with the whole body and the digest
// (distribution spec "Monolithic upload", POST then PUT). The body is
// streamed; when it returns an error (package transfer's digest check
// does, before its last byte), the upload is abandoned and never committed.
func (c *Client) PushBlob(ctx context.Context, repo name.Repository, digest string, size int64, body io.Reader) error {
	t, err := c.pushTransport(ctx, repo)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: t}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, repoURL(repo, "blobs/uploads/"), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return classify(repo.String(), err)
	}
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		resp.Body.Close()
		return classify(repo.String(), err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return &RegistryError{Kind: ErrInvalid, Ref: repo.String(), Detail: "upload started without a Location header"}
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), io.NopCloser(body))
	if err != nil {
		return err
	}
	put.ContentLength = size
	put.Header.Set("Content-Type", "application/octet-stream")
	resp, err = hc.Do(put)
	if err != nil {
		return classify(repo.String()+"@"+digest, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated); err != nil {
		return classify(repo.String()+"@"+digest, err)
	}
	return nil
}

// PushManifest puts raw under ref (a tag or its digest), byte for byte.
func (c *Client) PushManifest(ctx context.Context, ref name.Reference, raw []byte, mt types.MediaType) error {
	t, err := c.pushTransport(ctx, ref.Context())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, repoURL(ref.Context(), "manifests/"+ref.Identifier()), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", string(mt))
	// Whatever the answer, the repository may have changed: later reads
	// of this run read it again.
	defer c.cache.forget(ref.Context())
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return classify(ref.String(), err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated, http.StatusOK, http.StatusAccepted); err != nil {
		return classify(ref.String(), err)
	}
	return nil
}

// ReadPushedManifest reads a destination manifest by tag or digest with the
// push transport (one token for everything the copy does to a repository);
// its digest is the hash of the bytes read, never a header. ok is false
// when the registry answers 404.
func (c *Client) ReadPushedManifest(ctx context.Context, ref name.Reference) (m *Manifest, ok bool, err error) {
	t, err := c.pushTransport(ctx, ref.Context())
	if err != nil {
		return nil, false, err
	}
	m, err = c.getManifest(ctx, ref, t)
	var re *RegistryError
	if errors.As(err, &re) && re.Kind == ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// ecrHost matches Amazon ECR private registries: ACCOUNT.dkr.ecr.REGION.amazonaws.com.
var ecrHost = regexp.MustCompile(`^(\d+)\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// MissingRepository explains an upload refused because the repository does
// not exist (ECR never creates repositories on push; regclient#869), with the
// command that creates it. ok is false for other errors.
func MissingRepository(repo name.Repository, err error) (string, bool) {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return "", false
	}
	missing := false
	for _, d := range terr.Errors {
		if d.Code == transport.NameUnknownErrorCode || strings.Contains(d.Message, "does not exist") {
			missing = true
		}
	}
	if !missing {
		return "", false
	}
	if m := ecrHost.FindStringSubmatch(repo.RegistryStr()); m != nil {
		return fmt.Sprintf("repository %s does not exist, and ECR does not create repositories on push: create it with\n  aws ecr create-repository --repository-name %s --region %s --registry-id %s",
			repo.RepositoryStr(), repo.RepositoryStr(), m[2], m[1]), true
	}
	return fmt.Sprintf("repository %s does not exist in %s and the registry does not create repositories on push: create it first", repo.RepositoryStr(), repo.RegistryStr()), true
}
