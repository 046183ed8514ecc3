package cmd

import (
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// A registry serving another package's layer under the annotated digest
// gives RegistryContentMismatch, in every format, and never the other
// package's name.
func TestInspectNeverReportsUnverifiedMetadata(t *testing.T) {
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	genuine := xpkgtest.Package{Kind: "Provider", Name: "provider-genuine"}.Image(amd64)
	impostor := xpkgtest.Package{Kind: "Provider", Name: "provider-impostor"}.Image(amd64)
	annotated := func(img v1.Image) (string, []byte) {
		m, _ := img.Manifest()
		ls, _ := img.Layers()
		for i, d := range m.Layers {
			if d.Annotations[xpkg.AnnotationKey] == xpkg.PackageAnnotation {
				rc, _ := ls[i].Compressed()
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return d.Digest.String(), b
			}
		}
		t.Fatal("no annotated layer")
		return "", nil
	}
	digest, _ := annotated(genuine)
	_, other := annotated(impostor)
	reg := testregistry.InProcess(t, testregistry.ServeBlob(digest, other))
	ref := reg.Host + "/upbound/provider-genuine:v1"
	if err := xpkgtest.Push(ref, genuine); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"table", "wide", "json", "yaml"} {
		out, errOut, code := run(t, "inspect", ref, "-o", o)
		if code != ExitFindings || !strings.Contains(out, "RegistryContentMismatch") || strings.Contains(out, "provider-impostor") {
			t.Errorf("-o %s: exit %d\n%s\n%s", o, code, out, errOut)
		}
	}
}
