package transfer

import (
	"bytes"
	"context"
	"fmt"
)

// Verify proves that every destination of the plan holds its graph, as the
// plan's mode says: the reference names the source bytes, every manifest
// reads back by digest with the same bytes, every blob is served with its
// declared size, and with VerifyFull every blob hashes to its digest.
// Conflicting items are not checked.
func (e *Engine) Verify(ctx context.Context, p *Plan) error {
	var items []*Item
	for _, it := range p.Items {
		if it.Action != Conflict {
			items = append(items, it)
		}
	}
	return forEach(ctx, requestsAtOnce, len(items), func(ctx context.Context, i int) error {
		it := items[i]
		if it.NotWalked {
			if err := e.walk(ctx, it); err != nil {
				return err
			}
		}
		cur, err := it.dst.current(ctx)
		if err != nil {
			return err
		}
		if cur == nil || !bytes.Equal(cur.Raw, it.top.Raw) {
			got := "nothing"
			if cur != nil {
				got = cur.Digest.String()
			}
			return fmt.Errorf("%s names %s, want %s", it.Destination, got, it.Digest)
		}
		for _, m := range it.Manifests[1:] {
			if err := e.verifyManifest(ctx, it, m); err != nil {
				return err
			}
		}
		if err := e.verifyBlobs(ctx, it); err != nil {
			return err
		}
		if p.Verify == VerifyFull {
			return e.hashBlobs(ctx, it)
		}
		return nil
	})
}

// verifyManifest reads a manifest back by digest and compares its bytes.
func (e *Engine) verifyManifest(ctx context.Context, it *Item, m *Manifest) error {
	raw, ok, err := it.dst.readManifest(ctx, m.Digest)
	if err != nil {
		return fmt.Errorf("verifying %s: reading manifest %s back: %w", it.Destination, m.Digest, err)
	}
	if !ok {
		if m.Present {
			return &LieError{Destination: it.Destination.String(), What: "manifest", Digest: m.Digest, Detail: "reading it back by digest found nothing"}
		}
		return fmt.Errorf("verifying %s: manifest %s was pushed but reads back as absent", it.Destination, m.Digest)
	}
	if !bytes.Equal(raw, m.raw.Raw) {
		return fmt.Errorf("verifying %s: manifest %s reads back with different bytes", it.Destination, m.Digest)
	}
	return nil
}

// verifyBlobs proves every blob is served with its declared size.
func (e *Engine) verifyBlobs(ctx context.Context, it *Item) error {
	return forEach(ctx, requestsAtOnce, len(it.Blobs), func(ctx context.Context, i int) error {
		b := it.Blobs[i]
		n, err := it.dst.blobSize(ctx, b)
		if err != nil {
			return fmt.Errorf("verifying %s: blob %s: %w", it.Destination, b.Digest, err)
		}
		if n == b.Size {
			return nil
		}
		detail := "it is not served"
		if n >= 0 {
			detail = fmt.Sprintf("it is served with %d bytes, not the %d declared", n, b.Size)
		}
		if b.Present {
			return &LieError{Destination: it.Destination.String(), What: "blob", Digest: b.Digest, Detail: detail}
		}
		return fmt.Errorf("verifying %s: blob %s was copied but %s", it.Destination, b.Digest, detail)
	})
}

// hashBlobs re-reads every blob and checks its digest (--verify=full).
func (e *Engine) hashBlobs(ctx context.Context, it *Item) error {
	return forEach(ctx, e.opts.Jobs, len(it.Blobs), func(ctx context.Context, i int) error {
		b := it.Blobs[i]
		rc, err := it.dst.readBlob(ctx, b)
		if err != nil {
			return fmt.Errorf("verifying %s: reading blob %s: %w", it.Destination, b.Digest, err)
		}
		defer rc.Close()
		if err := hashAll(rc, it.dst.where(), b.Digest, b.Size); err != nil {
			return fmt.Errorf("verifying %s: %w", it.Destination, err)
		}
		return nil
	})
}
