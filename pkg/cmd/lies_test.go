package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// Registries that lie, each in front of a real registry: an http.Handler
// wrapping go-containerregistry's in-process registry, or a reverse proxy
// in front of a docker-registry process. Each test asserts the exit code and
// that no tag ever points at content that is not there.

// wrapped is a registry implementation behind a lying handler.
type wrapped struct {
	name string
	// start returns the host of the liar in front of a fresh registry and
	// the host of that registry itself (to check what it really holds).
	start func(t *testing.T, lie func(http.Handler) http.Handler) (liar, honest string)
}

func liars(t *testing.T) []wrapped {
	out := []wrapped{{"in-process", func(t *testing.T, lie func(http.Handler) http.Handler) (string, string) {
		backend := testregistry.InProcess(t)
		return proxyTo(t, backend.Host, lie), backend.Host
	}}}
	for _, r := range testregistry.All(t) {
		if r.Name == "docker-registry" {
			out = append(out, wrapped{"docker-registry", func(t *testing.T, lie func(http.Handler) http.Handler) (string, string) {
				backend := testregistry.Process(t)
				return proxyTo(t, backend.Host, lie), backend.Host
			}})
		}
	}
	return out
}

// proxyTo starts a reverse proxy to host with a lie in front.
func proxyTo(t *testing.T, host string, lie func(http.Handler) http.Handler) string {
	u, _ := url.Parse("http://" + host)
	p := httputil.NewSingleHostReverseProxy(u)
	// Uploads are redirected to the registry itself: keep them on the proxy.
	p.ModifyResponse = func(r *http.Response) error {
		if loc := r.Header.Get("Location"); loc != "" {
			r.Header.Set("Location", strings.Replace(loc, host, r.Request.Header.Get("X-Proxy-Host"), 1))
		}
		return nil
	}
	var self string
	s := httptest.NewServer(lie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Proxy-Host", self)
		p.ServeHTTP(w, r)
	})))
	t.Cleanup(s.Close)
	self = strings.TrimPrefix(s.URL, "http://")
	return self
}

// honestGraph asserts that ref, read from the registry itself, is either
// absent or complete: every manifest and every blob is there and hashes to
// its digest.
func honestGraph(t *testing.T, ref string) (present bool) {
	t.Helper()
	c := xpkg.NewClient()
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetManifest(context.Background(), r); err != nil {
		return false
	}
	eng := transfer.New(c, transfer.Options{Verify: transfer.VerifyFull})
	defer eng.Close()
	ep := transfer.Endpoint{Kind: transfer.Registry, Ref: ref}
	p, err := eng.Plan(context.Background(), []transfer.Request{{Source: ep, Destination: ep}})
	if err != nil {
		t.Fatalf("reading %s back: %v", ref, err)
	}
	if err := eng.Verify(context.Background(), p); err != nil {
		t.Fatalf("TAG POINTS AT MISSING OR WRONG CONTENT: %v", err)
	}
	return true
}

// blobSizes lists the blobs of an image or index by digest.
func blobSizes(t *testing.T, obj any) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	add := func(img v1.Image) {
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		out[m.Config.Digest.String()] = m.Config.Size
		for _, l := range m.Layers {
			out[l.Digest.String()] = l.Size
		}
	}
	switch o := obj.(type) {
	case v1.Image:
		add(o)
	case v1.ImageIndex:
		im, _ := o.IndexManifest()
		for _, d := range im.Manifests {
			img, err := o.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			add(img)
		}
	}
	return out
}

func blobDigest(path string) string {
	i := strings.Index(path, "/blobs/sha256:")
	if i < 0 || strings.Contains(path, "/uploads") {
		return ""
	}
	return path[i+len("/blobs/"):]
}

// headAlways200 answers every blob HEAD with 200, with the blob's real size
// when withSize (a convincing liar) and no length otherwise.
func headAlways200(sizes map[string]int64, withSize bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := blobDigest(r.URL.Path); r.Method == http.MethodHead && d != "" {
				if withSize {
					w.Header().Set("Content-Length", strconv.FormatInt(sizes[d], 10))
				} else {
					w.Header().Set("Content-Length", "0")
				}
				w.Header().Set("Docker-Content-Digest", d)
				w.WriteHeader(http.StatusOK)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// A destination that answers HEAD 200 for blobs it does not hold. Before:
// the plan skipped them, verification sent only HEADs, and mirror printed
// "copied … verified", rc 0, with nothing pullable.
func TestLyingBlobHEAD(t *testing.T) {
	img := provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})
	sizes := blobSizes(t, img)
	up := testregistry.InProcess(t)
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, img); err != nil {
		t.Fatal(err)
	}
	for _, reg := range liars(t) {
		t.Run(reg.name, func(t *testing.T) {
			// A convincing liar (200 with the right size): the ranged read of
			// the verification finds it out before any tag is written.
			liar, honest := reg.start(t, headAlways200(sizes, true))
			out, errOut, code := run(t, "mirror", src, liar+"/mirror/provider-nop:v1.6.0", "--yes")
			if code != ExitError || !strings.Contains(errOut, "claimed to hold blob") || !strings.Contains(errOut, "nothing was tagged") {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if honestGraph(t, honest+"/mirror/provider-nop:v1.6.0") {
				t.Fatal("a tag was written over missing blobs")
			}
			// A careless liar (200 without the size) is not believed at all.
			liar, honest = reg.start(t, headAlways200(sizes, false))
			out, errOut, code = run(t, "mirror", src, liar+"/mirror/provider-nop:v1.6.0", "--yes")
			if code != 0 || !strings.Contains(out, "Blobs: 2 copied") {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if !honestGraph(t, honest+"/mirror/provider-nop:v1.6.0") {
				t.Fatal("the copy left no tag")
			}
		})
	}
}

// digestHeaderLie makes every manifest response name digest in its
// Docker-Content-Digest header.
func digestHeaderLie(digest *atomic.Value) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d, _ := digest.Load().(string); d != "" && strings.Contains(r.URL.Path, "/manifests/") {
				w = &headerRewriter{ResponseWriter: w, key: "Docker-Content-Digest", value: d}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type headerRewriter struct {
	http.ResponseWriter
	key, value string
	once       sync.Once
}

func (h *headerRewriter) WriteHeader(code int) {
	h.once.Do(func() { h.Header().Set(h.key, h.value) })
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerRewriter) Write(b []byte) (int, error) {
	h.once.Do(func() { h.Header().Set(h.key, h.value) })
	return h.ResponseWriter.Write(b)
}

// A source whose Docker-Content-Digest names the destination's digest.
// Before: "up to date … nothing to copy", rc 0, the wrong image left in
// place. Now "up to date" is decided from the bytes read.
func TestLyingDigestHeader(t *testing.T) {
	var lie atomic.Value
	up := testregistry.InProcess(t, digestHeaderLie(&lie))
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index()); err != nil {
		t.Fatal(err)
	}
	for _, reg := range liars(t) {
		t.Run(reg.name, func(t *testing.T) {
			var dstLie atomic.Value
			liar, honest := reg.start(t, digestHeaderLie(&dstLie))
			dst := liar + "/mirror/provider-nop:v1.6.0"
			if err := xpkgtest.DockerRepush(honest+"/mirror/provider-nop:v1.6.0", provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
				t.Fatal(err)
			}
			wrong, _ := manifestBytes(t, honest+"/mirror/provider-nop:v1.6.0")
			right, _ := manifestBytes(t, src)
			lie.Store(wrong)    // the source claims to be what the destination holds
			dstLie.Store(right) // and the destination claims to be the source
			defer lie.Store("")
			out, errOut, code := run(t, "mirror", src, dst, "--yes")
			if code != ExitFindings || strings.Contains(out, "up to date") || !strings.Contains(out, "CONFLICT") {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			out, errOut, code = run(t, "mirror", src, dst, "--yes", "--force")
			if code != 0 || !strings.Contains(out, "tag moved") {
				t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
			}
			if d, _ := manifestBytes(t, honest+"/mirror/provider-nop:v1.6.0"); d != right {
				t.Fatalf("destination is %s, want %s", d, right)
			}
			honestGraph(t, honest+"/mirror/provider-nop:v1.6.0")
		})
	}
}

// wrongBytes serves other bytes of the same length for one blob.
func wrongBytes(digest string) func(http.Handler) http.Handler {
	return testregistry.FlipBlobBytes(func(r *http.Request) bool { return blobDigest(r.URL.Path) == digest })
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// A source that serves wrong bytes for a blob: xpdoctor refuses them itself
// (expected and actual digest), in every direction, and no tag or index
// entry names the bad content.
func TestWrongBlobBytes(t *testing.T) {
	p := provider
	p.Runtime = []v1.Layer{xpkgtest.RandomLayer(7, 64<<10)}
	img := p.Image(v1.Platform{OS: "linux", Architecture: "amd64"})
	bad, _ := p.Runtime[0].Digest()
	m, _ := img.Manifest()
	var badSize int64
	for _, l := range m.Layers {
		if l.Digest == bad {
			badSize = l.Size
		}
	}
	up := testregistry.InProcess(t, wrongBytes(bad.String()))
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, img); err != nil {
		t.Fatal(err)
	}
	rc, _ := p.Runtime[0].Compressed()
	good, _ := io.ReadAll(rc)
	flipped := append([]byte{}, good...)
	for i := range flipped {
		flipped[i] ^= 0xff
	}
	want := "expected " + bad.String() + ", got " + sha(flipped)
	_ = badSize
	dir := t.TempDir()
	for _, dst := range []string{
		testregistry.InProcess(t).Host + "/mirror/provider-nop:v1.6.0",
		"oci:" + dir + "/layout",
		"oci-archive:" + dir + "/carry.tar",
	} {
		out, errOut, code := run(t, "mirror", src, dst, "--yes")
		if code != ExitError || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, want %q\n%s\n%s", dst, code, want, out, errOut)
		}
		if strings.HasPrefix(dst, "oci") {
			continue
		}
		if honestGraph(t, dst) {
			t.Errorf("%s was tagged", dst)
		}
	}
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	if refs, err := eng.References(transfer.Layout, dir+"/layout"); err == nil {
		t.Errorf("the layout records %v over bad content", refs)
	}
	if _, err := eng.References(transfer.Archive, dir+"/carry.tar"); err == nil {
		t.Error("an archive was written over bad content")
	}
}

// A destination that answers HEAD 200 for every manifest: the children it
// claims are not pushed, and reading them back by digest finds the lie
// before the tag is written.
func TestLyingManifestHEAD(t *testing.T) {
	up := testregistry.InProcess(t)
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index()); err != nil {
		t.Fatal(err)
	}
	lie := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/sha256:") {
				w.WriteHeader(http.StatusOK)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	for _, reg := range liars(t) {
		t.Run(reg.name, func(t *testing.T) {
			liar, honest := reg.start(t, lie)
			out, errOut, code := run(t, "mirror", src, liar+"/mirror/provider-nop:v1.6.0", "--yes")
			if code != ExitError || !strings.Contains(errOut, "claimed to hold manifest") {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if honestGraph(t, honest+"/mirror/provider-nop:v1.6.0") {
				t.Fatal("a tag was written over missing manifests")
			}
		})
	}
}
