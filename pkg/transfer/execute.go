package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Tag says what happened to a destination reference.
type Tag string

// Tag outcomes.
const (
	TagCreated   Tag = "created"
	TagMoved     Tag = "moved"
	TagUnchanged Tag = "unchanged"
	TagLeft      Tag = "left alone"
)

// ItemResult is what happened to one reference.
type ItemResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is the digest the destination reference names afterwards (as
	// `crane digest` would print it); for a conflict, the source digest.
	Digest string `json:"digest"`
	Action Action `json:"action"`
	Tag    Tag    `json:"tag"`

	BlobsCopied      int   `json:"blobsCopied"`
	BlobsMounted     int   `json:"blobsMounted"`
	BlobsPresent     int   `json:"blobsPresent"`
	ManifestsPushed  int   `json:"manifestsPushed"`
	ManifestsPresent int   `json:"manifestsPresent"`
	BytesCopied      int64 `json:"bytesCopied"`
	// NotWalked: an up-to-date index whose children's blobs were not read
	// (and so not counted in BlobsPresent).
	NotWalked bool `json:"notWalked,omitempty"`
	// Verified says what was proven about the destination.
	Verified string `json:"verified"`
	Conflict string `json:"conflict,omitempty"`
}

// Result is what an execution did.
type Result struct {
	Items    []*ItemResult `json:"items"`
	Verify   VerifyMode    `json:"verify"`
	Duration time.Duration `json:"durationNanos"`
}

// Totals adds up the items.
func (r *Result) Totals() ItemResult {
	var t ItemResult
	for _, it := range r.Items {
		t.BlobsCopied += it.BlobsCopied
		t.BlobsMounted += it.BlobsMounted
		t.BlobsPresent += it.BlobsPresent
		t.ManifestsPushed += it.ManifestsPushed
		t.ManifestsPresent += it.ManifestsPresent
		t.BytesCopied += it.BytesCopied
	}
	return t
}

// Count counts items by tag outcome.
func (r *Result) Count(t Tag) int {
	n := 0
	for _, it := range r.Items {
		if it.Tag == t {
			n++
		}
	}
	return n
}

// LieError reports a destination that claimed to hold something it does
// not serve: a registry or proxy that answers HEAD 200 for anything.
type LieError struct {
	Destination, What, Digest, Detail string
}

func (e *LieError) Error() string {
	return fmt.Sprintf("%s claimed to hold %s %s but %s: the destination (or a proxy in front of it) misreports what it holds; nothing was tagged", e.Destination, e.What, e.Digest, e.Detail)
}

// SpaceError refuses a local destination that would not fit.
type SpaceError struct{ SpaceNeed }

func (e *SpaceError) Error() string {
	return fmt.Sprintf("%s needs %d bytes of free disk space and %d are free: nothing was written; free some space or choose another path", e.Path, e.Need, e.Free)
}

// Execute copies what the plan says is missing, then verifies and tags.
// For each reference: blobs are streamed with every byte checked against
// its digest (an upload whose bytes are wrong is abandoned, never
// committed); manifests are pushed by digest as the exact bytes read,
// children before parents; the destination graph is verified; and only
// then is the tag pointed at it and read back. A reference whose tag names
// another digest is left alone unless the plan was made with Force.
func (e *Engine) Execute(ctx context.Context, p *Plan) (*Result, error) {
	start := time.Now()
	res := &Result{Verify: p.Verify, Items: make([]*ItemResult, len(p.Items))}
	var work []*Item
	var results []*ItemResult
	for i, it := range p.Items {
		r := &ItemResult{Source: it.Source.String(), Destination: it.Destination.String(), Digest: it.Digest, Action: it.Action}
		res.Items[i] = r
		switch it.Action {
		case Conflict:
			r.Tag, r.Conflict, r.Verified = TagLeft, it.Conflict, "not copied"
			r.Digest = it.CurrentDigest
		case UpToDate:
			r.Tag = TagUnchanged
			r.BlobsPresent, r.ManifestsPresent, r.NotWalked = len(it.Blobs), len(it.Manifests), it.NotWalked
			r.Verified = "the destination reference already names the exact source bytes"
		default:
			work = append(work, it)
			results = append(results, r)
		}
	}
	if p.Verify == VerifyFull {
		// Up-to-date references are proven too when asked for.
		var current []*Item
		for _, it := range p.Items {
			if it.Action == UpToDate {
				current = append(current, it)
			}
		}
		if err := e.Verify(ctx, &Plan{Items: current, Verify: VerifyFull}); err != nil {
			return res, err
		}
		for i, it := range p.Items {
			if it.Action == UpToDate {
				res.Items[i].Verified = "the destination reference names the exact source bytes; " + VerifyFull.Describe()
			}
		}
	}
	for _, need := range p.Space {
		if need.Free >= 0 && need.Need > need.Free {
			return res, &SpaceError{need}
		}
	}
	var mu sync.Mutex
	count := func(f func()) { mu.Lock(); f(); mu.Unlock() }

	// Blobs, deduplicated per destination.
	var tasks []task
	for i, it := range work {
		for _, b := range it.Blobs {
			if b.Present {
				results[i].BlobsPresent++
				e.opts.Progress(Event{Destination: it.Destination.String(), What: "present", Digest: b.Digest, Size: b.Size})
				continue
			}
			tasks = append(tasks, task{it: it, r: results[i], b: b})
		}
	}
	// The first copy of each blob to a registry goes first: later copies of
	// it wait for that upload and then mount, and must not hold every slot
	// while it has not started.
	seen := map[string]bool{}
	var first, again []task
	for _, t := range tasks {
		reg, _ := t.it.dst.registryRepo()
		key := reg + "|" + t.b.Digest
		if reg != "" && seen[key] {
			again = append(again, t)
			continue
		}
		seen[key] = true
		first = append(first, t)
	}
	tasks = append(first, again...)
	// Small blobs (configs, package layers) are latency-bound and run
	// requestsAtOnce at a time; streams of large ones are bounded by
	// Options.Jobs (dataSlots, taken in streamBlob).
	err := forEach(ctx, max(e.opts.Jobs, requestsAtOnce), len(tasks), func(ctx context.Context, i int) error {
		t := tasks[i]
		mounted, err := e.copyBlob(ctx, t.it, t.b)
		if err != nil {
			return err
		}
		what := "copied"
		count(func() {
			if mounted {
				t.r.BlobsMounted++
				what = "mounted"
			} else {
				t.r.BlobsCopied++
				t.r.BytesCopied += t.b.Size
			}
		})
		e.opts.Progress(Event{Destination: t.it.Destination.String(), What: what, Digest: t.b.Digest, Size: t.b.Size})
		return nil
	})
	if err != nil {
		return res, err
	}

	// Manifests by digest, deepest first (children before their index);
	// the top manifest of a registry destination is pushed by tag, last.
	// Blobs are verified meanwhile: a registry accepts a manifest only
	// with its blobs, so both can go at once.
	depths := map[int]bool{}
	for _, it := range work {
		for _, m := range it.Manifests {
			depths[m.depth] = true
		}
	}
	levels := make([]int, 0, len(depths))
	for d := range depths {
		levels = append(levels, d)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(levels)))
	blobCheck := make(chan error, 1)
	go func() {
		blobCheck <- forEach(ctx, requestsAtOnce, len(work), func(ctx context.Context, i int) error {
			return e.verifyBlobs(ctx, work[i])
		})
	}()
	for _, depth := range levels {
		var mts []task
		for i, it := range work {
			for _, m := range it.Manifests {
				if m.depth != depth {
					continue
				}
				if _, isReg := it.dst.(*registryEnd); isReg && m.depth == 0 {
					continue // pushed by tag after verification
				}
				mts = append(mts, task{it: it, r: results[i], m: m})
			}
		}
		err := forEach(ctx, requestsAtOnce, len(mts), func(ctx context.Context, i int) error {
			t := mts[i]
			if !t.m.Present {
				if err := t.it.dst.putManifest(ctx, t.m.raw); err != nil {
					return e.explain(t.it, fmt.Errorf("pushing manifest %s to %s: %w", t.m.Digest, t.it.Destination, err))
				}
				count(func() { t.r.ManifestsPushed++ })
				e.opts.Progress(Event{Destination: t.it.Destination.String(), What: "manifest", Digest: t.m.Digest, Size: t.m.Size})
			} else {
				count(func() { t.r.ManifestsPresent++ })
			}
			return e.verifyManifest(ctx, t.it, t.m)
		})
		if err != nil {
			<-blobCheck
			return res, err
		}
	}
	if err := <-blobCheck; err != nil {
		return res, err
	}
	if p.Verify == VerifyFull {
		if err := forEach(ctx, e.opts.Jobs, len(work), func(ctx context.Context, i int) error { return e.hashBlobs(ctx, work[i]) }); err != nil {
			return res, err
		}
	}

	// Tags, then read back.
	err = forEach(ctx, requestsAtOnce, len(work), func(ctx context.Context, i int) error {
		it, r := work[i], results[i]
		top := it.Manifests[0]
		if _, isReg := it.dst.(*registryEnd); isReg {
			if top.Present {
				count(func() { r.ManifestsPresent++ })
			} else {
				count(func() { r.ManifestsPushed++ })
			}
		}
		if err := it.dst.tag(ctx, it.top); err != nil {
			return e.explain(it, fmt.Errorf("tagging %s: %w", it.Destination, err))
		}
		r.Tag = TagCreated
		if it.Action == Move {
			r.Tag = TagMoved
		}
		r.Verified = p.Verify.Describe()
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := e.commit(work); err != nil {
		return res, err
	}
	err = forEach(ctx, requestsAtOnce, len(work), func(ctx context.Context, i int) error {
		it := work[i]
		if o, ok := it.dst.(*ociEnd); ok && o.s.kind == Archive {
			// The archive was written anew: prove it holds the graph.
			for _, m := range it.Manifests[1:] {
				if err := e.verifyManifest(ctx, it, m); err != nil {
					return err
				}
			}
			if err := e.verifyBlobs(ctx, it); err != nil {
				return err
			}
		}
		cur, err := it.dst.current(ctx)
		if err != nil {
			return fmt.Errorf("reading back %s: %w", it.Destination, err)
		}
		if cur == nil || string(cur.Raw) != string(it.top.Raw) {
			got := "nothing"
			if cur != nil {
				got = cur.Digest.String()
			}
			return fmt.Errorf("%s was tagged with %s but reads back as %s: was it moved meanwhile, or does the registry rewrite manifests?", it.Destination, it.Digest, got)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// task is one blob or manifest of one item.
type task struct {
	it *Item
	r  *ItemResult
	b  *Blob
	m  *Manifest
}

// commit writes the index.json (or archive) of every local destination.
func (e *Engine) commit(items []*Item) error {
	done := map[*ociStore]bool{}
	for _, it := range items {
		o, ok := it.dst.(*ociEnd)
		if !ok || done[o.s] {
			continue
		}
		done[o.s] = true
		if err := o.s.commit(); err != nil {
			return fmt.Errorf("writing %s: %w", o.s.describe(), err)
		}
	}
	return nil
}

// explain turns a registry's "repository does not exist" into the command
// that creates it.
func (e *Engine) explain(it *Item, err error) error {
	if r, ok := it.dst.(*registryEnd); ok {
		if advice, ok := xpkg.MissingRepository(r.ref.Context(), err); ok {
			return errors.New(advice)
		}
	}
	return err
}

// largeBlob is the size from which a blob's stream takes one of the
// Options.Jobs data slots.
const largeBlob = 1 << 20

// blobAttempts bounds whole-blob retries of a streamed upload, which the
// client's retrying transport cannot replay (pkg/xpkg/retry.go).
const blobAttempts = 6

// copyBlob gets one missing blob to the destination: mounted from another
// repository of the same registry that holds it (waiting for a concurrent
// upload of the same blob first), else streamed from the source with
// every byte checked. mounted says which.
func (e *Engine) copyBlob(ctx context.Context, it *Item, b *Blob) (bool, error) {
	reg, repo := it.dst.registryRepo()
	if reg != "" {
		key := reg + "|" + b.Digest
		e.mu.Lock()
		up, busy := e.uploads[key]
		if !busy {
			up = &upload{done: make(chan struct{}), repo: repo}
			e.uploads[key] = up
		}
		e.mu.Unlock()
		if busy {
			select {
			case <-up.done:
			case <-ctx.Done():
				return false, ctx.Err()
			}
		} else {
			defer func() {
				e.mu.Lock()
				delete(e.uploads, key)
				e.mu.Unlock()
				close(up.done)
			}()
		}
		if from, ok := e.holder(reg, repo, b.Digest); ok {
			// A mount only saves an upload: when it fails, upload instead, as
			// crane does (go-containerregistry#1404, #1679). If the failure
			// is the destination's (no push rights, no repository), the
			// upload reports it with its advice.
			mounted, err := it.dst.mount(ctx, b, from)
			if err != nil && ctx.Err() != nil {
				return false, e.explain(it, fmt.Errorf("mounting blob %s into %s: %w", b.Digest, it.Destination, err))
			}
			if err == nil && mounted {
				e.remember(reg, repo, b.Digest)
				return true, nil
			}
		}
	}
	var err error
	for attempt := 0; attempt < blobAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(time.Duration(200<<attempt) * time.Millisecond):
			}
		}
		var refused *DigestError
		refused, err = e.streamBlob(ctx, it, b)
		if err == nil {
			if reg != "" {
				e.remember(reg, repo, b.Digest)
			}
			return false, nil
		}
		if refused != nil {
			return false, refused
		}
		var re *xpkg.RegistryError
		if !errors.As(err, &re) || !re.Transient() || ctx.Err() != nil {
			break
		}
	}
	return false, e.explain(it, fmt.Errorf("copying blob %s to %s: %w", b.Digest, it.Destination, err))
}

// streamBlob opens the source while the destination opens its upload, and
// streams one through the other. refused is set when the source's bytes
// were wrong.
func (e *Engine) streamBlob(ctx context.Context, it *Item, b *Blob) (*DigestError, error) {
	if b.Size >= largeBlob {
		select {
		case e.dataSlots <- struct{}{}:
			defer func() { <-e.dataSlots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opened := make(chan struct{})
	var rc io.ReadCloser
	var openErr error
	go func() {
		defer close(opened)
		rc, openErr = it.src.openBlob(ctx, b)
	}()
	body := &lazyReader{ready: opened, get: func() (io.Reader, error) {
		if openErr != nil {
			return nil, openErr
		}
		return rc, nil
	}}
	v := newVerifier(body, it.src.where(), b.Digest, b.Size)
	err := it.dst.putBlob(ctx, b, v)
	cancel()
	<-opened
	if rc != nil {
		rc.Close()
	}
	if de := v.failed(); de != nil {
		return de, de
	}
	// A source read that failed because the destination's failure canceled
	// it says nothing: the destination's error is the cause.
	if err != nil && openErr != nil && !errors.Is(openErr, context.Canceled) {
		return nil, fmt.Errorf("reading blob %s from %s: %w", b.Digest, it.Source, openErr)
	}
	return nil, err
}

// lazyReader waits for its reader on the first Read.
type lazyReader struct {
	ready <-chan struct{}
	get   func() (io.Reader, error)
	r     io.Reader
	err   error
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil && l.err == nil {
		<-l.ready
		l.r, l.err = l.get()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.r.Read(p)
}
