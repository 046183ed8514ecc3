package preflight

import (
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

type tcase struct {
	name  string
	build func(r *registry) Input
	wants []want
	exit  int
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	r := newRegistry(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.t = t
			rep := run(t, c.build(r))
			assertChecks(t, rep, c.wants)
			if got := rep.ExitCode(); got != c.exit {
				t.Errorf("exit %d, want %d (status %s)%s", got, c.exit, rep.Status, dump(rep))
			}
		})
	}
}

// one installs a single package from an image read from the registry.
func one(r *registry, path string, xp xpkgtest.Package, running, target string, args []string, mods ...func(*cluster.Package)) Input {
	ref, rep := r.pkg(path, xp)
	p := provider(xp.Name, ref, mods...)
	if xp.Kind != "" {
		p.Kind = xp.Kind
	}
	return Input{Snapshot: snapshot(strings.HasPrefix(running, "v2"), args, p), Images: map[string]*xpkg.Report{ref: rep}, Running: running, Target: target}
}

func TestControllerConfigRemoved(t *testing.T) {
	nop := xpkgtest.Package{Name: "provider-nop", Crossplane: ">=v1.14.0"}
	withCC := func(p *cluster.Package) { p.ControllerConfigRef = "irsa" }
	runCases(t, []tcase{
		{"v1.20 to v2.0 breaks", func(r *registry) Input { return one(r, "nop:v1", nop, "v1.20.0", "v2.0.0", coreArgs, withCC) },
			[]want{{"Provider/provider-nop", "ControllerConfigRemoved", Breaks, []string{"ControllerConfig irsa", "DeploymentRuntimeConfig default", "fix:crossplane beta convert deployment-runtime"}, false}}, 1},
		{"v2.2 target points at ImageConfig runtime", func(r *registry) Input { return one(r, "nop:v1", nop, "v1.20.0", "v2.2.0", coreArgs, withCC) },
			[]want{{"Provider/provider-nop", "ControllerConfigRemoved", Breaks, []string{"fix:spec.runtime.configRef"}, false}}, 1},
		{"within v1 it is kept", func(r *registry) Input { return one(r, "nop:v1", nop, "v1.19.0", "v1.20.11", coreArgs, withCC) },
			[]want{{"Provider/provider-nop", "ControllerConfigRemoved", "", nil, false}}, 0},
		{"no reference, nothing", func(r *registry) Input { return one(r, "nop:v1", nop, "v1.20.0", "v2.0.0", coreArgs) },
			[]want{{"Provider/provider-nop", "ControllerConfigRemoved", "", nil, false}, {"Provider/provider-nop", CheckImage, Safe, nil, false}}, 0},
		{"unknown running version: the reference itself proves v1", func(r *registry) Input { return one(r, "nop:v1", nop, "", "v2.0.0", coreArgs, withCC) },
			[]want{{"Provider/provider-nop", "ControllerConfigRemoved", Breaks, nil, false}, {"", CheckUpgrade, Unknown, []string{"unknown"}, false}}, 1},
	})
}

func TestPackageSourceUnqualified(t *testing.T) {
	nop := xpkgtest.Package{Name: "provider-nop"}
	// The image is read from the test registry under the source's name, as
	// preflight.ImageReferences would qualify it with --registry.
	unqualified := func(src string) func(r *registry) Input {
		return func(r *registry) Input {
			_, rep := r.pkg("crossplane-contrib/provider-nop:v0.2.1", nop)
			p := provider("provider-nop", src)
			return Input{Snapshot: snapshot(false, coreArgs, p), Images: map[string]*xpkg.Report{src: rep}, Running: "v1.20.0", Target: "v2.0.0"}
		}
	}
	deps := xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "crossplane-contrib/provider-nop", Version: ">=v0.2.0"}}}
	runCases(t, []tcase{
		{"no registry, v2.0: strict parse", unqualified("crossplane-contrib/provider-nop:v0.2.1"),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{crossplane.PackageSourceRuleMessage,
				"cannot unpack package: package tag is not a valid reference: could not parse reference: crossplane-contrib/provider-nop:v0.2.1",
				"fix:set spec.package to xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"}, false}}, 1},
		{"no tag", unqualified("xpkg.crossplane.io/crossplane-contrib/provider-nop"),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{"fix:provider-nop:latest"}, false}}, 1},
		{"host without a dot (the CEL rule wants one)", unqualified("localhost:5000/provider-nop:v1"),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{"Invalid value"}, false}}, 1},
		{"Docker Hub official image path (strict parse wants library/)", unqualified("index.docker.io/provider-nop:v1"),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{"could not parse reference: index.docker.io/provider-nop:v1"}, false}}, 1},
		{"qualified", unqualified("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", "", nil, false}}, 0},
		{"digest", unqualified("xpkg.crossplane.io/crossplane-contrib/provider-nop@sha256:" + strings.Repeat("ab", 32)),
			[]want{{"Provider/provider-nop", "PackageSourceUnqualified", "", nil, false}}, 0},
		{"v2.3 pulls it from Docker Hub", func(r *registry) Input {
			in := unqualified("crossplane-contrib/provider-nop:v0.2.1")(r)
			in.Target = "v2.3.4"
			return in
		}, []want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{"cannot unpack package: cannot resolve crossplane-contrib/provider-nop:v0.2.1 to digest"}, false}}, 1},
		{"unqualified dependsOn", func(r *registry) Input {
			return one(r, "acme/platform:v1", deps, "v1.20.0", "v2.0.0", coreArgs, ofKind("Configuration"))
		}, []want{
			{"Configuration/platform", "PackageSourceUnqualified", Breaks, []string{"dependsOn names crossplane-contrib/provider-nop without a registry", "fix:xpkg.crossplane.io/crossplane-contrib/provider-nop"}, false},
			// The dependency check leaves it to the change.
			{"Configuration/platform", CheckDependency, "", nil, false},
		}, 1},
		{"unqualified dependsOn with skipDependencyResolution", func(r *registry) Input {
			return one(r, "acme/platform:v1", deps, "v1.20.0", "v2.0.0", coreArgs, ofKind("Configuration"), func(p *cluster.Package) { p.SkipDependencyResolution = true })
		}, []want{{"Configuration/platform", "PackageSourceUnqualified", "", nil, false}, {"Configuration/platform", CheckDependency, Safe, []string{"skipDependencyResolution"}, false}}, 0},
		{"unknown registry today: a placeholder", func(r *registry) Input {
			in := unqualified("crossplane-contrib/provider-nop:v0.2.1")(r)
			in.Snapshot.CrossplaneImage, in.Snapshot.CrossplaneArgs = "", nil
			return in
		}, []want{{"Provider/provider-nop", "PackageSourceUnqualified", Breaks, []string{"fix:REGISTRY/crossplane-contrib/provider-nop:v0.2.1"}, false}}, 1},
	})
}

func TestDefaultRegistryMoves(t *testing.T) {
	nop := xpkgtest.Package{Name: "provider-nop"}
	at := func(running, target string, args []string, env map[string]string) func(r *registry) Input {
		return func(r *registry) Input {
			_, rep := r.pkg("crossplane/provider-nop:v0.2.1", nop)
			src := "crossplane/provider-nop:v0.2.1"
			s := snapshot(false, args, provider("provider-nop", src))
			s.CrossplaneEnv = env
			return Input{Snapshot: s, Images: map[string]*xpkg.Report{src: rep}, Running: running, Target: target}
		}
	}
	runCases(t, []tcase{
		{"v1.14 to v1.15: Docker Hub to Upbound", at("v1.14.9", "v1.15.0", coreArgs, nil),
			[]want{{"Provider/provider-nop", "DefaultRegistryUpbound", Breaks, []string{"v1.14.9 pulls them from index.docker.io, v1.15.0 from xpkg.upbound.io", "fix:--registry=index.docker.io"}, false}}, 1},
		{"v1.19 to v1.20: Upbound to Crossplane", at("v1.19.0", "v1.20.0", coreArgs, nil),
			[]want{{"Provider/provider-nop", "DefaultRegistryCrossplane", Breaks, []string{"from xpkg.upbound.io", "from xpkg.crossplane.io"}, false}}, 1},
		{"v1.14 to v1.20 is one net move", at("v1.14.9", "v1.20.0", coreArgs, nil), []want{
			{"Provider/provider-nop", "DefaultRegistryCrossplane", Breaks, []string{"from index.docker.io", "from xpkg.crossplane.io"}, false},
			{"Provider/provider-nop", "DefaultRegistryUpbound", "", nil, false}}, 1},
		{"--registry keeps them", at("v1.19.0", "v1.20.0", append(coreArgs, "--registry=registry.example.com"), nil),
			[]want{{"Provider/provider-nop", "DefaultRegistryCrossplane", Safe, []string{"--registry"}, false}}, 0},
		{"REGISTRY keeps them", at("v1.19.0", "v1.20.0", coreArgs, map[string]string{"REGISTRY": "registry.example.com"}),
			[]want{{"Provider/provider-nop", "DefaultRegistryCrossplane", Safe, nil, false}}, 0},
		{"flags unknown", at("v1.19.0", "v1.20.0", nil, nil),
			[]want{{"Provider/provider-nop", "DefaultRegistryCrossplane", Unknown, []string{"Deployment was not read"}, false}}, 2},
		{"running unknown", at("", "v1.20.0", coreArgs, nil),
			[]want{{"Provider/provider-nop", "DefaultRegistryCrossplane", Unknown, []string{"running version pulls them from is unknown"}, false}}, 2},
		{"within v1.15-v1.19 nothing moves", at("v1.15.0", "v1.19.0", coreArgs, nil), []want{
			{"Provider/provider-nop", "DefaultRegistryUpbound", "", nil, false}, {"Provider/provider-nop", "DefaultRegistryCrossplane", "", nil, false},
			{"", CheckUpgrade, Degrades, []string{"skips v1.16, v1.17, v1.18"}, false}}, 1},
		{"v2 reports the removal instead", at("v1.20.0", "v2.0.0", coreArgs, nil), []want{
			{"Provider/provider-nop", "DefaultRegistryCrossplane", "", nil, false}, {"Provider/provider-nop", "PackageSourceUnqualified", Breaks, nil, false}}, 1},
	})
}

func TestCoreFlagRemoved(t *testing.T) {
	nop := xpkgtest.Package{Name: "provider-nop"}
	with := func(running, target string, args []string, env map[string]string) func(r *registry) Input {
		return func(r *registry) Input {
			in := one(r, "nop:v1", nop, running, target, args)
			in.Snapshot.CrossplaneEnv = env
			return in
		}
	}
	regMsg := crossplane.RemovedFlags[0].Message
	runCases(t, []tcase{
		{"--registry=X on v2", with("v1.20.0", "v2.0.0", append(coreArgs, "--registry=registry.example.com"), nil),
			[]want{{"", "CoreFlagRemoved", Breaks, []string{"crossplane: error: " + regMsg}, false}}, 1},
		{"--registry X on v2", with("v1.20.0", "v2.0.0", append(coreArgs, "--registry", "registry.example.com"), nil),
			[]want{{"", "CoreFlagRemoved", Breaks, []string{regMsg}, false}}, 1},
		{"-r X on v2: kong no longer knows -r", with("v1.20.0", "v2.3.4", append(coreArgs, "-r", "registry.example.com"), nil),
			[]want{{"", "CoreFlagRemoved", Breaks, []string{"crossplane: error: unknown flag -r"}, false}}, 1},
		{"--registry on v1.20 is fine", with("v1.19.0", "v1.20.0", append(coreArgs, "--registry=registry.example.com"), nil),
			[]want{{"", "CoreFlagRemoved", "", nil, false}}, 0},
		{"--enable-environment-configs", with("v1.20.0", "v2.0.0", append(coreArgs, "--enable-environment-configs"), nil),
			[]want{{"", "CoreFlagRemoved", Breaks, []string{"unknown flag --enable-environment-configs", "fix:remove the flag"}, false}}, 1},
		{"--enable-external-secret-stores=false is accepted", with("v1.20.0", "v2.0.0", append(coreArgs, "--enable-external-secret-stores=false"), nil),
			[]want{{"", "CoreFlagRemoved", "", nil, false}}, 0},
		{"--enable-external-secret-stores is refused", with("v1.20.0", "v2.0.0", append(coreArgs, "--enable-external-secret-stores"), nil),
			[]want{{"", "CoreFlagRemoved", Breaks, []string{"Crossplane removed support for external secret stores"}, false}}, 1},
		{"downgrade flag renamed in v1.20", with("v1.19.0", "v1.20.0", append(coreArgs, "--automatic-dependency-downgrade-enabled"), nil),
			[]want{{"", "DowngradeFlagRenamed", Breaks, []string{"unknown flag --automatic-dependency-downgrade-enabled", "fix:--enable-dependency-version-downgrades"}, false}, {"", "CoreFlagRemoved", "", nil, false}}, 1},
		{"REGISTRY is ignored by v2", with("v1.20.0", "v2.0.0", coreArgs, map[string]string{"REGISTRY": "registry.example.com"}),
			[]want{{"", "CoreFlagRemoved", Notice, []string{"REGISTRY=registry.example.com", "v2 ignores"}, false}}, 0},
		{"Deployment not read", with("v1.20.0", "v2.0.0", nil, nil),
			[]want{{"", "CoreFlagRemoved", Unknown, []string{"Deployment was not read"}, false}}, 2},
		{"already on v2: nothing to cross", with("v2.0.0", "v2.1.3", append(coreArgs, "--registry=x.example"), nil),
			[]want{{"", "CoreFlagRemoved", "", nil, false}}, 0},
	})
}

func TestNoticesAndFixes(t *testing.T) {
	runCases(t, []tcase{
		{"revision conditions split on v2", func(r *registry) Input {
			return one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "v1.20.0", "v2.0.0", coreArgs)
		}, []want{{"", "RevisionHealthSplit", Notice, []string{"1 revision(s) report condition Healthy"}, false}, {"", "CRDsBecomeMRDs", Notice, []string{"1 Provider(s)"}, false}}, 0},
		{"Function v1 on v1.17", func(r *registry) Input {
			return one(r, "fn:v1", xpkgtest.Package{Kind: "Function", Name: "function-patch"}, "v1.16.0", "v1.17.0", coreArgs, ofKind("Function"))
		}, []want{{"", "FunctionV1", Notice, []string{"function-patch"}, false}}, 0},
		{"Verified condition removed on v2.2", func(r *registry) Input {
			in := one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "v2.1.3", "v2.2.0", coreArgs)
			in.Snapshot.ImageConfigs = []cluster.ImageConfig{{Name: "signed", Prefixes: []string{"xpkg.crossplane.io/"}, Verification: "Cosign"}}
			return in
		}, []want{{"", "VerifiedConditionRemoved", Notice, []string{"signature verification is in use"}, false}}, 0},
		{"Verified condition stays on v2.1", func(r *registry) Input {
			in := one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "v2.0.0", "v2.1.3", coreArgs)
			in.Snapshot.ImageConfigs = []cluster.ImageConfig{{Name: "signed", Verification: "Cosign"}}
			return in
		}, []want{{"", "VerifiedConditionRemoved", "", nil, false}}, 0},
		{"ImageConfig pull secret for private dependencies", func(r *registry) Input {
			xp := xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: r.host + "/provider-nop", Version: ">=v0.1.0"}}}
			return one(r, "platform:v1", xp, "v1.16.0", "v1.17.3", coreArgs, ofKind("Configuration"), func(p *cluster.Package) { p.PullSecrets = []string{"regcred"} })
		}, []want{{"Configuration/platform", "ImageConfigPullSecret", Notice, []string{"regcred"}, false}}, 2},
		{"rewriteImage for a mirror's dependencies", func(r *registry) Input {
			xp := xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "xpkg.upbound.io/upbound/provider-family-aws", Version: ">=v1.0.0"}}}
			return one(r, "platform:v1", xp, "v1.19.0", "v1.20.0", coreArgs, ofKind("Configuration"))
		}, []want{{"Configuration/platform", "ImageConfigRewrite", Notice, []string{"depends on xpkg.upbound.io/upbound/provider-family-aws"}, false},
			{"Configuration/platform", CheckDependency, Unknown, []string{"did not list"}, false}}, 2},
	})
}

func TestV1PackageMetadataIgnored(t *testing.T) {
	classic := func(runtime []v1.Layer) xpkgtest.Package {
		return xpkgtest.Package{Name: "provider-classic", Runtime: runtime, YAML: []byte("---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: provider-classic\nspec:\n  controller:\n    image: crossplane/provider-classic-controller:v0.1.0\n")}
	}
	runCases(t, []tcase{
		{"controller image, package holds no runtime", func(r *registry) Input {
			return one(r, "classic:v1", classic(nil), "v1.20.0", "v2.0.0", coreArgs)
		}, []want{{"Provider/provider-classic", "ControllerImageIgnored", Breaks, []string{"crossplane/provider-classic-controller:v0.1.0", "holds no runtime", "fix:--embed-runtime-image"}, false}}, 1},
		{"controller image, runtime embedded", func(r *registry) Input {
			return one(r, "classic:v2", classic([]v1.Layer{xpkgtest.RandomLayer(7, 64)}), "v1.20.0", "v2.0.0", coreArgs)
		}, []want{{"Provider/provider-classic", "ControllerImageIgnored", Notice, []string{"embeds a runtime"}, false}}, 0},
		{"controller image stays on v1.20", func(r *registry) Input {
			return one(r, "classic:v1", classic(nil), "v1.19.0", "v1.20.0", coreArgs)
		}, []want{{"Provider/provider-classic", "ControllerImageIgnored", "", nil, false}}, 0},
		{"permission requests", func(r *registry) Input {
			in := one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "v1.20.0", "v2.0.0", coreArgs)
			in.Snapshot.Revisions[0].PermissionRequests = 2
			return in
		}, []want{{"Provider/provider-nop", "PermissionRequestsIgnored", Breaks, []string{"2 permission request(s)"}, false}}, 1},
		{"no permission requests", func(r *registry) Input {
			return one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "v1.20.0", "v2.0.0", coreArgs)
		}, []want{{"Provider/provider-nop", "PermissionRequestsIgnored", "", nil, false}}, 0},
	})
}

func TestPullPolicyNever(t *testing.T) {
	nop := xpkgtest.Package{Name: "provider-nop"}
	never := func(p *cluster.Package) { p.PullPolicy = "Never" }
	runCases(t, []tcase{
		{"tag", func(r *registry) Input { return one(r, "nop:v1", nop, "v2.1.3", "v2.2.0", coreArgs, never) },
			[]want{{"Provider/provider-nop", "PullPolicyNeverNeedsDigest", Breaks, []string{"registry HEAD", "to digest"}, false}}, 1},
		{"digest", func(r *registry) Input {
			ref, rep := r.pkg("nop:v1", nop)
			byDigest := r.host + "/nop@" + rep.Digest
			p := provider("provider-nop", byDigest, never)
			_ = ref
			return Input{Snapshot: snapshot(true, coreArgs, p), Images: map[string]*xpkg.Report{byDigest: r.read(byDigest)}, Running: "v2.1.3", Target: "v2.3.4"}
		}, []want{{"Provider/provider-nop", "PullPolicyNeverNeedsDigest", Breaks, []string{"keyed by source and digest"}, false}}, 1},
		{"before v2.2", func(r *registry) Input { return one(r, "nop:v1", nop, "v2.0.0", "v2.1.3", coreArgs, never) },
			[]want{{"Provider/provider-nop", "PullPolicyNeverNeedsDigest", "", nil, false}}, 0},
	})
}

func TestNativePatchAndTransform(t *testing.T) {
	cfg := xpkgtest.Package{Kind: "Configuration", Name: "platform"}
	with := func(read bool, comps ...cluster.Composition) func(r *registry) Input {
		return func(r *registry) Input {
			in := one(r, "platform:v1", cfg, "v1.20.0", "v2.0.0", coreArgs, ofKind("Configuration"))
			in.Snapshot.Compositions, in.Snapshot.CompositionsRead = comps, read
			return in
		}
	}
	owned := func(n, mode string, resources int) cluster.Composition {
		return cluster.Composition{Name: n, Mode: mode, Resources: resources, Owner: "platform-aaaaaaaaaaaa"}
	}
	runCases(t, []tcase{
		{"owned Resources mode", with(true, owned("xbuckets", "Resources", 2), owned("xnets", "Pipeline", 0)),
			[]want{{"Configuration/platform", "NativePatchAndTransformRemoved", Breaks, []string{"1 native patch-and-transform Composition(s) (xbuckets)"}, false}}, 1},
		{"no mode but resources", with(true, owned("xold", "", 3)),
			[]want{{"Configuration/platform", "NativePatchAndTransformRemoved", Breaks, []string{"xold"}, false}}, 1},
		{"no package owns it", with(true, cluster.Composition{Name: "hand-made", Mode: "Resources", Resources: 1}),
			[]want{{"", "NativePatchAndTransformRemoved", Breaks, []string{"no package owns (hand-made)"}, false}, {"Configuration/platform", "NativePatchAndTransformRemoved", "", nil, false}}, 1},
		{"pipelines only", with(true, owned("xnets", "Pipeline", 0)),
			[]want{{"", "NativePatchAndTransformRemoved", "", nil, false}, {"Configuration/platform", "NativePatchAndTransformRemoved", "", nil, false}}, 0},
		{"not read", with(false),
			[]want{{"", "NativePatchAndTransformRemoved", Unknown, []string{"were not read"}, false}}, 2},
	})
}

func TestImageUnderTargetGeneration(t *testing.T) {
	runtime := func(n int) []v1.Layer {
		var ls []v1.Layer
		for i := 0; i < n; i++ {
			ls = append(ls, xpkgtest.RandomLayer(uint64(i+1), 16))
		}
		return ls
	}
	img := func(xp xpkgtest.Package, running, target string) func(r *registry) Input {
		return func(r *registry) Input { return one(r, xp.Name+":v1", xp, running, target, coreArgs) }
	}
	tooMany := xpkgtest.Package{Name: "huge", Runtime: runtime(257)}
	twoBase := xpkgtest.Package{Name: "twobase", Runtime: runtime(1), ExtraBase: 1}
	dotSlash := xpkgtest.Package{Name: "dotslash", Path: "./package.yaml"}
	flat := xpkgtest.Package{Name: "flat", Runtime: runtime(3), NoAnnotation: true}
	// Both layers hold package.yaml and are annotated; the first is read.
	pkgFirst := xpkgtest.Package{Name: "pkgfirst", Runtime: []v1.Layer{xpkgtest.Layer(xpkgtest.File{Name: "package.yaml", Body: xpkgtest.Package{Name: "pkgfirst"}.PackageYAML()})}, ExtraBase: 1}
	runCases(t, []tcase{
		{"257 layers on v2.1 fail today and after", img(tooMany, "v2.0.0", "v2.1.3"),
			[]want{{"Provider/huge", CheckImage, Breaks, []string{"package has 258 layers, but only 256 are allowed"}, true}}, 1},
		{"257 layers: v2.2 reads them", img(tooMany, "v2.1.3", "v2.2.0"),
			[]want{{"Provider/huge", CheckImage, Safe, []string{"fails on v2.1.3 (TooManyLayers); v2.2.0 reads it"}, false}}, 0},
		// The runtime layer is annotated too and comes first: v2.2 reads it
		// and finds no package.yaml (crossplane-runtime:pkg/xpkg/client.go@v2.3.3).
		{"two base layers: v2.2 uses the first, the runtime's", img(twoBase, "v2.1.3", "v2.2.0"),
			[]want{{"Provider/twobase", CheckImage, Breaks, []string{"package.yaml not found in package"}, true}}, 1},
		{"two base layers, package first: v2.2 reads it", img(pkgFirst, "v2.1.3", "v2.2.0"),
			[]want{{"Provider/pkgfirst", CheckImage, Safe, []string{"fails on v2.1.3 (MultipleBaseLayers); v2.2.0 reads it"}, false}}, 0},
		{"two base layers still fail on v2.1", img(twoBase, "v1.20.0", "v2.1.3"),
			[]want{{"Provider/twobase", CheckImage, Breaks, []string{"package is invalid due to multiple annotated base layers"}, true}}, 1},
		{"./package.yaml annotated: v2.0 reads it", img(dotSlash, "v1.20.0", "v2.0.0"),
			[]want{{"Provider/dotslash", CheckImage, Safe, []string{"PackageYAMLNotAtRoot"}, false}}, 0},
		{"./package.yaml annotated: v1.20 fails", img(dotSlash, "v1.19.0", "v1.20.0"),
			[]want{{"Provider/dotslash", CheckImage, Breaks, []string{`couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: true): EOF`}, true}}, 1},
		{"flatten across v2.2 is a notice with the new deadline", img(flat, "v2.1.3", "v2.2.0"),
			[]want{{"Provider/flat", CheckImage, Notice, []string{"within the 1m0s package manager deadline"}, false}}, 0},
		{"flatten too slow at 1 kB/s", func(r *registry) Input {
			in := img(flat, "v2.1.3", "v2.2.0")(r)
			in.Judge.Bandwidth = 1 // byte per second: over both the 3-minute and the 1-minute deadline
			return in
		}, []want{{"Provider/flat", CheckImage, Degrades, []string{"over the deadline", "cannot extract package content from"}, true}}, 1},
		{"runtime image mirrored as the package", func(r *registry) Input {
			ref := r.push("runtime:v1", xpkgtest.RuntimeImage(amd64))
			p := provider("provider-runtime", ref)
			return Input{Snapshot: snapshot(false, coreArgs, p), Images: map[string]*xpkg.Report{ref: r.read(ref)}, Running: "v1.20.0", Target: "v2.0.0"}
		}, []want{{"Provider/provider-runtime", CheckImage, Breaks, []string{"couldn't find \"package.yaml\""}, true},
			{"Provider/provider-runtime", CheckConstraint, "", nil, false}}, 1},
		{"missing tag", func(r *registry) Input {
			ref := r.host + "/nothing:v9"
			p := provider("provider-gone", ref)
			return Input{Snapshot: snapshot(true, coreArgs, p), Images: map[string]*xpkg.Report{ref: r.read(ref)}, Running: "v2.2.0", Target: "v2.3.4"}
		}, []want{{"Provider/provider-gone", CheckImage, Unknown, []string{"xpdoctor could not read the image", "v2.3.4 reports: cannot unpack package: cannot resolve", "fix:run preflight where"}, false}}, 2},
		{"image not read", func(r *registry) Input {
			p := provider("provider-unread", r.host+"/unread:v1")
			return Input{Snapshot: snapshot(false, coreArgs, p), Running: "v1.20.0", Target: "v2.0.0"}
		}, []want{{"Provider/provider-unread", CheckImage, Unknown, []string{"was not read"}, false}}, 2},
	})
}

func TestCrossplaneConstraint(t *testing.T) {
	c := func(constraint, running, target string, mods ...func(*cluster.Package)) func(r *registry) Input {
		return func(r *registry) Input {
			return one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop", Crossplane: constraint}, running, target, coreArgs, mods...)
		}
	}
	ignore := func(p *cluster.Package) { p.IgnoreCrossplaneConstraints = true }
	runCases(t, []tcase{
		{"admits", c(">=v1.14.0", "v1.20.0", "v2.0.0"), []want{{"Provider/provider-nop", CheckConstraint, Safe, []string{`">=v1.14.0" admits v2.0.0`}, false}}, 0},
		{"excludes the target", c(">=v1.14.0, <v2.0.0", "v1.20.0", "v2.0.0"),
			[]want{{"Provider/provider-nop", CheckConstraint, Breaks, []string{"incompatible Crossplane version: package is not compatible with Crossplane version (v2.0.0)"}, false}}, 1},
		{"excludes today too", c("<v1.0.0", "v1.20.0", "v1.20.11"),
			[]want{{"Provider/provider-nop", CheckConstraint, Breaks, nil, true}}, 1},
		{"ignored", c(">=v1.14.0, <v2.0.0", "v1.20.0", "v2.0.0", ignore),
			[]want{{"Provider/provider-nop", CheckConstraint, Notice, []string{"ignoreCrossplaneConstraints is true"}, false}}, 0},
		{"a pre-release is outside a release range (Masterminds semver)", c(">=v1.14.0", "v1.20.0", "v2.0.0-rc.1"),
			[]want{{"Provider/provider-nop", CheckConstraint, Breaks, []string{"(v2.0.0-rc.1)"}, false}}, 1},
		{"none", c("", "v1.20.0", "v2.0.0"), []want{{"Provider/provider-nop", CheckConstraint, Safe, []string{"no spec.crossplane.version"}, false}}, 0},
	})
}

func TestDependencies(t *testing.T) {
	dep := func(pkg, version string) xpkgtest.Package {
		return xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: pkg, Version: version}}}
	}
	installed := func(r *registry, cfg xpkgtest.Package, nop cluster.Package, running, target string) Input {
		ref, rep := r.pkg("platform:v1", cfg)
		_, nopImage := r.pkg("provider-nop:v0.2.1", xpkgtest.Package{Name: nop.Name})
		c := provider("platform", ref, ofKind("Configuration"))
		return Input{Snapshot: snapshot(strings.HasPrefix(running, "v2"), coreArgs, c, nop), Images: map[string]*xpkg.Report{ref: rep, nop.Package: nopImage}, Running: running, Target: target}
	}
	nopAt := func(ref string) cluster.Package { return provider("provider-nop", ref) }
	digest := "sha256:" + strings.Repeat("cd", 32)
	runCases(t, []tcase{
		{"installed and satisfied", func(r *registry) Input {
			return installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
		}, []want{{"Configuration/platform", CheckDependency, Safe, []string{"resolves to the installed Provider provider-nop (v0.2.1)"}, false}}, 0},
		{"installed, wrong version", func(r *registry) Input {
			return installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.3.0"), nopAt("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
		}, []want{{"Configuration/platform", CheckDependency, Breaks, []string{"cannot resolve package dependencies: incompatible dependencies: existing package xpkg.crossplane.io/crossplane-contrib/provider-nop@v0.2.1 is incompatible with constraint >=v0.3.0"}, true}}, 1},
		{"pinned digest differs", func(r *registry) Input {
			return installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", digest), nopAt("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
		}, []want{{"Configuration/platform", CheckDependency, Breaks, []string{"is incompatible with constraint " + digest}, true}}, 1},
		{"unqualified installed source, qualified dependsOn: matches once spec.package is qualified", func(r *registry) Input {
			return installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
		}, []want{{"Configuration/platform", CheckDependency, Safe, nil, false}, {"Provider/provider-nop", "PackageSourceUnqualified", Breaks, nil, false}}, 1},
		{"installed but not in the Lock", func(r *registry) Input {
			in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
			in.Snapshot.Lock.Packages = in.Snapshot.Lock.Packages[:1]
			return in
		}, []want{{"Configuration/platform", CheckDependency, Breaks, []string{"the Lock does not hold it"}, true}}, 1},
		{"a second package from the same source without a revision (its tag does not exist): the Lock's is the dependency", func(r *registry) Input {
			in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
			missing := provider("a-missing-tag", "xpkg.crossplane.io/crossplane-contrib/provider-nop:v9.9.9", func(p *cluster.Package) { p.CurrentRevision = "" })
			in.Snapshot.Packages = append([]cluster.Package{missing}, in.Snapshot.Packages...)
			return in
		}, []want{{"Configuration/platform", CheckDependency, Safe, []string{"resolves to the installed Provider provider-nop (v0.2.1)"}, false}, {"Provider/a-missing-tag", CheckImage, Unknown, nil, false}}, 2},
		{"not installed, tags listed", func(r *registry) Input {
			in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), provider("other", "xpkg.crossplane.io/x/other:v1"), "v1.20.0", "v2.0.0")
			in.Tags = map[string][]string{"xpkg.crossplane.io/crossplane-contrib/provider-nop": {"v0.1.0", "v0.2.1", "v0.3.0"}}
			return in
		}, []want{{"Configuration/platform", CheckDependency, Safe, []string{"would install xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.3.0"}, false}}, 0},
		{"not installed, no version satisfies", func(r *registry) Input {
			in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v1.0.0"), provider("other", "xpkg.crossplane.io/x/other:v1"), "v1.20.0", "v2.0.0")
			in.Tags = map[string][]string{"xpkg.crossplane.io/crossplane-contrib/provider-nop": {"v0.1.0", "v0.2.1"}}
			return in
		}, []want{{"Configuration/platform", CheckDependency, Breaks, []string{"no tag satisfies"}, true}}, 1},
		{"not installed, tags not listed", func(r *registry) Input {
			return installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), provider("other", "xpkg.crossplane.io/x/other:v1"), "v1.20.0", "v2.0.0")
		}, []want{{"Configuration/platform", CheckDependency, Unknown, []string{"did not list"}, false}}, 2},
		{"mirror installed, upstream named, rewritten on v1.20+", func(r *registry) Input {
			in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("mirror.example.com/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
			in.Snapshot.ImageConfigs = []cluster.ImageConfig{{Name: "mirror", Prefixes: []string{"xpkg.crossplane.io/"}, RewritePrefix: "mirror.example.com/"}}
			in.Tags = map[string][]string{"mirror.example.com/crossplane-contrib/provider-nop": {"v0.2.1"}}
			return in
		}, []want{{"Configuration/platform", CheckDependency, Safe, []string{"would install mirror.example.com/crossplane-contrib/provider-nop:v0.2.1"}, false}}, 0},
	})
	// The evidence names the mirror when a dependency only matches by path.
	r := newRegistry(t)
	in := installed(r, dep("xpkg.crossplane.io/crossplane-contrib/provider-nop", ">=v0.2.0"), nopAt("mirror.example.com/crossplane-contrib/provider-nop:v0.2.1"), "v1.20.0", "v2.0.0")
	rep := run(t, in)
	c := checkOf(rep, "Configuration/platform", CheckDependency)
	if c == nil || !strings.Contains(strings.Join(c.Evidence, "\n"), "installed from mirror.example.com/crossplane-contrib/provider-nop") {
		t.Errorf("mirror evidence missing: %+v", c)
	}
	got, err := DependenciesToList(in)
	if err != nil || len(got) != 1 || got[0] != "xpkg.crossplane.io/crossplane-contrib/provider-nop" {
		t.Errorf("DependenciesToList = %v, %v", got, err)
	}
}

func TestUpgradePath(t *testing.T) {
	at := func(running, target string) func(r *registry) Input {
		return func(r *registry) Input {
			return one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, running, target, coreArgs)
		}
	}
	runCases(t, []tcase{
		{"next minor", at("v1.19.3", "v1.20.11"), []want{{"", CheckUpgrade, Safe, []string{"next minor"}, false}}, 0},
		{"v1.20 to v2.0", at("v1.20.11", "v2.0.8"), []want{{"", CheckUpgrade, Safe, nil, false}}, 0},
		{"patch", at("v2.3.1", "v2.3.4"), []want{{"", CheckUpgrade, Safe, []string{"patch"}, false}}, 0},
		{"v1.19 to v2.1 skips two", at("v1.19.0", "v2.1.3"), []want{{"", CheckUpgrade, Degrades, []string{"skips v1.20, v2.0", "fix:v1.20 -> v2.0 -> v2.1.3"}, false}}, 1},
		{"downgrade", at("v2.1.3", "v2.0.0"), []want{{"", CheckUpgrade, Unknown, []string{"not downgrades"}, false}}, 2},
		{"unknown running", at("", "v2.3.4"), []want{{"", CheckUpgrade, Unknown, nil, false}}, 2},
		{"unparsable running", at("latest", "v2.3.4"), []want{{"", CheckUpgrade, Unknown, []string{`"latest" is not a release version`}, false}}, 2},
	})
}

// TestRunningVersionBounds: an unknown running version is bounded by what
// only some releases write, so changes already crossed are not reported.
func TestRunningVersionBounds(t *testing.T) {
	r := newRegistry(t)
	in := one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "", "v2.3.4", coreArgs, func(p *cluster.Package) { p.PullPolicy = "Never" })
	in.Snapshot.Revisions[0].Conditions = []cluster.Condition{{Type: "RevisionHealthy", Status: "True"}}
	rep := run(t, in)
	for _, id := range []string{"RevisionHealthSplit", "CRDsBecomeMRDs"} {
		if checkOf(rep, "", id) != nil {
			t.Errorf("%s reported although the snapshot shows v2 already", id)
		}
	}
	// v2.2's change is not ruled out by a v2.0 floor.
	if c := checkOf(rep, "Provider/provider-nop", "PullPolicyNeverNeedsDigest"); c == nil || c.Status != Breaks {
		t.Errorf("PullPolicyNeverNeedsDigest: %+v", c)
	}
	for _, ch := range rep.Changes {
		if ch.ID == "ControllerConfigRemoved" {
			t.Errorf("a v2.0 change is listed as crossed")
		}
	}
	// A Healthy condition v1 left beside v2's does not make it v1.
	in.Snapshot.Revisions[0].Conditions = append(in.Snapshot.Revisions[0].Conditions, cluster.Condition{Type: "Healthy", Status: "True"})
	if rep := run(t, in); checkOf(rep, "", "RevisionHealthSplit") != nil {
		t.Error("stale Healthy condition read as v1")
	}
	// Without v2's conditions, a Healthy condition bounds it below v2.0.
	in = one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop"}, "", "v2.0.0", coreArgs)
	if rep := run(t, in); checkOf(rep, "", "RevisionHealthSplit") == nil {
		t.Error("v1 revision conditions did not bound the running version below v2.0")
	} else if c := checkOf(rep, "", CheckUpgrade); !strings.Contains(strings.Join(c.Evidence, " "), "older than 2.0.0") {
		t.Errorf("upgrade path evidence: %v", c.Evidence)
	}
}

func TestReport(t *testing.T) {
	r := newRegistry(t)
	in := one(r, "nop:v1", xpkgtest.Package{Name: "provider-nop", Crossplane: ">=v1.14.0, <v2.0.0"}, "v1.20.0", "v2.0.0", coreArgs, func(p *cluster.Package) { p.ControllerConfigRef = "cc" })
	rep := run(t, in)
	if rep.APIVersion != "xpdoctor.io/v1alpha1" || rep.Kind != "PreflightReport" || rep.Target != "v2.0.0" || rep.Running != "v1.20.0" || rep.Generation != "v2.0-v2.1" {
		t.Errorf("header: %+v", rep)
	}
	if rep.Status != Breaks || rep.Packages[0].Status != Breaks {
		t.Errorf("status %s / %s", rep.Status, rep.Packages[0].Status)
	}
	rows := rep.Rows()
	var checks []string
	for _, row := range rows {
		checks = append(checks, row.Kind+" "+row.Check+" "+string(row.Status))
		if row.Status != Safe && row.Status != Notice && row.Fix == "" {
			t.Errorf("row %s %s has no fix", row.Name, row.Check)
		}
	}
	got := strings.Join(checks, "; ")
	for _, w := range []string{"Crossplane RevisionHealthSplit Notice", "Provider CrossplaneVersion Breaks", "Provider ControllerConfigRemoved Breaks"} {
		if !strings.Contains(got, w) {
			t.Errorf("rows %q lack %q", got, w)
		}
	}
	crossed := map[string]bool{}
	for _, c := range rep.Changes {
		crossed[c.ID] = true
		if c.ID == "ControllerConfigRemoved" && c.Affected != 1 {
			t.Errorf("ControllerConfigRemoved affected %d", c.Affected)
		}
	}
	if !crossed["PackageSourceUnqualified"] || crossed["LayerLimitRemoved"] || crossed["DefaultRegistryCrossplane"] {
		t.Errorf("crossed changes: %v", crossed)
	}
	// A safe package has one row.
	in = one(r, "nop:v2", xpkgtest.Package{Name: "provider-nop"}, "v2.2.0", "v2.3.4", coreArgs)
	rep = run(t, in)
	if rows := rep.Rows(); len(rows) != 1 || rows[0].Status != Safe || rep.ExitCode() != ExitSafe {
		t.Errorf("safe rows: %+v", rows)
	}
	if _, err := Run(Input{Target: "v1.12.0"}); err == nil || !strings.Contains(err.Error(), "older than v1.13") {
		t.Errorf("old target: %v", err)
	}
	if _, err := Run(Input{Target: "two"}); err == nil {
		t.Error("bad target accepted")
	}
}

func TestImageReferences(t *testing.T) {
	s := snapshot(false, append(coreArgs, "--registry=mirror.example.com"), provider("a", "crossplane-contrib/provider-nop:v1"), provider("b", "xpkg.crossplane.io/x/y:v1"))
	got := ImageReferences(s, "v1.20.0")
	if got["crossplane-contrib/provider-nop:v1"] != "mirror.example.com/crossplane-contrib/provider-nop:v1" || got["xpkg.crossplane.io/x/y:v1"] != "xpkg.crossplane.io/x/y:v1" {
		t.Errorf("%v", got)
	}
	s.CrossplaneArgs = coreArgs
	if got := ImageReferences(s, "v1.19.0"); got["crossplane-contrib/provider-nop:v1"] != "xpkg.upbound.io/crossplane-contrib/provider-nop:v1" {
		t.Errorf("%v", got)
	}
}

// Every finding code a check carries is in the catalogue, and every change
// the image check cites exists.
func TestCodesCatalogued(t *testing.T) {
	for _, id := range append([]string{"ImageValidated", "FlattenInPackageManager"}, fixedBy[findings.TooManyLayers], fixedBy[findings.MultipleBaseLayers], fixedBy[findings.PackageYAMLNotAtRoot]) {
		if changeByID(id).ID != id {
			t.Errorf("change %s", id)
		}
	}
	for _, c := range []findings.Code{findings.PullPolicyNeverNotCached, findings.DependencyNotInLock, findings.DependencyVersionConflict, findings.DependencyDigestMismatch, findings.DependencyUnresolvable, findings.CrossplaneVersionIncompat, findings.BaseLayerAnnotationMissing} {
		if _, ok := findings.Catalogue[c]; !ok {
			t.Errorf("%s not catalogued", c)
		}
	}
}

// BenchmarkRun150 judges a cluster of 150 providers and a Configuration
// depending on all of them (the 150-package cluster).
func BenchmarkRun150(b *testing.B) {
	var deps []xpkg.Dependency
	var pkgs []cluster.Package
	for i := 0; i < 150; i++ {
		src := "xpkg.crossplane.io/crossplane-contrib/provider-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + itoa(i)
		pkgs = append(pkgs, provider("p"+itoa(i), src+":v1.0.0"))
		deps = append(deps, xpkg.Dependency{Kind: "Provider", Package: src, Version: ">=v1.0.0"})
	}
	meta := func(m *xpkg.Meta) *xpkg.Report {
		img := &xpkg.ImageReport{Digest: "sha256:aa", BaseLayers: []int{0}, Layers: []xpkg.Layer{{Digest: "sha256:l", Size: 1000, Annotations: map[string]string{xpkg.AnnotationKey: xpkg.PackageAnnotation}}},
			BaseScan: &xpkg.TarScan{Annotated: true, Entries: 1, BaseNameIndex: 0, ExactIndex: 0, BaseNamePath: "package.yaml"},
			Package:  &xpkg.PackageFile{Path: "package.yaml", Documents: 1, MetaCount: 1, Meta: m}}
		return &xpkg.Report{Reference: "r", Platforms: []xpkg.PlatformImage{{Platform: "linux/amd64", Image: img}}}
	}
	images := map[string]*xpkg.Report{}
	for _, p := range pkgs {
		images[p.Source()] = meta(&xpkg.Meta{Kind: "Provider", Name: p.Name, Crossplane: ">=v1.14.0"})
	}
	cfg := provider("platform", "xpkg.crossplane.io/acme/platform:v1.0.0", ofKind("Configuration"))
	images[cfg.Source()] = meta(&xpkg.Meta{Kind: "Configuration", Name: "platform", DependsOn: deps})
	in := Input{Snapshot: snapshot(false, coreArgs, append(pkgs, cfg)...), Images: images, Running: "v1.20.0", Target: "v2.0.0"}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Run(in)
		if err != nil || rep.Status != Safe {
			b.Fatalf("%v %s", err, rep.Status)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
