package xpkg

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ReadOptions tune what Read downloads.
type ReadOptions struct {
	// AllPlatforms reads every child of an index, down to package.yaml, not
	// only the one Crossplane picks. Without it the other children are known
	// only by their index descriptors (ImageReport.NotRead): no verdict
	// needs more of them.
	AllPlatforms bool
	// Shallow reads manifests and configs only, never a layer.
	Shallow bool
	// MaxUncompressedBytes bounds what one scan decompresses (default 2 GiB).
	MaxUncompressedBytes int64
}

// maxIndexChildren bounds how many children of one index are read.
const maxIndexChildren = 64

// maxIndexDepth bounds nested indexes (go-containerregistry follows them
// without a limit when it resolves a platform).
const maxIndexDepth = 4

// Read resolves ref and reads what Crossplane would read from it, plus the
// facts needed to explain the result. Registry failures are recorded in the
// report, not returned: an unreachable package is a finding, not a crash.
//
// Reads go through the client's ReadCache: the same reference, options and
// credentials are read once per run, and at most the cache's bound of reads
// run at once per registry host (the others wait their turn, or until ctx
// ends). The report may be shared: do not modify it. Its BytesFetched is
// what reading it cost, once.
func (c *Client) Read(ctx context.Context, ref name.Reference, o ReadOptions) *Report {
	if o.MaxUncompressedBytes <= 0 {
		o.MaxUncompressedBytes = 2 << 30
	}
	r, err := once(ctx, &c.cache.mu, c.cache.reads, c.readKey(ref, o), func() (*Report, bool) {
		release, err := c.cache.acquire(ctx, ref.Context().RegistryStr())
		if err != nil {
			return unread(ref, err), false
		}
		defer release()
		r := c.read(ctx, ref, o)
		// A read cut short by its caller's deadline is not the registry's answer.
		return r, ctx.Err() == nil
	})
	if err != nil {
		return unread(ref, err)
	}
	return r
}

// unread is the report of a read that never started.
func unread(ref name.Reference, err error) *Report {
	return &Report{Reference: ref.String(), Repository: ref.Context().String(), Selected: -1, Err: classify(ref.String(), err)}
}

func (c *Client) read(ctx context.Context, ref name.Reference, o ReadOptions) *Report {
	ctx, bytes := CountBytes(ctx)
	r := &Report{Reference: ref.String(), Repository: ref.Context().String(), Selected: -1}
	defer func() { r.BytesFetched = bytes.Load() }()

	var head chan *HeadResponse
	if !o.Shallow {
		// What Crossplane asks first; a failed HEAD's text precedes the GET's
		// in Crossplane's message. Sent beside the GET, not before or after
		// it: one round trip for both, and a server that stalls is met once,
		// within the deadline.
		head = make(chan *HeadResponse, 1)
		go func() { head <- c.Head(ctx, ref) }()
	}
	m, err := c.GetManifest(ctx, ref)
	if head != nil {
		defer func() { r.Head = <-head }()
	}
	if err != nil {
		r.Err = classify(ref.String(), err)
		c.explainMissingTag(ctx, ref, r.Err)
		return r
	}
	r.Digest, r.MediaType, r.Size = m.Digest.String(), string(m.MediaType), int64(len(m.Raw))
	switch {
	case IsIndex(m.MediaType):
		r.IsIndex = true
		c.readIndex(ctx, ref.Context(), m, r, o, 0, map[string]bool{m.Digest.String(): true})
	case IsImage(m.MediaType):
		img := c.readImage(ctx, ref.Context(), m, true, o)
		r.Platforms = []PlatformImage{{Platform: img.platform, Digest: m.Digest.String(), Image: img.ImageReport}}
		r.Selected = 0
	default:
		r.Err = &RegistryError{Kind: ErrInvalid, Ref: ref.String(), Detail: fmt.Sprintf("unsupported manifest media type %q: Crossplane reads OCI or Docker schema 2 images and indexes", m.MediaType)}
	}
	return r
}

func (c *Client) readIndex(ctx context.Context, repo name.Repository, m *Manifest, r *Report, o ReadOptions, depth int, seen map[string]bool) {
	idx, err := ParseIndex(m.Raw)
	if err != nil {
		r.Err = &RegistryError{Kind: ErrInvalid, Ref: r.Reference, Detail: Describe(err)}
		return
	}
	if len(idx.Manifests) > maxIndexChildren {
		r.Err = &RegistryError{Kind: ErrTooLarge, Ref: r.Reference, Detail: fmt.Sprintf("index has %d children; xpdoctor reads at most %d", len(idx.Manifests), maxIndexChildren)}
		return
	}
	for _, d := range idx.Manifests {
		if r.Selected < 0 && MatchesCrossplanePlatform(d.Platform) {
			r.Selected = len(r.Platforms)
		}
		pi := PlatformImage{Platform: PlatformString(d.Platform), Digest: d.Digest.String()}
		selected := r.Selected == len(r.Platforms)
		if !selected && !o.AllPlatforms {
			// Crossplane reads only the child it selects; the index tells
			// the rest.
			pi.Image = &ImageReport{Digest: d.Digest.String(), MediaType: string(d.MediaType), ManifestSize: d.Size, BaseLayers: []int{}, NotRead: true}
			r.Platforms = append(r.Platforms, pi)
			continue
		}
		child, err := c.GetManifest(ctx, repo.Digest(d.Digest.String()))
		switch {
		case err != nil:
			pi.Image = &ImageReport{Digest: d.Digest.String(), MediaType: string(d.MediaType), Err: classify(repo.String()+"@"+d.Digest.String(), err)}
		case IsIndex(child.MediaType):
			if seen[child.Digest.String()] || depth+1 >= maxIndexDepth {
				pi.Image = &ImageReport{Digest: d.Digest.String(), MediaType: string(child.MediaType), Err: &RegistryError{Kind: ErrInvalid, Ref: repo.String() + "@" + d.Digest.String(), Detail: "index nests indexes too deeply or refers to itself"}}
				break
			}
			seen[child.Digest.String()] = true
			nested := &Report{Reference: repo.String() + "@" + d.Digest.String(), Selected: -1}
			c.readIndex(ctx, repo, child, nested, o, depth+1, seen)
			if img := nested.SelectedImage(); img != nil {
				pi.Image = img
			} else {
				pi.Image = &ImageReport{Digest: d.Digest.String(), MediaType: string(child.MediaType), Err: &RegistryError{Kind: ErrInvalid, Ref: nested.Reference, Detail: "nested index has no linux/amd64 image"}}
			}
		default:
			img := c.readImage(ctx, repo, child, selected || o.AllPlatforms, o)
			pi.Image = img.ImageReport
		}
		r.Platforms = append(r.Platforms, pi)
	}
}

type imageRead struct {
	*ImageReport
	platform string
}

func (c *Client) readImage(ctx context.Context, repo name.Repository, m *Manifest, deep bool, o ReadOptions) imageRead {
	ir := &ImageReport{Digest: m.Digest.String(), MediaType: string(m.MediaType), ManifestSize: int64(len(m.Raw)), BaseLayers: []int{}}
	out := imageRead{ImageReport: ir}
	ref := repo.String() + "@" + m.Digest.String()
	if !IsImage(m.MediaType) {
		ir.Err = &RegistryError{Kind: ErrInvalid, Ref: ref, Detail: fmt.Sprintf("unsupported manifest media type %q", m.MediaType)}
		return out
	}
	man, err := ParseImageManifest(m.Raw)
	if err != nil {
		ir.Err = &RegistryError{Kind: ErrInvalid, Ref: ref, Detail: Describe(err)}
		return out
	}
	ir.ConfigDigest, ir.ConfigSize = man.Config.Digest.String(), man.Config.Size
	for i, l := range man.Layers {
		ir.Layers = append(ir.Layers, Layer{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size, Annotations: l.Annotations})
		if l.Annotations[AnnotationKey] == PackageAnnotation {
			ir.BaseLayers = append(ir.BaseLayers, i)
		}
	}
	// The config and the layers are independent reads: the layer is scanned
	// while the config is read, and the scan counts only once the config
	// was read and parsed, so the report is the one the reads one after the
	// other would give.
	var scanned *ImageReport
	var scanErr error
	scanDone := make(chan struct{})
	if deep && !o.Shallow {
		scanned = &ImageReport{Layers: ir.Layers, BaseLayers: ir.BaseLayers}
		go func() {
			defer close(scanDone)
			scanErr = c.scan(ctx, repo, scanned, o)
		}()
	} else {
		close(scanDone)
	}
	cfgRaw, err := c.readBlob(ctx, repo, man.Config.Digest.String(), MaxConfigBytes)
	<-scanDone
	if err != nil {
		ir.Err = classify(ref, err)
		return out
	}
	var cfg configFile
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		ir.Err = &RegistryError{Kind: ErrInvalid, Ref: ref, Detail: "image config is not valid JSON: " + Describe(err)}
		return out
	}
	if cfg.OS != "" {
		out.platform = cfg.OS + "/" + cfg.Architecture
		if cfg.Variant != "" {
			out.platform += "/" + cfg.Variant
		}
	}
	ir.Labels = xpkgLabels(&cfg, ir.Layers)
	if scanned == nil {
		return out
	}
	ir.BaseScan, ir.FlattenScan, ir.Package, ir.OtherBase = scanned.BaseScan, scanned.FlattenScan, scanned.Package, scanned.OtherBase
	if scanErr != nil {
		ir.Err = classify(ref, scanErr)
	}
	return out
}

// MaxVerifiedLayerBytes bounds what is read beyond package.yaml to check a
// layer's digest before anything read from it is trusted. Package layers are
// far smaller (package.yaml and an icon: kilobytes to a few MB), so they are
// always read whole; of a larger layer only package.yaml is read, and the
// report says it was not verified.
const MaxVerifiedLayerBytes = 16 << 20

// scan finds package.yaml: in the first annotated layer if there is one
// (Crossplane never falls back to flattening when a layer is annotated,
// imageback.go@v2.1.3), else in the flattened filesystem, top layer first.
// What it reads is trusted only once the layer's digest matched: a registry
// serving other bytes under the digest is an error, and no metadata from
// those bytes is kept.
func (c *Client) scan(ctx context.Context, repo name.Repository, ir *ImageReport, o ReadOptions) error {
	if len(ir.BaseLayers) > 0 {
		i := ir.BaseLayers[0]
		s := newScanner(true, o.MaxUncompressedBytes)
		verified, err := c.withLayer(ctx, repo, ir.Layers[i], s.scan, func(r io.Reader) error { return s.scanLayer(i, r) })
		if err != nil {
			return err
		}
		s.scan.Verified = verified
		ir.BaseScan, ir.Package = s.scan, s.pkg
		if len(ir.BaseLayers) > 1 {
			ir.OtherBase = c.scanOtherBase(ctx, repo, ir, o)
		}
		return nil
	}
	f := newFlattener(o.MaxUncompressedBytes)
	f.scan.Verified = true
	for i := len(ir.Layers) - 1; i >= 0; i-- {
		var stop bool
		verified, err := c.withLayer(ctx, repo, ir.Layers[i], f.scan, func(r io.Reader) error {
			var err error
			stop, err = f.scanLayer(i, r)
			return err
		})
		if err != nil {
			return err
		}
		f.scan.Verified = f.scan.Verified && verified
		if stop {
			break
		}
		if i == 0 {
			f.scan.Complete = true
		}
	}
	if len(ir.Layers) == 0 {
		f.scan.Complete = true
	}
	ir.FlattenScan, ir.Package = f.scan, f.pkg
	return nil
}

// scanOtherBase reads, of the last annotated layer, only what tells whether
// it holds the same package as the first: its entries up to package.yaml,
// and that file up to its first document that differs (once its meta object
// is known). A failure to read it is recorded in its scan, not the image's:
// no Crossplane version reads that layer's content.
func (c *Client) scanOtherBase(ctx context.Context, repo name.Repository, ir *ImageReport, o ReadOptions) *OtherBaseLayer {
	first, last := ir.BaseLayers[0], ir.BaseLayers[len(ir.BaseLayers)-1]
	out := &OtherBaseLayer{Layer: last}
	if ir.Layers[first].Digest == ir.Layers[last].Digest {
		out.SameBlob = true
		return out
	}
	s := newScanner(true, o.MaxUncompressedBytes)
	s.compareTo = ir.Package
	s.stopAtBaseName = true
	verified, err := c.withLayer(ctx, repo, ir.Layers[last], s.scan, func(r io.Reader) error { return s.scanLayer(last, r) })
	if err != nil {
		// Nothing read from bytes that do not match their digest is kept.
		s.scan.Err, s.pkg = err.Error(), nil
	}
	s.scan.Verified = verified
	out.Scan, out.Package = s.scan, s.pkg
	return out
}

// withLayer streams a layer to fn, hashing what it reads, then reads the
// rest of it (when that is at most MaxVerifiedLayerBytes) and checks the
// digest. It reports whether the digest was checked; bytes that do not
// match it are an ErrContentMismatch.
// A layer that ends before its descriptor's size is not verified; if the
// scan found no error in what it got, that is a mismatch too.
func (c *Client) withLayer(ctx context.Context, repo name.Repository, l Layer, scan *TarScan, fn func(io.Reader) error) (bool, error) {
	ref := repo.String() + "@" + l.Digest
	rc, err := c.OpenBlob(ctx, repo, l.Digest)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := newDigester(l.Digest)
	size := max(l.Size, 0)
	// A blob never yields more than its descriptor's size.
	var w io.Writer = io.Discard
	if h != nil {
		w = h
	}
	counted := &countingReader{r: io.TeeReader(io.LimitReader(rc, size), w)}
	r := &ctxReader{ctx: ctx, r: counted}
	if err := fn(r); err != nil {
		return false, err
	}
	if size-counted.n > MaxVerifiedLayerBytes {
		return false, nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return false, classify(ref, err)
	}
	switch {
	case counted.n < size && scan.Err != "":
		return false, nil
	case counted.n < size:
		return false, &RegistryError{Kind: ErrContentMismatch, Ref: ref, Detail: fmt.Sprintf("the registry sent %d of the layer's %d bytes", counted.n, size)}
	case h == nil:
		return false, nil
	}
	if got := h.digest(); got != l.Digest {
		return false, &RegistryError{Kind: ErrContentMismatch, Ref: ref, Detail: "layer content hashes to " + got + ", not to the digest the manifest names"}
	}
	return true, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a read when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (g *ctxReader) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, err
	}
	return g.r.Read(p)
}

// digester hashes a blob with its digest's algorithm.
type digester struct {
	algorithm string
	hash.Hash
}

// newDigester returns nil for an algorithm xpdoctor cannot check.
func newDigester(digest string) *digester {
	alg, _, _ := strings.Cut(digest, ":")
	switch alg {
	case "sha256":
		return &digester{alg, sha256.New()}
	case "sha512":
		return &digester{alg, sha512.New()}
	}
	return nil
}

func (d *digester) Write(p []byte) (int, error) {
	if d == nil {
		return len(p), nil
	}
	return d.Hash.Write(p)
}

func (d *digester) digest() string { return d.algorithm + ":" + hex.EncodeToString(d.Sum(nil)) }
