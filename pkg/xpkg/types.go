// Package xpkg reads Crossplane package images from OCI registries the way
// Crossplane does, fetching as little as possible. It knows OCI and the xpkg
// format; it knows nothing about Kubernetes or Crossplane versions (see
// package crossplane for that).
package xpkg

// Constants of the xpkg format (crossplane-runtime:pkg/xpkg/name.go@v2.3.3).
const (
	// AnnotationKey marks layer descriptors and config labels.
	AnnotationKey = "io.crossplane.xpkg"
	// PackageAnnotation is the value that marks the package (base) layer.
	PackageAnnotation = "base"
	// StreamFile is the file Crossplane reads from the package layer.
	StreamFile = "package.yaml"
	// MaxPackageYAMLBytes is Crossplane's read limit for package.yaml
	// (revision/reconciler.go@v2.1.3, crossplane-runtime:pkg/xpkg/client.go@v2.3.3).
	MaxPackageYAMLBytes = 200 << 20
)

// Report is what the registry holds under one reference.
type Report struct {
	// Reference is the reference as given.
	Reference string `json:"reference"`
	// Repository is the reference without tag or digest.
	Repository string `json:"repository"`
	// Digest is the digest of the manifest or index the reference resolves to.
	Digest string `json:"digest,omitempty"`
	// MediaType of the top-level manifest.
	MediaType string `json:"mediaType,omitempty"`
	// Size of the top-level manifest in bytes.
	Size int64 `json:"size,omitempty"`
	// IsIndex is true for an OCI index or Docker manifest list.
	IsIndex bool `json:"isIndex"`
	// Platforms holds one entry for a single image, one per child for an index.
	Platforms []PlatformImage `json:"platforms,omitempty"`
	// Selected is the index in Platforms of the image Crossplane reads, or -1
	// when no child matches Crossplane's platform.
	Selected int `json:"selected"`
	// BytesFetched counts every response byte read from the registry.
	BytesFetched int64 `json:"bytesFetched"`
	// Err is set when the reference could not be resolved at all.
	Err *RegistryError `json:"error,omitempty"`
	// Head is what a HEAD of the reference answered: Crossplane resolves a
	// reference to a digest with HEAD, and falls back to GET only when HEAD
	// fails (internal/xpkg/fetch.go@v1.20.0 K8sFetcher.Head).
	Head *HeadResponse `json:"head,omitempty"`
}

// HeadResponse is the outcome of a HEAD of a manifest.
type HeadResponse struct {
	// Digest is the Docker-Content-Digest the registry answered with.
	Digest string `json:"digest,omitempty"`
	// Error is go-containerregistry's text for a failed HEAD (remote.Head);
	// empty when HEAD succeeded.
	Error string `json:"error,omitempty"`
	// StatusCode is the HTTP status of a failed HEAD, when there was one.
	StatusCode int `json:"statusCode,omitempty"`
}

// SelectedImage returns the image Crossplane reads, or nil.
func (r *Report) SelectedImage() *ImageReport {
	if r == nil || r.Selected < 0 || r.Selected >= len(r.Platforms) {
		return nil
	}
	return r.Platforms[r.Selected].Image
}

// PlatformImage is one image of a report.
type PlatformImage struct {
	// Platform is os/arch[/variant] from the index descriptor or the config.
	Platform string `json:"platform,omitempty"`
	// Image is what was read; nil when the child could not be read.
	Image *ImageReport `json:"image,omitempty"`
	// Digest of the child manifest.
	Digest string `json:"digest"`
}

// Layer is one layer descriptor of a manifest.
type Layer struct {
	Digest      string            `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Label is an io.crossplane.xpkg:<layer digest> config label written by
// `crossplane xpkg build` (internal/xpkg/layers.go@v1.16.0).
type Label struct {
	LayerDigest string `json:"layerDigest"`
	Value       string `json:"value"`
	// MatchesLayer is false when no layer of the manifest has this digest: the
	// layers were recompressed after the package was built.
	MatchesLayer bool `json:"matchesLayer"`
}

// ImageReport is one image manifest and what was found in it.
type ImageReport struct {
	Digest       string  `json:"digest"`
	MediaType    string  `json:"mediaType"`
	ManifestSize int64   `json:"manifestSize"`
	ConfigDigest string  `json:"configDigest,omitempty"`
	ConfigSize   int64   `json:"configSize,omitempty"`
	Layers       []Layer `json:"layers"`
	// Labels are the xpkg labels of the image config.
	Labels []Label `json:"labels,omitempty"`
	// BaseLayers are the indices of layers annotated io.crossplane.xpkg: base.
	BaseLayers []int `json:"baseLayers"`
	// BaseScan is the scan of the first annotated layer, if any.
	BaseScan *TarScan `json:"baseScan,omitempty"`
	// FlattenScan is the scan of the flattened filesystem; set when no layer
	// is annotated, or when the annotated layer holds no package.yaml at its root.
	FlattenScan *TarScan `json:"flattenScan,omitempty"`
	// Package is the package.yaml that was read, if any.
	Package *PackageFile `json:"package,omitempty"`
	// OtherBase is, when several layers are annotated base, what the last
	// of them holds. `crossplane xpkg build` appends the package layer on
	// top (internal/xpkg/build.go@v1.16.0), so that is the package the image
	// was built to carry; Crossplane v2.2+ installs the first one.
	OtherBase *OtherBaseLayer `json:"otherBaseLayer,omitempty"`
	// Err is set when the manifest or config could not be read.
	Err *RegistryError `json:"error,omitempty"`
	// NotRead is true for a child of an index that was not read (Crossplane
	// reads another; ReadOptions.AllPlatforms reads it): Digest, MediaType
	// and ManifestSize are the index descriptor's.
	NotRead bool `json:"notRead,omitempty"`
}

// CompressedSize is the sum of all layer sizes.
func (i *ImageReport) CompressedSize() int64 {
	var n int64
	for _, l := range i.Layers {
		n += l.Size
	}
	return n
}

// TarScan records a walk through tar entries looking for package.yaml, as
// Crossplane walks them: the annotated layer's raw entries, or the entries
// that go-containerregistry's mutate.Extract emits for the flattened image.
type TarScan struct {
	// Annotated is true for a scan of the annotated layer.
	Annotated bool `json:"annotated"`
	// Entries is the number of entries seen before the scan stopped.
	Entries int `json:"entries"`
	// Complete is true when the scan reached the end of the stream.
	Complete bool `json:"complete"`
	// BaseNameIndex is the 0-based index of the first entry whose base name is
	// package.yaml (how v2.0+ matches), or -1.
	BaseNameIndex int `json:"baseNameIndex"`
	// BaseNamePath is that entry's name as stored in the tar.
	BaseNamePath string `json:"baseNamePath,omitempty"`
	// BaseNameLayer is the layer holding that entry.
	BaseNameLayer int `json:"baseNameLayer"`
	// ExactIndex is the index of the first entry named exactly package.yaml
	// (how v1.x matches), or -1.
	ExactIndex int `json:"exactIndex"`
	// LowestLayer is the lowest layer index read (flatten reads top-down).
	LowestLayer int `json:"lowestLayer"`
	// Err is a decompression or tar error that stopped the scan.
	Err string `json:"error,omitempty"`
	// Truncated is true when xpdoctor stopped early because of its own limits.
	Truncated string `json:"truncated,omitempty"`
	// Verified is true when every layer read hashed to its digest, so what
	// the scan found is what the registry stores under that digest. Layers
	// larger than MaxVerifiedLayerBytes that the scan left early are not.
	Verified bool `json:"verified"`
}

// PackageFile is what package.yaml holds.
type PackageFile struct {
	// Path of the entry as stored in the tar.
	Path string `json:"path"`
	// Size in bytes (counted up to just over the 200 MiB limit).
	Size int64 `json:"size"`
	// TooLarge is true when the file exceeds Crossplane's 200 MiB read limit.
	TooLarge bool `json:"tooLarge,omitempty"`
	// Documents counts the YAML documents.
	Documents int `json:"documents"`
	// MetaCount counts documents of group meta.pkg.crossplane.io.
	MetaCount int `json:"metaCount"`
	// Meta is the package metadata when exactly one was found.
	Meta *Meta `json:"meta,omitempty"`
	// ParseError is the first failure Crossplane's parser meets, in its words.
	ParseError string `json:"parseError,omitempty"`
	// ParseErrorExact is true when ParseError is the text Crossplane prints.
	ParseErrorExact bool `json:"parseErrorExact,omitempty"`
	// ParseErrorLine is the line of package.yaml the error is about (Crossplane
	// counts lines from the start of the document, which is the file's line
	// only in the first document).
	ParseErrorLine int `json:"parseErrorLine,omitempty"`
	// NotRegular is set when the entry is not a regular file.
	NotRegular string `json:"notRegular,omitempty"`
	// SHA256 is the digest of package.yaml as read (empty when read only in part).
	SHA256 string `json:"sha256,omitempty"`
	// Kinds are the distinct apiVersion/kind of its objects, in order of appearance.
	Kinds []ObjectKind `json:"kinds,omitempty"`
	// Groups are the API groups its CRDs and XRDs define.
	Groups []string `json:"groups,omitempty"`
	// StoppedEarly is true when xpdoctor stopped reading once it differed
	// from the package.yaml it was compared with.
	StoppedEarly bool `json:"stoppedEarly,omitempty"`
	// DiffersAtDocument is the first document (1-based) that differs from
	// the package.yaml it was compared with; 0 when none was found to differ.
	DiffersAtDocument int `json:"differsAtDocument,omitempty"`

	// docSums are the digests of its documents, to compare two annotated layers.
	docSums [][32]byte
}

// ObjectKind is an apiVersion and kind found in package.yaml.
type ObjectKind struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// FirstDocument is the first document (1-based) of this kind.
	FirstDocument int `json:"firstDocument"`
}

// OtherBaseLayer is another layer annotated base than the first.
type OtherBaseLayer struct {
	// Layer is its 0-based index.
	Layer int `json:"layer"`
	// SameBlob is true when it is the first annotated layer's blob again.
	SameBlob bool `json:"sameBlob,omitempty"`
	// Scan is the walk to its package.yaml.
	Scan *TarScan `json:"scan,omitempty"`
	// Package is its package.yaml, read only until it differs from the
	// first annotated layer's; nil when it holds none.
	Package *PackageFile `json:"package,omitempty"`
}

// SameContent reports whether the other annotated layer holds the same
// package.yaml as the first one.
func (o *OtherBaseLayer) SameContent(first *PackageFile) bool {
	if o == nil {
		return true
	}
	if o.SameBlob {
		return true
	}
	return o.Package != nil && first != nil && o.Package.SHA256 != "" && o.Package.SHA256 == first.SHA256
}

// Meta is the package's meta object (meta.pkg.crossplane.io).
type Meta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Crossplane is the spec.crossplane.version constraint.
	Crossplane string       `json:"crossplaneVersion,omitempty"`
	DependsOn  []Dependency `json:"dependsOn,omitempty"`
	// ControllerImage is spec.controller.image (Providers, v1.x).
	ControllerImage string `json:"controllerImage,omitempty"`
	// Family is the pkg.crossplane.io/provider-family label.
	Family string `json:"family,omitempty"`
}

// Dependency is one spec.dependsOn entry.
type Dependency struct {
	// Kind is Provider, Configuration or Function.
	Kind string `json:"kind"`
	// Package is the package source without version.
	Package string `json:"package"`
	// Version is a semver constraint or a digest.
	Version string `json:"version,omitempty"`
}
