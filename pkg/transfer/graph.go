package transfer

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Bounds on a graph read from outside.
const (
	// maxIndexDepth bounds nested indexes.
	maxIndexDepth = 4
	// maxGraphManifests bounds the manifests of one reference's graph.
	maxGraphManifests = 256
)

// Manifest is one manifest of a graph.
type Manifest struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Present is true when the destination already has it (by digest).
	Present bool `json:"present"`
	// depth is the distance from the top: manifests are pushed deepest first.
	depth int
	raw   *xpkg.Manifest
}

// Blob is one blob (config or layer) of a graph.
type Blob struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Present is true when the destination already has it with this size.
	Present bool `json:"present"`
}

// graph is a manifest and everything it references.
type graph struct {
	// manifests lists the top one first, then children in index order.
	manifests []*Manifest
	blobs     []*Blob
}

// walkGraph reads the graph under top; fetch reads a child manifest by
// digest. Children of one index are read concurrently.
func walkGraph(ctx context.Context, top *xpkg.Manifest, fetch func(ctx context.Context, digest string) (*xpkg.Manifest, error)) (*graph, error) {
	g := &graph{}
	seenM := map[string]bool{}
	seenB := map[string]bool{}
	var mu sync.Mutex
	var walk func(ctx context.Context, m *xpkg.Manifest, depth int) error
	walk = func(ctx context.Context, m *xpkg.Manifest, depth int) error {
		if depth > maxIndexDepth {
			return fmt.Errorf("indexes nest more than %d deep", maxIndexDepth)
		}
		mu.Lock()
		if seenM[m.Digest.String()] {
			mu.Unlock()
			return nil
		}
		if len(g.manifests) >= maxGraphManifests {
			mu.Unlock()
			return fmt.Errorf("the graph has more than %d manifests; xpdoctor copies at most that many per reference", maxGraphManifests)
		}
		seenM[m.Digest.String()] = true
		g.manifests = append(g.manifests, &Manifest{Digest: m.Digest.String(), MediaType: string(m.MediaType), Size: int64(len(m.Raw)), depth: depth, raw: m})
		mu.Unlock()
		switch {
		case xpkg.IsIndex(m.MediaType):
			idx, err := xpkg.ParseIndex(m.Raw)
			if err != nil {
				return err
			}
			if len(idx.Manifests) > maxGraphManifests {
				return fmt.Errorf("index %s has %d children; xpdoctor copies at most %d", m.Digest, len(idx.Manifests), maxGraphManifests)
			}
			return forEach(ctx, requestsAtOnce, len(idx.Manifests), func(ctx context.Context, i int) error {
				d := idx.Manifests[i]
				child, err := fetch(ctx, d.Digest.String())
				if err != nil {
					return err
				}
				return walk(ctx, child, depth+1)
			})
		case xpkg.IsImage(m.MediaType):
			man, err := xpkg.ParseImageManifest(m.Raw)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range append([]v1.Descriptor{man.Config}, man.Layers...) {
				if d.Size < 0 {
					return fmt.Errorf("manifest %s declares a negative size for %s", m.Digest, d.Digest)
				}
				if !seenB[d.Digest.String()] {
					seenB[d.Digest.String()] = true
					g.blobs = append(g.blobs, &Blob{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size})
				}
			}
			return nil
		}
		return fmt.Errorf("cannot copy media type %q", m.MediaType)
	}
	if err := walk(ctx, top, 0); err != nil {
		return nil, err
	}
	return g, nil
}
