// Package testregistry starts real registries for tests: go-containerregistry's
// in-process registry, and Debian's docker-registry (distribution 2.8) as a
// separate process on a free loopback port.
package testregistry

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a running registry.
type Registry struct {
	// Name says which implementation it is.
	Name string
	// Host is host:port on loopback.
	Host string
}

// RequireRealEnv makes a missing docker-registry binary a test failure
// rather than a skip; .ci/run sets it.
const RequireRealEnv = "XPDOCTOR_REQUIRE_REAL_REGISTRY"

// InProcess starts go-containerregistry's registry; handler wrappers (auth,
// faults) are applied in order.
func InProcess(t testing.TB, wrap ...func(http.Handler) http.Handler) Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	for _, w := range wrap {
		h = w(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return Registry{Name: "in-process", Host: strings.TrimPrefix(s.URL, "http://")}
}

// BasicAuth requires user:pass on every request, answering 401 with a Basic
// challenge otherwise, like a registry behind htpasswd.
func BasicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="xpdoctor-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Process starts Debian's docker-registry on a free loopback port and stops
// it when the test ends. With htpasswd user and password it requires auth.
// It skips the test when the binary is missing, unless RequireRealEnv is set.
func Process(t testing.TB, auth ...string) Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv(RequireRealEnv) != "" {
			t.Fatalf("docker-registry is not installed (apt-get install docker-registry) and %s is set", RequireRealEnv)
		}
		t.Skip("docker-registry is not installed; apt-get install docker-registry to run this test")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n", filepath.Join(dir, "data"), port)
	if len(auth) == 2 {
		hash, err := bcrypt.GenerateFromPassword([]byte(auth[1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(auth[0]+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: xpdoctor-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
	})
	host := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry did not start on %s: %v\n%s", host, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Registry{Name: "docker-registry", Host: host}
}

// All returns an in-process registry and a docker-registry process.
func All(t testing.TB) []Registry {
	t.Helper()
	regs := []Registry{InProcess(t)}
	if _, err := exec.LookPath("docker-registry"); err == nil || os.Getenv(RequireRealEnv) != "" {
		regs = append(regs, Process(t))
	}
	return regs
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Faults fails a share of requests like an overloaded registry or network:
// 500, 503, 429 with Retry-After: 1, or a connection reset before any
// response. Injected counts what it broke.
type Faults struct {
	Rate     float64
	Injected atomic.Int64
	mu       sync.Mutex
	rng      *rand.Rand
	off      bool
}

// Pause stops or resumes injecting (for test setup).
func (f *Faults) Pause(off bool) {
	f.mu.Lock()
	f.off = off
	f.mu.Unlock()
}

// NewFaults fails rate of requests, deterministically for a seed.
func NewFaults(rate float64, seed uint64) *Faults {
	return &Faults{Rate: rate, rng: rand.New(rand.NewPCG(seed, seed+1))}
}

// Wrap is a handler wrapper for InProcess.
func (f *Faults) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		hit, kind := f.rng.Float64() < f.Rate, f.rng.IntN(4)
		if f.off {
			hit = false
		}
		f.mu.Unlock()
		if !hit {
			next.ServeHTTP(w, r)
			return
		}
		f.Injected.Add(1)
		switch kind {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // RST, not FIN
					}
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
		}
	})
}

// FlipBlobBytes serves the bytes of every blob GET that match selects
// inverted (same length, other digest), as a corrupting proxy or disk would.
func FlipBlobBytes(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			for i := range body {
				body[i] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

// Token is the Docker token flow (distribution's docs/spec/auth/token.md)
// in front of a registry: /token answers {"token", "access_token"} for the
// Basic credentials User:Password (GET realm?scope=&service=) or for the
// refresh token IdentityToken (the OAuth2 POST form, oauth.md), and every
// other request needs "Authorization: Bearer" with the token issued or
// RegistryToken, else 401 with a Bearer challenge naming the realm.
type Token struct {
	User, Password string
	IdentityToken  string
	RegistryToken  string
	// Issued is the token /token hands out.
	Issued string
}

// Wrap is a handler wrapper for InProcess.
func (tk Token) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			granted := ok && u == tk.User && p == tk.Password
			if r.Method == http.MethodPost {
				_ = r.ParseForm()
				granted = tk.IdentityToken != "" && r.PostForm.Get("grant_type") == "refresh_token" && r.PostForm.Get("refresh_token") == tk.IdentityToken
			}
			if !granted {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token":%q,"access_token":%q,"refresh_token":%q,"expires_in":300}`, tk.Issued, tk.Issued, tk.IdentityToken)
			return
		}
		if a := r.Header.Get("Authorization"); a == "Bearer "+tk.Issued || (tk.RegistryToken != "" && a == "Bearer "+tk.RegistryToken) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="testregistry",scope="repository:x:pull"`, r.Host))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	})
}

// EchoCredentials answers manifest requests with 403 and an error body that
// quotes the Authorization header it got, as some registries and proxies
// do in their error details.
func EchoCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"credentials %q are not allowed to pull","detail":{"authorization":%q}}]}`, r.Header.Get("Authorization"), r.Header.Get("Authorization"))
	})
}

// SignedRedirect redirects blob GETs to target (a pre-signed storage URL,
// which the test makes fail), as ECR and S3-backed registries do.
func SignedRedirect(target string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				http.Redirect(w, r, target, http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ServeBlob answers GETs of the blob digest with body instead of what the
// registry stores: a registry or proxy substituting content.
func ServeBlob(digest string, body []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest) {
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Requests records every request a registry receives, as "METHOD PATH";
// tests assert on it (what a read-only client sends).
type Requests struct {
	mu   sync.Mutex
	seen []string
}

// Wrap is a handler wrapper for InProcess.
func (rq *Requests) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq.mu.Lock()
		rq.seen = append(rq.seen, r.Method+" "+r.URL.Path)
		rq.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Seen returns the requests received so far, in order.
func (rq *Requests) Seen() []string {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	return append([]string(nil), rq.seen...)
}

// Count counts the requests received whose method starts with prefix and
// whose path contains contains.
func (rq *Requests) Count(prefix, contains string) int {
	n := 0
	for _, s := range rq.Seen() {
		if strings.HasPrefix(s, prefix) && strings.Contains(s, contains) {
			n++
		}
	}
	return n
}

// Reset forgets the requests received so far.
func (rq *Requests) Reset() {
	rq.mu.Lock()
	rq.seen = nil
	rq.mu.Unlock()
}

// Latency fronts a registry like a distant one, as bench/countproxy does
// for processes: every request waits Delay before it is served (real
// registries such as ECR answer in 20 to 80 ms; on bare loopback the
// number of round trips is invisible), and is counted, with the most
// requests in flight at once.
type Latency struct {
	Delay time.Duration

	requests, inFlight, maxInFlight atomic.Int64
}

// Wrap is a handler wrapper for InProcess. A request is in flight from
// its arrival until its answer starts: the client cannot see an answer,
// and so send its next request, before it stops counting.
func (l *Latency) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.requests.Add(1)
		n := l.inFlight.Add(1)
		for m := l.maxInFlight.Load(); n > m && !l.maxInFlight.CompareAndSwap(m, n); m = l.maxInFlight.Load() {
		}
		aw := &AnswerWriter{ResponseWriter: w, Answering: func() { l.inFlight.Add(-1) }}
		defer aw.Done()
		if l.Delay > 0 {
			time.Sleep(l.Delay)
		}
		next.ServeHTTP(aw, r)
	})
}

// AnswerWriter calls Answering once, before the first byte of the answer
// is written (or when the handler ends without writing).
type AnswerWriter struct {
	http.ResponseWriter
	Answering func()
	once      sync.Once
}

func (a *AnswerWriter) answer() { a.once.Do(a.Answering) }

// Done calls Answering if no answer was written: call it when the
// handler returns.
func (a *AnswerWriter) Done() { a.answer() }

// Flush implements http.Flusher when the writer it wraps does.
func (a *AnswerWriter) Flush() {
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		a.answer()
		f.Flush()
	}
}

// WriteHeader implements http.ResponseWriter.
func (a *AnswerWriter) WriteHeader(code int) {
	a.answer()
	a.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (a *AnswerWriter) Write(p []byte) (int, error) {
	a.answer()
	return a.ResponseWriter.Write(p)
}

// Reset returns the requests counted and the most in flight at once since
// the last Reset, and starts counting again.
func (l *Latency) Reset() (requests, maxInFlight int64) {
	return l.requests.Swap(0), l.maxInFlight.Swap(0)
}
