package inspect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// inFlight counts what a registry is asked at once: requests, and images
// (repositories with a request in flight). Its gate holds each image's
// first request (the GET of its tag) until gate of them wait together, so
// that a client that reads one image after the other is seen as such: a
// count, not a time (a client that never has gate images in flight waits
// for the fallback and the test fails on the count).
type inFlight struct {
	gate     int
	fallback time.Duration

	mu               sync.Mutex
	requests, images int
	maxReq, maxImg   int
	perRepo          map[string]int
	waiting          int
	open             chan struct{}
}

func newInFlight(gate int) *inFlight {
	return &inFlight{gate: gate, fallback: 5 * time.Second, perRepo: map[string]int{}, open: make(chan struct{})}
}

func repoOf(path string) string {
	p := strings.TrimPrefix(path, "/v2/")
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.Index(p, sep); i >= 0 {
			return p[:i]
		}
	}
	return ""
}

func (f *inFlight) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo := repoOf(r.URL.Path)
		f.mu.Lock()
		f.requests++
		f.maxReq = max(f.maxReq, f.requests)
		if repo != "" {
			if f.perRepo[repo] == 0 {
				f.images++
				f.maxImg = max(f.maxImg, f.images)
			}
			f.perRepo[repo]++
		}
		first := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/v1")
		if first {
			f.waiting++
			if f.waiting == f.gate {
				close(f.open)
			}
		}
		open := f.open
		f.mu.Unlock()
		if first {
			select {
			case <-open:
			case <-time.After(f.fallback):
			}
		}
		// Out of flight once the answer starts: before the client can see
		// it and send its next request.
		aw := &testregistry.AnswerWriter{ResponseWriter: w, Answering: func() {
			f.mu.Lock()
			f.requests--
			if repo != "" {
				f.perRepo[repo]--
				if f.perRepo[repo] == 0 {
					f.images--
				}
			}
			f.mu.Unlock()
		}}
		next.ServeHTTP(aw, r)
		aw.Done()
	})
}

// genuine pushes n genuine 2-platform packages, one repository each, and
// returns the requests to inspect them.
func genuine(t testing.TB, host string, n int, opts ...remote.Option) []inspect.Request {
	t.Helper()
	var reqs []inspect.Request
	for i := 0; i < n; i++ {
		ref := fmt.Sprintf("%s/upbound/provider-%02d:v1", host, i)
		p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-%02d", i), Objects: 2}
		if err := xpkgtest.Push(ref, p.Index(amd64, arm64), opts...); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, inspect.Request{Reference: ref})
	}
	return reqs
}

var arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}

// Images are read at once, as many per registry host as the bound and no
// more, each with the minimal chain of requests: one ping for the run,
// then per 2-platform package the tag's GET and HEAD, the linux/amd64
// child, its config and its annotated layer. An image named twice (and
// shared by two requests) is read once.
func TestInspectReadsAtOnceWithinTheBound(t *testing.T) {
	const n, bound = 12, 4
	gate := newInFlight(bound)
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, rq.Wrap, gate.Wrap)
	reqs := genuine(t, reg.Host, n)
	rq.Reset()
	reqs = append(reqs, reqs[0], reqs[5])
	targets, err := crossplane.Select(nil)
	must(t, err)
	c := xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain()), xpkg.WithReadCache(xpkg.NewReadCache(bound)))
	rep, err := inspect.Run(context.Background(), c, reqs, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	must(t, err)
	for i, img := range rep.Images {
		if img.Reference != reqs[i].Reference || !img.Healthy() {
			t.Fatalf("image %d is %s (healthy %v), want %s, healthy", i, img.Reference, img.Healthy(), reqs[i].Reference)
		}
	}
	if gate.maxImg != bound {
		t.Errorf("%d images were read at once at most, want the bound, %d", gate.maxImg, bound)
	}
	if gate.maxReq > 2*bound {
		t.Errorf("%d requests were in flight at once, more than two per image in flight (%d)", gate.maxReq, 2*bound)
	}
	pings := 0
	for _, s := range rq.Seen() {
		if s == "GET /v2/" {
			pings++
		}
	}
	if pings != 1 {
		t.Errorf("%d pings, want one for the run", pings)
	}
	for i := 0; i < n; i++ {
		repo := fmt.Sprintf("/v2/upbound/provider-%02d/", i)
		got := map[string]int{}
		for _, s := range rq.Seen() {
			if strings.Contains(s, repo) {
				method, path, _ := strings.Cut(s, " ")
				kind := "blob"
				switch {
				case strings.HasSuffix(path, "/manifests/v1"):
					kind = "tag"
				case strings.Contains(path, "/manifests/"):
					kind = "child"
				}
				got[method+" "+kind]++
			}
		}
		want := map[string]int{"GET tag": 1, "HEAD tag": 1, "GET child": 1, "GET blob": 2}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: requests %v, want %v (the minimal chain, the arm64 child unread)", repo, got, want)
		}
	}
}

// A token registry (the Docker token flow) is asked for one token per
// repository scope for the whole run, and pinged once, although the HEAD
// and the GET of each image ask for a transport at the same time.
func TestOneTokenPerScope(t *testing.T) {
	const n = 6
	tk := testregistry.Token{User: "robot", Password: "s3cret-token-XPD", Issued: "issued-token"}
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, tk.Wrap, rq.Wrap)
	authed := genuine(t, reg.Host, n, remote.WithAuth(&authn.Basic{Username: tk.User, Password: tk.Password}))
	rq.Reset()
	targets, err := crossplane.Select(nil)
	must(t, err)
	c := xpkg.NewClient(xpkg.WithKeychain(staticKeychain{"robot", "s3cret-token-XPD"}))
	rep, err := inspect.Run(context.Background(), c, authed, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	must(t, err)
	for _, img := range rep.Images {
		if !img.Healthy() {
			t.Fatalf("%s: %v %+v", img.Reference, codes(img.Findings), img.Verdicts)
		}
	}
	var pings, tokens int
	for _, s := range rq.Seen() {
		switch s {
		case "GET /v2/":
			pings++
		case "GET /token":
			tokens++
		}
	}
	if pings != 1 || tokens != n {
		t.Errorf("%d pings and %d token requests for %d repositories, want 1 and %d: %v", pings, tokens, n, n, rq.Seen())
	}
}

// Reading every scenario at once gives each the very image (verdicts,
// findings, platforms, bytes fetched) that reading it alone, one request
// at a time, gives.
func TestConcurrentInspectEqualsSequential(t *testing.T) {
	targets, err := crossplane.Select(nil)
	must(t, err)
	var reqs []inspect.Request
	var names []string
	for _, s := range scenarios() {
		// Scenarios reuse repository names: a registry each.
		reg := testregistry.InProcess(t)
		ref, up := s.push(t, reg.Host)
		reqs = append(reqs, inspect.Request{Reference: ref, Upstream: up})
		names = append(names, s.name)
	}
	o := inspect.Options{Targets: targets}
	together, err := inspect.Run(context.Background(), xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain())), reqs, o, xpkg.ReadOptions{})
	must(t, err)
	for i, req := range reqs {
		alone, err := inspect.Run(context.Background(), xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain()), xpkg.WithReadCache(xpkg.NewReadCache(1))),
			[]inspect.Request{req}, o, xpkg.ReadOptions{})
		must(t, err)
		a, _ := json.Marshal(alone.Images[0])
		b, _ := json.Marshal(together.Images[i])
		if string(a) != string(b) {
			t.Errorf("%s: read with the others differs from read alone:\nalone:    %s\ntogether: %s", names[i], a, b)
		}
	}
}

// A registry that never answers holds every slot of its host; when the
// run's deadline passes, the reads in flight and those still waiting for a
// slot all end and say so, and Run returns: nothing hangs, nothing is
// dropped.
func TestDeadlineEndsReadsInFlightAndWaiting(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var stalled sync.Once
	stalledCh := make(chan struct{})
	reg := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				stalled.Do(func() { close(stalledCh) })
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	var reqs []inspect.Request
	for i := 0; i < 10; i++ {
		reqs = append(reqs, inspect.Request{Reference: fmt.Sprintf("%s/upbound/provider-%02d:v1", reg.Host, i)})
	}
	targets, err := crossplane.Select(nil)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stalledCh
		cancel()
	}()
	done := make(chan *inspect.Report)
	go func() {
		rep, err := inspect.Run(ctx, xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain()), xpkg.WithReadCache(xpkg.NewReadCache(2))), reqs, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
		must(t, err)
		done <- rep
	}()
	var rep *inspect.Report
	select {
	case rep = <-done:
	case <-time.After(time.Minute):
		t.Fatal("inspect.Run did not return after its context ended")
	}
	if len(rep.Images) != len(reqs) {
		t.Fatalf("%d images for %d requests", len(rep.Images), len(reqs))
	}
	for i, img := range rep.Images {
		if img.Reference != reqs[i].Reference || img.Error == "" || !strings.Contains(img.Error, "cancel") {
			t.Errorf("image %d: %s error %q, want %s ended by the cancellation", i, img.Reference, img.Error, reqs[i].Reference)
		}
	}
}

// A token endpoint that lies about how long its tokens last (expires_in
// 300, yet each token stops working after two requests): the client asks
// for a new one when the registry refuses the old one, and reads every
// image, rather than keep a token past the registry's word.
func TestTokenRefusedIsFetchedAgain(t *testing.T) {
	var mu sync.Mutex
	issued, uses, lying := 0, map[string]int{}, false
	token := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if !lying {
				mu.Unlock()
				next.ServeHTTP(w, r)
				return
			}
			defer mu.Unlock()
			if r.URL.Path == "/token" {
				if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "s3cret-token-XPD" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				issued++
				fmt.Fprintf(w, `{"token":"t%d","expires_in":300}`, issued)
				return
			}
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if tok != "" && tok != r.Header.Get("Authorization") && uses[tok] < 2 {
				uses[tok]++
				mu.Unlock()
				next.ServeHTTP(w, r)
				mu.Lock()
				return
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="testregistry"`, r.Host))
			w.WriteHeader(http.StatusUnauthorized)
		})
	}
	reg := testregistry.InProcess(t, token)
	reqs := genuine(t, reg.Host, 3)
	targets, err := crossplane.Select(nil)
	must(t, err)
	c := xpkg.NewClient(xpkg.WithKeychain(staticKeychain{"robot", "s3cret-token-XPD"}))
	mu.Lock()
	lying = true
	mu.Unlock()
	rep, err := inspect.Run(context.Background(), c, reqs, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	must(t, err)
	for _, img := range rep.Images {
		if !img.Healthy() {
			t.Errorf("%s: %v %s", img.Reference, codes(img.Findings), img.Error)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// 3 images x 5 requests at 2 per token: at least 8 tokens; each refusal
	// costs one more, never a loop.
	if issued < 8 || issued > 15 {
		t.Errorf("%d tokens issued for 15 requests at 2 requests per token", issued)
	}
	t.Logf("%d tokens for 15 requests", issued)
}
