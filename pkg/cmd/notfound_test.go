package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// demoDumpFile writes the demo's support dump (demodump.yaml) to a file.
func demoDumpFile(t *testing.T) string {
	t.Helper()
	raw := []byte(demoDump)
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, bytes.ReplaceAll(raw, []byte("REGISTRY"), []byte("registry.example.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runIn runs the command tree with stdin.
func runIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// A name no package has is NotFound, in kubectl's words, with exit 1, as
// `kubectl get providers,functions,configurations NAME` says it: one line
// per kind searched. Before, it printed an empty table and exit 0.
func TestNameNotFoundFromDump(t *testing.T) {
	dump := demoDumpFile(t)
	base := []string{"--from-file", dump, "--inspect", "none"}
	out, errOut, code := run(t, append([]string{"diagnose", "provider-doker"}, base...)...)
	want := "Error from support dump " + dump + ` (NotFound): providers.pkg.crossplane.io "provider-doker" not found
Error from support dump ` + dump + ` (NotFound): functions.pkg.crossplane.io "provider-doker" not found
Error from support dump ` + dump + ` (NotFound): configurations.pkg.crossplane.io "provider-doker" not found
`
	if code != ExitFindings || out != "" || errOut != want {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}

	// --kind narrows the kinds searched (and is what kubectl get providers NAME says).
	_, errOut, code = run(t, append([]string{"diagnose", "--kind", "Provider", "provider-doker"}, base...)...)
	if code != ExitFindings || errOut != "Error from support dump "+dump+` (NotFound): providers.pkg.crossplane.io "provider-doker" not found`+"\n" {
		t.Fatalf("--kind Provider: exit %d\n%s", code, errOut)
	}
	// A Provider's name under --kind Function does not exist either.
	if _, errOut, code = run(t, append([]string{"diagnose", "--kind", "Function", "provider-runtime"}, base...)...); code != ExitFindings || !strings.Contains(errOut, `functions.pkg.crossplane.io "provider-runtime" not found`) {
		t.Fatalf("--kind Function provider-runtime: exit %d\n%s", code, errOut)
	}

	// Some found: their report, then NotFound for the others, exit 1.
	out, errOut, code = run(t, append([]string{"diagnose", "provider-runtime", "provider-doker", "-o", "json"}, base...)...)
	if code != ExitFindings || !strings.Contains(out, `"name": "provider-runtime"`) || !strings.Contains(errOut, `providers.pkg.crossplane.io "provider-doker" not found`) || strings.Contains(errOut, "provider-runtime") {
		t.Fatalf("partial: exit %d\n%s\n%s", code, out, errOut)
	}
	// A revision's name is found (diagnose selects a package by its revisions' names too).
	if _, errOut, code = run(t, append([]string{"diagnose", "provider-runtime-58cd9ca57af0", "--exit-zero"}, base...)...); code != 0 {
		t.Fatalf("revision name: exit %d\n%s", code, errOut)
	}

	// fix: the same words, and nothing is planned.
	out, errOut, code = run(t, "fix", "provider-runtme", "--from-file", dump, "--upstream-registry", "registry.example.com/mirror=registry.example.com")
	if code != ExitFindings || out != "" || !strings.Contains(errOut, `Error from support dump `+dump+` (NotFound): providers.pkg.crossplane.io "provider-runtme" not found`) {
		t.Fatalf("fix: exit %d\n%s\n%s", code, out, errOut)
	}
	// fix with one name that exists and one that does not changes nothing.
	out, errOut, code = run(t, "fix", "provider-runtime", "provider-runtme", "--from-file", dump, "--upstream-registry", "registry.example.com/mirror=registry.example.com", "--inspect", "none")
	if code != ExitFindings || out != "" || !strings.Contains(errOut, `"provider-runtme" not found`) {
		t.Fatalf("fix partial: exit %d\n%s\n%s", code, out, errOut)
	}
}

// Input without Crossplane exits 2, saying what was looked for and where.
// Before, each gave "Crossplane v2.2+. No findings." and exit 0.
func TestNoCrossplaneInDump(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, content string }{
		{"empty-list.yaml", "apiVersion: v1\nkind: List\nitems: []\n"},
		// docker-registry's own config (/etc/docker/registry/config.yml): YAML, not a dump.
		{"registry-config.yml", "version: 0.1\nlog:\n  fields:\n    service: registry\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n"},
		{"pods.json", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"}}]}`},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := run(t, "diagnose", "--from-file", path)
		want := "error: no Crossplane found in the support dump " + path + ": it holds no pkg.crossplane.io object (Provider, Function, Configuration, revision, Lock, ImageConfig) and no Crossplane Deployment; " +
			"write one with `kubectl xpdoctor bundle`, or with the kubectl commands of `kubectl xpdoctor diagnose --help`\n"
		if code != ExitError || out != "" || errOut != want {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", c.name, code, out, errOut)
		}
	}
	// A namespace given that is not the dump's Crossplane's.
	dump := demoDumpFile(t)
	for _, flag := range []string{"--crossplane-namespace", "-n"} {
		_, errOut, code := run(t, "diagnose", "--from-file", dump, flag, "upbound-system", "--inspect", "none")
		if code != ExitError || !strings.Contains(errOut, "no Crossplane found in namespace upbound-system of the support dump "+dump+": its Crossplane Deployment is in namespace crossplane-system") {
			t.Errorf("%s upbound-system: exit %d\n%s", flag, code, errOut)
		}
	}
	// The namespace it is in is accepted under either flag.
	if _, errOut, code := run(t, "diagnose", "--from-file", dump, "-n", "crossplane-system", "--inspect", "none", "--exit-zero"); code != 0 {
		t.Errorf("-n crossplane-system: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, "diagnose", "--from-file", dump, "-n", "a", "--crossplane-namespace", "b"); code != ExitError || !strings.Contains(errOut, "-n a and --crossplane-namespace b name two namespaces") {
		t.Errorf("-n a --crossplane-namespace b: exit %d\n%s", code, errOut)
	}
}

// --from-file - reads the dump from standard input, with the same result
// as from the file, and within the same bounds.
func TestDumpFromStdin(t *testing.T) {
	dump := demoDumpFile(t)
	raw, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, code := run(t, "--from-file", dump, "--inspect", "none", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("from file: exit %d", code)
	}
	fromStdin, errOut, code := runIn(t, string(raw), "--from-file", "-", "--inspect", "none", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("from stdin: exit %d\n%s", code, errOut)
	}
	if got, want := strings.Replace(fromStdin, `"source": "stdin"`, `"source": "`+dump+`"`, 1), fromFile; got != want {
		t.Errorf("stdin differs from the file:\n%s\n---\n%s", got, want)
	}
	if _, errOut, code = runIn(t, "", "--from-file", "-"); code != ExitError || !strings.Contains(errOut, "reading the support dump from standard input: the dump is empty") {
		t.Errorf("empty stdin: exit %d\n%s", code, errOut)
	}
}

// bundle refuses, before it reads a cluster, a file it must not or cannot
// write: one that exists (without --overwrite), a directory, a directory
// that does not exist, and -o given a format. No cluster is needed: the
// kubeconfig names none.
func TestBundleRefusesBeforeReading(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "ticket.yaml")
	if err := os.WriteFile(existing, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", existing}, "error: " + existing + " exists: give another -o FILE, or --overwrite to replace it\n"},
		{[]string{"-o", dir}, "error: -o " + dir + " is a directory: give a file name, such as -o " + dir + "/xpdoctor-bundle-"},
		{[]string{"-o", filepath.Join(dir, "nope", "b.yaml")}, "error: -o " + filepath.Join(dir, "nope", "b.yaml") + ": the directory " + filepath.Join(dir, "nope") + " does not exist\n"},
		{[]string{"-o", "json"}, "error: -o names the file to write (the bundle is always YAML), not a format"},
		{[]string{"-n", "a", "--crossplane-namespace", "b"}, "error: -n a and --crossplane-namespace b name two namespaces"},
	} {
		out, errOut, code := run(t, append([]string{"bundle"}, c.args...)...)
		if code != ExitError || out != "" || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("bundle %v: exit %d\n%s", c.args, code, errOut)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me\n" {
		t.Fatal("the existing file changed")
	}
}
