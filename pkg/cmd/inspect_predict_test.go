package cmd

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// A package whose dependency does not exist is a finding and a failing
// exit code, with the revision's message; with the dependency pushed it is
// healthy and the table says which tag Crossplane installs.
func TestInspectDependencies(t *testing.T) {
	reg := testregistry.InProcess(t)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	p := xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: reg.Host + "/up/provider-x", Version: ">=v1.0.0"}}}
	ref := reg.Host + "/up/platform:v1"
	if err := xpkgtest.Push(ref, p.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "inspect", ref, "--crossplane-version", "v1.20.0", "-o", "wide")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitFindings, out, errOut)
	}
	for _, want := range []string{
		"v1.20.0      Fail      dependencies   created    yes     cannot resolve package dependencies: missing dependencies: \"" + reg.Host + "/up/provider-x\" (>=v1.0.0)",
		"DependencyUnresolvable",
		"Lock lock, condition Resolved=False: Error occurred during dependency resolution cannot find dependency version to install: cannot fetch dependency package tags: GET http://" + reg.Host,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := xpkgtest.Push(reg.Host+"/up/provider-x:v1.1.0", xpkgtest.Package{Kind: "Provider", Name: "provider-x"}.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, "inspect", ref, "--crossplane-version", "v1.20.0")
	if code != 0 || !strings.Contains(out, reg.Host+"/up/provider-x   >=v1.0.0     v1.20.0      "+reg.Host+"/up/provider-x   v1.1.0") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// --dependencies=false leaves them unchecked.
	if err := xpkgtest.Push(ref, xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: reg.Host + "/up/nowhere", Version: ">=v1.0.0"}}}.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	if _, _, code := run(t, "inspect", ref, "--dependencies=false"); code != 0 {
		t.Fatalf("--dependencies=false: exit %d", code)
	}
}

// Two annotated layers with different packages: an error, naming what
// Crossplane v2.2+ installs, and a failing exit code.
func TestInspectTwoBaseLayersExit(t *testing.T) {
	reg := testregistry.InProcess(t)
	cases, err := xpkgtest.Predictions(reg.Host, "")
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	for _, c := range cases {
		if c.Name == "two-base" {
			ref = c.Ref
		}
	}
	out, _, code := run(t, "inspect", ref, "--crossplane-version", "v2.3.4")
	if code != ExitFindings || !strings.Contains(out, "installs Provider/provider-embedded-old from annotated layer 1 (API group provider-embedded-old.example.org), not Provider/two-base in annotated layer 2") ||
		!strings.Contains(out, "OTHER BASE LAYER   layer 2: Provider/two-base, a different package.yaml from document 1 on") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
