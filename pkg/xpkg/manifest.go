package xpkg

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CrossplanePlatform is the platform Crossplane picks from an index: it calls
// remote.Image without a platform, so go-containerregistry's default applies
// (ggcr:pkg/v1/remote/options.go defaultPlatform), and the first matching
// child wins; a child without a platform counts as linux/amd64
// (ggcr:pkg/v1/remote/index.go@v0.20.6 childByPlatform). The xpkg spec says a
// single child is used whatever its platform; the code does not do that.
var CrossplanePlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// IsIndex reports whether mt is an index media type.
func IsIndex(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}

// IsImage reports whether mt is a schema-2 or OCI image manifest.
func IsImage(mt types.MediaType) bool {
	return mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2
}

func decodeMediaType(raw []byte) (types.MediaType, error) {
	var probe struct {
		MediaType     types.MediaType   `json:"mediaType"`
		SchemaVersion int               `json:"schemaVersion"`
		Manifests     []json.RawMessage `json:"manifests"`
		Layers        []json.RawMessage `json:"layers"`
		FSLayers      []json.RawMessage `json:"fsLayers"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", err
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType, nil
	case probe.Manifests != nil:
		return types.OCIImageIndex, nil
	case probe.Layers != nil:
		return types.OCIManifestSchema1, nil
	case probe.FSLayers != nil:
		return types.DockerManifestSchema1, nil
	}
	return "", nil
}

// ParseIndex decodes an index.
func ParseIndex(raw []byte) (*v1.IndexManifest, error) {
	var m v1.IndexManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("index is not valid JSON: %w", err)
	}
	for i, d := range m.Manifests {
		if d.Digest.Hex == "" {
			return nil, fmt.Errorf("index entry %d has no digest", i)
		}
	}
	return &m, nil
}

// ParseImageManifest decodes an image manifest.
func ParseImageManifest(raw []byte) (*v1.Manifest, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.Config.Digest.Hex == "" {
		return nil, fmt.Errorf("manifest has no config descriptor")
	}
	for i, l := range m.Layers {
		if l.Digest.Hex == "" {
			return nil, fmt.Errorf("layer %d has no digest", i)
		}
	}
	return &m, nil
}

// PlatformString renders a platform as os/arch[/variant].
func PlatformString(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// MatchesCrossplanePlatform reports whether Crossplane would pick a child
// with this platform (ggcr:pkg/v1/remote/index.go matchesPlatform).
func MatchesCrossplanePlatform(p *v1.Platform) bool {
	if p == nil {
		return true
	}
	return p.OS == CrossplanePlatform.OS && p.Architecture == CrossplanePlatform.Architecture
}

// configFile is the part of an image config we read.
type configFile struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
	Config       struct {
		Labels map[string]string `json:"Labels"`
	} `json:"config"`
}

// xpkgLabels returns the io.crossplane.xpkg:<digest> labels of a config,
// sorted by layer digest, each marked with whether a layer has that digest.
func xpkgLabels(cfg *configFile, layers []Layer) []Label {
	have := map[string]bool{}
	for _, l := range layers {
		have[l.Digest] = true
	}
	var out []Label
	for k, v := range cfg.Config.Labels {
		d, ok := strings.CutPrefix(k, AnnotationKey+":")
		if !ok {
			continue
		}
		out = append(out, Label{LayerDigest: d, Value: v, MatchesLayer: have[d]})
	}
	sortLabels(out)
	return out
}

func sortLabels(ls []Label) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].LayerDigest < ls[j-1].LayerDigest; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func typesMediaType(s string) types.MediaType { return types.MediaType(s) }
