package xpkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefNameAnnotation records, in an OCI layout's index.json, which reference
// each manifest was exported from (OCI image-layout spec).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Layout is an OCI image layout directory used to carry packages across an
// air gap. Manifests and blobs are stored as the exact bytes fetched.
type Layout struct{ Dir string }

type layoutIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

func (l Layout) blobPath(digest string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.Dir, "blobs", h.Algorithm, h.Hex), nil
}

// Index returns the layout's top-level descriptors.
func (l Layout) Index() ([]v1.Descriptor, error) {
	b, err := os.ReadFile(filepath.Join(l.Dir, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var idx layoutIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", l.Dir, err)
	}
	return idx.Manifests, nil
}

func (l Layout) writeIndex(descs []v1.Descriptor) error {
	sort.Slice(descs, func(i, j int) bool {
		return descs[i].Annotations[RefNameAnnotation] < descs[j].Annotations[RefNameAnnotation]
	})
	b, err := json.MarshalIndent(layoutIndex{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.Dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, "index.json"), b, 0o644)
}

// has reports whether a blob is present.
func (l Layout) has(digest string) bool {
	p, err := l.blobPath(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// writeBlob stores r under digest, verifying it, via a temporary file so a
// crash never leaves a partial blob under its name.
func (l Layout) writeBlob(digest string, r io.Reader) (int64, error) {
	p, err := l.blobPath(digest)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".partial-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return n, fmt.Errorf("blob %s hashes to %s", digest, got)
	}
	return n, os.Rename(tmp.Name(), p)
}

func (l Layout) readManifest(d v1.Descriptor) (*Manifest, error) {
	p, err := l.blobPath(d.Digest.String())
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxManifestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxManifestBytes {
		return nil, fmt.Errorf("manifest %s is larger than %d bytes", d.Digest, MaxManifestBytes)
	}
	sum := sha256.Sum256(raw)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d.Digest.String() {
		return nil, fmt.Errorf("manifest %s hashes to %s", d.Digest, got)
	}
	mt := d.MediaType
	if mt == "" {
		if mt, err = decodeMediaType(raw); err != nil {
			return nil, err
		}
	}
	return &Manifest{Raw: raw, MediaType: mt, Digest: d.Digest}, nil
}

// TransferResult summarises an export or import.
type TransferResult struct {
	References  []string
	BlobsCopied int
	BlobsHad    int
	BytesCopied int64
}

// Export copies each reference's whole graph from its registry into the
// layout, byte for byte, and records the reference in index.json.
func (c *Client) Export(ctx context.Context, refs []name.Reference, l Layout) (*TransferResult, error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, err
	}
	descs, err := l.Index()
	if err != nil {
		return nil, err
	}
	res := &TransferResult{}
	for _, ref := range refs {
		top, err := c.GetManifest(ctx, ref)
		if err != nil {
			return res, fmt.Errorf("reading %s: %w", ref, err)
		}
		g, err := walkGraph(top, func(d string) (*Manifest, error) { return c.GetManifest(ctx, ref.Context().Digest(d)) })
		if err != nil {
			return res, fmt.Errorf("%s: %w", ref, err)
		}
		for _, b := range g.blobs {
			if l.has(b.Digest) {
				res.BlobsHad++
				continue
			}
			rc, err := c.OpenBlob(ctx, ref.Context(), b.Digest)
			if err != nil {
				return res, err
			}
			n, err := l.writeBlob(b.Digest, &ctxReader{ctx: ctx, r: rc})
			rc.Close()
			if err != nil {
				return res, fmt.Errorf("%s: %w", ref, err)
			}
			res.BlobsCopied++
			res.BytesCopied += n
		}
		for _, m := range g.order {
			if _, err := l.writeBlob(m.Digest, strings.NewReader(string(g.manifests[m.Digest].Raw))); err != nil {
				return res, err
			}
		}
		// Replace any earlier export of the same reference.
		kept := descs[:0]
		for _, d := range descs {
			if d.Annotations[RefNameAnnotation] != ref.String() {
				kept = append(kept, d)
			}
		}
		descs = append(kept, v1.Descriptor{MediaType: top.MediaType, Digest: top.Digest, Size: int64(len(top.Raw)),
			Annotations: map[string]string{RefNameAnnotation: ref.String()}})
		res.References = append(res.References, ref.String())
		if err := l.writeIndex(descs); err != nil {
			return res, err
		}
	}
	return res, nil
}

// layoutBlob is a layout file as a layer for remote.WriteLayer: it is only
// ever read compressed, byte for byte.
type layoutBlob struct {
	path   string
	digest v1.Hash
	size   int64
	mt     types.MediaType
}

func (b *layoutBlob) Digest() (v1.Hash, error) { return b.digest, nil }
func (b *layoutBlob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("not used: blobs are copied compressed")
}
func (b *layoutBlob) Compressed() (io.ReadCloser, error)   { return os.Open(b.path) }
func (b *layoutBlob) Uncompressed() (io.ReadCloser, error) { return nil, errors.New("not used") }
func (b *layoutBlob) Size() (int64, error)                 { return b.size, nil }
func (b *layoutBlob) MediaType() (types.MediaType, error)  { return b.mt, nil }

// ImportItem is one reference of a layout and where it goes.
type ImportItem struct {
	Source, Destination string
	Digest              string
	CurrentDigest       string
	Conflict            string
}

// PlanImport maps every reference recorded in the layout to prefix + its
// repository path, and says which destination tags exist.
func (c *Client) PlanImport(ctx context.Context, l Layout, prefix string, force bool) ([]ImportItem, error) {
	descs, err := l.Index()
	if err != nil {
		return nil, err
	}
	if len(descs) == 0 {
		return nil, fmt.Errorf("%s holds no exported references (no index.json entries with %s)", l.Dir, RefNameAnnotation)
	}
	var out []ImportItem
	for _, d := range descs {
		src := d.Annotations[RefNameAnnotation]
		if src == "" {
			continue
		}
		_, path, _ := strings.Cut(src, "/")
		dst := strings.TrimSuffix(prefix, "/") + "/" + path
		dref, err := c.ParseReference(dst)
		if err != nil {
			return nil, err
		}
		cur, err := c.headManifest(ctx, dref)
		if err != nil {
			return nil, err
		}
		it := ImportItem{Source: src, Destination: dst, Digest: d.Digest.String(), CurrentDigest: cur}
		if _, isTag := dref.(name.Tag); isTag && cur != "" && cur != it.Digest && !force {
			it.Conflict = fmt.Sprintf("%s points to %s, not %s: left alone (--force moves it)", dst, cur, it.Digest)
		}
		out = append(out, it)
	}
	return out, nil
}

// Import pushes one planned reference from the layout: blobs the registry
// lacks, manifests as stored, children first, the tag last.
func (c *Client) Import(ctx context.Context, l Layout, it ImportItem, jobs int) (*TransferResult, error) {
	res := &TransferResult{References: []string{it.Destination}}
	if it.Conflict != "" || it.CurrentDigest == it.Digest {
		return res, nil
	}
	dref, err := c.ParseReference(it.Destination)
	if err != nil {
		return nil, err
	}
	h, _ := v1.NewHash(it.Digest)
	top, err := l.readManifest(v1.Descriptor{Digest: h})
	if err != nil {
		return nil, err
	}
	g, err := walkGraph(top, func(d string) (*Manifest, error) {
		hh, err := v1.NewHash(d)
		if err != nil {
			return nil, err
		}
		return l.readManifest(v1.Descriptor{Digest: hh})
	})
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain), remote.WithTransport(c.base), remote.WithUserAgent(c.userAgent), remote.WithJobs(max(jobs, 1)),
		remote.WithRetryBackoff(remote.Backoff{Duration: retryBase, Factor: 2, Jitter: 0.1, Steps: retryAttempts})}
	for _, b := range g.blobs {
		ok, err := c.blobExists(ctx, dref.Context(), b.Digest)
		if err != nil {
			return res, err
		}
		if ok {
			res.BlobsHad++
			continue
		}
		p, err := l.blobPath(b.Digest)
		if err != nil {
			return res, err
		}
		bh, _ := v1.NewHash(b.Digest)
		if err := remote.WriteLayer(dref.Context(), &layoutBlob{path: p, digest: bh, size: b.Size, mt: types.MediaType(b.MediaType)}, opts...); err != nil {
			if advice, ok := MissingRepository(dref.Context(), err); ok {
				return res, errors.New(advice)
			}
			return res, fmt.Errorf("pushing blob %s: %w", b.Digest, classify(it.Destination, err))
		}
		res.BlobsCopied++
		res.BytesCopied += b.Size
	}
	for _, m := range g.order {
		if err := remote.Put(dref.Context().Digest(m.Digest), RawManifestOf(g.manifests[m.Digest]), opts...); err != nil {
			return res, fmt.Errorf("pushing manifest %s: %w", m.Digest, classify(it.Destination, err))
		}
	}
	if _, isTag := dref.(name.Tag); isTag {
		if err := remote.Put(dref, RawManifestOf(top), opts...); err != nil {
			return res, fmt.Errorf("tagging %s: %w", it.Destination, classify(it.Destination, err))
		}
	}
	return res, nil
}
