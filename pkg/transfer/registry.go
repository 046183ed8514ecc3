package transfer

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// registryEnd is one repository reference of a registry, either side.
type registryEnd struct {
	c   *xpkg.Client
	ref name.Reference
}

func (r *registryEnd) where() string { return r.ref.Context().String() }

func (r *registryEnd) registryRepo() (string, string) {
	return r.ref.Context().RegistryStr(), r.ref.Context().RepositoryStr()
}

func (r *registryEnd) top(ctx context.Context) (*xpkg.Manifest, error) {
	m, err := r.c.GetManifest(ctx, r.ref)
	if err != nil {
		// A missing source tag says so, with the nearest tags there.
		return nil, r.c.ExplainNotFound(ctx, r.ref, err)
	}
	return m, nil
}

func (r *registryEnd) child(ctx context.Context, digest string) (*xpkg.Manifest, error) {
	return r.c.GetManifest(ctx, r.ref.Context().Digest(digest))
}

func (r *registryEnd) openBlob(ctx context.Context, b *Blob) (io.ReadCloser, error) {
	return r.c.OpenBlob(ctx, r.ref.Context(), b.Digest)
}

func (r *registryEnd) current(ctx context.Context) (*xpkg.Manifest, error) {
	m, ok, err := r.c.ReadPushedManifest(ctx, r.ref)
	if err != nil || !ok {
		return nil, err
	}
	return m, nil
}

func (r *registryEnd) hasManifest(ctx context.Context, digest string) (bool, error) {
	return r.c.StatManifest(ctx, r.ref.Context(), digest)
}

// hasBlob trusts a HEAD only when it states the declared size: a 200
// without it (a caching proxy, a broken registry) means "upload it".
func (r *registryEnd) hasBlob(ctx context.Context, b *Blob) (bool, error) {
	size, err := r.c.StatBlob(ctx, r.ref.Context(), b.Digest)
	return err == nil && size == b.Size, err
}

func (r *registryEnd) putBlob(ctx context.Context, b *Blob, body io.Reader) error {
	return r.c.PushBlob(ctx, r.ref.Context(), b.Digest, b.Size, body)
}

func (r *registryEnd) mount(ctx context.Context, b *Blob, from string) (bool, error) {
	return r.c.MountBlob(ctx, r.ref.Context(), from, b.Digest)
}

func (r *registryEnd) putManifest(ctx context.Context, m *xpkg.Manifest) error {
	return r.c.PushManifest(ctx, r.ref.Context().Digest(m.Digest.String()), m.Raw, m.MediaType)
}

func (r *registryEnd) tag(ctx context.Context, m *xpkg.Manifest) error {
	return r.c.PushManifest(ctx, r.ref, m.Raw, m.MediaType)
}

func (r *registryEnd) readManifest(ctx context.Context, digest string) ([]byte, bool, error) {
	m, ok, err := r.c.ReadPushedManifest(ctx, r.ref.Context().Digest(digest))
	if err != nil || !ok {
		return nil, ok, err
	}
	return m.Raw, true, nil
}

func (r *registryEnd) blobSize(ctx context.Context, b *Blob) (int64, error) {
	return r.c.ServedBlobSize(ctx, r.ref.Context(), b.Digest)
}

func (r *registryEnd) readBlob(ctx context.Context, b *Blob) (io.ReadCloser, error) {
	return r.c.OpenPushedBlob(ctx, r.ref.Context(), b.Digest)
}

// parseRegistryRef parses a registry reference for an endpoint.
func parseRegistryRef(c *xpkg.Client, s string) (name.Reference, error) {
	ref, err := c.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	return ref, nil
}
