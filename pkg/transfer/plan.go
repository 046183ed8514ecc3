package transfer

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// VerifyMode says how a destination is proven to hold what was copied.
type VerifyMode string

// Verification modes.
const (
	// VerifyGraph reads every manifest back by digest and compares its
	// bytes, and proves every blob is served with its declared size.
	VerifyGraph VerifyMode = "graph"
	// VerifyFull also re-reads and hashes every blob.
	VerifyFull VerifyMode = "full"
)

// Describe says what a mode checks, for summaries.
func (m VerifyMode) Describe() string {
	if m == VerifyFull {
		return "every manifest read back by digest and compared byte for byte; every blob re-read and hashed"
	}
	return "every manifest read back by digest and compared byte for byte; every blob's presence and size checked (--verify=full also re-hashes blobs)"
}

// ParseVerifyMode reads --verify.
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch VerifyMode(s) {
	case "", VerifyGraph:
		return VerifyGraph, nil
	case VerifyFull:
		return VerifyFull, nil
	}
	return "", fmt.Errorf("--verify must be graph or full, not %q", s)
}

// Options tune an Engine.
type Options struct {
	// Jobs bounds concurrent streams of large blobs (default 4); small
	// blobs and metadata requests are latency-bound and run 16 at a time.
	Jobs int
	// Force allows moving a destination tag that names another digest.
	Force bool
	// Verify is the verification mode (default VerifyGraph).
	Verify VerifyMode
	// Progress is called, from several goroutines, as work is done.
	Progress func(Event)
}

// Event reports one step of an execution, for progress displays.
type Event struct {
	// Destination is the item's destination.
	Destination string
	// What is "copied", "mounted", "present" (blobs) or "manifest".
	What   string
	Digest string
	Size   int64
}

// Engine plans, executes and verifies transfers. It holds no global state;
// one Engine serves one command run (it remembers which repository of a
// registry holds each blob, to mount instead of upload).
type Engine struct {
	c    *xpkg.Client
	opts Options

	mu      sync.Mutex
	holders map[string]map[string]string // registry -> digest -> repository
	uploads map[string]*upload           // registry|digest -> upload in flight
	stores  map[string]*ociStore         // kind:path -> layout or archive
	// dataSlots bounds concurrent streams of large blobs (Options.Jobs).
	dataSlots chan struct{}
}

type upload struct {
	done chan struct{}
	repo string
	err  error
}

// New returns an Engine copying with c's credentials and transports.
func New(c *xpkg.Client, o Options) *Engine {
	if o.Jobs < 1 {
		o.Jobs = defaultJobs
	}
	if o.Verify == "" {
		o.Verify = VerifyGraph
	}
	if o.Progress == nil {
		o.Progress = func(Event) {}
	}
	return &Engine{c: c, opts: o, holders: map[string]map[string]string{}, uploads: map[string]*upload{}, stores: map[string]*ociStore{},
		dataSlots: make(chan struct{}, o.Jobs)}
}

// Close releases open archives and removes staging directories.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.stores {
		s.close()
	}
}

// Request is one reference to transfer.
type Request struct {
	Source, Destination Endpoint
}

// Action is what a plan will do for one reference.
type Action string

// Actions.
const (
	// Copy copies to a new reference.
	Copy Action = "copy"
	// Move copies and moves a tag that names another digest (--force).
	Move Action = "move"
	// UpToDate: the destination reference already names the exact bytes.
	UpToDate Action = "up-to-date"
	// Conflict: the destination tag names another digest; left alone.
	Conflict Action = "conflict"
)

// Item is one reference of a plan.
type Item struct {
	Source      Endpoint `json:"source"`
	Destination Endpoint `json:"destination"`
	// Digest is the digest of the source manifest bytes.
	Digest string `json:"digest"`
	// CurrentDigest is the digest of the bytes the destination reference
	// names now ("" when absent).
	CurrentDigest string `json:"currentDigest,omitempty"`
	Action        Action `json:"action"`
	// Conflict says why a conflicting tag is left alone.
	Conflict string `json:"conflict,omitempty"`
	// Manifests lists the top manifest first.
	Manifests []*Manifest `json:"manifests"`
	Blobs     []*Blob     `json:"blobs"`
	// BytesToCopy is the size of what is missing.
	BytesToCopy int64 `json:"bytesToCopy"`
	// NotWalked is set for an up-to-date index whose children were not
	// read: Blobs is then empty, not "none".
	NotWalked bool `json:"notWalked,omitempty"`

	src source
	dst destination
	top *xpkg.Manifest
}

// Plan is what an execution will do; computing it changed nothing.
type Plan struct {
	Items  []*Item    `json:"items"`
	Verify VerifyMode `json:"verify"`
	// BytesToCopy is the total of the items that will be copied.
	BytesToCopy int64 `json:"bytesToCopy"`
	// Space is set when a layout or archive destination needs disk space:
	// what it needs and what is free.
	Space []SpaceNeed `json:"space,omitempty"`
}

// SpaceNeed is the disk space a local destination needs.
type SpaceNeed struct {
	Path string `json:"path"`
	// Need and Free in bytes (Free -1: cannot tell on this system).
	Need int64 `json:"need"`
	Free int64 `json:"free"`
}

// Conflicts counts the items left alone.
func (p *Plan) Conflicts() int {
	n := 0
	for _, it := range p.Items {
		if it.Action == Conflict {
			n++
		}
	}
	return n
}

// Missing counts manifests and blobs of an item that will be sent.
func (it *Item) Missing() (manifests, blobs int) {
	for _, m := range it.Manifests {
		if !m.Present {
			manifests++
		}
	}
	for _, b := range it.Blobs {
		if !b.Present {
			blobs++
		}
	}
	return manifests, blobs
}

// References lists the references a layout or archive records, for
// import (index.json order).
func (e *Engine) References(kind Kind, path string) ([]string, error) {
	s, err := e.store(kind, path, false)
	if err != nil {
		return nil, err
	}
	refs := s.references()
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s records no references (no index.json entries with %s): was it written by an export?", s.describe(), RefNameAnnotation)
	}
	return refs, nil
}

func (e *Engine) store(kind Kind, path string, forWrite bool) (*ociStore, error) {
	key := string(kind) + ":" + path
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.stores[key]; ok {
		return s, nil
	}
	var s *ociStore
	var err error
	if kind == Archive {
		s, err = openArchiveStore(path, forWrite)
	} else {
		s, err = openLayoutStore(path, forWrite)
	}
	if err != nil {
		return nil, err
	}
	e.stores[key] = s
	return s, nil
}

func (e *Engine) open(ep Endpoint, forWrite bool) (source, destination, error) {
	if ep.Kind == Registry {
		ref, err := parseRegistryRef(e.c, ep.Ref)
		if err != nil {
			return nil, nil, err
		}
		r := &registryEnd{c: e.c, ref: ref}
		return r, r, nil
	}
	s, err := e.store(ep.Kind, ep.Path, forWrite)
	if err != nil {
		return nil, nil, err
	}
	o := &ociEnd{s: s, ref: ep.Ref}
	return o, o, nil
}

// Plan reads every source graph and what each destination holds. It
// changes nothing. The destination's current manifest is read (GET) and
// compared by the digest of its bytes, never by a Docker-Content-Digest
// header, which a registry or proxy can get wrong.
func (e *Engine) Plan(ctx context.Context, reqs []Request) (*Plan, error) {
	p := &Plan{Verify: e.opts.Verify, Items: make([]*Item, len(reqs))}
	for i, r := range reqs {
		it := &Item{Source: r.Source, Destination: r.Destination}
		var err error
		if it.src, _, err = e.open(r.Source, false); err != nil {
			return nil, err
		}
		if _, it.dst, err = e.open(r.Destination, true); err != nil {
			return nil, err
		}
		p.Items[i] = it
	}
	err := forEach(ctx, requestsAtOnce, len(p.Items), func(ctx context.Context, i int) error {
		return e.planItem(ctx, p.Items[i])
	})
	if err != nil {
		return nil, err
	}
	for _, it := range p.Items {
		if it.Action == Copy || it.Action == Move {
			p.BytesToCopy += it.BytesToCopy
		}
	}
	p.Space = e.space(p)
	return p, nil
}

func (e *Engine) planItem(ctx context.Context, it *Item) error {
	var cur *xpkg.Manifest
	var curErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cur, curErr = it.dst.current(ctx)
	}()
	top, err := it.src.top(ctx)
	wg.Wait()
	if err != nil {
		return xpkg.About("reading source", it.Source.String(), err)
	}
	if curErr != nil {
		return xpkg.About("reading destination", it.Destination.String(), curErr)
	}
	it.top, it.Digest = top, top.Digest.String()
	if d, ok := destinationDigest(it.Destination); ok && d != it.Digest {
		return fmt.Errorf("destination %s names digest %s, but the source is %s", it.Destination, d, it.Digest)
	}
	if cur != nil {
		it.CurrentDigest = cur.Digest.String()
	}
	if cur != nil && bytes.Equal(cur.Raw, top.Raw) {
		// The reference already names these exact bytes, and a registry
		// accepts a manifest only once it holds what it references: as
		// crane does, nothing more is read (--verify=full walks and proves
		// the graph). What the top manifest lists is counted as present.
		it.Action = UpToDate
		if e.opts.Verify == VerifyFull {
			if err := e.walk(ctx, it); err != nil {
				return err
			}
		} else {
			it.Manifests, it.Blobs, it.NotWalked = shallowGraph(top)
		}
		for _, m := range it.Manifests {
			m.Present = true
		}
		for _, b := range it.Blobs {
			b.Present = true
		}
		return nil
	}
	if err := e.walk(ctx, it); err != nil {
		return err
	}
	if o, ok := it.src.(*ociEnd); ok {
		// A layout's blobs are checked before anything is written: links,
		// special files and wrong sizes are refused here, not midway.
		for _, b := range it.Blobs {
			n, _, err := o.s.statAny(b.Digest)
			switch {
			case err != nil:
				return err
			case n < 0:
				return fmt.Errorf("%s does not hold blob %s of %s", o.s.describe(), b.Digest, it.Source.Ref)
			case n != b.Size:
				return fmt.Errorf("%s: blob %s is %d bytes, its manifest declares %d", o.s.describe(), b.Digest, n, b.Size)
			}
		}
	}
	switch {
	case cur == nil:
		it.Action = Copy
	case e.opts.Force:
		it.Action = Move
	default:
		it.Action = Conflict
		it.Conflict = fmt.Sprintf("%s names %s, not %s: left alone (--force moves it)", it.Destination.Ref, it.CurrentDigest, it.Digest)
	}
	n := len(it.Manifests) + len(it.Blobs)
	err = forEach(ctx, requestsAtOnce, n, func(ctx context.Context, i int) error {
		var err error
		if i < len(it.Manifests) {
			m := it.Manifests[i]
			m.Present, err = it.dst.hasManifest(ctx, m.Digest)
		} else {
			b := it.Blobs[i-len(it.Manifests)]
			b.Present, err = it.dst.hasBlob(ctx, b)
		}
		if err != nil {
			return xpkg.About("reading destination", it.Destination.String(), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range it.Manifests {
		if !m.Present {
			it.BytesToCopy += m.Size
		}
	}
	srcReg, srcRepo := it.src.registryRepo()
	for _, b := range it.Blobs {
		if !b.Present {
			it.BytesToCopy += b.Size
		}
		if reg, _ := it.dst.registryRepo(); reg != "" && reg == srcReg {
			// The source repository is in the destination registry: mount from it.
			e.remember(srcReg, srcRepo, b.Digest)
		}
		if b.Present {
			if reg, repo := it.dst.registryRepo(); reg != "" {
				e.remember(reg, repo, b.Digest)
			}
		}
	}
	return nil
}

// walk reads the item's whole source graph.
func (e *Engine) walk(ctx context.Context, it *Item) error {
	g, err := walkGraph(ctx, it.top, it.src.child)
	if err != nil {
		return fmt.Errorf("%s: %w", it.Source, err)
	}
	sortGraph(g)
	it.Manifests, it.Blobs, it.NotWalked = g.manifests, g.blobs, false
	return nil
}

// shallowGraph is what the top manifest itself lists, without a request:
// an index's children, or an image's blobs. walked is false for an index
// (its children's blobs are not known).
func shallowGraph(top *xpkg.Manifest) (ms []*Manifest, bs []*Blob, notWalked bool) {
	ms = []*Manifest{{Digest: top.Digest.String(), MediaType: string(top.MediaType), Size: int64(len(top.Raw)), raw: top}}
	if idx, err := xpkg.ParseIndex(top.Raw); err == nil && xpkg.IsIndex(top.MediaType) {
		for _, d := range idx.Manifests {
			ms = append(ms, &Manifest{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size, depth: 1})
		}
		return ms, nil, true
	}
	if man, err := xpkg.ParseImageManifest(top.Raw); err == nil {
		for _, d := range append([]v1.Descriptor{man.Config}, man.Layers...) {
			bs = append(bs, &Blob{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size})
		}
	}
	return ms, bs, false
}

// destinationDigest is the digest a registry destination names, if any.
func destinationDigest(ep Endpoint) (string, bool) {
	if ep.Kind != Registry {
		return "", false
	}
	d, err := name.NewDigest(ep.Ref)
	if err != nil {
		return "", false
	}
	return d.DigestStr(), true
}

func sortGraph(g *graph) {
	top := g.manifests[0]
	sort.Slice(g.manifests, func(i, j int) bool {
		a, b := g.manifests[i], g.manifests[j]
		if (a == top) != (b == top) {
			return a == top
		}
		return a.Digest < b.Digest
	})
	sort.Slice(g.blobs, func(i, j int) bool { return g.blobs[i].Digest < g.blobs[j].Digest })
}

// space says what local destinations need: the bytes to copy, and for an
// archive also the new archive beside the old one.
func (e *Engine) space(p *Plan) []SpaceNeed {
	need := map[*ociStore]int64{}
	for _, it := range p.Items {
		if o, ok := it.dst.(*ociEnd); ok && (it.Action == Copy || it.Action == Move) {
			need[o.s] += it.BytesToCopy
		}
	}
	var out []SpaceNeed
	for s, n := range need {
		dir := s.path
		if s.kind == Archive {
			dir = parentDir(s.path)
			if a, ok := s.read.(*archiveReader); ok {
				if st, err := a.f.Stat(); err == nil {
					n += st.Size()
				}
			}
			n += need[s] // staged, then packed
		}
		probe := dir
		for probe != "" && freeBytes(probe) < 0 && parentDir(probe) != probe {
			probe = parentDir(probe)
		}
		out = append(out, SpaceNeed{Path: s.describe(), Need: n, Free: freeBytes(probe)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// remember records that repo of registry holds digest.
func (e *Engine) remember(registry, repo, digest string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.holders[registry] == nil {
		e.holders[registry] = map[string]string{}
	}
	e.holders[registry][digest] = repo
}

// holder returns another repository of registry known to hold digest.
func (e *Engine) holder(registry, repo, digest string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	from, ok := e.holders[registry][digest]
	return from, ok && from != repo
}

// SetProgress sets the progress callback of later executions.
func (e *Engine) SetProgress(f func(Event)) {
	if f == nil {
		f = func(Event) {}
	}
	e.opts.Progress = f
}

// Join puts plans made separately (each reference alone, so that one
// failure does not stop the others) into one for Execute.
func Join(plans ...*Plan) *Plan {
	out := &Plan{Verify: VerifyGraph}
	for _, p := range plans {
		out.Items = append(out.Items, p.Items...)
		out.BytesToCopy += p.BytesToCopy
		out.Space = append(out.Space, p.Space...)
		out.Verify = p.Verify
	}
	return out
}
