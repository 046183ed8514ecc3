package diagnose

import (
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// Messages as Crossplane emits them, per era (../shared/reference/crossplane-packages.md s.2.4-2.5, s.5).
func TestClassify(t *testing.T) {
	cases := []struct {
		msg  string
		code findings.Code
		gen  string
	}{
		{`cannot initialize parser backend: couldn't find "package.yaml" file after checking 108 files in the archive (annotated layer: false): EOF`, findings.PackageYAMLNotFound, "v1.x-v2.1"},
		{`cannot initialize parser backend: failed to open package stream file: EOF`, findings.PackageYAMLNotFound, "v1.x-v2.1"},
		{`cannot unpack package: cannot extract package content from r.io/p:v1: package.yaml not found in package`, findings.PackageYAMLNotFound, "v2.2+"},
		{`cannot get package: cannot extract package content from r.io/p:v1: package.yaml not found in package`, findings.PackageYAMLNotFound, "v2.2+"},
		{`Package revision health is "False" with message: cannot initialize parser backend: package is invalid due to multiple annotated base layers`, findings.MultipleBaseLayers, "v1.x-v2.1"},
		{`cannot initialize parser backend: package has 300 layers, but only 256 are allowed`, findings.TooManyLayers, "v1.x-v2.1"},
		{`cannot initialize parser backend: failed to fetch package from remote: GET https://x.dkr.ecr.us-east-1.amazonaws.com/v2/xpkg.upbound.io/upbound/provider-aws-elasticache/manifests/v0.46.1: unexpected status code 401 Unauthorized: Not Authorized`, findings.RegistryUnauthorized, "v1.x-v2.1"},
		{`cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: HEAD http://h/v2/r/manifests/missing: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details): GET http://h/v2/r/manifests/missing: MANIFEST_UNKNOWN: manifest unknown; map[Tag:missing]`, findings.ManifestNotFound, "v1.x-v2.1"},
		{`cannot unpack package: cannot resolve xpkg.upbound.io/upbound/provider-aws-iam:v2.6.1 to digest: Get "https://xpkg.upbound.io/v2/": dial tcp 34.111.161.63:443: i/o timeout`, findings.RegistryUnreachable, "v2.2+"},
		{`cannot initialize parser backend: failed to fetch package from remote: Get "https://reg.corp/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`, findings.RegistryTLSUntrusted, "v1.x-v2.1"},
		{`cannot initialize parser backend: invalid package image: validating layers: context deadline exceeded validating config: Get "https://art/v2/upbound/provider-aws-cloudwatchlogs/blobs/sha256:aa" context deadline exceeded`, findings.FlattenPathTooSlow, "v1.x-v2.1"},
		{`cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]`, findings.DependencyUnresolvable, ""},
		{`cannot resolve package dependencies: cannot initialize dependency graph from the packages in the lock: node xpkg.upbound.io/upbound/provider-family-aws already exists`, findings.DependencyGraphInconsistent, ""},
		{`failed to get pre-cached package with pull policy Never`, findings.PullPolicyNeverNotCached, ""},
		{`cannot unpack package: package not in cache and pull policy is Never`, findings.PullPolicyNeverNotCached, ""},
		{`Signature verification failed using ImageConfig named "verify": signature verification failed`, findings.SignatureVerificationFailed, ""},
		{`incompatible Crossplane version: package is not compatible with Crossplane version (v1.20.0)`, findings.CrossplaneVersionIncompat, ""},
		{`linting package contents failed: not exactly one package meta type`, findings.PackageYAMLInvalid, ""},
		{`post establish runtime hook failed for package: provider package deployment is unavailable with message: Deployment does not have minimum availability.`, findings.RuntimeNotAvailable, ""},
		{`Package runtime health is "False" with message: post establish runtime hook failed for package: provider package deployment has no condition of type "Available" yet`, findings.RuntimeNotAvailable, ""},
		{`cannot initialize parser backend: failed to fetch package from remote: no child with platform linux/amd64 in index r.io/p:v1`, findings.NoPlatformMatch, "v1.x-v2.1"},
	}
	for _, c := range cases {
		got, ok := Classify(c.msg)
		if !ok || got.Code != c.code || got.Generation != c.gen {
			t.Errorf("%s\n  got %q %q (ok=%v), want %q %q", c.msg, got.Code, got.Generation, ok, c.code, c.gen)
		}
		if strings.HasPrefix(got.Inner, "cannot initialize parser backend") {
			t.Errorf("wrapper left in %q", got.Inner)
		}
	}
	// A wrapper with an unknown inner cause is not a cause.
	if c, ok := Classify("cannot initialize parser backend: something new"); ok {
		t.Errorf("classified a bare wrapper as %s", c.Code)
	}
}

func TestMissingDependencies(t *testing.T) {
	got := MissingDependencies("cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws xpkg.crossplane.io/crossplane-contrib/function-go]")
	if len(got) != 2 || got[1].Package != "xpkg.crossplane.io/crossplane-contrib/function-go" {
		t.Fatalf("%v", got)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(`cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`)
	f.Add(`Package runtime health is "False" with message: cannot unpack package: cannot get package: `)
	f.Add(`missing dependencies: [`)
	f.Fuzz(func(t *testing.T, msg string) {
		c, ok := Classify(msg)
		if ok && c.Code == "" {
			t.Fatal("classified without a code")
		}
		if len(c.Inner) > len(msg) {
			t.Fatal("inner longer than the message")
		}
		_ = MissingDependencies(msg)
	})
}
