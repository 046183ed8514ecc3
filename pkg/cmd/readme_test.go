package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeRegistry stands for the in-process registry's 127.0.0.1:PORT in the
// README: as long (ephemeral ports have 5 digits), so tables stay aligned.
const readmeRegistry = "ecr.example.com"

// readmeBlock is a README code block that starts with a command line.
var readmeBlock = regexp.MustCompile("(?s)```\n\\$ (kubectl xpdoctor[^\n]*)\n(.*?)```\n")

// The README shows real output: each block that starts with
// `$ kubectl xpdoctor ...` is that command's output against the incident in
// testdata/cluster.yaml on a real kube-apiserver (a block ending in "..." is
// the output's first lines). `go test ./pkg/cmd -run TestReadme -update`
// rewrites them; review the diff.
func TestReadmeShowsRealOutput(t *testing.T) {
	pinClock(t)
	env, _, host := incidentCluster(t)
	if len(host) != len(readmeRegistry) {
		t.Fatalf("registry %s is not %d characters long: the README's tables would not align", host, len(readmeRegistry))
	}
	path := filepath.Join("..", "..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	blocks := readmeBlock.FindAllStringSubmatchIndex(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("the README has %d command blocks, want the first screen and diagnose's", len(blocks))
	}
	var b strings.Builder
	last := 0
	for _, m := range blocks {
		cmdline, body := readme[m[2]:m[3]], readme[m[4]:m[5]]
		args := append(strings.Fields(cmdline)[2:], "--kubeconfig", env.Kubeconfig)
		out, errOut, code := run(t, args...)
		if code == ExitError {
			t.Fatalf("%s: exit %d\n%s", cmdline, code, errOut)
		}
		got := strings.ReplaceAll(out, host, readmeRegistry)
		if prefix, ok := strings.CutSuffix(body, "...\n"); ok {
			n := strings.Count(prefix, "\n")
			lines := strings.SplitAfter(got, "\n")
			got = strings.Join(lines[:min(n, len(lines))], "") + "...\n"
		}
		if got != body {
			t.Errorf("README block %q is not what it prints (go test ./pkg/cmd -run TestReadme -update):\n--- prints\n%s--- README\n%s", cmdline, got, body)
		}
		b.WriteString(readme[last:m[4]])
		b.WriteString(got)
		last = m[5]
	}
	b.WriteString(readme[last:])
	if *update && b.String() != readme {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
