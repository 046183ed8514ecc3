package crossplane

import (
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

func TestRewriteSource(t *testing.T) {
	rs := []ImageRewrite{
		{Name: "upbound", Prefixes: []string{"xpkg.upbound.io/upbound/"}, RewritePrefix: "mirror.corp/upbound/"},
		{Name: "aws-only", Prefixes: []string{"xpkg.upbound.io/upbound/provider-aws-", "other.io/"}, RewritePrefix: "aws.corp/"},
		{Name: "no-rewrite", Prefixes: []string{"xpkg.upbound.io/"}},
	}
	cases := []struct{ in, want, by string }{
		{"xpkg.upbound.io/upbound/provider-family-aws", "mirror.corp/upbound/provider-family-aws", "upbound"},
		// The longest matching prefix of any ImageConfig wins.
		{"xpkg.upbound.io/upbound/provider-aws-s3", "aws.corp/s3", "aws-only"},
		{"xpkg.crossplane.io/crossplane-contrib/provider-helm", "xpkg.crossplane.io/crossplane-contrib/provider-helm", ""},
		// Raw string prefixes: no default registry is applied first (PR #6421).
		{"upbound/provider-family-aws", "upbound/provider-family-aws", ""},
	}
	for _, c := range cases {
		got, by := RewriteSource(rs, c.in)
		if got != c.want || by != c.by {
			t.Errorf("%s: %s by %q, want %s by %q", c.in, got, by, c.want, c.by)
		}
	}
}

func TestLookupDependency(t *testing.T) {
	rs := []ImageRewrite{{Name: "m", Prefixes: []string{"xpkg.upbound.io/"}, RewritePrefix: "mirror.corp/"}}
	cases := []struct {
		version, pkg string
		repo, by     string
		problem      bool
	}{
		{"v1.20.0", "xpkg.upbound.io/upbound/provider-family-aws", "mirror.corp/upbound/provider-family-aws", "m", false},
		// ImageConfig rewriteImage arrived in v1.20.0.
		{"v1.19.0", "xpkg.upbound.io/upbound/provider-family-aws", "xpkg.upbound.io/upbound/provider-family-aws", "", false},
		// Unqualified: the --registry default of the version, or go-containerregistry's in v2.
		{"v1.14.0", "crossplane-contrib/provider-helm", "index.docker.io/crossplane-contrib/provider-helm", "", false},
		{"v1.19.0", "crossplane-contrib/provider-helm", "xpkg.upbound.io/crossplane-contrib/provider-helm", "", false},
		{"v1.20.0", "crossplane-contrib/provider-helm", "xpkg.crossplane.io/crossplane-contrib/provider-helm", "", false},
		{"v2.3.4", "crossplane-contrib/provider-helm", "index.docker.io/crossplane-contrib/provider-helm", "", false},
		{"", "crossplane-contrib/provider-helm", "", "", true}, // v1.14-v1.20 without a version
		{"v2.3.4", "", "", "", true},
	}
	for _, c := range cases {
		var vs []string
		if c.version != "" {
			vs = []string{c.version}
		}
		ts, err := Select(vs)
		if err != nil {
			t.Fatal(err)
		}
		tg := ts[0]
		if c.version == "" {
			tg = ts[1]
		}
		lk := tg.LookupDependency(xpkg.Dependency{Package: c.pkg}, rs)
		if lk.Repository != c.repo || lk.RewrittenBy != c.by || (lk.Problem != "") != c.problem {
			t.Errorf("%s %s: %+v", tg.Label(), c.pkg, lk)
		}
	}
}

// The revision lists missing dependencies sorted, three and "N more"
// (crossplane-runtime:pkg/resource/resource.go@v1.20.0 FirstNAndSomeMore).
func TestMissingDependencyList(t *testing.T) {
	cases := map[string][]string{
		`"a"`:                          {`"a"`},
		`"a", "b"`:                     {`"a"`, `"b"`},
		`"a", "b", and "c"`:            {`"a"`, `"b"`, `"c"`},
		`"a", "b", "c", and 2 more`:    {`"a"`, `"b"`, `"c"`, `"d"`, `"e"`},
		`"x" (>=v1.0.0), "y" (v2.5.6)`: {`"x" (>=v1.0.0)`, `"y" (v2.5.6)`},
	}
	for want, in := range cases {
		if got := firstNAndSomeMore(3, in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestJudgeDependenciesStopsAtTheFirstMissing(t *testing.T) {
	meta := &xpkg.Meta{Kind: "Configuration", Name: "c", DependsOn: []xpkg.Dependency{
		{Kind: "Provider", Package: "reg.io/p/one", Version: ">=v1.0.0"},
		{Kind: "Provider", Package: "reg.io/p/two", Version: ">=v1.0.0"},
		{Kind: "Function", Package: "reg.io/f/three", Version: ""},
	}}
	obs := &DependencyObservations{Tags: map[string]TagList{
		"reg.io/p/one":   {Tags: []string{"v1.0.0"}},
		"reg.io/p/two":   {Err: &xpkg.RegistryError{Kind: xpkg.ErrNotFound, Detail: "GET https://reg.io/v2/p/two/tags/list?n=1000: NAME_UNKNOWN: repository name not known to registry", StatusCode: 404}},
		"reg.io/f/three": {Tags: []string{"v0.1.0"}},
	}}
	ts, _ := Select([]string{"v2.3.4"})
	v := judgeDependencies(ts[0], meta, obs, Verdict{Outcome: OutcomeBaseLayer})
	// "one" installs; the resolver then stops at "two", so "three" stays missing too.
	if v.Message != `cannot resolve package dependencies: missing dependencies: "reg.io/f/three", "reg.io/p/two" (>=v1.0.0)` || v.Exact {
		t.Fatalf("%q exact %v", v.Message, v.Exact)
	}
	if d := v.Dependencies[1]; !strings.HasPrefix(d.Failure, "Error occurred during dependency resolution cannot find dependency version to install: cannot fetch dependency package tags: cannot list tags for reg.io/p/two: GET") || !d.Exact {
		t.Fatalf("%+v", d)
	}
	// An empty constraint is not "any": the resolver cannot parse it.
	if d := v.Dependencies[2]; !strings.Contains(d.Failure, "version constraint on dependency is invalid") || d.Exact {
		t.Fatalf("%+v", d)
	}
}

func TestSurface(t *testing.T) {
	want := map[string]map[Stage]string{
		"v1.20.0": {StageResolve: "package/UnpackPackage/false", StageFetch: "revision/ParsePackage/true", StageParse: "revision/ParsePackage/true", StageLint: "revision/LintPackage/true", StageDependencies: "revision/ResolveDependencies/true"},
		"v2.1.3":  {StageResolve: "package/UnpackPackage/false", StageFetch: "revision/ParsePackage/true", StageParse: "revision/ParsePackage/true"},
		"v2.3.4":  {StageResolve: "package/UnpackPackage/false", StageFetch: "package/UnpackPackage/false", StageParse: "package/UnpackPackage/false", StageLint: "revision/LintPackage/true", StageDependencies: "revision/ResolveDependencies/true"},
	}
	for version, stages := range want {
		ts, _ := Select([]string{version})
		for s, w := range stages {
			o, e, r := ts[0].Surface(s)
			if got := o + "/" + e + "/" + map[bool]string{true: "true", false: "false"}[r]; got != w {
				t.Errorf("%s %s: %s, want %s", version, s, got, w)
			}
		}
	}
}
