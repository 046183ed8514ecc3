package xpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"
)

func FuzzParseMapping(f *testing.F) {
	for _, s := range []string{"xpkg.upbound.io", "a.io/b=c.io/d", "123.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound", "=", "x.io=", "localhost:5000/a"} {
		f.Add(s, "mirror.io/upbound/provider-aws-s3:v1.6.0")
	}
	f.Fuzz(func(t *testing.T, mapping, ref string) {
		m, err := ParseMapping(mapping)
		if err != nil {
			return
		}
		if up, ok := m.Apply(ref); ok && up == "" {
			t.Fatalf("%q on %q mapped to empty", mapping, ref)
		}
	})
}

func FuzzPackageFile(f *testing.F) {
	f.Add([]byte("---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: p\nspec:\n  dependsOn:\n  - provider: x.io/p\n    version: '>=v1'\n"))
	f.Add([]byte("--- \n---\n# only comments\n---\nkey: [unclosed\n"))
	f.Add([]byte("apiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\nspec:\n  dependsOn: 7\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		pf, err := readPackageFile(&tar.Header{Name: "package.yaml", Typeflag: tar.TypeReg, Size: int64(len(body))}, bytes.NewReader(body))
		if err != nil {
			return
		}
		if pf.Size != int64(len(body)) {
			t.Fatalf("size %d, want %d", pf.Size, len(body))
		}
		if pf.Meta != nil && pf.MetaCount != 1 {
			t.Fatalf("meta kept with %d meta objects", pf.MetaCount)
		}
	})
}

func FuzzScanLayer(f *testing.F) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "./package.yaml", Size: 5, Mode: 0o644, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("a: b\n"))
	_ = tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(tb.Bytes())
	_ = zw.Close()
	f.Add(tb.Bytes())
	f.Add(gz.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0})
	f.Fuzz(func(t *testing.T, layer []byte) {
		s := newScanner(true, 1<<20)
		if err := s.scanLayer(0, bytes.NewReader(layer)); err != nil {
			return
		}
		if s.scan.ExactIndex >= 0 && s.scan.BaseNameIndex < 0 {
			t.Fatal("an exact match must also be a base-name match")
		}
		fl := newFlattener(1 << 20)
		_, _ = fl.scanLayer(0, bytes.NewReader(layer))
	})
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:aa","size":1}]}`), "application/vnd.oci.image.index.v1+json")
	f.Add([]byte(`{"schemaVersion":2,"config":{"digest":"sha256:bb"},"layers":[{"digest":"sha256:cc","annotations":{"io.crossplane.xpkg":"base"}}]}`), "")
	f.Add([]byte(`<!DOCTYPE html><html>`), "text/html")
	f.Fuzz(func(t *testing.T, raw []byte, contentType string) {
		mt, err := sniffMediaType(typesMediaType(contentType), raw)
		if err != nil {
			return
		}
		switch {
		case IsIndex(mt):
			_, _ = ParseIndex(raw)
		case IsImage(mt):
			_, _ = ParseImageManifest(raw)
		}
	})
}
