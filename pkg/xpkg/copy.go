package xpkg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CopyPlan is what a copy will do; computing it changes nothing.
type CopyPlan struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is the source digest the destination tag will point to.
	Digest string `json:"digest"`
	// CurrentDigest is what the destination tag points to now ("" if absent).
	CurrentDigest string `json:"currentDigest,omitempty"`
	// Manifests are pushed children first, the top manifest last.
	Manifests []PlanItem `json:"manifests"`
	Blobs     []PlanItem `json:"blobs"`
	// BytesToCopy is the size of the blobs and manifests that are missing.
	BytesToCopy int64 `json:"bytesToCopy"`
	// Conflict is set when the tag points at another digest and --force was not given.
	Conflict string `json:"conflict,omitempty"`
	// Current is set when the destination already resolves to the source
	// digest: registries accept a manifest only once they hold what it
	// references, so nothing is walked or copied (as crane does).
	Current bool `json:"current,omitempty"`

	manifests map[string]*Manifest
	src, dst  name.Reference
}

// PlanItem is a manifest or blob of the graph.
type PlanItem struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Exists is true when the destination already has it.
	Exists bool `json:"exists"`
}

// UpToDate reports whether the destination already matches.
func (p *CopyPlan) UpToDate() bool {
	return p.Current || p.CurrentDigest == p.Digest && p.BytesToCopy == 0
}

// PlanCopy reads the source graph (manifests only) and what the destination
// holds. force allows moving a tag that points elsewhere.
func (c *Client) PlanCopy(ctx context.Context, src, dst name.Reference, force bool) (*CopyPlan, error) {
	p := &CopyPlan{Source: src.String(), Destination: dst.String(), manifests: map[string]*Manifest{}, src: src, dst: dst}
	// Fast path: two HEADs tell whether there is anything to do.
	if cur, err := c.headManifest(ctx, dst); err == nil && cur != "" {
		if sd, err := c.headManifest(ctx, src); err == nil && sd == cur {
			p.Digest, p.CurrentDigest, p.Current = sd, cur, true
			return p, nil
		}
	}
	top, err := c.GetManifest(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("reading source %s: %w", src, err)
	}
	p.Digest = top.Digest.String()
	g, err := walkGraph(top, func(d string) (*Manifest, error) {
		m, err := c.GetManifest(ctx, src.Context().Digest(d))
		if err != nil {
			return nil, fmt.Errorf("reading source child %s: %w", d, err)
		}
		return m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	p.manifests, p.Manifests = g.manifests, g.order
	cur, err := c.headManifest(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("reading destination %s: %w", dst, err)
	}
	p.CurrentDigest = cur
	if _, isTag := dst.(name.Tag); isTag && cur != "" && cur != p.Digest && !force {
		p.Conflict = fmt.Sprintf("%s points to %s, not %s: left alone (--force moves it)", dst, cur, p.Digest)
	}
	p.Blobs = append(p.Blobs, g.blobs...)
	err = parallel(ctx, len(p.Manifests)+len(p.Blobs), func(i int) error {
		var err error
		if i < len(p.Manifests) {
			p.Manifests[i].Exists, err = c.manifestExists(ctx, dst.Context().Digest(p.Manifests[i].Digest))
			return err
		}
		b := &p.Blobs[i-len(p.Manifests)]
		b.Exists, err = c.blobExists(ctx, dst.Context(), b.Digest)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, it := range append(append([]PlanItem{}, p.Manifests...), p.Blobs...) {
		if !it.Exists {
			p.BytesToCopy += it.Size
		}
	}
	return p, nil
}

// parallel runs fn(0..n-1), eight at a time, and returns the first error.
func parallel(ctx context.Context, n int, fn func(int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, 8)
	)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// headManifest returns the digest a reference points to, or "" if absent.
func (c *Client) headManifest(ctx context.Context, ref name.Reference) (string, error) {
	t, err := c.transportFor(ctx, ref.Context())
	if err != nil {
		return "", classify(ref.String(), err)
	}
	d, err := remote.Head(ref, remote.WithTransport(t), remote.WithContext(ctx))
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return "", nil
		}
		return "", classify(ref.String(), err)
	}
	return d.Digest.String(), nil
}

func (c *Client) manifestExists(ctx context.Context, ref name.Digest) (bool, error) {
	d, err := c.headManifest(ctx, ref)
	return d != "", err
}

func (c *Client) blobExists(ctx context.Context, repo name.Repository, digest string) (bool, error) {
	t, err := c.transportFor(ctx, repo)
	if err != nil {
		return false, classify(repo.String(), err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return false, classify(repo.String()+"@"+digest, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, classify(repo.String()+"@"+digest, transport.CheckError(resp, http.StatusOK))
}

// CopyResult summarises an executed copy.
type CopyResult struct {
	BlobsCopied, BlobsSkipped, BlobsMounted int
	ManifestsPushed                         int
	BytesCopied                             int64
	Duration                                time.Duration
}

// Copy executes a plan: missing blobs in parallel (jobs at once; a blob in
// another repository of the same registry is mounted by go-containerregistry
// when it can), then manifests as the exact bytes fetched, children before
// their index, and the tag last, so that a crash never leaves a tag pointing
// at missing content.
// BlobEvent reports one blob of a copy.
type BlobEvent struct {
	Digest string
	Size   int64
	// Skipped is true when the destination already had it.
	Skipped bool
}

// CopyOption tunes Copy.
type CopyOption func(*copyOptions)

type copyOptions struct{ observe func(BlobEvent) }

// WithBlobObserver is called (from several goroutines) as each blob is done.
func WithBlobObserver(f func(BlobEvent)) CopyOption { return func(o *copyOptions) { o.observe = f } }

func (c *Client) Copy(ctx context.Context, p *CopyPlan, jobs int, opts ...CopyOption) (*CopyResult, error) {
	co := copyOptions{observe: func(BlobEvent) {}}
	for _, o := range opts {
		o(&co)
	}
	if p.Conflict != "" {
		return nil, errors.New(p.Conflict)
	}
	if p.Current {
		return &CopyResult{}, nil
	}
	start := time.Now()
	if jobs < 1 {
		jobs = 4
	}
	res := &CopyResult{}
	srcT, err := c.transportFor(ctx, p.src.Context())
	if err != nil {
		return nil, classify(p.Source, err)
	}
	dstOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain), remote.WithTransport(c.base), remote.WithUserAgent(c.userAgent), remote.WithJobs(jobs),
		// Whole-blob retries for streaming uploads, which retry.go cannot replay.
		remote.WithRetryBackoff(remote.Backoff{Duration: retryBase, Factor: 2, Jitter: 0.1, Steps: retryAttempts})}
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, jobs)
		mu       sync.Mutex
		firstErr error
		copied   atomic.Int64
	)
	for _, b := range p.Blobs {
		if b.Exists {
			res.BlobsSkipped++
			c.remember(p.dst.Context(), b.Digest)
			co.observe(BlobEvent{Digest: b.Digest, Size: b.Size, Skipped: true})
			continue
		}
		b := b
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mounted, err := c.copyBlob(ctx, p, srcT, b, dstOpts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					if advice, ok := MissingRepository(p.dst.Context(), err); ok {
						firstErr = errors.New(advice)
					} else {
						firstErr = fmt.Errorf("copying blob %s: %w", b.Digest, classify(p.Destination, err))
					}
				}
				return
			}
			if mounted {
				res.BlobsMounted++
				co.observe(BlobEvent{Digest: b.Digest, Size: b.Size, Skipped: true})
				return
			}
			res.BlobsCopied++
			copied.Add(b.Size)
			co.observe(BlobEvent{Digest: b.Digest, Size: b.Size})
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	for _, m := range p.Manifests {
		if m.Exists {
			continue
		}
		raw := p.manifests[m.Digest]
		if err := remote.Put(p.dst.Context().Digest(m.Digest), RawManifestOf(raw), dstOpts...); err != nil {
			return res, fmt.Errorf("pushing manifest %s: %w", m.Digest, classify(p.Destination, err))
		}
		res.ManifestsPushed++
		copied.Add(m.Size)
	}
	if _, isTag := p.dst.(name.Tag); isTag && p.CurrentDigest != p.Digest {
		if err := remote.Put(p.dst, RawManifestOf(p.manifests[p.Digest]), dstOpts...); err != nil {
			return res, fmt.Errorf("tagging %s: %w", p.Destination, classify(p.Destination, err))
		}
	}
	res.BytesCopied = copied.Load()
	res.Duration = time.Since(start)
	return res, nil
}

// Verify walks the destination graph: the reference must resolve to the
// source digest and every manifest and blob must be present.
func (c *Client) Verify(ctx context.Context, p *CopyPlan) error {
	d, err := c.headManifest(ctx, p.dst)
	if err != nil {
		return err
	}
	if d != p.Digest {
		return fmt.Errorf("%s resolves to %s, want %s", p.Destination, d, p.Digest)
	}
	return parallel(ctx, len(p.Manifests)+len(p.Blobs), func(i int) error {
		if i < len(p.Manifests) {
			ok, err := c.manifestExists(ctx, p.dst.Context().Digest(p.Manifests[i].Digest))
			if err == nil && !ok {
				err = fmt.Errorf("%s: manifest %s is missing", p.Destination, p.Manifests[i].Digest)
			}
			return err
		}
		b := p.Blobs[i-len(p.Manifests)]
		ok, err := c.blobExists(ctx, p.dst.Context(), b.Digest)
		if err == nil && !ok {
			err = fmt.Errorf("%s: blob %s is missing", p.Destination, b.Digest)
		}
		return err
	})
}

// rawManifest pushes exact bytes.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// RawManifestOf wraps a fetched manifest for remote.Put, byte for byte.
func RawManifestOf(m *Manifest) interface {
	RawManifest() ([]byte, error)
	MediaType() (types.MediaType, error)
} {
	return rawManifest{raw: m.Raw, mt: m.MediaType}
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

// copyBlob mounts b from a repository of the destination registry that
// holds it (waiting for a concurrent upload of the same blob to finish
// first), or uploads it from the source.
func (c *Client) copyBlob(ctx context.Context, p *CopyPlan, srcT http.RoundTripper, b PlanItem, dstOpts []remote.Option) (mounted bool, err error) {
	dst := p.dst.Context()
	key := dst.RegistryStr() + "|" + b.Digest
	triedMount := false
	for {
		if from, ok := c.holder(dst, b.Digest); ok && !triedMount {
			mounted, err := c.mount(ctx, dst, from, b.Digest)
			if err != nil || mounted {
				if mounted {
					c.remember(dst, b.Digest)
				}
				return mounted, err
			}
			triedMount = true // the registry does not mount (202): upload
		}
		c.mu.Lock()
		wait, busy := c.inflight[key]
		if !busy {
			c.inflight[key] = make(chan struct{})
		}
		c.mu.Unlock()
		if !busy {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	defer func() {
		c.mu.Lock()
		close(c.inflight[key])
		delete(c.inflight, key)
		c.mu.Unlock()
	}()
	l, err := remote.Layer(p.src.Context().Digest(b.Digest), remote.WithTransport(srcT), remote.WithContext(ctx))
	if err != nil {
		return false, err
	}
	// Passed unwrapped: go-containerregistry mounts a *remote.MountableLayer
	// from the source repository when both are in one registry.
	if err := remote.WriteLayer(dst, l, dstOpts...); err != nil {
		return false, err
	}
	c.remember(dst, b.Digest)
	return false, nil
}

// remember records that repo holds digest.
func (c *Client) remember(repo name.Repository, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg := repo.RegistryStr()
	if c.holders[reg] == nil {
		c.holders[reg] = map[string]string{}
	}
	c.holders[reg][digest] = repo.RepositoryStr()
}

// holder returns another repository of the same registry known to hold digest.
func (c *Client) holder(repo name.Repository, digest string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from, ok := c.holders[repo.RegistryStr()][digest]
	return from, ok && from != repo.RepositoryStr()
}

// mount asks the registry to link a blob from another repository
// (distribution spec "Mounting a blob from another repository"): 201 means
// mounted; 202 means the registry started an upload instead, which we
// abandon and fall back to a normal copy.
func (c *Client) mount(ctx context.Context, repo name.Repository, from, digest string) (bool, error) {
	t, err := c.transportFor(ctx, repo, transport.PushScope)
	if err != nil {
		return false, err
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/?mount=%s&from=%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest, from)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusCreated, nil
}

// graph is a manifest and everything it references.
type graph struct {
	manifests map[string]*Manifest
	// order lists manifests children first, the top one last.
	order []PlanItem
	blobs []PlanItem
}

// walkGraph collects the graph under top; fetch reads a child manifest.
func walkGraph(top *Manifest, fetch func(digest string) (*Manifest, error)) (*graph, error) {
	g := &graph{manifests: map[string]*Manifest{}}
	seenBlob := map[string]bool{}
	var walk func(m *Manifest, depth int) error
	walk = func(m *Manifest, depth int) error {
		if depth > maxIndexDepth {
			return fmt.Errorf("indexes nest more than %d deep", maxIndexDepth)
		}
		if _, seen := g.manifests[m.Digest.String()]; seen {
			return nil
		}
		g.manifests[m.Digest.String()] = m
		switch {
		case IsIndex(m.MediaType):
			idx, err := ParseIndex(m.Raw)
			if err != nil {
				return err
			}
			for _, d := range idx.Manifests {
				child, err := fetch(d.Digest.String())
				if err != nil {
					return err
				}
				if err := walk(child, depth+1); err != nil {
					return err
				}
			}
		case IsImage(m.MediaType):
			man, err := ParseImageManifest(m.Raw)
			if err != nil {
				return err
			}
			for _, d := range append([]v1.Descriptor{man.Config}, man.Layers...) {
				if !seenBlob[d.Digest.String()] {
					seenBlob[d.Digest.String()] = true
					g.blobs = append(g.blobs, PlanItem{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size})
				}
			}
		default:
			return fmt.Errorf("cannot copy media type %q", m.MediaType)
		}
		// Children were appended by the recursion: this manifest goes after them.
		g.order = append(g.order, PlanItem{Digest: m.Digest.String(), MediaType: string(m.MediaType), Size: int64(len(m.Raw))})
		return nil
	}
	return g, walk(top, 0)
}
