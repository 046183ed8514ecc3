package xpkg_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func read(t testing.TB, ref string, o xpkg.ReadOptions) *xpkg.Report {
	t.Helper()
	c := xpkg.NewClient()
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return c.Read(context.Background(), r, o)
}

func push(t testing.TB, ref string, obj any) {
	t.Helper()
	if err := xpkgtest.Push(ref, obj); err != nil {
		t.Fatal(err)
	}
}

func TestMappings(t *testing.T) {
	cases := []struct{ mapping, ref, want string }{
		{"123.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound", "123.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0", "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0"},
		{"mirror.io=xpkg.crossplane.io", "mirror.io/crossplane-contrib/function-go:v1@sha256:" + strings.Repeat("a", 64), "xpkg.crossplane.io/crossplane-contrib/function-go:v1@sha256:" + strings.Repeat("a", 64)},
		{"xpkg.upbound.io", "123.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0", "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0"},
		{"xpkg.upbound.io/upbound", "123.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0", "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0"},
		{"xpkg.upbound.io/upbound", "mirror.io/team/provider-aws-s3:v1", "xpkg.upbound.io/upbound/team/provider-aws-s3:v1"},
		{"mirror.io/up=xpkg.upbound.io/upbound", "mirror.io/upstream/provider:v1", ""},
	}
	for _, c := range cases {
		m, err := xpkg.ParseMapping(c.mapping)
		if err != nil {
			t.Fatalf("%s: %v", c.mapping, err)
		}
		got, ok := m.Apply(c.ref)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s on %s = %q %v, want %q", c.mapping, c.ref, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "=", "https://x.io", "x.io=", "x.io@sha256:aa", "UPPER.io/Repo", "a b"} {
		if _, err := xpkg.ParseMapping(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// layerOf builds a layer from raw tar bytes.
func layerOf(files ...xpkgtest.File) v1.Layer { return xpkgtest.Layer(files...) }

func TestFlattenEmulatesMutateExtract(t *testing.T) {
	reg := testregistry.InProcess(t)
	meta := []byte("apiVersion: meta.pkg.crossplane.io/v1\nkind: Function\nmetadata:\n  name: f\n")
	cases := []struct {
		name     string
		layers   []v1.Layer // bottom first
		found    bool
		entries  int
		baseOnly bool // only matched by base name (v2), not exactly (v1)
	}{
		{"top layer holds it", []v1.Layer{layerOf(xpkgtest.File{Name: "bin/x", Body: []byte("x")}), layerOf(xpkgtest.File{Name: "package.yaml", Body: meta})}, true, 1, false},
		{"./ is cleaned", []v1.Layer{layerOf(xpkgtest.File{Name: "./package.yaml", Body: meta})}, true, 1, false},
		{"whiteout hides a lower package.yaml", []v1.Layer{
			layerOf(xpkgtest.File{Name: "package.yaml", Body: meta}),
			layerOf(xpkgtest.File{Name: ".wh.package.yaml"}, xpkgtest.File{Name: "a"})}, false, 1, false},
		{"opaque dir whiteout", []v1.Layer{
			layerOf(xpkgtest.File{Name: "d/package.yaml", Body: meta}),
			layerOf(xpkgtest.File{Name: ".wh.d"})}, false, 0, false},
		{"duplicate paths count once", []v1.Layer{
			layerOf(xpkgtest.File{Name: "a"}, xpkgtest.File{Name: "b"}),
			layerOf(xpkgtest.File{Name: "a"})}, false, 2, false},
		{"nested only", []v1.Layer{layerOf(xpkgtest.File{Name: "etc", Type: tar.TypeDir}, xpkgtest.File{Name: "etc/package.yaml", Body: meta})}, true, 2, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := mutate.AppendLayers(empty.Image, c.layers...)
			if err != nil {
				t.Fatal(err)
			}
			ref := fmt.Sprintf("%s/flat/c%d:v1", reg.Host, i)
			push(t, ref, img)
			r := read(t, ref, xpkg.ReadOptions{})
			s := r.SelectedImage().FlattenScan
			if s == nil {
				t.Fatalf("no flatten scan: %+v", r.SelectedImage())
			}
			found := s.BaseNameIndex >= 0
			if found != c.found {
				t.Fatalf("found=%v, want %v: %+v", found, c.found, s)
			}
			if !c.found && (s.Entries != c.entries || !s.Complete) {
				t.Fatalf("entries=%d complete=%v, want %d complete", s.Entries, s.Complete, c.entries)
			}
			if c.found && (s.ExactIndex < 0) != c.baseOnly {
				t.Fatalf("exact=%d, baseOnly=%v", s.ExactIndex, c.baseOnly)
			}
		})
	}
}

func TestPackageFileOddities(t *testing.T) {
	reg := testregistry.InProcess(t)
	cases := []struct {
		name  string
		files []xpkgtest.File
		check func(*xpkg.PackageFile) bool
	}{
		{"symlink", []xpkgtest.File{{Name: "package.yaml", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}}, func(p *xpkg.PackageFile) bool { return strings.Contains(p.NotRegular, "link") && p.MetaCount == 0 }},
		{"directory", []xpkgtest.File{{Name: "package.yaml", Type: tar.TypeDir}}, func(p *xpkg.PackageFile) bool { return p.NotRegular == "package.yaml is a directory" }},
		{"two metas", []xpkgtest.File{{Name: "package.yaml", Body: []byte("apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: a}\n---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: b}\n")}}, func(p *xpkg.PackageFile) bool { return p.MetaCount == 2 && p.Meta == nil }},
		{"v2 dependsOn", []xpkgtest.File{{Name: "package.yaml", Body: []byte("apiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\nmetadata: {name: c}\nspec:\n  dependsOn:\n  - apiVersion: pkg.crossplane.io/v1\n    kind: Function\n    package: xpkg.crossplane.io/crossplane-contrib/function-go\n    version: '>=v0.1.0'\n")}},
			func(p *xpkg.PackageFile) bool {
				return p.Meta != nil && len(p.Meta.DependsOn) == 1 && p.Meta.DependsOn[0].Kind == "Function" && p.Meta.DependsOn[0].Version == ">=v0.1.0"
			}},
		{"traversal name", []xpkgtest.File{{Name: "../../package.yaml", Body: []byte("apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: a}\n")}}, func(p *xpkg.PackageFile) bool { return p.Path == "../../package.yaml" && p.MetaCount == 1 }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layerOf(c.files...), Annotations: map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}})
			if err != nil {
				t.Fatal(err)
			}
			ref := fmt.Sprintf("%s/odd/c%d:v1", reg.Host, i)
			push(t, ref, img)
			r := read(t, ref, xpkg.ReadOptions{})
			pf := r.SelectedImage().Package
			if pf == nil || !c.check(pf) {
				t.Fatalf("package file = %+v", pf)
			}
		})
	}
}

// gzipBomb is a layer whose one entry decompresses to n zero bytes.
func gzipBomb(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Size: n, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := tw.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestGzipBombStopsAtBudget(t *testing.T) {
	reg := testregistry.InProcess(t)
	bomb := gzipBomb(t, 256<<20) // 256 MiB of zeros in about 250 kB
	img, _ := mutate.AppendLayers(empty.Image, xpkgtest.LayerFromTar(bomb))
	ref := reg.Host + "/hostile/bomb:v1"
	push(t, ref, img)
	r := read(t, ref, xpkg.ReadOptions{MaxUncompressedBytes: 16 << 20})
	s := r.SelectedImage().FlattenScan
	if s == nil || !strings.Contains(s.Truncated, "uncompressed size limit") {
		t.Fatalf("scan = %+v", s)
	}
}

func TestHostileRegistries(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		kind    xpkg.ErrorKind
		detail  string
	}{
		{"answers HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<!DOCTYPE html><html><body>Sign in</body></html>")
		}, xpkg.ErrInvalid, "HTML page"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			io.WriteString(w, "{not json")
		}, xpkg.ErrInvalid, ""},
		{"manifest over 4 MiB", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			io.WriteString(w, `{"layers":[`)
			io.WriteString(w, strings.Repeat(" ", 5<<20))
		}, xpkg.ErrTooLarge, "larger than"},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		}, xpkg.ErrUnreachable, "500"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}, xpkg.ErrInvalid, "redirects"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := testregistry.InProcess(t, func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v2/" && c.name != "answers HTML" {
						return
					}
					c.handler(w, r)
				})
			})
			r := read(t, reg.Host+"/x/y:v1", xpkg.ReadOptions{})
			if r.Err == nil || r.Err.Kind != c.kind || !strings.Contains(r.Err.Detail, c.detail) {
				t.Fatalf("err = %+v", r.Err)
			}
		})
	}
}

func TestStallAfterHeadersEndsAtTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	reg := testregistry.InProcess(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c := xpkg.NewClient()
	ref, _ := name.ParseReference(reg.Host + "/x/y:v1")
	r := c.Read(ctx, ref, xpkg.ReadOptions{})
	// The deadline is the caller's (xpdoctor's --timeout), not the registry
	// being unreachable: it is reported as such.
	if r.Err == nil || r.Err.Kind != xpkg.ErrDeadline || !r.Err.Stopped() {
		t.Fatalf("err = %+v", r.Err)
	}
}

func layerBytes(t *testing.T, l v1.Layer) (string, []byte) {
	t.Helper()
	d, _ := l.Digest()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return d.String(), b
}

func packageLayer(t *testing.T, img v1.Image, annotated bool) v1.Layer {
	t.Helper()
	m, _ := img.Manifest()
	ls, _ := img.Layers()
	for i, d := range m.Layers {
		if (d.Annotations[xpkg.AnnotationKey] == xpkg.PackageAnnotation) == annotated {
			return ls[i]
		}
	}
	return ls[len(ls)-1]
}

// What a registry serves under a layer's digest is trusted only once it
// hashes to that digest: another package's layer served in its place is a
// content mismatch, and nothing read from it is reported.
func TestLayerContentIsVerified(t *testing.T) {
	genuine := xpkgtest.Package{Kind: "Provider", Name: "provider-genuine"}
	impostor := xpkgtest.Package{Kind: "Provider", Name: "provider-impostor-with-a-longer-name"}
	sameSize := xpkgtest.Package{Kind: "Provider", Name: "provider-genuinX"}
	for _, c := range []struct {
		name      string
		annotated bool
		with      xpkgtest.Package
	}{
		{"annotated layer, another package's", true, impostor},
		{"annotated layer, same size", true, sameSize},
		{"flattened image, another package's top layer", false, impostor},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, other := genuine.Image(amd64), c.with.Image(amd64)
			if !c.annotated {
				img, other = noAnnotations(t, img), noAnnotations(t, other)
			}
			digest, _ := layerBytes(t, packageLayer(t, img, c.annotated))
			_, with := layerBytes(t, packageLayer(t, other, c.annotated))
			reg := testregistry.InProcess(t, testregistry.ServeBlob(digest, with))
			ref := reg.Host + "/upbound/provider-genuine:v1"
			push(t, ref, img)
			sel := read(t, ref, xpkg.ReadOptions{}).SelectedImage()
			if sel == nil || sel.Err == nil || sel.Err.Kind != xpkg.ErrContentMismatch || sel.Package != nil || sel.BaseScan != nil || sel.FlattenScan != nil {
				t.Fatalf("read %+v", sel)
			}
			t.Log(sel.Err.Detail)
		})
	}
	t.Run("genuine", func(t *testing.T) {
		reg := testregistry.InProcess(t)
		ref := reg.Host + "/upbound/provider-genuine:v1"
		push(t, ref, genuine.Image(amd64))
		sel := read(t, ref, xpkg.ReadOptions{}).SelectedImage()
		if sel.Err != nil || sel.Package == nil || !sel.BaseScan.Verified {
			t.Fatalf("read %+v", sel)
		}
	})
}

// noAnnotations is img as docker pull/tag/push leaves it: no layer annotations.
func noAnnotations(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	ls, _ := img.Layers()
	out, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An annotated layer that holds more than package.yaml and an icon is read
// only up to package.yaml, and the scan says its digest was not checked.
func TestLargeAnnotatedLayerIsNotVerified(t *testing.T) {
	meta := xpkgtest.Package{Kind: "Provider", Name: "provider-big-layer"}.PackageYAML()
	big := make([]byte, xpkg.MaxVerifiedLayerBytes+(4<<20))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	layer := xpkgtest.Layer(xpkgtest.File{Name: "package.yaml", Body: meta}, xpkgtest.File{Name: "extra.bin", Body: big})
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, Annotations: map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}})
	if err != nil {
		t.Fatal(err)
	}
	reg := testregistry.InProcess(t)
	ref := reg.Host + "/upbound/provider-big-layer:v1"
	push(t, ref, img)
	r := read(t, ref, xpkg.ReadOptions{})
	sel := r.SelectedImage()
	size, _ := layer.Size()
	if sel.Err != nil || sel.Package == nil || sel.Package.Meta.Name != "provider-big-layer" || sel.BaseScan.Verified || r.BytesFetched >= size {
		t.Fatalf("fetched %d of a %d-byte layer; scan %+v", r.BytesFetched, size, sel.BaseScan)
	}
}
