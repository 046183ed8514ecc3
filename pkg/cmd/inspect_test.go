package cmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var provider = xpkgtest.Package{Kind: "Provider", Name: "provider-nop", Crossplane: ">=v1.14.0-0", Objects: 1,
	DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "xpkg.upbound.io/upbound/provider-family-aws", Version: ">=v1.6.0"}}}

// run executes the real command tree in-process.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials from the machine
	return runB(t, args...)
}

func runB(t testing.TB, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/cmd -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file (go test ./pkg/cmd -update, then review the diff):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func pushIncident(t *testing.T) string {
	reg := testregistry.InProcess(t)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(xpkgtest.Push(reg.Host+"/upbound/provider-nop:v1.6.0", provider.Index()))
	must(xpkgtest.DockerRepush(reg.Host+"/mirror/upbound/provider-nop:v1.6.0", provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})))
	must(xpkgtest.Push(reg.Host+"/mirror/upbound/provider-runtime:v1.6.0", xpkgtest.RuntimeImage(v1.Platform{OS: "linux", Architecture: "amd64"})))
	return reg.Host
}

func TestInspectGolden(t *testing.T) {
	host := pushIncident(t)
	scrub := func(s string) string { return strings.ReplaceAll(s, host, "REGISTRY") }
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"inspect-genuine.txt", []string{"inspect", host + "/upbound/provider-nop:v1.6.0"}, 0},
		{"inspect-docker-mirror.txt", []string{"inspect", host + "/mirror/upbound/provider-nop:v1.6.0", "--upstream-registry", host + "/mirror=" + host}, 1},
		{"inspect-docker-mirror-wide.txt", []string{"inspect", host + "/mirror/upbound/provider-nop:v1.6.0", "--upstream", host + "/upbound/provider-nop:v1.6.0", "-o", "wide"}, 1},
		{"inspect-runtime.json", []string{"inspect", host + "/mirror/upbound/provider-runtime:v1.6.0", "--crossplane-version", "v2.1.3", "--crossplane-version", "v2.3.4", "-o", "json"}, 1},
		{"inspect-runtime-exit-zero.yaml", []string{"inspect", host + "/mirror/upbound/provider-runtime:v1.6.0", "--crossplane-version", "v1.20.0", "-o", "yaml", "--exit-zero"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The fixture depends on xpkg.upbound.io, which tests do not
			// reach: TestInspectDependencies covers the dependency check.
			out, errOut, code := run(t, append(c.args, "--dependencies=false")...)
			if code != c.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, c.code, errOut)
			}
			golden(t, c.name, scrub(out))
		})
	}
}

func TestInspectJSONContract(t *testing.T) {
	host := pushIncident(t)
	out, _, _ := run(t, "inspect", host+"/mirror/upbound/provider-nop:v1.6.0", "--upstream", host+"/upbound/provider-nop:v1.6.0", "-o", "json", "--dependencies=false")
	var rep struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Images     []struct {
			Reference string            `json:"reference"`
			Digest    string            `json:"digest"`
			Platforms []json.RawMessage `json:"platforms"`
			Verdicts  []struct {
				CrossplaneVersions, Outcome, Message string
			} `json:"verdicts"`
			Findings []struct{ Code, Severity, Message string } `json:"findings"`
			Upstream *struct {
				Reference string `json:"reference"`
				Cause     string `json:"cause"`
			} `json:"upstream"`
			BytesFetched int64 `json:"bytesFetched"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	img := rep.Images[0]
	if rep.APIVersion == "" || rep.Kind != "InspectReport" || img.Digest == "" || len(img.Platforms) != 1 || len(img.Verdicts) != 4 ||
		img.Verdicts[0].CrossplaneVersions != "v1.13" || img.Verdicts[3].Outcome != "Flatten" || len(img.Findings) != 3 ||
		img.Upstream == nil || img.BytesFetched <= 0 {
		t.Fatalf("contract broken: %s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"inspect"},
		{"inspect", "UPPER/case:bad tag"},
		{"inspect", "localhost:5000/a:v1", "-o", "xml"},
		{"inspect", "localhost:5000/a:v1", "--crossplane-version", "banana"},
		{"inspect", "localhost:5000/a:v1", "localhost:5000/b:v1", "--upstream", "localhost:5000/c:v1"},
		{"inspect", "localhost:5000/a:v1", "--upstream-registry", "https://x.io"},
		{"inspect", "localhost:5000/a:v1", "--upstream-registry", "other.io/x=xpkg.upbound.io"},
	}
	for _, args := range cases {
		_, errOut, code := run(t, args...)
		if code != ExitError || !strings.HasPrefix(errOut, "error: ") || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: code %d, stderr %q", args, code, errOut)
		}
	}
}

func TestUnreachableRegistryIsAFinding(t *testing.T) {
	out, errOut, code := run(t, "inspect", "127.0.0.1:1/nothing/here:v1", "--timeout", "10s")
	if code != ExitFindings || !strings.Contains(out, "RegistryUnreachable") {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func TestDemo(t *testing.T) {
	out, errOut, code := run(t, "demo")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	for _, want := range []string{"No findings.", "consistent with docker pull/tag/push", "PackageYAMLNotFound",
		"package.yaml not found in package", "predicts exactly this message", "DependencyUnresolvable", "RuntimeImagePullFailed",
		"tag moved, verified", "byte-identical", "(exit status 0)", "(exit status 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// Completion: package names come from the cluster (here a dump), flags from Cobra.
func TestCompletion(t *testing.T) {
	out, _, code := run(t, "__complete", "diagnose", "--from-file", "testdata/cluster.yaml", "")
	if code != 0 || !strings.Contains(out, "provider-runtime\tProvider") || !strings.Contains(out, "configuration-platform\tConfiguration") {
		t.Fatalf("names: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "__complete", "inspect", "-o", "")
	if !strings.Contains(out, "wide") || !strings.Contains(out, "yaml") {
		t.Fatalf("output completion:\n%s", out)
	}
	out, _, _ = run(t, "__complete", "")
	for _, c := range []string{"diagnose", "inspect", "mirror", "fix", "demo", "version"} {
		if !strings.Contains(out, c) {
			t.Errorf("command %s not completed:\n%s", c, out)
		}
	}
}

func TestEveryCommandHasExamples(t *testing.T) {
	root := NewRootCommand(IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "help" || c.Name() == "completion" || c.Hidden {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s has no examples", c.Name())
		}
	}
}

// version -o json and -o yaml are versioned objects like the other reports;
// what the build information says is table-tested in pkg/version and read
// from a built binary in cmd/kubectl-xpdoctor.
func TestVersion(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		out, _, code := run(t, "version", "-o", format)
		var v struct {
			APIVersion, Kind, Version, Commit, BuildDate, GoVersion, Platform string
		}
		if code != 0 || yaml.Unmarshal([]byte(out), &v) != nil || v.APIVersion != "xpdoctor.io/v1alpha2" || v.Kind != "Version" ||
			v.Version == "" || v.Commit == "" || v.BuildDate == "" || !strings.HasPrefix(v.GoVersion, "go1.") || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
			t.Fatalf("-o %s: exit %d: %s", format, code, out)
		}
	}
	if _, errOut, code := run(t, "version", "-o", "wide"); code != ExitError || !strings.Contains(errOut, "json, yaml") {
		t.Fatalf("-o wide: exit %d %s", code, errOut)
	}
}

func TestUnreachableAPIServerSaysWhatToDo(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: not-a-secret}\n"
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "--kubeconfig", kc, "--timeout", "20s")
	if code != ExitError || !strings.Contains(errOut, "cannot read the cluster at https://127.0.0.1:1") ||
		!strings.Contains(errOut, "--from-file") || strings.Contains(errOut, "goroutine") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
