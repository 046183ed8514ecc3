package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func manifestBytes(t *testing.T, ref string) (string, []byte) {
	t.Helper()
	c := xpkg.NewClient()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.GetManifest(context.Background(), r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return m.Digest.String(), m.Raw
}

// sameGraph asserts dst holds the exact bytes of src: the top manifest and,
// for an index, every child.
func sameGraph(t *testing.T, src, dst string) {
	t.Helper()
	sd, sraw := manifestBytes(t, src)
	dd, draw := manifestBytes(t, dst)
	if sd != dd || !bytes.Equal(sraw, draw) {
		t.Fatalf("%s (%s) is not byte-identical to %s (%s)", dst, dd, src, sd)
	}
	if idx, err := xpkg.ParseIndex(sraw); err == nil && len(idx.Manifests) > 0 {
		srepo := src[:strings.LastIndex(src, ":")]
		drepo := dst[:strings.LastIndex(dst, ":")]
		for _, d := range idx.Manifests {
			_, a := manifestBytes(t, srepo+"@"+d.Digest.String())
			_, b := manifestBytes(t, drepo+"@"+d.Digest.String())
			if !bytes.Equal(a, b) {
				t.Fatalf("child %s differs", d.Digest)
			}
		}
	}
}

func TestMirrorBetweenRegistries(t *testing.T) {
	up := testregistry.InProcess(t)
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index()); err != nil {
		t.Fatal(err)
	}
	for _, mirror := range testregistry.All(t) {
		t.Run(mirror.Name, func(t *testing.T) {
			dst := mirror.Host + "/upbound/provider-nop:v1.6.0"
			// A docker-damaged copy is already there.
			if err := xpkgtest.DockerRepush(dst, provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
				t.Fatal(err)
			}
			damaged, _ := manifestBytes(t, dst)

			out, errOut, code := run(t, "mirror", src, dst)
			if code != ExitFindings || !strings.Contains(out, "CONFLICT") || !strings.Contains(out, "Nothing was changed") {
				t.Fatalf("plan: code %d\n%s\n%s", code, out, errOut)
			}
			if d, _ := manifestBytes(t, dst); d != damaged {
				t.Fatal("the plan changed the destination")
			}
			out, _, code = run(t, "mirror", src, dst, "--yes")
			if code != ExitFindings {
				t.Fatalf("--yes without --force must leave the tag alone: code %d\n%s", code, out)
			}
			if d, _ := manifestBytes(t, dst); d != damaged {
				t.Fatal("the tag moved without --force")
			}
			out, errOut, code = run(t, "mirror", src, dst, "--yes", "--force")
			if code != 0 || !strings.Contains(out, "moves "+damaged) || !strings.Contains(out, "v2.2+ BaseLayer") || !strings.Contains(out, "  copied blob sha256:") {
				t.Fatalf("--force: code %d\n%s\n%s", code, out, errOut)
			}
			sameGraph(t, src, dst)

			out, _, code = run(t, "mirror", src, dst, "--yes")
			// The rerun reads the two top manifests and nothing else, and
			// counts what it knows is there (the index and its two children),
			// saying what it did not walk; with --verify=full it walks it all.
			if code != 0 || !strings.Contains(out, "Blobs: 0 copied (0 B), 0 mounted, 0 already present (and those of 1 up-to-date index(es), not walked)") || !strings.Contains(out, "Manifests: 0 pushed, 3 already present") || !strings.Contains(out, "1 unchanged") {
				t.Fatalf("repeat copy: code %d\n%s", code, out)
			}
			out, _, code = run(t, "mirror", src, dst, "--yes", "--verify=full")
			if code != 0 || !strings.Contains(out, "Blobs: 0 copied (0 B), 0 mounted, 3 already present. Manifests: 0 pushed, 3 already present") || !strings.Contains(out, "re-read and hashed") {
				t.Fatalf("repeat copy: code %d\n%s", code, out)
			}
		})
	}
}

func TestMirrorFromFile(t *testing.T) {
	reg := testregistry.InProcess(t)
	a := reg.Host + "/upbound/provider-a:v1"
	b := reg.Host + "/crossplane-contrib/function-b:v1"
	for _, r := range []string{a, b} {
		if err := xpkgtest.Push(r, provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
			t.Fatal(err)
		}
	}
	list := filepath.Join(t.TempDir(), "list.txt")
	content := "# packages\n" + a + " " + reg.Host + "/mirror/provider-a:v1\n\n" + b + "   " + reg.Host + "/mirror/function-b:v1 # trailing\n"
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "mirror", "--from-file", list, "--yes", "-q")
	if code != 0 || strings.Contains(out, "PLAN") || strings.Contains(out, "blob sha256:") {
		t.Fatalf("code %d\n%s\n%s", code, out, errOut)
	}
	sameGraph(t, a, reg.Host+"/mirror/provider-a:v1")
	sameGraph(t, b, reg.Host+"/mirror/function-b:v1")

	if err := os.WriteFile(list, []byte("only-one-field\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "mirror", "--from-file", list)
	if code != ExitError || !strings.Contains(errOut, ":1: want 'SRC DST'") {
		t.Fatalf("bad line: code %d %s", code, errOut)
	}
}
