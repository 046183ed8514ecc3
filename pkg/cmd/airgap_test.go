package cmd

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// counting counts requests that reach a registry.
func counting(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			next.ServeHTTP(w, r)
		})
	}
}

func references(t *testing.T, kind transfer.Kind, path string) []string {
	t.Helper()
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	refs, err := eng.References(kind, path)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// An archive (or layout) gains references: exporting A then B keeps both;
// the same export again is up to date. A file that is not an OCI archive is
// refused and left as it was.
func TestExportAddsReferences(t *testing.T) {
	reg := testregistry.InProcess(t)
	a, b := reg.Host+"/upbound/provider-a:v1", reg.Host+"/upbound/provider-b:v1"
	for _, r := range []string{a, b} {
		if err := xpkgtest.Push(r, provider.Index()); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	for _, loc := range []string{"oci-archive:" + dir + "/carry.tar", "oci:" + dir + "/layout"} {
		kind, path := transfer.ParseLocation(loc)
		out, errOut, code := run(t, "mirror", a, loc, "--yes")
		if code != 0 || !strings.Contains(out, "Tags: 1 created") {
			t.Fatalf("%s: A: exit %d\n%s\n%s", loc, code, out, errOut)
		}
		out, errOut, code = run(t, "mirror", b, loc, "--yes")
		// B shares every blob but its manifests with A: counted as present.
		if code != 0 || !strings.Contains(out, "Tags: 1 created") || !strings.Contains(out, "3 already present") {
			t.Fatalf("%s: B: exit %d\n%s\n%s", loc, code, out, errOut)
		}
		if refs := references(t, kind, path); len(refs) != 2 || refs[0] != a || refs[1] != b {
			t.Fatalf("%s records %v, want both", loc, refs)
		}
		out, _, code = run(t, "mirror", a, loc, "--yes", "-q")
		if code != 0 || !strings.Contains(out, "1 up to date") || strings.Contains(out, "PLAN") {
			t.Fatalf("%s: rerun: exit %d\n%s", loc, code, out)
		}
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "mirror", a, "oci-archive:"+notes, "--yes")
	if b, _ := os.ReadFile(notes); code != ExitError || string(b) != "my notes\n" || !strings.Contains(errOut, "is not an OCI archive") {
		t.Fatalf("unrelated file: exit %d %s, now %q", code, errOut, b)
	}
	if err := os.WriteFile(filepath.Join(dir, "stuff", "x"), nil, 0o644); err != nil {
		_ = os.MkdirAll(filepath.Join(dir, "stuff"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "stuff", "x"), []byte("x"), 0o644)
	}
	_, errOut, code = run(t, "mirror", a, "oci:"+filepath.Join(dir, "stuff"), "--yes")
	if code != ExitError || !strings.Contains(errOut, "is not an OCI image layout") {
		t.Fatalf("unrelated directory: exit %d %s", code, errOut)
	}
}

// Import and export through the one engine: progress lines, totals, counts
// of what was already present, and -q.
func TestImportCountsAndQuiet(t *testing.T) {
	reg := testregistry.InProcess(t)
	a := reg.Host + "/upbound/provider-a:v1"
	if err := xpkgtest.Push(a, provider.Index()); err != nil {
		t.Fatal(err)
	}
	archive := t.TempDir() + "/carry.tar"
	out, _, code := run(t, "mirror", a, "oci-archive:"+archive, "--yes")
	if code != 0 || !strings.Contains(out, "  copied blob sha256:") || !strings.Contains(out, "TOTAL") && !strings.Contains(out, "to copy:") {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	private := testregistry.InProcess(t)
	out, errOut, code := run(t, "mirror", "oci-archive:"+archive, private.Host+"/crossplane", "--yes")
	if code != 0 || !strings.Contains(out, "  copied blob sha256:") || !strings.Contains(out, "Blobs: 3 copied") || !strings.Contains(out, "v2.2+ BaseLayer") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	sameGraph(t, a, private.Host+"/crossplane/upbound/provider-a:v1")
	// Importing again: everything present, counted; -q prints the summary only.
	out, _, code = run(t, "mirror", "oci-archive:"+archive, private.Host+"/crossplane", "--yes", "-q")
	if code != 0 || strings.Contains(out, "blob sha256:") || strings.Contains(out, "PLAN") || !strings.Contains(out, "3 already present") || !strings.Contains(out, "1 up to date") {
		t.Fatalf("re-import -q: exit %d\n%s", code, out)
	}
	// A tag created for content already there: counted as a tag, not a push.
	out, _, code = run(t, "mirror", a, private.Host+"/crossplane/upbound/provider-a:v1-copy", "--yes", "-q")
	if code != 0 || !strings.Contains(out, "Blobs: 0 copied (0 B), 0 mounted, 3 already present. Manifests: 0 pushed, 3 already present. Tags: 1 created") {
		t.Fatalf("new tag for an existing digest: exit %d\n%s", code, out)
	}
}

// A blob of a layout that is a symbolic link is refused, never followed:
// the file it points at never reaches the registry.
func TestLayoutRefusesLinks(t *testing.T) {
	reg := testregistry.InProcess(t)
	a := reg.Host + "/upbound/provider-a:v1"
	img := provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})
	if err := xpkgtest.Push(a, img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	if _, errOut, code := run(t, "mirror", a, "oci:"+layout, "--yes"); code != 0 {
		t.Fatal(errOut)
	}
	secret := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(secret, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	blob := filepath.Join(layout, "blobs", "sha256", m.Layers[0].Digest.Hex)
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, blob); err != nil {
		t.Fatal(err)
	}
	var uploads atomic.Int64
	dst := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads") && r.Method != http.MethodPost {
				uploads.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	_, errOut, code := run(t, "mirror", "oci:"+layout, dst.Host+"/crossplane", "--yes")
	if code != ExitError || !strings.Contains(errOut, "is a symbolic link: refusing it") {
		t.Fatalf("exit %d %s", code, errOut)
	}
	if uploads.Load() != 0 || honestGraph(t, dst.Host+"/crossplane/upbound/provider-a:v1") {
		t.Fatalf("%d uploads reached the registry", uploads.Load())
	}
	// A named pipe (a special file) likewise.
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("mkfifo", blob).Run(); err == nil {
		_, errOut, code = run(t, "mirror", "oci:"+layout, dst.Host+"/crossplane", "--yes")
		if code != ExitError || !strings.Contains(errOut, "is a named pipe: refusing it") {
			t.Fatalf("fifo: exit %d %s", code, errOut)
		}
	}
}

// A 20 KB archive declaring a sparse 4 GiB blob is refused before anything
// is written: archives are read in place, never unpacked.
func TestSparseArchiveBomb(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("GNU tar is needed to build a sparse archive")
	}
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			src := t.TempDir()
			blobs := filepath.Join(src, "blobs", "sha256")
			_ = os.MkdirAll(blobs, 0o755)
			_ = os.WriteFile(filepath.Join(src, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
			hex := strings.Repeat("ab", 32)
			_ = os.WriteFile(filepath.Join(src, "index.json"), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+hex+`","size":4294967296,"annotations":{"org.opencontainers.image.ref.name":"example.com/a/b:v1"}}]}`), 0o644)
			f, _ := os.Create(filepath.Join(blobs, hex))
			_ = f.Truncate(4 << 30)
			f.Close()
			bomb := filepath.Join(t.TempDir(), "bomb.tar")
			if out, err := exec.Command("tar", "--sparse", "--format="+format, "-C", src, "-cf", bomb, "oci-layout", "index.json", "blobs").CombinedOutput(); err != nil {
				t.Skipf("tar: %v %s", err, out)
			}
			st, _ := os.Stat(bomb)
			if st.Size() > 1<<20 {
				t.Fatalf("the bomb is %d bytes: tar did not write it sparse", st.Size())
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			var requests atomic.Int64
			dst := testregistry.InProcess(t, counting(&requests))
			_, errOut, code := run(t, "mirror", "oci-archive:"+bomb, dst.Host+"/crossplane", "--yes")
			if code != ExitError || !strings.Contains(errOut, "refusing entry") || !strings.Contains(errOut, "nothing was unpacked") {
				t.Fatalf("exit %d %s", code, errOut)
			}
			if n := du(t, tmp) + du(t, filepath.Dir(bomb)) - st.Size(); n > 1<<20 || requests.Load() != 0 {
				t.Fatalf("wrote %d bytes and sent %d requests", n, requests.Load())
			}
		})
	}
}

func du(t *testing.T, dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// A huge index.json is refused with its bound, before any request.
func TestIndexBounded(t *testing.T) {
	for name, entries := range map[string]int{"bytes": 200_000, "entries": transfer.MaxIndexEntries + 1} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
			var b strings.Builder
			b.WriteString(`{"schemaVersion":2,"manifests":[`)
			for i := 0; i < entries; i++ {
				if i > 0 {
					b.WriteString(",")
				}
				if name == "bytes" {
					fmt.Fprintf(&b, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064x","size":1,"annotations":{"org.opencontainers.image.ref.name":"example.com/a/b:v%d"}}`, i, i)
				} else {
					fmt.Fprintf(&b, `{"digest":"sha256:%064x","size":1}`, i)
				}
			}
			b.WriteString("]}")
			_ = os.WriteFile(filepath.Join(dir, "index.json"), []byte(b.String()), 0o644)
			var requests atomic.Int64
			dst := testregistry.InProcess(t, counting(&requests))
			_, errOut, code := run(t, "mirror", "oci:"+dir, dst.Host+"/crossplane", "--yes")
			if code != ExitError || !strings.Contains(errOut, "at most") || !strings.Contains(errOut, "4 MiB") || requests.Load() != 0 {
				t.Fatalf("exit %d, %d requests: %s", code, requests.Load(), errOut)
			}
		})
	}
}

// Wrong bytes in a layout or an archive are refused on import with the
// expected and the actual digest, and nothing is tagged.
func TestImportWrongBytes(t *testing.T) {
	reg := testregistry.InProcess(t)
	a := reg.Host + "/upbound/provider-a:v1"
	img := provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})
	if err := xpkgtest.Push(a, img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	layer := m.Layers[0].Digest
	dir := t.TempDir()
	for _, loc := range []string{"oci:" + dir + "/layout", "oci-archive:" + dir + "/carry.tar"} {
		if _, errOut, code := run(t, "mirror", a, loc, "--yes"); code != 0 {
			t.Fatal(errOut)
		}
	}
	// Flip the layer's bytes in place, keeping its size.
	p := filepath.Join(dir, "layout", "blobs", "sha256", layer.Hex)
	good, _ := os.ReadFile(p)
	bad := append([]byte{}, good...)
	for i := range bad {
		bad[i] ^= 0xff
	}
	_ = os.WriteFile(p, bad, 0o644)
	tarball, _ := os.ReadFile(dir + "/carry.tar")
	i := strings.Index(string(tarball), string(good))
	copy(tarball[i:], bad)
	_ = os.WriteFile(dir+"/carry.tar", tarball, 0o644)
	want := "expected " + layer.String() + ", got " + sha(bad)
	for _, loc := range []string{"oci:" + dir + "/layout", "oci-archive:" + dir + "/carry.tar"} {
		dst := testregistry.InProcess(t)
		_, errOut, code := run(t, "mirror", loc, dst.Host+"/crossplane", "--yes")
		if code != ExitError || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d %s", loc, code, errOut)
		}
		if honestGraph(t, dst.Host+"/crossplane/upbound/provider-a:v1") {
			t.Errorf("%s: tagged over bad content", loc)
		}
	}
}

// Destinations without a tag, or with a trailing slash, are refused before
// anything is written, with the corrected command.
func TestDestinationNeedsTag(t *testing.T) {
	var requests atomic.Int64
	reg := testregistry.InProcess(t, counting(&requests))
	src := reg.Host + "/upbound/provider-nop:v1.6.0"
	for dst, fixed := range map[string]string{
		reg.Host + "/upbound":            reg.Host + "/upbound:v1.6.0",
		reg.Host + "/mirror/":            reg.Host + "/mirror/provider-nop:v1.6.0",
		reg.Host + "/mirror/provider-x/": reg.Host + "/mirror/provider-x/provider-nop:v1.6.0",
	} {
		_, errOut, code := run(t, "mirror", src, dst, "--yes")
		if code != ExitError || !strings.Contains(errOut, "mirror "+src+" "+fixed+" --yes") || !strings.Contains(errOut, "nothing was written") {
			t.Errorf("%s: exit %d %s", dst, code, errOut)
		}
	}
	if requests.Load() != 0 {
		t.Fatalf("%d requests were sent before the refusal", requests.Load())
	}
}

// Flag validation is the same in every mode, and happens before anything
// is read or written.
func TestMirrorFlagValidation(t *testing.T) {
	reg := testregistry.InProcess(t)
	src := reg.Host + "/upbound/provider-nop:v1.6.0"
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	_ = os.WriteFile(list, []byte(src+" "+reg.Host+"/m/p:v1\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{src, "oci:" + dir + "/layout", "--timeout", "0"}, "--timeout must be positive"},
		{[]string{"--closure", src, reg.Host + "/m", "--timeout", "0"}, "--timeout must be positive"},
		{[]string{"--from-file", list, src, reg.Host + "/m/p:v1"}, "not both"},
		{[]string{"--closure", src, reg.Host + "/m", "--jobs", "0"}, "--jobs must be at least 1"},
		{[]string{"oci:" + dir + "/layout", reg.Host + "/m", "--jobs", "0"}, "--jobs must be at least 1"},
		{[]string{src, reg.Host + "/m/p:v1", "--verify", "some"}, "--verify must be graph or full"},
		{[]string{src, reg.Host + "/m/p:v1", "-o", "yaml"}, "unknown output format"},
	} {
		_, errOut, code := run(t, append([]string{"mirror"}, c.args...)...)
		if code != ExitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want %q", c.args, code, errOut, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("a refused command wrote into %s: %v", dir, entries)
	}
}
