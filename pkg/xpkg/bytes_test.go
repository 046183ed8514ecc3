package xpkg_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// minimum is what Crossplane needs of an annotated package: the manifest,
// the config and the base layer.
func minimum(t testing.TB, img v1.Image) int64 {
	raw, _ := img.RawManifest()
	m, _ := img.Manifest()
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		if l.Annotations[xpkg.AnnotationKey] == xpkg.PackageAnnotation {
			n += l.Size
		}
	}
	return n
}

func bigProvider(runtimeBytes int) (xpkgtest.Package, v1.Image) {
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-big", Objects: 20, Runtime: []v1.Layer{xpkgtest.RandomLayer(1, runtimeBytes)}}
	return p, p.Image(amd64)
}

func TestAnnotatedPackageFetchesOnlyWhatCrossplaneNeeds(t *testing.T) {
	for _, reg := range testregistry.All(t) {
		t.Run(reg.Name, func(t *testing.T) {
			_, img := bigProvider(5 << 20)
			ref := reg.Host + "/upbound/provider-big:v1"
			push(t, ref, img)
			r := read(t, ref, xpkg.ReadOptions{})
			min := minimum(t, img)
			if r.Err != nil || r.SelectedImage().Package == nil {
				t.Fatalf("read failed: %+v", r)
			}
			if float64(r.BytesFetched) > 1.05*float64(min) {
				t.Fatalf("fetched %d bytes, more than 1.05 x the minimum %d", r.BytesFetched, min)
			}
			t.Logf("fetched %d bytes, minimum %d (%.3fx); runtime layer 5 MiB not read", r.BytesFetched, min, float64(r.BytesFetched)/float64(min))
		})
	}
}

// BenchmarkInspectAnnotated50MB inspects a package with a 50 MB runtime
// layer; bytes/op is what was fetched, min-bytes the minimum.
func BenchmarkInspectAnnotated50MB(b *testing.B) {
	reg := testregistry.InProcess(b)
	_, img := bigProvider(50 << 20)
	ref := reg.Host + "/upbound/provider-big:v1"
	push(b, ref, img)
	min := minimum(b, img)
	var fetched int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := read(b, ref, xpkg.ReadOptions{})
		fetched = r.BytesFetched
	}
	b.ReportMetric(float64(fetched), "fetched-bytes/op")
	b.ReportMetric(float64(min), "min-bytes")
	b.ReportMetric(float64(fetched)/float64(min), "x-min")
}

// BenchmarkInspectFlatten50MB is the docker-mirrored variant: no annotation,
// package.yaml in the top layer, so only the top layer is read.
func BenchmarkInspectFlatten50MB(b *testing.B) {
	reg := testregistry.InProcess(b)
	_, img := bigProvider(50 << 20)
	ref := reg.Host + "/mirror/provider-big:v1"
	if err := xpkgtest.DockerRepush(ref, img); err != nil {
		b.Fatal(err)
	}
	var fetched int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fetched = read(b, ref, xpkg.ReadOptions{}).BytesFetched
	}
	b.ReportMetric(float64(fetched), "fetched-bytes/op")
}
