package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// complete asks the command tree for completions the way a shell (or
// kubectl_complete-xpdoctor) does, and returns the candidates without
// descriptions, and the directive line.
func complete(t *testing.T, args ...string) (names []string, directive string) {
	t.Helper()
	out, errOut, code := run(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, lines[len(lines)-1]
}

func has(list []string, want ...string) bool {
	set := map[string]bool{}
	for _, s := range list {
		set[s] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// Against a real kube-apiserver: package names, namespaces and kubeconfig
// names, on the root command (`kubectl xpdoctor`) and on diagnose and fix.
func TestCompletionAgainstAPIServer(t *testing.T) {
	env, _, _ := incidentCluster(t)
	kc := env.Kubeconfig
	for _, cmd := range [][]string{nil, {"diagnose"}, {"fix"}} {
		names, dir := complete(t, append(cmd, "--kubeconfig", kc, "")...)
		if !has(names, "provider-runtime", "configuration-platform", "function-runtime") || dir != ":4" {
			t.Errorf("%v names: %v %s", cmd, names, dir)
		}
		names, _ = complete(t, append(cmd, "--kubeconfig", kc, "-n", "")...)
		if !has(names, "crossplane-system", "default", "kube-system") {
			t.Errorf("%v -n: %v", cmd, names)
		}
		names, _ = complete(t, append(cmd, "--kubeconfig", kc, "--namespace", "cross")...)
		if strings.Join(names, ",") != "crossplane-system" {
			t.Errorf("%v --namespace cross: %v", cmd, names)
		}
		// testenv's kubeconfig: context and cluster envtest, user admin.
		for flag, want := range map[string]string{"--context": "envtest", "--cluster": "envtest", "--user": "admin"} {
			if names, _ = complete(t, append(cmd, "--kubeconfig", kc, flag, "")...); strings.Join(names, ",") != want {
				t.Errorf("%v %s: %v, want %s", cmd, flag, names, want)
			}
		}
	}
	// KUBECONFIG is honoured as kubectl honours it.
	t.Setenv("KUBECONFIG", kc)
	if names, _ := complete(t, "diagnose", "-n", "kube-"); !has(names, "kube-system", "kube-public") || has(names, "default") {
		t.Errorf("KUBECONFIG -n kube-: %v", names)
	}
}

// Fixed values: kinds and every command's output formats.
func TestCompletionOfValues(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--kind", ""}, []string{"Provider", "Function", "Configuration"}},
		{[]string{"diagnose", "-o", ""}, []string{"table", "wide", "json", "yaml", "markdown"}},
		{[]string{"-o", ""}, []string{"table", "wide", "json", "yaml", "markdown"}},
		{[]string{"inspect", "--output", ""}, []string{"table", "wide", "json", "yaml"}},
		{[]string{"version", "-o", ""}, []string{"json", "yaml"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish", "powershell", "kubectl"}},
	}
	for _, c := range cases {
		if names, dir := complete(t, c.args...); !has(names, c.want...) || dir != ":4" {
			t.Errorf("%v: %v %s, want %v", c.args, names, dir, c.want)
		}
	}
}

// The scripts register the program users run, kubectl-xpdoctor.
func TestCompletionScriptsNameThePlugin(t *testing.T) {
	marks := map[string]string{
		"bash":       "complete -o default -F __start_kubectl-xpdoctor kubectl-xpdoctor",
		"zsh":        "#compdef kubectl-xpdoctor",
		"fish":       "complete -c kubectl-xpdoctor ",
		"powershell": "Register-ArgumentCompleter -CommandName 'kubectl-xpdoctor'",
	}
	for shell, mark := range marks {
		out, _, code := run(t, "completion", shell)
		if code != 0 || !strings.Contains(out, mark) {
			t.Errorf("completion %s: exit %d, no %q", shell, code, mark)
		}
	}
}

// kubectl_complete-xpdoctor in the repository (and so in every archive) is
// what `completion kubectl` generates: run `go generate ./pkg/cmd`.
func TestKubectlCompletionHelperIsGenerated(t *testing.T) {
	out, _, code := run(t, "completion", "kubectl")
	path := filepath.Join("..", "..", "kubectl_complete-xpdoctor")
	committed, err := os.ReadFile(path)
	if err != nil || code != 0 {
		t.Fatalf("%v, exit %d", err, code)
	}
	if string(committed) != out {
		t.Errorf("%s is stale: run go generate ./pkg/cmd\n--- generated\n%s", path, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable: %v", path, fi.Mode())
	}
	if !strings.Contains(out, `exec kubectl-xpdoctor __complete "$@"`) {
		t.Errorf("the helper does not hand the words to the plugin's __complete:\n%s", out)
	}
}
