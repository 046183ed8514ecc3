package inspect_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// provider is a genuine package as the Crossplane CLI builds and pushes it.
var provider = xpkgtest.Package{Kind: "Provider", Name: "provider-nop", Crossplane: ">=v1.14.0-0", Objects: 2,
	DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "xpkg.upbound.io/upbound/provider-family-aws", Version: ">=v1.6.0"}}}

// want is the expected outcome per generation: v1.13, v1.14-v1.20, v2.0-v2.1, v2.2+.
type want [4]crossplane.Outcome

const (
	B = crossplane.OutcomeBaseLayer
	F = crossplane.OutcomeFlatten
	X = crossplane.OutcomeFail
)

type scenario struct {
	name string
	// push writes the image(s) under test into repo on host and returns the
	// reference to inspect and, optionally, its upstream.
	push func(t *testing.T, host string) (ref, upstream string)
	want want
	// messages are substrings expected in the verdict message per generation ("" = no check).
	messages [4]string
	codes    []findings.Code // finding codes expected (exactly this set)
	check    func(t *testing.T, img inspect.Image)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func scenarios() []scenario {
	return []scenario{
		{
			name: "genuine single image",
			push: func(t *testing.T, host string) (string, string) {
				ref := host + "/upbound/provider-nop:v1"
				must(t, xpkgtest.Push(ref, provider.Image(amd64)))
				return ref, ""
			},
			want:     want{B, B, B, B},
			messages: [4]string{"reads package.yaml from annotated layer 1", "", "", ""},
			codes:    nil,
			check: func(t *testing.T, img inspect.Image) {
				if img.Package == nil || img.Package.Meta == nil || img.Package.Meta.Name != "provider-nop" || img.Package.Meta.Kind != "Provider" {
					t.Fatalf("package meta = %+v", img.Package)
				}
				if d := img.Package.Meta.DependsOn; len(d) != 1 || d[0].Package != "xpkg.upbound.io/upbound/provider-family-aws" || d[0].Version != ">=v1.6.0" {
					t.Fatalf("dependsOn = %+v", d)
				}
				if img.Package.Meta.Crossplane != ">=v1.14.0-0" {
					t.Fatalf("crossplane constraint = %q", img.Package.Meta.Crossplane)
				}
			},
		},
		{
			name: "genuine 2-platform index",
			push: func(t *testing.T, host string) (string, string) {
				ref := host + "/upbound/provider-nop:v1"
				must(t, xpkgtest.Push(ref, provider.Index()))
				return ref, ref
			},
			want:     want{B, B, B, B},
			messages: [4]string{},
			codes:    nil,
			check: func(t *testing.T, img inspect.Image) {
				if !img.IsIndex || len(img.Platforms) != 2 || !img.Platforms[0].Selected || img.Platforms[1].Selected {
					t.Fatalf("platforms = %+v", img.Platforms)
				}
				if img.Platforms[1].Platform != "linux/arm64" || img.Platforms[1].BaseScan != nil {
					t.Fatalf("arm64 child should be read shallowly: %+v", img.Platforms[1])
				}
				if img.Upstream == nil || !img.Upstream.Identical || img.Upstream.Cause != "byte-identical" {
					t.Fatalf("upstream = %+v", img.Upstream)
				}
			},
		},
		{
			name: "OCI media types",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.OCI = true
				ref := host + "/upbound/provider-oci:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want: want{B, B, B, B},
		},
		{
			name: "docker pull/tag/push of an index",
			push: func(t *testing.T, host string) (string, string) {
				up := host + "/upstream/provider-nop:v1"
				must(t, xpkgtest.Push(up, provider.Index()))
				mirror := host + "/mirror/provider-nop:v1"
				must(t, xpkgtest.DockerRepush(mirror, provider.Image(amd64)))
				return mirror, up
			},
			want:     want{F, F, F, F},
			messages: [4]string{"validates the whole image", "validates the whole image", "validates the whole image", "flattens the image top-down"},
			codes:    []findings.Code{findings.BaseLayerAnnotationMissing, findings.MirrorDigestDiffers, findings.IndexCollapsed},
			check: func(t *testing.T, img inspect.Image) {
				if c := img.Upstream.Cause; !strings.Contains(c, "consistent with docker pull/tag/push") || !strings.Contains(c, "index collapsed to linux/amd64") {
					t.Fatalf("cause = %q", c)
				}
				for _, f := range img.Findings {
					if f.Severity == findings.Error {
						t.Fatalf("a docker mirror of a small package must not be an error: %+v", f)
					}
				}
			},
		},
		{
			name: "recompressed layers",
			push: func(t *testing.T, host string) (string, string) {
				up := host + "/upstream/provider-nop:v1"
				must(t, xpkgtest.Push(up, provider.Image(amd64)))
				mirror := host + "/mirror/provider-nop:v1"
				must(t, xpkgtest.Recompress(mirror, provider.Image(amd64)))
				return mirror, up
			},
			want:  want{F, F, F, F},
			codes: []findings.Code{findings.BaseLayerAnnotationMissing, findings.LayersRecompressed, findings.MirrorDigestDiffers},
			check: func(t *testing.T, img inspect.Image) {
				if !strings.Contains(img.Upstream.Cause, "layers recompressed") {
					t.Fatalf("cause = %q", img.Upstream.Cause)
				}
			},
		},
		{
			name: "./package.yaml in the annotated layer",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.Path = "./package.yaml"
				ref := host + "/upbound/provider-dot:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want: want{X, X, B, B},
			messages: [4]string{
				"cannot initialize parser backend: failed to open package stream file: EOF",
				`cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: true): EOF`,
				"reads ./package.yaml", "reads ./package.yaml"},
			codes: []findings.Code{findings.PackageYAMLNotAtRoot},
		},
		{
			name: "./package.yaml in an unannotated image",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.Path, p.NoAnnotation = "./package.yaml", true
				ref := host + "/upbound/provider-dot:v2"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want:  want{F, F, F, F},
			codes: []findings.Code{findings.BaseLayerAnnotationMissing},
		},
		{
			name: "two base layers",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.Runtime = []v1.Layer{xpkgtest.Layer(xpkgtest.File{Name: "bin/provider", Body: []byte("x")})}
				p.ExtraBase = 1
				ref := host + "/upbound/provider-twobase:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want:     want{X, X, X, X},
			messages: [4]string{"cannot initialize parser backend: package is invalid due to multiple annotated base layers", "", "", `cannot unpack package: cannot extract package content from`},
			codes:    []findings.Code{findings.MultipleBaseLayers, findings.PackageYAMLNotFound},
			check: func(t *testing.T, img inspect.Image) {
				// v2.2+ reads only the first annotated layer; say where package.yaml is.
				f := findingOf(img, findings.PackageYAMLNotFound)
				if f == nil || !contains(f.Evidence, "package.yaml is in annotated layer 2, but Crossplane reads only the first annotated layer, 1, which has none") {
					t.Fatalf("%+v", f)
				}
			},
		},
		{
			name: "300 layers",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				for i := 0; i < 299; i++ {
					p.Runtime = append(p.Runtime, xpkgtest.Layer(xpkgtest.File{Name: fmt.Sprintf("f%03d", i), Body: []byte{byte(i)}}))
				}
				ref := host + "/upbound/provider-layers:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want:     want{X, X, X, B},
			messages: [4]string{"cannot initialize parser backend: package has 300 layers, but only 256 are allowed", "", "", ""},
			codes:    []findings.Code{findings.TooManyLayers},
		},
		{
			name: "runtime image pushed in place of the package",
			push: func(t *testing.T, host string) (string, string) {
				ref := host + "/upbound/provider-nop:v1"
				must(t, xpkgtest.Push(ref, xpkgtest.RuntimeImage(amd64)))
				return ref, ""
			},
			want: want{X, X, X, X},
			messages: [4]string{"failed to open package stream file: EOF",
				`cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`,
				`cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`,
				`/upbound/provider-nop:v1: package.yaml not found in package`},
			codes: []findings.Code{findings.BaseLayerAnnotationMissing, findings.PackageYAMLNotFound},
		},
		{
			name: "invalid YAML",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.YAML = []byte("---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata: [unclosed\n")
				ref := host + "/upbound/provider-bad:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want: want{X, X, X, X},
			// apimachinery's YAMLReader keeps the leading "---" in the first
			// document, so goyaml's line is the file's.
			messages: [4]string{"cannot parse package contents: yaml: line 4: did not find expected ',' or ']'", "", "",
				"cannot unpack package: cannot parse package " /* + ref */},
			codes: []findings.Code{findings.PackageYAMLInvalid},
			check: func(t *testing.T, img inspect.Image) {
				if img.Package.ParseErrorLine != 4 || !img.Package.ParseErrorExact {
					t.Fatalf("parse error line %d exact %v", img.Package.ParseErrorLine, img.Package.ParseErrorExact)
				}
				for _, v := range img.Verdicts {
					if !v.Exact || v.Stage != crossplane.StageParse {
						t.Fatalf("%s: exact %v stage %s", v.Crossplane, v.Exact, v.Stage)
					}
				}
			},
		},
		{
			name: "no meta object",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.YAML = []byte("---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.example.org\nspec:\n  group: example.org\n")
				ref := host + "/upbound/provider-nometa:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want: want{X, X, X, X},
			messages: [4]string{"linting package contents failed: not exactly one package meta type", "", "",
				"validating package contents failed: not exactly one package meta type"},
			codes: []findings.Code{findings.PackageYAMLInvalid},
		},
		{
			name: "an object Crossplane's parser has no scheme for",
			push: func(t *testing.T, host string) (string, string) {
				p := provider
				p.YAML = append(p.PackageYAML(), []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")...)
				ref := host + "/upbound/provider-configmap:v1"
				must(t, xpkgtest.Push(ref, p.Image(amd64)))
				return ref, ""
			},
			want: want{X, X, X, X},
			messages: [4]string{`cannot parse package contents: no kind "ConfigMap" is registered for version "v1"`, "", "",
				`: no kind "ConfigMap" is registered for version "v1"`},
			codes: []findings.Code{findings.PackageYAMLInvalid},
		},
		{
			name: "missing tag",
			push: func(t *testing.T, host string) (string, string) {
				must(t, xpkgtest.Push(host+"/upbound/provider-nop:v1", provider.Image(amd64)))
				return host + "/upbound/provider-nop:v9", ""
			},
			want: want{X, X, X, X},
			messages: [4]string{"cannot unpack package: failed to fetch package digest from remote", "", "",
				"cannot unpack package: cannot resolve " /* + ref */},
			codes: []findings.Code{findings.ManifestNotFound},
		},
		{
			name: "index without linux/amd64",
			push: func(t *testing.T, host string) (string, string) {
				ref := host + "/upbound/provider-arm:v1"
				must(t, xpkgtest.Push(ref, provider.Index(v1.Platform{OS: "linux", Architecture: "arm64"})))
				return ref, ""
			},
			want:     want{X, X, X, X},
			messages: [4]string{"cannot initialize parser backend: failed to fetch package from remote: no child with platform linux/amd64 in index ", "", "", "no child with platform linux/amd64 in index "},
			codes:    []findings.Code{findings.NoPlatformMatch},
		},
	}
}

func runScenario(t *testing.T, host string, s scenario, opts ...xpkg.Option) inspect.Image {
	t.Helper()
	ref, up := s.push(t, host)
	targets, err := crossplane.Select(nil)
	must(t, err)
	rep, err := inspect.Run(context.Background(), xpkg.NewClient(opts...), []inspect.Request{{Reference: ref, Upstream: up}},
		inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	must(t, err)
	return rep.Images[0]
}

func TestInspectScenarios(t *testing.T) {
	for _, reg := range testregistry.All(t) {
		for _, s := range scenarios() {
			t.Run(reg.Name+"/"+s.name, func(t *testing.T) {
				img := runScenario(t, reg.Host, s, xpkg.WithKeychain(authn.NewMultiKeychain()))
				for i, v := range img.Verdicts {
					if v.Outcome != s.want[i] {
						t.Errorf("%s: outcome %s, want %s (%s)", v.Crossplane, v.Outcome, s.want[i], v.Message)
					}
					if s.messages[i] != "" && !strings.Contains(v.Message, s.messages[i]) {
						t.Errorf("%s: message %q does not contain %q", v.Crossplane, v.Message, s.messages[i])
					}
				}
				got := map[findings.Code]bool{}
				for _, f := range img.Findings {
					got[f.Code] = true
				}
				wantCodes := map[findings.Code]bool{}
				for _, c := range s.codes {
					wantCodes[c] = true
					if !got[c] {
						t.Errorf("missing finding %s; got %v", c, codes(img.Findings))
					}
				}
				for c := range got {
					if !wantCodes[c] {
						t.Errorf("unexpected finding %s; got %v", c, codes(img.Findings))
					}
				}
				if s.check != nil && !t.Failed() {
					s.check(t, img)
				}
			})
		}
	}
}

func codes(fs []findings.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+":"+string(f.Code))
	}
	return out
}

// TestRuntimeImageMessageMatchesCrossplane pins the exact v2.2+ text real
// Crossplane v2.3.4 emitted for a runtime image (test-infrastructure.md s.5 e).
func TestRuntimeImageMessageMatchesCrossplane(t *testing.T) {
	reg := testregistry.InProcess(t)
	ref := reg.Host + "/feas/runtime:amd64"
	must(t, xpkgtest.Push(ref, xpkgtest.RuntimeImage(amd64)))
	targets, err := crossplane.Select([]string{"v2.3.4", "v2.1.3"})
	must(t, err)
	rep, err := inspect.Run(context.Background(), xpkg.NewClient(), []inspect.Request{{Reference: ref}}, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	must(t, err)
	got := []string{rep.Images[0].Verdicts[0].Message, rep.Images[0].Verdicts[1].Message}
	want := []string{
		"cannot unpack package: cannot extract package content from " + ref + ": package.yaml not found in package",
		`cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("verdict %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestAuth(t *testing.T) {
	regs := []testregistry.Registry{testregistry.InProcess(t, testregistry.BasicAuth("robot", "s3cret-token-XPD"))}
	for _, reg := range regs {
		ref := reg.Host + "/private/provider-nop:v1"
		must(t, xpkgtest.Push(ref, provider.Image(amd64), remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret-token-XPD"})))
		s := scenario{push: func(*testing.T, string) (string, string) { return ref, "" }}
		img := runScenario(t, reg.Host, s, xpkg.WithKeychain(authn.NewMultiKeychain()))
		if len(img.Findings) == 0 || img.Findings[0].Code != findings.RegistryUnauthorized {
			t.Fatalf("without credentials: findings %v", codes(img.Findings))
		}
		for _, v := range img.Verdicts {
			if v.Outcome != X || v.Reason != findings.RegistryUnauthorized {
				t.Fatalf("verdict %+v", v)
			}
		}
		img = runScenario(t, reg.Host, s, xpkg.WithKeychain(staticKeychain{"robot", "s3cret-token-XPD"}))
		if !img.Healthy() {
			t.Fatalf("with credentials: %v %+v", codes(img.Findings), img.Verdicts)
		}
	}
}

type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

func TestAuthRealRegistry(t *testing.T) {
	reg := testregistry.Process(t, "robot", "s3cret-token-XPD")
	ref := reg.Host + "/private/provider-nop:v1"
	must(t, xpkgtest.Push(ref, provider.Image(amd64), remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret-token-XPD"})))
	s := scenario{push: func(*testing.T, string) (string, string) { return ref, "" }}
	img := runScenario(t, reg.Host, s, xpkg.WithKeychain(authn.NewMultiKeychain()))
	if len(img.Findings) == 0 || img.Findings[0].Code != findings.RegistryUnauthorized {
		t.Fatalf("without credentials: %v", codes(img.Findings))
	}
	if strings.Contains(fmt.Sprintf("%+v", img), "s3cret-token-XPD") {
		t.Fatal("the password leaked into the report")
	}
	img = runScenario(t, reg.Host, s, xpkg.WithKeychain(staticKeychain{"robot", "s3cret-token-XPD"}))
	if !img.Healthy() {
		t.Fatalf("with credentials: %v", codes(img.Findings))
	}
}

func TestTLSVerifiedUnlessNamedInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	ref := host + "/tls/provider-nop:v1"
	must(t, xpkgtest.Push(ref, provider.Image(amd64), remote.WithTransport(srv.Client().Transport)))
	s := scenario{push: func(*testing.T, string) (string, string) { return ref, "" }}
	img := runScenario(t, host, s)
	if len(img.Findings) == 0 || img.Findings[0].Code != findings.RegistryTLSUntrusted {
		t.Fatalf("untrusted certificate: %v %s", codes(img.Findings), img.Error)
	}
	img = runScenario(t, host, s, xpkg.WithInsecureRegistries(host))
	if !img.Healthy() {
		t.Fatalf("named insecure: %v %s", codes(img.Findings), img.Error)
	}
}
