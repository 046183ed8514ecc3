package cmd

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// On a terminal every transfer shows a progress bar with the total, export
// and import included (util-linux script(1) gives the command a terminal).
func TestProgressOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	bin := filepath.Join(t.TempDir(), "kubectl-xpdoctor")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/kubectl-xpdoctor").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	reg := testregistry.InProcess(t)
	p := provider
	p.Runtime = []v1.Layer{xpkgtest.RandomLayer(5, 8<<20)}
	src := reg.Host + "/upbound/provider-big:v1"
	if err := xpkgtest.Push(src, p.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "carry.tar")
	private := testregistry.InProcess(t)
	for name, args := range map[string]string{
		"mirror": src + " " + private.Host + "/m/provider-big:v1",
		"export": src + " oci-archive:" + archive,
	} {
		out, err := exec.Command(script, "-qec", bin+" mirror "+args+" --yes", "/dev/null").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "copying") || !strings.Contains(string(out), "MB") {
			t.Errorf("%s: %v\n%q", name, err, out)
		}
	}
	fresh := testregistry.InProcess(t) // the in-process registry shares blobs across repositories
	out, err := exec.Command(script, "-qec", bin+" mirror oci-archive:"+archive+" "+fresh.Host+"/i --yes", "/dev/null").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "copying") {
		t.Errorf("import: %v\n%q", err, out)
	}
}
