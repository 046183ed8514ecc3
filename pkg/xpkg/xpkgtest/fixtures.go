// Package xpkgtest builds Crossplane package images in the shape that
// `crossplane xpkg build` + `crossplane xpkg push` produce, and the damaged
// copies that mirroring tools make of them. Tests and the offline demo use it.
package xpkgtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// File is one tar entry.
type File struct {
	Name     string
	Body     []byte
	Type     byte // tar.TypeReg when zero
	Linkname string
}

// epoch is the fixed modification time of every entry, so digests are stable.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// TarBytes writes files into an uncompressed tar.
func TarBytes(files ...File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		typ := f.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: f.Name, Mode: 0o644, ModTime: epoch, Typeflag: typ, Linkname: f.Linkname, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		_ = tw.WriteHeader(h)
		if typ == tar.TypeReg {
			_, _ = tw.Write(f.Body)
		}
	}
	_ = tw.Close()
	return buf.Bytes()
}

// Layer makes a gzip-compressed layer of files, as tarball.LayerFromOpener
// does for `crossplane xpkg build`.
func Layer(files ...File) v1.Layer {
	return LayerFromTar(TarBytes(files...))
}

// LayerFromTar compresses an uncompressed tar into a layer.
func LayerFromTar(tb []byte) v1.Layer {
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil })
	if err != nil {
		panic(err) // cannot happen: the opener never fails
	}
	return l
}

// RandomLayer is a layer holding one file of n incompressible bytes, like a
// provider's controller binary.
func RandomLayer(seed uint64, n int) v1.Layer {
	body := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	return Layer(File{Name: "usr/local/bin/provider", Body: body})
}

// Package describes a package to build.
type Package struct {
	// Kind is Provider, Function or Configuration.
	Kind string
	Name string
	// Crossplane is spec.crossplane.version.
	Crossplane string
	DependsOn  []xpkg.Dependency
	// Objects adds that many CRD documents after the meta object.
	Objects int
	// Path is the tar name of package.yaml (default "package.yaml").
	Path string
	// YAML replaces the generated package.yaml.
	YAML []byte
	// Runtime layers go below the package layer (an embedded runtime image).
	Runtime []v1.Layer
	// OCI selects OCI media types instead of Docker schema 2 (what the CLI writes).
	OCI bool
	// ExtraBase also annotates this many runtime layers as base.
	ExtraBase int
	// NoAnnotation pushes without annotations (a pre-v1.14 CLI or docker push).
	NoAnnotation bool
	// Family sets the pkg.crossplane.io/provider-family label.
	Family string
}

// PackageYAML renders the package's package.yaml stream the way xpkg build
// does: "---" separated, meta object first.
func (p Package) PackageYAML() []byte {
	if p.YAML != nil {
		return p.YAML
	}
	kind := p.Kind
	if kind == "" {
		kind = "Provider"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: meta.pkg.crossplane.io/v1\nkind: %s\nmetadata:\n  name: %s\n", kind, p.Name)
	if p.Family != "" {
		fmt.Fprintf(&b, "  labels:\n    pkg.crossplane.io/provider-family: %s\n", p.Family)
	}
	b.WriteString("spec:\n")
	if p.Crossplane != "" {
		fmt.Fprintf(&b, "  crossplane:\n    version: %q\n", p.Crossplane)
	}
	if len(p.DependsOn) > 0 {
		b.WriteString("  dependsOn:\n")
		for _, d := range p.DependsOn {
			fmt.Fprintf(&b, "  - %s: %s\n    version: %q\n", strings.ToLower(d.Kind), d.Package, d.Version)
		}
	}
	for i := 0; i < p.Objects; i++ {
		fmt.Fprintf(&b, "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things%d.%s.example.org\nspec:\n  group: %s.example.org\n  names:\n    kind: Thing%d\n    plural: things%d\n  scope: Cluster\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n", i, p.Name, p.Name, i, i)
	}
	return []byte(b.String())
}

// Image builds the package for one platform, as `crossplane xpkg build`
// (config labels) followed by `crossplane xpkg push` (AnnotateLayers) does.
func (p Package) Image(platform v1.Platform) v1.Image {
	path := p.Path
	if path == "" {
		path = xpkg.StreamFile
	}
	pkgLayer := Layer(File{Name: path, Body: p.PackageYAML()})
	layerType, manifestType, configType := types.DockerLayer, types.DockerManifestSchema2, types.DockerConfigJSON
	if p.OCI {
		layerType, manifestType, configType = types.OCILayer, types.OCIManifestSchema1, types.OCIConfigJSON
	}
	labels := map[string]string{}
	var adds []mutate.Addendum
	for i, l := range p.Runtime {
		a := mutate.Addendum{Layer: l, MediaType: layerType}
		if i < p.ExtraBase {
			a.Annotations = map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}
		}
		adds = append(adds, a)
	}
	pd, _ := pkgLayer.Digest()
	labels[xpkg.AnnotationKey+":"+pd.String()] = xpkg.PackageAnnotation
	pa := mutate.Addendum{Layer: pkgLayer, MediaType: layerType}
	if !p.NoAnnotation {
		pa.Annotations = map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}
	}
	adds = append(adds, pa)
	img := mutate.MediaType(empty.Image, manifestType)
	img = mutate.ConfigMediaType(img, configType)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		panic(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		panic(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		panic(err)
	}
	return img
}

// Platforms are the two platforms of a typical multi-arch package.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// Index builds a multi-platform index of the package, as
// `crossplane xpkg push -f amd64.xpkg,arm64.xpkg` does (an OCI index).
func (p Package) Index(platforms ...v1.Platform) v1.ImageIndex {
	if len(platforms) == 0 {
		platforms = Platforms
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range platforms {
		pl := pl
		img := p.Image(pl)
		mt, _ := img.MediaType()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: &pl}})
	}
	return idx
}

// RuntimeImage is a controller image: runtime layers, no package.yaml.
func RuntimeImage(platform v1.Platform, layers ...v1.Layer) v1.Image {
	if len(layers) == 0 {
		layers = []v1.Layer{Layer(File{Name: "usr/local/bin/provider", Body: []byte("#!/bin/sh\necho provider\n")})}
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		panic(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = platform.OS, platform.Architecture
	cf.Created = v1.Time{Time: epoch}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		panic(err)
	}
	return img
}

// Push writes an image or index to ref.
func Push(ref string, obj any, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case v1.Image:
		return remote.Write(r, o, opts...)
	case v1.ImageIndex:
		return remote.WriteIndex(r, o, opts...)
	case RawManifest:
		return remote.Put(r, o, opts...)
	}
	return fmt.Errorf("cannot push %T", obj)
}

// RawManifest is a manifest pushed as these exact bytes.
type RawManifest struct {
	Bytes []byte
	Type  types.MediaType
}

// RawManifest implements remote.Taggable.
func (m RawManifest) RawManifest() ([]byte, error) { return m.Bytes, nil }

// MediaType implements remote.withMediaType.
func (m RawManifest) MediaType() (types.MediaType, error) { return m.Type, nil }

// DockerRepush pushes img to ref the way `docker pull` + `docker tag` +
// `docker push` (dockerd 20.10) does: the same config and layer blobs, a
// manifest rebuilt as Docker schema 2 without layer annotations and
// serialised with a 3-space indent (../shared/reference/test-infrastructure.md s.3).
func DockerRepush(ref string, img v1.Image, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	if err := PushBlobs(r.Context(), img, opts...); err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	raw, err := dockerManifest(m.Config, m.Layers)
	if err != nil {
		return err
	}
	return Push(ref, RawManifest{Bytes: raw, Type: types.DockerManifestSchema2}, opts...)
}

// Recompress pushes img with every layer recompressed (a different gzip
// level), as docker save/load or a recompressing registry leave it: new layer
// digests, the same config, no annotations.
func Recompress(ref string, img v1.Image, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	var descs []v1.Descriptor
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		ub, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		zw.ModTime = epoch // other tools stamp the header: any change of bytes is a new digest
		_, _ = zw.Write(ub)
		_ = zw.Close()
		nl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gz.Bytes())), nil })
		if err != nil {
			return err
		}
		if err := remote.WriteLayer(r.Context(), nl, opts...); err != nil {
			return err
		}
		d, _ := nl.Digest()
		sz, _ := nl.Size()
		descs = append(descs, v1.Descriptor{MediaType: types.DockerLayer, Size: sz, Digest: d})
	}
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := remote.WriteLayer(r.Context(), staticBlob(cfgRaw), opts...); err != nil {
		return err
	}
	raw, err := dockerManifest(m.Config, descs)
	if err != nil {
		return err
	}
	return Push(ref, RawManifest{Bytes: raw, Type: types.DockerManifestSchema2}, opts...)
}

func dockerManifest(config v1.Descriptor, layers []v1.Descriptor) ([]byte, error) {
	type desc struct {
		MediaType types.MediaType `json:"mediaType"`
		Size      int64           `json:"size"`
		Digest    string          `json:"digest"`
	}
	out := struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Config        desc            `json:"config"`
		Layers        []desc          `json:"layers"`
	}{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: desc{MediaType: types.DockerConfigJSON, Size: config.Size, Digest: config.Digest.String()}}
	for _, l := range layers {
		out.Layers = append(out.Layers, desc{MediaType: types.DockerLayer, Size: l.Size, Digest: l.Digest.String()})
	}
	return json.MarshalIndent(out, "", "   ")
}

func staticBlob(b []byte) v1.Layer { return static.NewLayer(b, types.DockerConfigJSON) }

// PushBlobs writes an image's config and layers, but no manifest.
func PushBlobs(repo name.Repository, img v1.Image, opts ...remote.Option) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return err
		}
	}
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	return remote.WriteLayer(repo, staticBlob(cfgRaw), opts...)
}

// IndexOf builds an index of one package per platform of Platforms, in
// order (linux/amd64 first), when the platforms' images differ.
func IndexOf(perPlatform ...Package) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, p := range perPlatform {
		pl := Platforms[i%len(Platforms)]
		img := p.Image(pl)
		mt, _ := img.MediaType()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: &pl}})
	}
	return idx
}
