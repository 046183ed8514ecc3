// Package hostile serves malformed and hostile images and registries and
// checks that inspect ends each case with the expected finding or error,
// bounded memory and no panic.
package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

const meta = "apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: p\n"

var base = map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}

// annotated is an image whose only layer, annotated base, is l.
func annotated(l v1.Layer) v1.Image {
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, Annotations: base})
	if err != nil {
		panic(err)
	}
	return img
}

// gzTar streams a tar into gzip, so huge uncompressed content never sits in memory.
func gzTar(write func(tw *tar.Writer)) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	write(tw)
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// bomb is a gzip stream of a tar whose one entry is n zero bytes, built
// from repeated gzip members (a reader decompresses them as one stream).
func bomb(n int64) []byte {
	var head bytes.Buffer
	tw := tar.NewWriter(&head)
	_ = tw.WriteHeader(&tar.Header{Name: "zeros", Size: n, Mode: 0o644, Typeflag: tar.TypeReg})
	const chunk = 64 << 20
	member := func(p []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(p)
		_ = zw.Close()
		return b.Bytes()
	}
	zeros := member(make([]byte, chunk))
	out := member(head.Bytes())
	for left := n; left > 0; left -= chunk {
		if left < chunk {
			out = append(out, member(make([]byte, left))...)
			break
		}
		out = append(out, zeros...)
	}
	return out
}

// rawLayer is a layer of exactly these (compressed) bytes.
func rawLayer(b []byte) v1.Layer { return static.NewLayer(b, types.DockerLayer) }

type hostileCase struct {
	name string
	// image is pushed to a clean registry; handler instead serves the registry itself.
	image   func() v1.Image
	index   func() v1.ImageIndex
	handler func(next http.Handler) http.Handler
	// want is a finding code, or an error kind in the report.
	want string
}

func cases() []hostileCase {
	file := func(name string, typ byte, body string, link string) xpkgtest.File {
		return xpkgtest.File{Name: name, Type: typ, Body: []byte(body), Linkname: link}
	}
	return []hostileCase{
		{name: "invalid gzip", image: func() v1.Image { return annotated(rawLayer([]byte{0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7})) }, want: "LayerInvalid"},
		{name: "gzip, but not a tar", image: func() v1.Image {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write(bytes.Repeat([]byte("not a tar "), 100))
			_ = zw.Close()
			return annotated(rawLayer(b.Bytes()))
		}, want: "LayerInvalid"},
		{name: "gzip bomb: 10 GB from a few MB", image: func() v1.Image {
			img, _ := mutate.AppendLayers(empty.Image, rawLayer(bomb(10<<30)))
			return img
		}, want: "Unknown"},
		{name: "tar with 100k entries", image: func() v1.Image {
			img, _ := mutate.AppendLayers(empty.Image, rawLayer(gzTar(func(tw *tar.Writer) {
				for i := 0; i < 100_000; i++ {
					_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%06d", i), Mode: 0o644, Typeflag: tar.TypeReg})
				}
			})))
			return img
		}, want: "PackageYAMLNotFound"},
		{name: "package.yaml is a symlink", image: func() v1.Image {
			return annotated(xpkgtest.Layer(file("package.yaml", tar.TypeSymlink, "", "/etc/passwd")))
		}, want: "PackageYAMLInvalid"},
		{name: "package.yaml is a hardlink", image: func() v1.Image {
			return annotated(xpkgtest.Layer(file("real.yaml", 0, meta, ""), file("package.yaml", tar.TypeLink, "", "real.yaml")))
		}, want: "PackageYAMLInvalid"},
		{name: "package.yaml is a directory", image: func() v1.Image { return annotated(xpkgtest.Layer(file("package.yaml", tar.TypeDir, "", ""))) }, want: "PackageYAMLInvalid"},
		{name: "path traversal name", image: func() v1.Image { return annotated(xpkgtest.Layer(file("../../package.yaml", 0, meta, ""))) }, want: "PackageYAMLNotAtRoot"},
		{name: "package.yaml over 200 MiB", image: func() v1.Image {
			return annotated(rawLayer(gzTar(func(tw *tar.Writer) {
				size := int64(xpkg.MaxPackageYAMLBytes + 1<<20)
				_ = tw.WriteHeader(&tar.Header{Name: "package.yaml", Size: size, Mode: 0o644, Typeflag: tar.TypeReg})
				_, _ = io.WriteString(tw, meta+"---\n")
				line := []byte("# padding padding padding padding padding padding padding padding\n")
				for left := size - int64(len(meta)+4); left > 0; left -= int64(len(line)) {
					_, _ = tw.Write(line[:min(int64(len(line)), left)])
				}
			})))
		}, want: "PackageYAMLTooLarge"},
		{name: "300 layers", image: func() v1.Image {
			p := xpkgtest.Package{Name: "p"}
			for i := 0; i < 299; i++ {
				p.Runtime = append(p.Runtime, xpkgtest.Layer(xpkgtest.File{Name: fmt.Sprintf("l%d", i), Body: []byte{byte(i)}}))
			}
			return p.Image(amd64)
		}, want: "TooManyLayers"},
		{name: "two base layers", image: func() v1.Image {
			p := xpkgtest.Package{Name: "p", Runtime: []v1.Layer{xpkgtest.Layer(file("x", 0, "x", ""))}, ExtraBase: 1}
			return p.Image(amd64)
		}, want: "MultipleBaseLayers"},
		{name: "zstd layer (supported)", image: func() v1.Image {
			var b bytes.Buffer
			zw, _ := zstd.NewWriter(&b)
			_, _ = zw.Write(xpkgtest.TarBytes(file("package.yaml", 0, meta, "")))
			_ = zw.Close()
			return annotated(rawLayer(b.Bytes()))
		}, want: "healthy"},
		{name: "empty layer", image: func() v1.Image { img, _ := mutate.AppendLayers(empty.Image, rawLayer(nil)); return img }, want: "PackageYAMLNotFound"},
		{name: "index nests 50 deep", index: func() v1.ImageIndex {
			var idx v1.ImageIndex = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: xpkgtest.Package{Name: "p"}.Image(amd64), Descriptor: v1.Descriptor{Platform: &amd64}})
			for i := 0; i < 49; i++ {
				idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx, Descriptor: v1.Descriptor{Platform: &amd64}})
			}
			return idx
		}, want: "ManifestInvalid"},
		{name: "index with 100 children", index: func() v1.ImageIndex {
			var idx v1.ImageIndex = empty.Index
			img := xpkgtest.Package{Name: "p"}.Image(amd64)
			for i := 0; i < 100; i++ {
				pl := v1.Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i)}
				idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
			}
			return idx
		}, want: "ManifestInvalid"},
		{name: "index that points to itself", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			// Every manifest request gets the same index, whatever digest was asked.
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":"sha256:%s","size":10,"platform":{"os":"linux","architecture":"amd64"}}]}`,
				types.OCIImageIndex, types.OCIImageIndex, strings.Repeat("a", 64))
		}), want: "RegistryContentMismatch"}, // the child asked for by digest comes back as other bytes
		{name: "manifest over 4 MiB", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			_, _ = io.WriteString(w, `{"layers":[`+strings.Repeat(" ", 5<<20))
		}), want: "ManifestInvalid"},
		{name: "manifest that is not JSON", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			_, _ = io.WriteString(w, "{{{{")
		}), want: "ManifestInvalid"},
		{name: "wrong media type", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.example.thing+json")
			_, _ = io.WriteString(w, `{"mediaType":"application/vnd.example.thing+json"}`)
		}), want: "ManifestInvalid"},
		{name: "registry answers HTML", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><body>Sign in to continue</body></html>")
		}), want: "ManifestInvalid"},
		{name: "redirect loop", handler: serveFor(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) }), want: "ManifestInvalid"},
		{name: "stalls after the headers", handler: serveFor(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}), want: "Unknown"}, // xpdoctor's own timeout ends it: not a verdict on the package

		{name: "500 on every request", handler: serveFor(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }), want: "RegistryUnreachable"},
		{name: "401", handler: testregistry.BasicAuth("u", "p"), want: "RegistryUnauthorized"},
		{name: "config digest does not match its blob", handler: corruptBlobs(func(b []byte) []byte { return append([]byte{}, append(b, ' ')...) }, true), want: "RegistryContentMismatch"},
		{name: "truncated layer blob", handler: corruptBlobs(func(b []byte) []byte { return b[:len(b)/2] }, false), want: "LayerInvalid"},
		{name: "another package's layer under the annotated digest", image: func() v1.Image {
			return annotated(xpkgtest.Layer(file("package.yaml", 0, meta, "")))
		}, handler: corruptBlobs(func([]byte) []byte { return impostorLayer() }, false), want: "RegistryContentMismatch"},
	}
}

// impostorLayer is the compressed package layer of another package.
func impostorLayer() []byte {
	l := xpkgtest.Layer(xpkgtest.File{Name: "package.yaml", Body: []byte(strings.Replace(meta, "name: p", "name: impostor", 1))})
	rc, err := l.Compressed()
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// serveFor answers /v2/ normally and everything else with h.
func serveFor(h http.HandlerFunc) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			h(w, r)
		})
	}
}

// corruptBlobs rewrites blob bodies (configs when config is true, layers otherwise).
func corruptBlobs(f func([]byte) []byte, config bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				next.ServeHTTP(w, r)
				return
			}
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, r)
			body := rec.buf.Bytes()
			isConfig := bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
			if isConfig == config {
				body = f(body)
			}
			for k, v := range rec.header {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.code)
			_, _ = w.Write(body)
		})
	}
}

type recorder struct {
	header http.Header
	buf    bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestHostileCorpus(t *testing.T) {
	cs := cases()
	if len(cs) < 25 {
		t.Fatalf("the corpus has %d cases; it must hold at least 25", len(cs))
	}
	targets, _ := crossplane.Select(nil)
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			var reg testregistry.Registry
			ref := ""
			switch {
			case c.handler != nil && c.image == nil && c.index == nil && c.want != "RegistryUnauthorized" && !strings.Contains(c.name, "blob"):
				reg = testregistry.InProcess(t, c.handler)
				ref = reg.Host + "/hostile/p:v1"
			default:
				var wrap []func(http.Handler) http.Handler
				if c.handler != nil {
					wrap = append(wrap, c.handler)
				}
				reg = testregistry.InProcess(t, wrap...)
				ref = reg.Host + "/hostile/p:v1"
				var obj any = xpkgtest.Package{Name: "p", Runtime: []v1.Layer{xpkgtest.RandomLayer(5, 4096)}}.Image(amd64)
				switch {
				case c.image != nil:
					obj = c.image()
				case c.index != nil:
					obj = c.index()
				}
				var opts []remote.Option
				if c.want == "RegistryUnauthorized" {
					opts = append(opts, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"}))
				}
				if err := xpkgtest.Push(ref, obj, opts...); err != nil {
					t.Fatalf("pushing the fixture: %v", err)
				}
			}
			peak := watchHeap(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the --timeout of each case
			defer cancel()
			client := xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain()))
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			rep := inspect.Judge(client.Read(ctx, r, xpkg.ReadOptions{MaxUncompressedBytes: 512 << 20}), nil, inspect.Options{Targets: targets})
			got := peak()
			codes := []string{}
			for _, f := range rep.Findings {
				codes = append(codes, string(f.Code))
			}
			outcomes := ""
			for _, v := range rep.Verdicts {
				outcomes += string(v.Outcome) + " "
			}
			ok := false
			switch c.want {
			case "healthy":
				ok = rep.Healthy()
			case "Unknown":
				ok = strings.Contains(outcomes, "Unknown")
			default:
				for _, code := range codes {
					ok = ok || code == c.want
				}
			}
			if !ok {
				b, _ := json.MarshalIndent(rep.Verdicts, "", " ")
				t.Fatalf("want %s; findings %v; error %q; verdicts %s", c.want, codes, rep.Error, b)
			}
			if got > 512<<20 {
				t.Errorf("peak heap %d MiB: not bounded", got>>20)
			}
			t.Logf("peak heap %d MiB, findings %v", got>>20, codes)
		})
	}
}

// watchHeap samples the heap while a case runs and returns the peak.
func watchHeap(t *testing.T) func() uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(stop); <-done; return peak.Load() }
}
