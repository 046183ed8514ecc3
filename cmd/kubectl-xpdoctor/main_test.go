package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is kubectl-xpdoctor built as users build it, from a git checkout
// without ldflags, so that what the toolchain stamps is what it reports.
var bin, binDir, checkoutHead, checkoutTime string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xpdoctor-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building kubectl-xpdoctor:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build copies the working tree (tracked and new files) into a fresh git
// repository with one commit, and builds the binary there with VCS stamping.
func build(dir string) error {
	src := filepath.Join(dir, "src")
	files, err := exec.Command("git", "-C", "../..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if os.IsNotExist(err) { // deleted in the working tree
			continue
		} else if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, f), b, 0o644); err != nil {
			return err
		}
	}
	git := func(args ...string) (string, error) {
		c := exec.Command("git", append([]string{"-C", src, "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		c.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2026-11-27T10:00:00Z", "GIT_AUTHOR_DATE=2026-11-27T10:00:00Z")
		out, err := c.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "test"}} {
		if _, err := git(args...); err != nil {
			return err
		}
	}
	if checkoutHead, err = git("rev-parse", "HEAD"); err != nil {
		return err
	}
	checkoutTime = "2026-11-27T10:00:00Z"
	binDir = filepath.Join(dir, "bin")
	bin = filepath.Join(binDir, "kubectl-xpdoctor")
	c := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-o", bin, "./cmd/kubectl-xpdoctor")
	c.Dir = src
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// A local build says which commit it is and when it was made, without
// ldflags (it said "dev, commit unknown").
func TestVersionFromBuildInfo(t *testing.T) {
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Kind, Version, Commit, BuildDate string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	// Go stamps a pseudo-version from the commit: v0.0.0-TIME-REV12.
	if v.Kind != "Version" || v.Commit != checkoutHead || v.BuildDate != checkoutTime ||
		v.Version != "v0.0.0-20261127100000-"+checkoutHead[:12] {
		t.Fatalf("version %+v, want commit %s at %s", v, checkoutHead, checkoutTime)
	}
}

// Ctrl-C during a command that waits exits 130, and SIGTERM 143, as a shell
// reports kubectl killed by them (it was 2, "context canceled").
func TestInterruptExitCodes(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			// A registry that accepts connections and never answers.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			accepted := make(chan net.Conn, 8)
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			cmd := exec.Command(bin, "inspect", l.Addr().String()+"/upbound/provider-nop:v1.6.0", "--timeout", "10m")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-accepted: // the request is waiting for an answer
				defer c.Close()
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatal("inspect never connected")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("still running 30 s after the signal")
			}
			if got, want := cmd.ProcessState.ExitCode(), 128+int(sig); got != want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, want, stderr.String())
			}
		})
	}
}

// bashCompletion is the bash-completion package's library, which Cobra's
// scripts and kubectl's use (Debian: apt-get install bash-completion).
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// RequireShells makes missing bash-completion or kubectl a failure; make
// test-integration sets it.
const RequireShells = "XPDOCTOR_REQUIRE_SHELLS"

// TAB in a real bash, for `kubectl-xpdoctor ...` (the script from
// `completion bash`) and for `kubectl xpdoctor ...` (kubectl's own script,
// which runs kubectl_complete-xpdoctor from PATH).
func TestCompletionInBash(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if _, serr := os.Stat(bashCompletion); err != nil || serr != nil {
		if os.Getenv(RequireShells) != "" {
			t.Fatalf("kubectl (%v) or %s (%v) missing", err, bashCompletion, serr)
		}
		t.Skip("needs kubectl 1.26+ and bash-completion")
	}
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u1, user: {token: t}}]
contexts: [{name: alpha, context: {cluster: c1, user: u1}}, {name: beta, context: {cluster: c1, user: u1}}]
current-context: alpha
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The helper as the repository ships it, next to the binary on PATH.
	helper, err := os.ReadFile("../../kubectl_complete-xpdoctor")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "kubectl_complete-xpdoctor"), helper, 0o755); err != nil {
		t.Fatal(err)
	}
	// Press TAB at the end of line: what the completion function puts in COMPREPLY.
	const script = `source ` + bashCompletion + `
source <(kubectl completion bash)
source <(kubectl-xpdoctor completion bash)
read -ra COMP_WORDS <<< "$1"
[[ "$1" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]}-1)) COMP_LINE="$1" COMP_POINT=${#1}
fn=$(complete -p "${COMP_WORDS[0]}" | sed 's/.* -F \([^ ]*\) .*/\1/')
"$fn" 2>/dev/null
# A single completion is inserted shell-quoted (cobra's bash v2 script runs
# it through printf %q, which bash 5.2 applies to commas); print each word as
# the shell will pass it to the command.
for w in "${COMPREPLY[@]}"; do eval "printf '%s\n' $w"; done
`
	cases := []struct{ line, want string }{
		{"kubectl-xpdoctor --kubeconfig " + kc + " --context ", "alpha\nbeta\n"},
		{"kubectl-xpdoctor diagnose --kubeconfig " + kc + " --context b", "beta\n"},
		{"kubectl-xpdoctor vers", "version\n"},
		{"kubectl xpdoctor --kubeconfig " + kc + " --context ", "alpha\nbeta\n"},
		{"kubectl xpdoctor inspect -o j", "json\njsonpath=\n"},
		{"kubectl xpdoctor --kind Provider,F", "Provider,Function\n"},
		{"kubectl xpdoctor --kind C", "Configuration\n"},
	}
	for _, c := range cases {
		cmd := exec.Command("bash", "-c", script, "bash", c.line)
		cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+filepath.Dir(kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+filepath.Join(dir, "none"))
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != c.want {
			t.Errorf("%q<TAB>: %q (%v), want %q", c.line, out, err, c.want)
		}
	}
}

// The built binary speaks MCP over stdio to a client that is not the SDK:
// newline-delimited JSON-RPC on stdin and stdout, nothing else on stdout;
// initialize, tools/list and a tools/call whose result is what
// `kubectl-xpdoctor -o json` prints for the same input; closing stdin ends
// it with exit 0.
func TestMCPOverStdio(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(dump, []byte(`apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: crossplane, namespace: crossplane-system}
  spec: {template: {spec: {containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.1.3"}]}}}
- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata: {name: provider-runtime}
  spec: {package: "ecr.example.com/mirror/upbound/provider-runtime:v1.6.0"}
  status:
    conditions:
    - {type: Installed, status: "True", reason: ActivePackageRevision}
    - type: Healthy
      status: "False"
      reason: UnhealthyPackageRevision
      message: 'cannot initialize parser backend: couldn''t find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF'
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	cli := exec.Command(bin, "--from-file", dump, "--inspect", "none", "-o", "json")
	cli.Env = env
	want, _ := cli.Output()
	if !bytes.Contains(want, []byte(`"PackageYAMLNotFound"`)) {
		t.Fatalf("the CLI's report: %s", want)
	}

	cmd := exec.Command(bin, "mcp", "--from-file", dump)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	type response struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	call := func(id int, method string, params any) json.RawMessage {
		t.Helper()
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		if _, err := stdin.Write(append(req, '\n')); err != nil {
			t.Fatal(err)
		}
		select {
		case line, ok := <-lines:
			var r response
			if !ok || json.Unmarshal([]byte(line), &r) != nil || r.JSONRPC != "2.0" || r.ID != id || r.Error != nil {
				t.Fatalf("%s: not a JSON-RPC answer: %q\nstderr: %s", method, line, stderr.String())
			}
			return r.Result
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("%s: no answer in a minute; stderr: %s", method, stderr.String())
		}
		return nil
	}
	var hello struct {
		ProtocolVersion string
		ServerInfo      struct{ Name, Description string }
		Instructions    string
	}
	if err := json.Unmarshal(call(1, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "raw-client", "version": "0"}}), &hello); err != nil {
		t.Fatal(err)
	}
	if hello.ProtocolVersion != "2025-06-18" || hello.ServerInfo.Name != "xpdoctor" || !strings.Contains(hello.ServerInfo.Description, "Read-only") {
		t.Fatalf("initialize: %+v", hello)
	}
	if _, err := stdin.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	var list struct{ Tools []struct{ Name string } }
	if err := json.Unmarshal(call(2, "tools/list", map[string]any{}), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	if strings.Join(names, ",") != "bundle,diagnose,explain,inspect,preflight" {
		t.Fatalf("tools: %v", names)
	}
	var res struct {
		IsError bool
		Content []struct{ Type, Text string }
	}
	if err := json.Unmarshal(call(3, "tools/call", map[string]any{"name": "diagnose", "arguments": map[string]any{"inspect": "none", "detail": true}}), &res); err != nil {
		t.Fatal(err)
	}
	if res.IsError || len(res.Content) != 1 || res.Content[0].Type != "text" || res.Content[0].Text != string(want) {
		t.Fatalf("diagnose over stdio: %+v\nwant the CLI's:\n%s", res, want)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the server ended with %v when stdin closed; stderr: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the server kept running after stdin closed")
	}
	if extra, ok := <-lines; ok {
		t.Errorf("stdout holds more than the answers: %q", extra)
	}
}

// serve runs until it is told to stop: SIGTERM (a pod's end) drains it and
// exits 0. Until a diagnosis succeeds it is alive but not ready, and its
// logs are JSON lines on stderr that say why.
func TestServeStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: serve-test-token-0042}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve", "--kubeconfig", kc, "--listen-address", addr, "--interval", "1h")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(time.Minute)
	for get("/healthz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := get("/readyz"); c != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d before any diagnosis succeeded", c)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr.String())
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec struct{ Level, Msg, Error string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		msgs = append(msgs, rec.Level+" "+rec.Msg)
	}
	got := strings.Join(msgs, "\n")
	if !strings.Contains(got, "INFO serving") || !strings.HasSuffix(got, "INFO stopped") || strings.Contains(stderr.String(), "serve-test-token-0042") {
		t.Fatalf("logs:\n%s", stderr.String())
	}
}
