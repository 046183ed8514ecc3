package transfer

import (
	"context"
	"io"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// source reads one reference's graph.
type source interface {
	// top reads the manifest the reference names.
	top(ctx context.Context) (*xpkg.Manifest, error)
	// child reads a manifest by digest, checking the digest.
	child(ctx context.Context, digest string) (*xpkg.Manifest, error)
	// openBlob streams a blob; the engine checks its bytes.
	openBlob(ctx context.Context, b *Blob) (io.ReadCloser, error)
	// where names the endpoint in messages.
	where() string
	// registryRepo is (registry, repository) for a registry source, so that
	// a destination in the same registry can mount; "" otherwise.
	registryRepo() (string, string)
}

// destination receives one reference's graph.
type destination interface {
	// current reads the manifest the reference names now (nil when absent).
	current(ctx context.Context) (*xpkg.Manifest, error)
	// hasManifest reports whether a manifest is present by digest.
	hasManifest(ctx context.Context, digest string) (bool, error)
	// hasBlob reports whether a blob is present with its declared size.
	hasBlob(ctx context.Context, b *Blob) (bool, error)
	// putBlob stores a blob from r, which fails before its last byte when
	// the bytes are wrong.
	putBlob(ctx context.Context, b *Blob, r io.Reader) error
	// mount links a blob from another repository of the same registry;
	// false means "upload it".
	mount(ctx context.Context, b *Blob, from string) (bool, error)
	// putManifest stores a manifest by digest.
	putManifest(ctx context.Context, m *xpkg.Manifest) error
	// tag points the reference at m, byte for byte.
	tag(ctx context.Context, m *xpkg.Manifest) error

	// readManifest reads a manifest back by digest (ok false when absent).
	readManifest(ctx context.Context, digest string) (raw []byte, ok bool, err error)
	// blobSize proves a blob is served and returns its size (-1: absent).
	blobSize(ctx context.Context, b *Blob) (int64, error)
	// readBlob streams a stored blob for --verify=full.
	readBlob(ctx context.Context, b *Blob) (io.ReadCloser, error)

	where() string
	registryRepo() (string, string)
}
