package cmd

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// manifestFault answers manifest HEADs and GETs with fault while it returns
// true, counting them, once n is positive (the test set the registry up);
// everything else goes to the registry.
func manifestFault(n *atomic.Int64, fault func(w http.ResponseWriter, r *http.Request, call int64) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Load() > 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/manifests/") {
				if fault(w, r, n.Add(1)-1) {
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// xpdoctor's own --timeout is its own error (exit 2), not the registry
// being unreachable (a finding, exit 1).
func TestOwnTimeoutIsNotTheRegistrysFault(t *testing.T) {
	var n atomic.Int64
	n.Store(1)
	reg := testregistry.InProcess(t, manifestFault(&n, func(w http.ResponseWriter, r *http.Request, _ int64) bool {
		<-r.Context().Done() // a registry that never answers
		return true
	}))
	ref := reg.Host + "/upbound/provider-nop:v1.6.0"
	for _, args := range [][]string{
		{"inspect", ref, "--timeout", "1s"},
		{"inspect", ref, "--timeout", "1s", "-o", "json"},
		{"diagnose", "--from-file", writeDumpFor(t, ref), "--inspect", "all", "--timeout", "1s"},
	} {
		out, errOut, code := run(t, args...)
		if code != ExitError || !strings.Contains(errOut, "xpdoctor's --timeout 1s ran out") || !strings.Contains(errOut, "raise --timeout") ||
			strings.Contains(out+errOut, "RegistryUnreachable") {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", args, code, out, errOut)
		}
	}
}

func writeDumpFor(t *testing.T, ref string) string {
	t.Helper()
	host, _, _ := strings.Cut(ref, "/")
	return writeFile(t, "dump.yaml", secretDump(host, ref, "unused-password"))
}

// A refused connection is the answer: one attempt, and the report says
// "connection refused", not "context deadline exceeded".
func TestRefusedConnectionFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	out, errOut, code := run(t, "inspect", host+"/upbound/provider-nop:v1", "--timeout", "3s", "-v", "1")
	if code != ExitFindings || !strings.Contains(out, "RegistryUnreachable") || !strings.Contains(out, "connection refused") || strings.Contains(out, "deadline") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// go-containerregistry pings https and http at once for a loopback
	// host (transport/ping.go), once per transport inspect makes (HEAD,
	// then GET): no request is retried (six attempts each before).
	seen := map[string]int{}
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "registry: ") {
			seen[l[:strings.LastIndex(l, " (")]]++
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no request logged:\n%s", errOut)
	}
	for req, n := range seen {
		if n > 2 {
			t.Errorf("%q sent %d times: retried\n%s", req, n, errOut)
		}
	}
}

// A 429 with a Retry-After longer than the time left: say so on stderr,
// stop at once, and report RegistryRateLimited. A short one is waited for.
func TestRateLimitedRegistry(t *testing.T) {
	var long, short atomic.Int64
	regLong := testregistry.InProcess(t, manifestFault(&long, func(w http.ResponseWriter, _ *http.Request, _ int64) bool {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit exceeded"}]}`))
		return true
	}))
	regShort := testregistry.InProcess(t, manifestFault(&short, func(w http.ResponseWriter, _ *http.Request, call int64) bool {
		if call > 1 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}))
	// No dependsOn: nothing but the package's own registry is read.
	pkg := xpkgtest.Package{Kind: "Provider", Name: "provider-nop"}
	for _, host := range []string{regLong.Host, regShort.Host} {
		if err := xpkgtest.Push(host+"/upbound/provider-nop:v1.6.0", pkg.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
			t.Fatal(err)
		}
	}
	long.Store(1) // armed: calls count from 1
	short.Store(1)
	out, errOut, code := run(t, "inspect", regLong.Host+"/upbound/provider-nop:v1.6.0", "--timeout", "2m", "-o", "json")
	// Each request is answered 429 once and not retried (HEAD, then GET).
	if code != ExitFindings || !strings.Contains(out, `"code": "RegistryRateLimited"`) || long.Load()-1 > 2 ||
		!strings.Contains(errOut, "warning: registry "+regLong.Host+" is rate limiting (429 Too Many Requests) and asks to retry in 1h0m0s, more than the 2m0s left before --timeout: giving up") {
		t.Fatalf("long wait: exit %d, %d requests\n%s\n%s", code, long.Load(), out, errOut)
	}
	out, errOut, code = run(t, "inspect", regShort.Host+"/upbound/provider-nop:v1.6.0", "--timeout", "2m")
	if code != 0 || short.Load()-1 < 2 || !strings.Contains(errOut, "is rate limiting (429 Too Many Requests) and asks to retry in 1s; waiting") {
		t.Fatalf("short wait: exit %d, %d requests\n%s\n%s", code, short.Load(), out, errOut)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
