// Package krew installs the release archive with a real krew and runs the
// plugin through kubectl's plugin mechanism.
package krew

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv makes a missing krew a failure; .ci/run sets it.
const RequireEnv = "XPDOCTOR_REQUIRE_KREW"

func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("XPDOCTOR_TOOLS")
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); dir == "" || err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s not found in XPDOCTOR_TOOLS=%q (make tools builds it)", name, dir)
		}
		t.Skipf("%s not found: run `make tools` and set XPDOCTOR_TOOLS", name)
	}
	return p
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKrewInstall(t *testing.T) {
	krew := tool(t, "krew")
	validate := tool(t, "validate-krew-manifest")
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	work := t.TempDir()
	root, _ := filepath.Abs("../..")
	dist := filepath.Join(work, "dist")
	// validate-krew-manifest wants the file named after the plugin (the
	// krew-index layout), so the generated manifest is xpdoctor.yaml here.
	manifest := filepath.Join(dist, "xpdoctor.yaml")
	release := exec.Command("go", "run", "./hack/release", "-version", "v0.1.0-test", "-commit", "krewtest",
		"-platforms", "linux/amd64", "-out", dist, "-manifest", manifest, "-date", "2026-11-27T00:00:00Z")
	release.Dir = root
	if out, err := release.CombinedOutput(); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	env := os.Environ()
	// The committed manifest and the one just generated both validate.
	committed, err := os.ReadFile(filepath.Join(root, "plugins", "krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	committedCopy := filepath.Join(work, "committed", "xpdoctor.yaml")
	if err := os.MkdirAll(filepath.Dir(committedCopy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(committedCopy, committed, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, env, validate, "-manifest", committedCopy, "-skip-install")
	run(t, env, validate, "-manifest", manifest, "-skip-install")

	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(krew, filepath.Join(bin, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	krewRoot := filepath.Join(work, "krew-root")
	env = append(env, "KREW_ROOT="+krewRoot, "PATH="+bin+string(os.PathListSeparator)+filepath.Join(krewRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+filepath.Join(work, "no-kubeconfig"), "HOME="+work)
	archive := filepath.Join(dist, "kubectl-xpdoctor_v0.1.0-test_linux_amd64.tar.gz")
	run(t, env, kubectl, "krew", "install", "--manifest="+manifest, "--archive="+archive)
	out := run(t, env, kubectl, "xpdoctor", "version")
	if !strings.Contains(out, "xpdoctor v0.1.0-test (commit krewtest, built 2026-11-27T00:00:00Z") {
		t.Fatalf("kubectl xpdoctor version: %s", out)
	}
	help := run(t, env, kubectl, "xpdoctor", "inspect", "--help")
	if !strings.Contains(help, "kubectl xpdoctor inspect") {
		t.Fatalf("usage does not read `kubectl xpdoctor` as a plugin:\n%s", help)
	}
	for _, f := range []string{"LICENSE", "README.md", "kubectl_complete-xpdoctor"} {
		if _, err := os.Stat(filepath.Join(krewRoot, "store", "xpdoctor", "v0.1.0-test", f)); err != nil {
			t.Errorf("installed plugin lacks %s: %v", f, err)
		}
	}
}
