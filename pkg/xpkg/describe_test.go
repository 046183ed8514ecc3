package xpkg_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// goValues are what Go's %v and encoding/json print of values and types.
var goValues = []string{"map[", "interface {}", "Go value", "Go struct", "name.Insecure"}

func noGoValues(t *testing.T, what, s string) {
	t.Helper()
	for _, g := range goValues {
		if strings.Contains(s, g) {
			t.Errorf("%s shows %q: %s", what, g, s)
		}
	}
}

// A registry's error details reach users without Go's map syntax, while
// Crossplane's messages keep the library's words (LibraryText). Against
// Debian's docker-registry (distribution), whose 404 and 401 carry details.
func TestRegistryErrorsWithoutGoValues(t *testing.T) {
	plain := testregistry.Process(t)
	authed := testregistry.Process(t, "user", "pass")
	push(t, plain.Host+"/acme/p:v1.0.0", xpkgTestImage())
	for _, tc := range []struct {
		ref, says, raw string
	}{
		{plain.Host + "/acme/p:v1.0.O", "tag v1.0.O does not exist in " + plain.Host + "/acme/p (the registry answered 404 Not Found: MANIFEST_UNKNOWN: manifest unknown); the nearest tags there: v1.0.0", "map[Tag:v1.0.O]"},
		{authed.Host + "/acme/p:v1.0.0", "401 Unauthorized: UNAUTHORIZED: authentication required (needs pull access to repository acme/p)", "[map[Action:pull Class: Name:acme/p Type:repository]]"},
	} {
		r := read(t, tc.ref, xpkg.ReadOptions{Shallow: true})
		if r.Err == nil {
			t.Fatalf("%s: read", tc.ref)
		}
		noGoValues(t, tc.ref, r.Err.Detail)
		noGoValues(t, tc.ref+" (Error)", r.Err.Error())
		if !strings.Contains(r.Err.Detail, tc.says) {
			t.Errorf("%s: %q does not say %q", tc.ref, r.Err.Detail, tc.says)
		}
		if !strings.Contains(r.Err.LibraryText(), tc.raw) {
			t.Errorf("%s: the library's text %q lost %q (Crossplane's messages quote it)", tc.ref, r.Err.LibraryText(), tc.raw)
		}
	}
}

func xpkgTestImage() any { return xpkgtest.RuntimeImage(amd64) }

func TestDescribeJSONAndNameErrors(t *testing.T) {
	var m map[string]any
	err := json.Unmarshal([]byte(`"hello"`), &m)
	if got := xpkg.Describe(err); got != "found a string where an object was expected" {
		t.Errorf("%q", got)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	err = json.Unmarshal([]byte(`{"auths": {"h": "x"}}`), &cfg)
	if got := xpkg.Describe(fmt.Errorf("parsing config file (c.json): %w", err)); !strings.HasPrefix(got, "parsing config file (c.json): found a string where an object was expected (field auths") {
		t.Errorf("%q", got)
	}
	err = json.Unmarshal([]byte(`[1]`), &m)
	if got := xpkg.Describe(err); got != "found a list where an object was expected" {
		t.Errorf("%q", got)
	}
	_, err = xpkg.NewClient().ParseReference("http://localhost:5000/a:v1")
	if err == nil || strings.Count(err.Error(), "localhost:5000/a:v1") != 1 || !strings.Contains(err.Error(), "--insecure-registry") {
		t.Errorf("%v", err)
	}
	noGoValues(t, "a reference with a scheme", err.Error())
}

func TestNearestTags(t *testing.T) {
	have := []string{"latest", "v1.5.0", "v1.6.0", "v1.6.1", "v1.7.0", "v2.0.0", "v1.6.1-rc.1", "main"}
	for _, tc := range []struct {
		want string
		n    int
		got  []string
	}{
		{"v1.6.O", 3, []string{"v1.6.0", "v1.6.1", "v1.5.0"}}, // not a version: edit distance
		{"v1.6.3", 3, []string{"v1.6.1", "v1.6.0", "v1.6.1-rc.1"}},
		{"v1.6.0", 2, []string{"v1.6.0", "v1.6.1"}},
		{"v3.0.0", 1, []string{"v2.0.0"}},
		{"lastest", 1, []string{"latest"}},
	} {
		if got := xpkg.NearestTags(tc.want, have, tc.n); !slices.Equal(got, tc.got) {
			t.Errorf("%s: %v, want %v", tc.want, got, tc.got)
		}
	}
}

// serveTags answers the tag list of every repository with handler h.
func serveTags(h http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				h(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// A missing tag against registries that list tags, that refuse to, that
// answer garbage, and that page without end.
func TestMissingTagAgainstRegistries(t *testing.T) {
	var pages testregistry.Requests
	for _, tc := range []struct {
		name  string
		wrap  []func(http.Handler) http.Handler
		says  string
		tags  []string
		pages int
	}{
		{"lists tags", nil, "the nearest tags there: v1.0.0", []string{"v1.0.0"}, 0},
		{"refuses the tag list", []func(http.Handler) http.Handler{serveTags(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"listing tags is not allowed"}]}`)
		})}, "tag v9 does not exist in HOST/acme/p (the registry answered 404 Not Found: MANIFEST_UNKNOWN: Unknown manifest; it does not list the tags it has: 403 to its tag list)", nil, 0},
		{"answers garbage", []func(http.Handler) http.Handler{serveTags(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `<html>`) })},
			"it does not list the tags it has: tag list is not JSON", nil, 0},
		{"pages without end", []func(http.Handler) http.Handler{serveTags(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", `</v2/acme/p/tags/list?n=1000&last=x>; rel="next"`)
			tags := make([]string, 1000)
			for i := range tags {
				tags[i] = fmt.Sprintf("v0.%d.%d", len(pages.Seen()), i)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"tags": tags})
		}), pages.Wrap}, "the nearest tags there:", nil, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testregistry.InProcess(t, tc.wrap...)
			push(t, reg.Host+"/acme/p:v1.0.0", xpkgTestImage())
			pages.Reset()
			r := read(t, reg.Host+"/acme/p:v9", xpkg.ReadOptions{Shallow: true})
			if r.Err == nil || r.Err.Kind != xpkg.ErrNotFound {
				t.Fatalf("%+v", r.Err)
			}
			detail := strings.ReplaceAll(r.Err.Detail, reg.Host, "HOST")
			if !strings.Contains(detail, tc.says) || strings.Count(detail, "acme/p") > 1 {
				t.Fatalf("%q does not say %q once", detail, tc.says)
			}
			noGoValues(t, tc.name, detail)
			if tc.tags != nil && !slices.Equal(r.Err.NearestTags, tc.tags) {
				t.Errorf("nearest %v, want %v", r.Err.NearestTags, tc.tags)
			}
			if tc.pages > 0 && pages.Count("GET", "/tags/list") != tc.pages {
				t.Errorf("%d pages of tags read, want %d (bounded)", pages.Count("GET", "/tags/list"), tc.pages)
			}
			if !strings.Contains(r.Err.Advice(), "mirror") {
				t.Errorf("advice: %s", r.Err.Advice())
			}
		})
	}
	// A repository that does not exist says so.
	reg := testregistry.InProcess(t)
	r := read(t, reg.Host+"/acme/none:v1", xpkg.ReadOptions{Shallow: true})
	if r.Err == nil || !r.Err.RepositoryMissing || !strings.Contains(r.Err.Detail, "repository "+reg.Host+"/acme/none does not exist") {
		t.Fatalf("%+v", r.Err)
	}
}

// 401 and 403 say what to do: docker login HOST, DOCKER_CONFIG, and the
// credentials Crossplane uses.
func TestLoginAdvice(t *testing.T) {
	reg := testregistry.InProcess(t, testregistry.BasicAuth("user", "pass"))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r := read(t, reg.Host+"/acme/p:v1", xpkg.ReadOptions{Shallow: true})
	if r.Err == nil || r.Err.Kind != xpkg.ErrUnauthorized {
		t.Fatalf("%+v", r.Err)
	}
	for _, want := range []string{"`docker login " + reg.Host + "`", "$DOCKER_CONFIG/config.json", "packagePullSecrets", "pullSecretRef"} {
		if !strings.Contains(r.Err.Advice(), want) {
			t.Errorf("advice %q lacks %q", r.Err.Advice(), want)
		}
	}
	forbidden := xpkg.LoginAdvice(reg.Host+"/acme/p:v1", http.StatusForbidden)
	if !strings.Contains(forbidden, "403") || !strings.Contains(forbidden, "may pull "+reg.Host+"/acme/p") {
		t.Errorf("%s", forbidden)
	}
}
