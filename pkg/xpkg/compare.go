package xpkg

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Comparison is how a mirror differs from its upstream.
type Comparison struct {
	Upstream       string `json:"reference"`
	UpstreamDigest string `json:"digest,omitempty"`
	// Identical is true when both references resolve to the same digest,
	// i.e. the same bytes.
	Identical bool `json:"identical"`
	// Differences lists what differs, one line each.
	Differences []string `json:"differences,omitempty"`
	// Cause names the copy pattern the differences are consistent with.
	Cause string `json:"cause"`

	DigestDiffers      bool `json:"digestDiffers"`
	IndexCollapsed     bool `json:"indexCollapsed"`
	PlatformsLost      bool `json:"platformsLost"`
	MediaTypeDiffers   bool `json:"mediaTypeDiffers"`
	AnnotationsDropped bool `json:"annotationsDropped"`
	LayersDiffer       bool `json:"layersDiffer"`
	ConfigDiffers      bool `json:"configDiffers"`
	// ChildIntact is true when a collapsed mirror holds the upstream's
	// linux/amd64 image manifest byte for byte.
	ChildIntact bool `json:"childIntact"`
}

// Compare tells how mirror differs from upstream. Both must have been read
// without a top-level error.
func Compare(mirror, upstream *Report) *Comparison {
	c := &Comparison{Upstream: upstream.Reference, UpstreamDigest: upstream.Digest}
	if mirror.Digest == upstream.Digest {
		c.Identical, c.Cause = true, "byte-identical"
		return c
	}
	c.DigestDiffers = true
	c.diff("digest", mirror.Digest, upstream.Digest)
	if mirror.MediaType != upstream.MediaType {
		c.diff("media type", short(mirror.MediaType), short(upstream.MediaType))
	}
	if upstream.IsIndex && !mirror.IsIndex {
		c.IndexCollapsed = true
		c.Differences = append(c.Differences, fmt.Sprintf("platforms: mirror has one image, upstream is an index of %d (%s)", len(upstream.Platforms), platformList(upstream)))
	} else if upstream.IsIndex && mirror.IsIndex && len(mirror.Platforms) < len(upstream.Platforms) {
		c.PlatformsLost = true
		c.diff("platforms", platformList(mirror), platformList(upstream))
	}
	mi, ui := mirror.SelectedImage(), upstream.SelectedImage()
	if mi == nil || ui == nil || mi.Err != nil || ui.Err != nil {
		c.Cause = "cannot compare the linux/amd64 images"
		return c
	}
	c.ChildIntact = mi.Digest == ui.Digest
	if c.ChildIntact {
		if c.IndexCollapsed {
			c.Cause = fmt.Sprintf("consistent with a single-platform copy (crane copy --platform, skopeo copy without --all): index collapsed to %s, image manifest byte-identical", PlatformString(&CrossplanePlatform))
		} else {
			c.Cause = "index re-serialised; image manifests byte-identical"
		}
		return c
	}
	if mi.MediaType != ui.MediaType {
		c.MediaTypeDiffers = true
		if !c.IndexCollapsed {
			c.diff("image media type", short(mi.MediaType), short(ui.MediaType))
		} else {
			c.diff("linux/amd64 image media type", short(mi.MediaType), short(ui.MediaType))
		}
	}
	if len(ui.BaseLayers) > 0 && len(mi.BaseLayers) == 0 {
		c.AnnotationsDropped = true
		c.Differences = append(c.Differences, "annotations: upstream marks a layer io.crossplane.xpkg: base, mirror marks none")
	} else if !sameAnnotations(mi, ui) {
		c.Differences = append(c.Differences, "annotations: layer annotations differ")
	}
	if mi.ConfigDigest != ui.ConfigDigest {
		c.ConfigDiffers = true
		c.diff("config digest", mi.ConfigDigest, ui.ConfigDigest)
	}
	if !sameLayers(mi, ui) {
		c.LayersDiffer = true
		c.Differences = append(c.Differences, fmt.Sprintf("layers: %d of %d layer digests differ", differingLayers(mi, ui), max(len(mi.Layers), len(ui.Layers))))
	}
	c.Cause = cause(c, mi)
	return c
}

func cause(c *Comparison, mi *ImageReport) string {
	switch {
	case c.ConfigDiffers:
		return "different image: the mirror holds another build or version, or another image altogether (e.g. the provider's runtime image)"
	case c.LayersDiffer && c.AnnotationsDropped && types.MediaType(mi.MediaType) == types.DockerManifestSchema2:
		// dockerd re-compresses layers when it pushes to a registry that
		// does not already hold them (moby/moby#31919).
		s := "consistent with docker pull/tag/push into another registry: layers recompressed, manifest re-serialised as Docker v2, annotations dropped"
		if c.IndexCollapsed {
			s += ", index collapsed to " + PlatformString(&CrossplanePlatform)
		}
		return s
	case c.LayersDiffer:
		return "layers recompressed (docker save/load, or a tool or registry that recompresses): manifest rebuilt" + annotationsClause(c)
	case c.AnnotationsDropped && types.MediaType(mi.MediaType) == types.DockerManifestSchema2:
		s := "consistent with docker pull/tag/push: manifest re-serialised as Docker v2, annotations dropped"
		if c.IndexCollapsed {
			s += ", index collapsed to " + PlatformString(&CrossplanePlatform)
		}
		return s
	case c.MediaTypeDiffers:
		return "manifest converted between OCI and Docker v2 (e.g. skopeo copy --format)" + annotationsClause(c)
	default:
		return "manifest re-serialised; layers and config intact" + annotationsClause(c)
	}
}

func annotationsClause(c *Comparison) string {
	if c.AnnotationsDropped {
		return ", annotations dropped"
	}
	return ""
}

func (c *Comparison) diff(what, mirror, upstream string) {
	c.Differences = append(c.Differences, fmt.Sprintf("%s: mirror %s, upstream %s", what, mirror, upstream))
}

func short(mt string) string {
	switch types.MediaType(mt) {
	case types.DockerManifestSchema2:
		return "Docker v2 manifest"
	case types.DockerManifestList:
		return "Docker manifest list"
	case types.OCIManifestSchema1:
		return "OCI manifest"
	case types.OCIImageIndex:
		return "OCI index"
	}
	return mt
}

// ShortMediaType names a manifest media type briefly.
func ShortMediaType(mt string) string { return short(mt) }

func platformList(r *Report) string {
	ps := make([]string, 0, len(r.Platforms))
	for _, p := range r.Platforms {
		ps = append(ps, orUnknown(p.Platform))
	}
	return strings.Join(ps, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func sameLayers(a, b *ImageReport) bool {
	if len(a.Layers) != len(b.Layers) {
		return false
	}
	for i := range a.Layers {
		if a.Layers[i].Digest != b.Layers[i].Digest {
			return false
		}
	}
	return true
}

func differingLayers(a, b *ImageReport) int {
	n := 0
	for i := 0; i < max(len(a.Layers), len(b.Layers)); i++ {
		if i >= len(a.Layers) || i >= len(b.Layers) || a.Layers[i].Digest != b.Layers[i].Digest {
			n++
		}
	}
	return n
}

func sameAnnotations(a, b *ImageReport) bool {
	if len(a.Layers) != len(b.Layers) {
		return true // reported as a layer difference instead
	}
	for i := range a.Layers {
		if a.Layers[i].Annotations[AnnotationKey] != b.Layers[i].Annotations[AnnotationKey] {
			return false
		}
	}
	return true
}
