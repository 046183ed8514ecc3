package inspect_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// captured is what real Crossplane cores did with xpkgtest.Predictions, as
// the end-to-end suite recorded it (XPDOCTOR_E2E_CAPTURE; hosts replaced
// by REGISTRY and PRIVATE; the registries were docker-registry processes).
type captured struct {
	Object   string   `json:"object"`
	Message  string   `json:"message"`
	Lock     string   `json:"lock"`
	Revision bool     `json:"revisionCreated"`
	Groups   []string `json:"groups"`
}

func loadCaptured(t *testing.T) map[string]map[string]captured {
	t.Helper()
	b, err := os.ReadFile("testdata/crossplane-messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]map[string]captured
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// registryWorded are the cases whose message quotes the registry's error
// body, which go-containerregistry's in-process registry words otherwise.
var registryWorded = map[string]bool{"missing-tag": true, "unauthorized": true, "dep-missing": true}

// TestVerdictsMatchRealCrossplane judges the images the end-to-end suite
// installed and compares each verdict with what that Crossplane core said:
// an exact verdict must be its text, an inexact one its beginning, and the
// object, the revision and the package content must be those it reported.
func TestVerdictsMatchRealCrossplane(t *testing.T) {
	want := loadCaptured(t)
	if len(want) != 3 {
		t.Fatalf("captured %d versions, want v1.20.0, v2.1.3 and v2.3.4", len(want))
	}
	const user, pass = "robot", "e2e-s3cret-TOKEN"
	for _, reg := range testregistry.All(t) {
		t.Run(reg.Name, func(t *testing.T) {
			private := testregistry.InProcess(t, testregistry.BasicAuth(user, pass))
			if reg.Name == "docker-registry" {
				private = testregistry.Process(t, user, pass)
			}
			cases, err := xpkgtest.Predictions(reg.Host, private.Host, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
			must(t, err)
			for version, byCase := range want {
				targets, err := crossplane.Select([]string{version})
				must(t, err)
				for _, c := range cases {
					w, ok := byCase[c.Name]
					if !ok {
						t.Errorf("%s: nothing captured for %s", version, c.Name)
						continue
					}
					if registryWorded[c.Name] && reg.Name != "docker-registry" {
						continue
					}
					rep, err := inspect.Run(context.Background(), xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain())), []inspect.Request{{Reference: c.Ref}},
						inspect.Options{Targets: targets, Dependencies: &inspect.DependencyOptions{}}, xpkg.ReadOptions{})
					must(t, err)
					v := rep.Images[0].Verdicts[0]
					if c.Name == "yaml-second-document" {
						// Crossplane says line 5 of the second document; the file's line is 32.
						if f := findingOf(rep.Images[0], "PackageYAMLInvalid"); f == nil || !contains(f.Evidence, "the error is at line 32 of package.yaml") {
							t.Errorf("%s: no file line in %+v", c.Name, f)
						}
					}
					scrub := func(s string) string {
						return strings.ReplaceAll(strings.ReplaceAll(s, private.Host, "PRIVATE"), reg.Host, "REGISTRY")
					}
					compareCaptured(t, version+"/"+c.Name, v, w, scrub)
				}
			}
		})
	}
}

func compareCaptured(t *testing.T, name string, v crossplane.Verdict, w captured, scrub func(string) string) {
	t.Helper()
	msg := scrub(v.Message)
	healthy := v.Outcome == crossplane.OutcomeBaseLayer || v.Outcome == crossplane.OutcomeFlatten
	if healthy != (w.Object == "") {
		t.Errorf("%s: xpdoctor %s %q; Crossplane %s %q", name, v.Outcome, msg, w.Object, w.Message)
		return
	}
	if healthy {
		if v.Installs != nil && strings.Join(v.Installs.Groups, ",") != strings.Join(w.Groups, ",") {
			t.Errorf("%s: xpdoctor says it installs %v, Crossplane installed %v", name, v.Installs.Groups, w.Groups)
		}
		return
	}
	if v.Object != w.Object || v.RevisionCreated != w.Revision {
		t.Errorf("%s: xpdoctor says on the %s (revision %v), Crossplane on the %s (revision %v)", name, v.Object, v.RevisionCreated, w.Object, w.Revision)
	}
	switch {
	case v.Exact && msg != w.Message:
		t.Errorf("%s: exact verdict differs:\nCrossplane %q\n  xpdoctor %q", name, w.Message, msg)
	case !v.Exact && !strings.HasPrefix(w.Message, knownPart(msg)):
		t.Errorf("%s: Crossplane %q does not begin with xpdoctor's %q", name, w.Message, knownPart(msg))
	}
	for _, d := range v.Dependencies {
		if d.Failure == "" || !strings.Contains(w.Lock, strings.TrimPrefix(scrub(d.Repository), "index.docker.io/")) {
			continue
		}
		if got := scrub(d.Failure); d.Exact && got != w.Lock {
			t.Errorf("%s: Lock:\nCrossplane %q\n  xpdoctor %q", name, w.Lock, got)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// knownPart is an inexact message up to the wording xpdoctor does not know.
func knownPart(msg string) string {
	for _, cut := range []string{` in scheme "...`, "HEAD ..."} {
		if i := strings.Index(msg, cut); i > 0 {
			return msg[:i]
		}
	}
	return msg
}
