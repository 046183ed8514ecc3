package cmd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve's flags are checked before anything starts: each mistake is exit 2
// with what is wrong, once.
func TestServeUsageErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "0s"}, "--interval must be positive"},
		{[]string{"--debounce", "-1s"}, "--debounce must not be negative"},
		{[]string{"--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"--inspect", "some"}, "--inspect must be problems, all or none"},
		{[]string{"--from-file", "dump.yaml"}, "unknown flag: --from-file"},
		{[]string{"provider-nop"}, `unknown command "provider-nop"`},
		{[]string{"--listen-address", ""}, "--listen-address must not be empty"},
		{[]string{"--listen-address", busy.Addr().String()}, "cannot serve metrics on " + busy.Addr().String()},
	} {
		_, errOut, code := run(t, append([]string{"serve", "--kubeconfig", kc}, c.args...)...)
		if code != ExitError || !strings.Contains(errOut, c.want) || strings.Count(errOut, "error:") != 1 {
			t.Errorf("serve %v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
}
