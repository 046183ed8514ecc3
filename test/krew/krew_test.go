// Package krew installs the release archive with a real krew and runs the
// plugin through kubectl's plugin mechanism.
package krew

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// RequireEnv makes a missing krew or kubectl a failure; make test-integration sets it.
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

// kubectlPath is kubectl 1.26+ from PATH (make test puts the one
// test/build-envtest.sh builds first).
func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatal("kubectl is not on PATH (test/build-envtest.sh builds it into the envtest directory)")
		}
		t.Skip("kubectl is not installed")
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
	kubectl := kubectlPath(t)
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

// release builds the linux/amd64 archive and its manifest for version.
func release(t *testing.T, work, version, date string) (dist, manifest string) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	dist = filepath.Join(work, version)
	manifest = filepath.Join(dist, "xpdoctor.yaml")
	cmd := exec.Command("go", "run", "./hack/release", "-version", version, "-commit", "krewtest",
		"-platforms", "linux/amd64", "-out", dist, "-manifest", manifest, "-date", date)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	return dist, manifest
}

// The caveat's completion set-up, run as a user pastes it, keeps working
// through a real `kubectl krew upgrade` (from a local index and an HTTP
// server holding the archives), where a link into krew's versioned store
// would dangle.
func TestKrewUpgradeKeepsCompletion(t *testing.T) {
	krew := tool(t, "krew")
	kubectl := kubectlPath(t)
	work := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(work)))
	defer srv.Close()
	bin := filepath.Join(work, "bin")
	krewRoot := filepath.Join(work, "krew-root")
	index := filepath.Join(krewRoot, "index", "default", "plugins")
	for _, d := range []string{bin, index} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(krew, filepath.Join(bin, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: prod, context: {cluster: c, user: u}}, {name: staging, context: {cluster: c, user: u}}]\ncurrent-context: prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "HOME="+work, "KUBECONFIG="+kubeconfig,
		"PATH="+bin+string(os.PathListSeparator)+filepath.Join(krewRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))

	// publish puts a release's manifest into the local index, pointing at srv.
	publish := func(version, date string) string {
		dist, manifest := release(t, work, version, date)
		m, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatal(err)
		}
		m = []byte(strings.ReplaceAll(string(m), "https://github.com/xpdoctor/xpdoctor/releases/download/"+version, srv.URL+"/"+filepath.Base(dist)))
		if err := os.WriteFile(filepath.Join(index, "xpdoctor.yaml"), m, 0o644); err != nil {
			t.Fatal(err)
		}
		return string(m)
	}
	complete := func() string { // stdout only: stderr has Cobra's debug lines
		cmd := exec.Command(kubectl, "__complete", "xpdoctor", "--context", "")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl __complete: %v", err)
		}
		return string(out)
	}

	manifest := publish("v0.1.0-test", "2026-11-27T00:00:00Z")
	run(t, env, kubectl, "krew", "install", "--no-update-index", "xpdoctor")
	var m struct{ Spec struct{ Caveats string } }
	if err := yaml.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatal(err)
	}
	var setup []string
	for _, l := range strings.Split(m.Spec.Caveats, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "kubectl xpdoctor completion kubectl") || strings.HasPrefix(l, "chmod +x") {
			setup = append(setup, l)
		}
	}
	if len(setup) != 2 {
		t.Fatalf("the caveats do not give the completion set-up:\n%s", m.Spec.Caveats)
	}
	run(t, env, "sh", "-c", strings.Join(setup, " && "))
	if out := complete(); !strings.HasPrefix(out, "prod\nstaging\n:4\n") {
		t.Fatalf("kubectl xpdoctor --context <TAB> after install: %q", out)
	}

	publish("v0.1.1-test", "2026-11-28T00:00:00Z")
	run(t, env, kubectl, "krew", "upgrade", "--no-update-index", "xpdoctor")
	if out := run(t, env, kubectl, "xpdoctor", "version"); !strings.Contains(out, "v0.1.1-test") {
		t.Fatalf("not upgraded: %s", out)
	}
	if _, err := os.Stat(filepath.Join(krewRoot, "store", "xpdoctor", "v0.1.0-test")); !os.IsNotExist(err) {
		t.Fatalf("krew kept the old version's store (%v): the test would not show a dangling link", err)
	}
	if out := complete(); !strings.HasPrefix(out, "prod\nstaging\n:4\n") {
		t.Fatalf("kubectl xpdoctor --context <TAB> after upgrade: %q", out)
	}
}
