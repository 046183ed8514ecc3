package diagnose

import (
	"slices"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// cause is one scenario of a real report: a package whose revision carries
// a message, the rest of the snapshot, and what the finding must say.
type cause struct {
	name string
	// msg is the revision's Healthy message; its source is cited with the case.
	msg     string
	kind    string // Provider when empty
	ref     string
	version string // "" for an unknown Crossplane version
	dump    bool
	setup   func(s *cluster.Snapshot, p *cluster.Package, r *cluster.Revision)
	images  map[string]inspect.Image

	code              findings.Code
	alternatives      []findings.Code
	msgHas, fixHas    []string
	fixHasNot, msgNot []string
}

func (tc cause) run(t *testing.T) findings.Finding {
	t.Helper()
	kind := tc.kind
	if kind == "" {
		kind = "Provider"
	}
	ref := tc.ref
	if ref == "" {
		ref = "xpkg.upbound.io/upbound/provider-aws-ec2:v1.6.0"
	}
	name := "provider-x"
	if kind != "Provider" {
		name = strings.ToLower(kind) + "-x"
	}
	p := cluster.Package{Kind: kind, Name: name, Package: ref, CurrentRevision: name + "-0123456789ab",
		Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "False"}}}
	r := cluster.Revision{Kind: kind + "Revision", Name: name + "-0123456789ab", Parent: name, Image: ref, DesiredState: "Active", Revision: 2,
		Conditions: []cluster.Condition{{Type: "Healthy", Status: "False", Reason: "UnhealthyPackageRevision", Message: tc.msg}}}
	s := &cluster.Snapshot{CrossplaneNamespace: "crossplane-system", FromDump: tc.dump}
	if tc.setup != nil {
		tc.setup(s, &p, &r)
	}
	s.Packages = append([]cluster.Package{p}, s.Packages...)
	s.Revisions = append([]cluster.Revision{r}, s.Revisions...)
	in := Input{Snapshot: s, Images: tc.images}
	if tc.version != "" {
		in.Targets, in.VersionKnown = target(t, tc.version), true
	}
	rep := Diagnose(in)
	var root findings.Finding
	for _, row := range rep.Packages {
		if row.Name == name {
			for _, f := range rep.Findings {
				if f.Subject.Name == name && f.Code == row.Finding {
					root = f
					break
				}
			}
		}
	}
	if root.Code != tc.code {
		t.Fatalf("root cause %s, want %s\n%+v", root.Code, tc.code, rep.Findings)
	}
	if !slices.Equal(root.Alternatives, tc.alternatives) {
		t.Errorf("alternatives %v, want %v", root.Alternatives, tc.alternatives)
	}
	for _, w := range tc.msgHas {
		if !strings.Contains(root.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, root.Message)
		}
	}
	for _, w := range tc.msgNot {
		if strings.Contains(root.Message, w) {
			t.Errorf("message says %q:\n%s", w, root.Message)
		}
	}
	for _, w := range tc.fixHas {
		if !strings.Contains(root.Remediation, w) {
			t.Errorf("fix lacks %q:\n%s", w, root.Remediation)
		}
	}
	for _, w := range append(tc.fixHasNot, "transient") {
		if strings.Contains(root.Remediation, w) || strings.Contains(strings.Join(root.Evidence, "\n"), w) {
			t.Errorf("fix or evidence says %q:\n%s\n%v", w, root.Remediation, root.Evidence)
		}
	}
	return root
}

func runCauses(t *testing.T, cases []cause) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t) })
	}
}

// Messages: corpus xp-2219, xp-6761, upjet-gcp-601 (crossplane-runtime
// pkg/meta/meta.go@v2.3.3 AddControllerReference), upjet-aws-1909
// (apimachinery ValidateOwnerReferences).
func TestOwnershipConflict(t *testing.T) {
	const other = `cannot establish control of object: mysqlserverfirewallrules.database.azure.crossplane.io is already controlled by ProviderRevision crossplane-provider-azure-v0-15-0-5351bb4315f9 (UID 8467e24a-ed12-411c-bd7f-5f76f095af2c)`
	const stale = `cannot establish control of object: addresses.compute.gcp.upbound.io is already controlled by ProviderRevision provider-x-a41e4ba551fc (UID 58db5dee-38e7-40f9-9d31-669bb25a688e)`
	runCauses(t, []cause{
		{name: "another package ships the object", msg: other, version: "v1.4.0",
			setup: func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
				s.Packages = append(s.Packages, cluster.Package{Kind: "Provider", Name: "crossplane-provider-azure-v0-15-0", Package: "crossplane/provider-azure:v0.15.0"})
			},
			code:   findings.OwnershipConflict,
			msgHas: []string{"a revision of Provider crossplane-provider-azure-v0-15-0 (crossplane/provider-azure:v0.15.0)", "two packages install the same object"},
			fixHas: []string{"kubectl delete provider crossplane-provider-azure-v0-15-0"}, fixHasNot: []string{"mirror"}},
		{name: "a revision gone from a live cluster", msg: stale, version: "v2.0.2",
			code:   findings.OwnershipConflict,
			msgHas: []string{"which no longer exists", "stale controller reference"},
			fixHas: []string{`select(.uid=="58db5dee-38e7-40f9-9d31-669bb25a688e") | .controller) = false`, "kubectl get crd addresses.compute.gcp.upbound.io", "provider-x-a41e4ba551fc"}},
		{name: "a revision a dump does not show", msg: stale, version: "v2.0.2", dump: true,
			code:      findings.OwnershipConflict,
			msgHas:    []string{"the input does not say whether that revision still exists", "a package named provider-x, this one"},
			msgNot:    []string{"no longer exists"},
			fixHas:    []string{"kubectl get providerrevision provider-x-a41e4ba551fc", ".controller) = false"},
			fixHasNot: []string{"mirror"}},
		{name: "an older revision of this package still holds it", msg: stale, version: "v1.16.0",
			setup: func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
				s.Revisions = append(s.Revisions, cluster.Revision{Kind: "ProviderRevision", Name: "provider-x-a41e4ba551fc", Parent: "provider-x", DesiredState: "Inactive", Revision: 1})
			},
			code: findings.OwnershipConflict, msgHas: []string{"another revision of provider-x that still holds control"}},
		{name: "two controller references", version: "v2.1.0",
			msg:    `CustomResourceDefinition.apiextensions.k8s.io "routes.ec2.aws.upbound.io" is invalid: ....... Only one reference can have Controller set to true. Found "true" in references for ProviderRevision/provider-aws-ec2-aaaa and ProviderRevision/provider-aws-ec2-bbbb`,
			code:   findings.OwnershipConflict,
			fixHas: []string{"kubectl get crd routes.ec2.aws.upbound.io", `select(.name=="provider-aws-ec2-aaaa")`, "controller ownerReference"}},
	})
}

// Messages: corpus contrib-provider-aws-1647 (k8schain in
// internal/xpkg/fetch.go@v1.10.0), contrib-provider-kubernetes-146.
func TestPullSecretNotFound(t *testing.T) {
	const msg = `cannot initialize parser backend: failed to fetch package from remote: secrets "dockerhub" not found`
	runCauses(t, []cause{
		{name: "named by the package", msg: msg, version: "v1.10.2",
			setup: func(s *cluster.Snapshot, p *cluster.Package, _ *cluster.Revision) {
				p.PullSecrets = []string{"dockerhub"}
			},
			code:   findings.PullSecretNotFound,
			msgHas: []string{`"dockerhub" does not exist in namespace crossplane-system`, "spec.packagePullSecrets of Provider provider-x"},
			fixHas: []string{"kubectl -n crossplane-system create secret docker-registry dockerhub"}, fixHasNot: []string{"mirror"}},
		{name: "named by Crossplane's ServiceAccount", msg: msg, version: "v1.10.2",
			setup: func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
				s.CrossplaneNamespace = "upbound-system"
				s.CrossplanePullSecrets = []string{"dockerhub"}
			},
			code:   findings.PullSecretNotFound,
			msgHas: []string{"namespace upbound-system", "Crossplane's ServiceAccount or Deployment (the Helm chart's imagePullSecrets)"}},
		{name: "an empty name", version: "v1.13.0",
			msg:    `cannot unpack package: failed to fetch package digest from remote: resource name may not be empty`,
			code:   findings.PullSecretNotFound,
			msgHas: []string{"empty name"}, fixHas: []string{"imagePullSecrets"}},
	})
}

// Messages: corpus xp-5082 (revision/establisher.go@v1.14.0 errGetWebhookTLSSecret),
// contrib-provider-kubernetes-270 (errConversionWithNoWebhookCA).
func TestWebhookTLSNotReady(t *testing.T) {
	const manual = `cannot establish control of object: cannot get webhook tls secret: secrets "provider-x-tls-server" not found`
	inactive := func(_ *cluster.Snapshot, p *cluster.Package, r *cluster.Revision) {
		p.RevisionActivationPolicy, r.DesiredState = "Manual", "Inactive"
	}
	runCauses(t, []cause{
		{name: "manual activation before v1.15", msg: manual, version: "v1.14.3", setup: inactive,
			code:   findings.WebhookTLSNotReady,
			msgHas: []string{"revisionActivationPolicy: Manual", "before v1.15", "provider-x-tls-server"},
			fixHas: []string{`kubectl patch providerrevision provider-x-0123456789ab --type merge -p '{"spec":{"desiredState":"Active"}}'`}, fixHasNot: []string{"mirror"}},
		{name: "secret not created yet", version: "v1.16.0",
			msg:    `cannot establish control of object: cannot deploy a CRD with webhook conversion strategy without having a TLS bundle`,
			code:   findings.WebhookTLSNotReady,
			msgHas: []string{"crossplane-system/provider-x-tls-server", "does not exist yet or is empty"},
			msgNot: []string{"Manual"},
			fixHas: []string{"kubectl -n crossplane-system get secret provider-x-tls-server"}},
	})
}

// A timeout talking to the API server is not a registry's: told apart by
// the URL (corpus contrib-provider-aws-1511), the client that failed
// (uxp-280) and the stage (xp-2849); the same timeout on a registry URL
// (corpus xp-6660) stays RegistryUnreachable.
func TestAPIServerOrRegistry(t *testing.T) {
	runCauses(t, []cause{
		{name: "API URL", version: "v1.9.1",
			msg:    `cannot establish control of object: Put "https://172.16.0.1:443/apis/apiextensions.k8s.io/v1/customresourcedefinitions/volumes.ec2.aws.crossplane.io": context deadline exceeded`,
			code:   findings.KubernetesAPIUnavailable,
			msgHas: []string{"172.16.0.1:443 is the API server", "the registry is not involved"}, fixHasNot: []string{"mirror", "proxy"}},
		{name: "client rate limiter", version: "v1.9.0",
			msg:    `cannot establish control of object: client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline`,
			code:   findings.KubernetesAPIUnavailable,
			msgHas: []string{"throttled"}},
		{name: "establish stage", version: "v1.6.1",
			msg:  `cannot establish control of object: context deadline exceeded`,
			code: findings.KubernetesAPIUnavailable, msgHas: []string{"establishing the package's objects"}},
		{name: "registry URL", version: "v2.0.0",
			msg:    `cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: Get "https://xpkg.crossplane.io/v2/": context deadline exceeded: Get "https://xpkg.crossplane.io/v2/": context deadline exceeded`,
			code:   findings.RegistryUnreachable,
			msgHas: []string{"xpkg.crossplane.io"}, fixHas: []string{"HTTPS_PROXY"}},
	})
}

// Messages: corpus contrib-provider-gcp-488 (deployment.go@v1.5.0 uses
// spec.controller.image as is), xp-5621.
func TestRuntimeManifestRejected(t *testing.T) {
	runCauses(t, []cause{
		{name: "no controller image before v1.6", version: "v1.5.1",
			msg:    `cannot run post establish hook for package: cannot apply provider package deployment: cannot create object: Deployment.apps "provider-gcp-63e92883e260" is invalid: spec.template.spec.containers[0].image: Required value`,
			code:   findings.RuntimeManifestRejected,
			msgHas: []string{"spec.controller.image", "before v1.6"}, fixHas: []string{"Crossplane v1.6 or later", "spec.controller.image"}, fixHasNot: []string{"mirror"}},
		{name: "immutable field", version: "v1.15.0",
			msg:    `pre establish runtime hook failed for package: cannot apply function package service: cannot patch object: Service "crossform" is invalid: spec.clusterIPs[0]: Invalid value: []string{"None"}: may not change once set`,
			code:   findings.RuntimeManifestRejected,
			msgHas: []string{`Service "crossform"`, "may not change once set"}, fixHas: []string{"delete service"}},
	})
}

// Messages: corpus xp-6579 (the cache.Store tee of revision/reconciler.go@v2.1.3),
// contrib-provider-aws-2140.
func TestCacheAndTruncation(t *testing.T) {
	runCauses(t, []cause{
		{name: "missing cache file", version: "v1.20.0",
			msg:    `cannot parse package contents: open /cache/xpkg/provider-azure-authorization-b61976532d69.gz: no such file or directory`,
			code:   findings.PackageCacheUnusable,
			msgHas: []string{"package cache lacks a file"}, fixHas: []string{"kubectl delete providerrevision provider-x-0123456789ab"}, fixHasNot: []string{"rebuild", "xpkg build"}},
		{name: "truncated contents", version: "v1.20.0",
			msg:          `cannot parse package contents: unexpected EOF`,
			code:         findings.PackageDownloadIncomplete,
			alternatives: []findings.Code{findings.PackageCacheUnusable},
			fixHasNot:    []string{"xpkg build"}},
	})
}

// The kubelet evicts Crossplane's pod when the package cache emptyDir
// overflows (corpus xp-2877): every unexplained package gets it.
func TestCrossplanePodEvicted(t *testing.T) {
	runCauses(t, []cause{{name: "evicted", version: "v1.6.2", msg: "",
		setup: func(s *cluster.Snapshot, _ *cluster.Package, r *cluster.Revision) {
			r.Conditions = nil
			s.CrossplanePods = []cluster.Pod{{Namespace: "crossplane-system", Name: "crossplane-7d9f8-x2x4z", Phase: "Failed", Reason: "Evicted",
				Message: `Usage of EmptyDir volume "package-cache" exceeds the limit "5Mi". `}}
		},
		code: findings.PackageCacheUnusable, msgHas: []string{"evicted"}, fixHas: []string{"packageCache.sizeLimit"}}})
}

// Messages: corpus xp-5971 (internal/xpkg/lint.go@v1.17.0), xp-1810, and
// v2.3's validator (revision/reconciler.go@v2.3.4 errValidatePackage).
func TestPackageKindMismatch(t *testing.T) {
	metaOf := func(kind string) map[string]inspect.Image {
		return map[string]inspect.Image{"xpkg.upbound.io/acme/config:v1": {Reference: "xpkg.upbound.io/acme/config:v1",
			Package: &xpkg.PackageFile{MetaCount: 1, Meta: &xpkg.Meta{APIVersion: "meta.pkg.crossplane.io/v1", Kind: kind, Name: "config"}}}}
	}
	runCauses(t, []cause{
		{name: "a Configuration installed as a Provider", version: "v2.3.4", ref: "xpkg.upbound.io/acme/config:v1", images: metaOf("Configuration"),
			msg:    `validating package contents failed: package meta type is not Provider`,
			code:   findings.PackageKindMismatch,
			msgHas: []string{"declares kind Configuration"}, fixHas: []string{"install it as a Configuration", "kubectl delete provider provider-x"}},
		{name: "without the image, on v2.1", version: "v2.1.3",
			msg:    `linting package contents failed: package meta type is not Provider`,
			code:   findings.PackageKindMismatch,
			fixHas: []string{"kubectl xpdoctor inspect", "install it as that kind"}},
		{name: "a Function before v1.18", kind: "Function", version: "v1.17.1",
			msg:          `linting package contents failed: package meta type is not Function`,
			code:         findings.PackageKindMismatch,
			alternatives: []findings.Code{findings.PackageMetaVersionUnsupported},
			fixHas:       []string{"meta.pkg.crossplane.io/v1beta1", "kubectl xpdoctor inspect"}, fixHasNot: []string{"Configuration"}},
		{name: "a Function at meta v1 before v1.18, inspected", kind: "Function", version: "v1.17.1", ref: "xpkg.upbound.io/acme/config:v1", images: metaOf("Function"),
			msg:  `linting package contents failed: package meta type is not Function`,
			code: findings.PackageMetaVersionUnsupported, msgHas: []string{"meta.pkg.crossplane.io/v1"}},
		{name: "linted with another kind's linter", kind: "Configuration",
			msg:       `package meta type is not Provider`,
			code:      findings.PackageUnhealthy,
			msgHas:    []string{"a defect of this Crossplane build"},
			fixHasNot: []string{"as a Configuration", "crossplane xpkg build"}},
	})
}

// Messages: corpus xp-2680, upbound-platform-ref-aws-27,
// contrib-function-environment-configs-19, xp-6137-b, xp-4071-b
// (internal/xpkg/lint.go@v2.1.3 errFmtCrossplaneIncompatible).
func TestCrossplaneVersionUnknown(t *testing.T) {
	runCauses(t, []cause{
		{name: "empty", msg: `incompatible Crossplane version: package is not compatible with Crossplane version (): Invalid Semantic Version`,
			code: findings.CrossplaneVersionUnknown, msgHas: []string{"empty version"}, fixHas: []string{"ignoreCrossplaneConstraints"}, fixHasNot: []string{"upgrade Crossplane"}},
		{name: "development build", msg: `package is not compatible with Crossplane version (v0.0.1-38.g61109ab8)`,
			code: findings.CrossplaneVersionUnknown, msgHas: []string{"development build"}},
		{name: "pre-release build", msg: `incompatible Crossplane version: package is not compatible with Crossplane version (v1.16.0-rc.0.38.gdd131a7a)`,
			code: findings.CrossplaneVersionUnknown},
		{name: "not semver", msg: `incompatible Crossplane version: package is not compatible with Crossplane version (release-1.20-imdsv2): Invalid Semantic Version`,
			code: findings.CrossplaneVersionUnknown, msgHas: []string{"not a semantic version"}},
		{name: "a release the constraint excludes", msg: `incompatible Crossplane version: package is not compatible with Crossplane version (v1.13.2)`,
			code: findings.CrossplaneVersionIncompat, fixHas: []string{"package version"}},
	})
}

// Messages: corpus xp-3222 (go-containerregistry remote/fetcher.go),
// cdloh-provider-cloudflare-48, contrib-provider-kafka-88, xp-5968; the
// rate limit text is go-containerregistry's TOOMANYREQUESTS error code.
func TestRegistryQuirks(t *testing.T) {
	runCauses(t, []cause{
		{name: "HEAD without digest", version: "v1.9.0", ref: "registry.xxx.com/iac_test/k8s-iac/crossplane-iac-provider:main",
			msg:    `cannot unpack package: failed to fetch package digest from remote: HEAD https://registry.xxx.com/v2/iac_test/k8s-iac/crossplane-iac-provider/manifests/main: response did not include Docker-Content-Digest header`,
			code:   findings.RegistryProtocolError,
			msgHas: []string{"registry.xxx.com"}, fixHas: []string{"GET", "v1.10"}, fixHasNot: []string{"credentials"}},
		// go-containerregistry's TOOMANYREQUESTS code with Docker Hub's
		// documented 429 text.
		{name: "rate limited", version: "v1.20.0", ref: "index.docker.io/crossplane/provider-aws:v0.33.0",
			msg:  `cannot initialize parser backend: failed to fetch package from remote: GET https://index.docker.io/v2/crossplane/provider-aws/manifests/v0.33.0: TOOMANYREQUESTS: You have reached your pull rate limit`,
			code: findings.RegistryRateLimited},
		{name: "Docker Hub 401", version: "v1.14.0", ref: "cdloh/provider-cloudflare:v0.1.0",
			msg:          `cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: HEAD https://index.docker.io/v2/cdloh/provider-cloudflare/manifests/v0.1.0: unexpected status code 401 Unauthorized (HEAD responses have no body, use GET for details): GET https://index.docker.io/v2/cdloh/provider-cloudflare/manifests/v0.1.0: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:cdloh/provider-cloudflare Type:repository]]`,
			code:         findings.RegistryUnauthorized,
			alternatives: []findings.Code{findings.ManifestNotFound},
			msgHas:       []string{"does not exist"},
			fixHas:       []string{"https://hub.docker.com/v2/repositories/cdloh/provider-cloudflare/", "it exists:", "it does not:"}},
		{name: "ghcr DENIED", version: "v2.1.3", ref: "xpkg.crossplane.io/crossplane-contrib/provider-kafka:v0.5.0",
			msg:          `cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: GET https://ghcr.io/token?scope=repository%3Acrossplane-contrib%2Fprovider-kafka%3Apull&service=ghcr.io: DENIED: requested access to the resource is denied`,
			code:         findings.RegistryUnauthorized,
			alternatives: []findings.Code{findings.ManifestNotFound},
			fixHas:       []string{"crane manifest xpkg.crossplane.io/crossplane-contrib/provider-kafka:v0.5.0"}},
		{name: "ECR 401 is about credentials", version: "v1.15.3", ref: "xxxxxxxx.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-aws-elasticache:v0.46.1",
			msg:    `cannot initialize parser backend: failed to fetch package from remote: GET https://xxxxxxxx.dkr.ecr.us-east-1.amazonaws.com/v2/xpkg.upbound.io/upbound/provider-aws-elasticache/manifests/v0.46.1: unexpected status code 401 Unauthorized: Not Authorized`,
			code:   findings.RegistryUnauthorized,
			fixHas: []string{"ecr:GetAuthorizationToken", "12 hours"}},
		{name: "an unqualified reference", version: "v1.16.0", ref: "crossplanecontrib/provider-ansible:v0.6.0",
			msg:    `cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: GET https://xpkg.upbound.io/service/token?scope=repository%!A(MISSING)crossplanecontrib%!F(MISSING)provider-ansible%!A(MISSING)pull&service=xpkg.upbound.io: unexpected status code 404 Not Found`,
			code:   findings.ManifestNotFound,
			fixHas: []string{"index.docker.io up to v1.14", "crane ls"}, fixHasNot: []string{"credentials"}},
	})
}

// The image has no package.yaml: a wrong mirror only when the upstream is
// known to be a package (corpus wolfi-os-30906, xp-3329).
func TestPackageYAMLNotFoundSaysWhatIsKnown(t *testing.T) {
	const msg = `cannot initialize parser backend: couldn't find "package.yaml" file after checking 108 files in the archive (annotated layer: false): EOF`
	ref := "mirror.corp/upbound/provider-sql:v1"
	runCauses(t, []cause{
		{name: "no upstream", version: "v1.16.0", ref: ref, msg: msg,
			code: findings.PackageYAMLNotFound, fixHas: []string{"crossplane xpkg build", "crossplane xpkg push"}, msgNot: []string{"mirrored in its place", "upstream"}},
		{name: "the upstream is a package", version: "v1.16.0", ref: ref, msg: msg,
			images: map[string]inspect.Image{ref: {Reference: ref, Upstream: &xpkg.Comparison{Upstream: "xpkg.upbound.io/upbound/provider-sql:v1", AnnotationsDropped: true}}},
			code:   findings.PackageYAMLNotFound,
			msgHas: []string{"its upstream xpkg.upbound.io/upbound/provider-sql:v1 is one"},
			fixHas: []string{"kubectl xpdoctor mirror xpkg.upbound.io/upbound/provider-sql:v1 mirror.corp/upbound/provider-sql:v1"}},
		{name: "Crossplane before v1.13", version: "v1.9.1", msg: `cannot initialize parser backend: failed to open package stream file: EOF`,
			code: findings.PackageYAMLNotFound, fixHas: []string{"crossplane xpkg push"}},
	})
}

func TestClassifyNewCauses(t *testing.T) {
	cases := []struct {
		msg   string
		code  findings.Code
		stage Stage
	}{
		// Corpus upjet-gcp-601; the message wrapped over lines as in xp-6761.
		{"cannot establish control of object: providerconfigs.gcp.upbound.io is already controlled by ProviderRevision upbound-provider-family-gcp-9f6272120d40", findings.OwnershipConflict, StageEstablish},
		{"cannot establish control of object: addresses.compute.gcp.upbound.io is\n        already controlled by ProviderRevision provider-gcp-compute-a41e4ba551fc\n        (UID 58db5dee-38e7-40f9-9d31-669bb25a688e)", findings.OwnershipConflict, StageEstablish},
		// Corpus xp-6360: a condition message as kubectl -o yaml quotes and wraps it.
		{"'post establish runtime hook failed for package: provider package deployment\n      is unavailable with message: Deployment does not have minimum availability.'", findings.RuntimeNotAvailable, StageRuntime},
		// Corpus xp-4181: metadata update throttled (revision/reconciler.go errUpdateMeta).
		{"cannot update package revision object metadata: client rate limiter Wait returned an error: context canceled", findings.KubernetesAPIUnavailable, StageAPI},
		// Corpus contrib-provider-aws-2140, xp-6579.
		{"cannot parse package contents: unexpected EOF", findings.PackageDownloadIncomplete, StageParse},
		{"cannot parse package contents: open /cache/xpkg/provider-azure-authorization-b61976532d69.gz: no such file or directory", findings.PackageCacheUnusable, StageParse},
		// Corpus overlock-251: other parse errors stay invalid contents.
		{"cannot parse package contents: yaml: line 23: did not find expected key", findings.PackageYAMLInvalid, StageParse},
		// v2.2+ client wording (crossplane-runtime pkg/xpkg/client.go@v2.3.3).
		{"cannot unpack package: cannot parse package xpkg.upbound.io/acme/p:v1: unexpected EOF", findings.PackageDownloadIncomplete, StageParse},
		// Dependency family (revision/dependency.go@v1.16.0, @v2.3.4; internal/dag/dag.go).
		{"cannot resolve package dependencies: missing node in tree", findings.DependencyGraphInconsistent, StageDependencies},
		{"cannot resolve package dependencies: node already exists", findings.DependencyGraphInconsistent, StageDependencies},
		{"cannot resolve package dependencies: incompatible dependencies: existing package xpkg.upbound.io/crossplane-contrib/provider-kubernetes@v0.12.1 is incompatible with constraint >=v0.13.0", findings.DependencyVersionConflict, StageDependencies},
		{"cannot resolve package dependencies: incompatible dependencies: existing package xpkg.upbound.io/upbound/provider-family-azure@sha256:b6f5cbc791b131a76b8e6b031333dae62db05266d1b12988bb12ff14226215d5 is incompatible with constraint sha256:2e10e0d89075cfdf3a1fe097f26f1941229e94593d2cf5f3886d8d46e5fb6a49", findings.DependencyDigestMismatch, StageDependencies},
		{`Package revision health is "False" with message: cannot resolve package dependencies: missing dependencies: "xpkg.upbound.io/upbound/provider-family-azure" (v2.5.6)`, findings.DependencyUnresolvable, StageDependencies},
	}
	for _, c := range cases {
		got, ok := Classify(c.msg)
		if !ok || got.Code != c.code || got.Stage != c.stage {
			t.Errorf("%s\n  got %s at %q (ok=%v, rule %s), want %s at %q", c.msg, got.Code, got.Stage, ok, got.Rule, c.code, c.stage)
		}
	}
	// Every rule cites where its text comes from.
	for _, r := range Rules {
		if r.Source == "" || r.Name == "" || r.Code == "" {
			t.Errorf("rule %+v lacks a name, code or source", r)
		}
		if _, ok := findings.Catalogue[r.Code]; !ok {
			t.Errorf("rule %s emits %s, which is not in the catalogue", r.Name, r.Code)
		}
	}
}

// The three formats Crossplane has printed missing dependencies in
// (revision/dependency.go@v1.16.0 "%+v" of []string; @v1.20.0 and @v2.3.4
// NDependenciesAndSomeMore, with constraints or the Lock's version).
func TestMissingDependencyFormats(t *testing.T) {
	cases := map[string][]Dependency{
		"cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws xpkg.upbound.io/crossplane-contrib/provider-helm]": {
			{Package: "xpkg.upbound.io/upbound/provider-family-aws"}, {Package: "xpkg.upbound.io/crossplane-contrib/provider-helm"}},
		`cannot resolve package dependencies: missing dependencies: "xpkg.crossplane.io/crossplane-contrib/provider-helm" (>=v0.1.0), "xpkg.upbound.io/upbound/provider-family-aws"`: {
			{Package: "xpkg.crossplane.io/crossplane-contrib/provider-helm", Constraint: ">=v0.1.0"}, {Package: "xpkg.upbound.io/upbound/provider-family-aws"}},
		`Package revision health is "False" with message: cannot resolve package dependencies: missing dependencies: "xpkg.upbound.io/upbound/provider-family-azure" (v2.5.6)`: {
			{Package: "xpkg.upbound.io/upbound/provider-family-azure", Constraint: "v2.5.6"}},
		`cannot resolve package dependencies: missing dependencies: "a.io/x/p1" (>=v1), "a.io/x/p2" (>=v2), "a.io/x/p3" (>=v3), and 2 more`: {
			{Package: "a.io/x/p1", Constraint: ">=v1"}, {Package: "a.io/x/p2", Constraint: ">=v2"}, {Package: "a.io/x/p3", Constraint: ">=v3"}},
	}
	for msg, want := range cases {
		if got := MissingDependencies(msg); !slices.Equal(got, want) {
			t.Errorf("%s\n  got %v\n want %v", msg, got, want)
		}
	}
}

// The dependency family, read from the Lock and the installed packages;
// mirror advice only when the evidence says Crossplane cannot reach the
// dependency, and never into the registry it already comes from.
func TestDependencies(t *testing.T) {
	const family = "cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]"
	installed := func(name, ref string, skip bool) func(*cluster.Snapshot, *cluster.Package, *cluster.Revision) {
		return func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
			s.Packages = append(s.Packages, cluster.Package{Kind: "Provider", Name: name, Package: ref, SkipDependencyResolution: skip,
				Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "True"}}})
			if s.Lock == nil {
				s.Lock = &cluster.Lock{}
			}
		}
	}
	// Lock conditions as the resolver writes them: errFindDependency wrapping
	// errFetchTags (resolver/reconciler.go@v2.3.4) around go-containerregistry's
	// transport errors.
	lockSays := func(msg string) func(*cluster.Snapshot, *cluster.Package, *cluster.Revision) {
		return func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
			s.Lock = &cluster.Lock{Conditions: []cluster.Condition{{Type: "Resolved", Status: "False", Reason: "DependencyResolutionFailed", Message: msg}}}
		}
	}
	runCauses(t, []cause{
		// Corpus xp-4588.
		{name: "installed with skipDependencyResolution", version: "v1.13.2", msg: family,
			setup:     installed("provider-family-aws", "xpkg.upbound.io/upbound/provider-family-aws:v0.40.0", true),
			code:      findings.DependencyNotInLock,
			fixHas:    []string{`kubectl patch provider provider-family-aws --type merge -p '{"spec":{"skipDependencyResolution":false}}'`, "skipDependencyResolution\":true"},
			fixHasNot: []string{"mirror", "ImageConfig"}},
		// Corpus devops-toolkit-8.
		{name: "another source of the same name", kind: "Configuration", version: "v1.15.0",
			msg:       "cannot resolve package dependencies: missing dependencies: [crossplane/provider-helm]",
			setup:     installed("provider-helm", "xpkg.upbound.io/crossplane-contrib/provider-helm:v0.17.0", false),
			code:      findings.DependencyNameMismatch,
			msgHas:    []string{"dependsOn names crossplane/provider-helm", "comes from xpkg.upbound.io/crossplane-contrib/provider-helm"},
			fixHasNot: []string{"mirror --closure", "ImageConfig"}},
		// Corpus xp-5314.
		{name: "installed version misses the constraint", kind: "Configuration", version: "v1.16.0",
			msg:       "cannot resolve package dependencies: incompatible dependencies: existing package xpkg.upbound.io/crossplane-contrib/provider-kubernetes@v0.12.1 is incompatible with constraint >=v0.13.0",
			setup:     installed("crossplane-contrib-provider-kubernetes", "xpkg.upbound.io/crossplane-contrib/provider-kubernetes:v0.12.1", false),
			code:      findings.DependencyVersionConflict,
			fixHas:    []string{"move crossplane-contrib-provider-kubernetes from v0.12.1 to a version that satisfies >=v0.13.0", "kubectl patch provider crossplane-contrib-provider-kubernetes"},
			fixHasNot: []string{"mirror"}},
		// Corpus xp-5645 (before v1.16 only the source): the constraint from the Lock.
		{name: "old format, constraint from the Lock", kind: "Configuration", version: "v1.15.0",
			msg: "cannot resolve package dependencies: incompatible dependencies: [xpkg.upbound.io/crossplane-contrib/provider-kubernetes]",
			setup: func(s *cluster.Snapshot, p *cluster.Package, r *cluster.Revision) {
				installed("crossplane-contrib-provider-kubernetes", "xpkg.upbound.io/crossplane-contrib/provider-kubernetes:v0.12.1", false)(s, p, r)
				s.Lock.Packages = []cluster.LockPackage{{Name: r.Name, Source: "xpkg.upbound.io/jaredorg/config-xpkg", Version: "v0.1.1",
					Dependencies: []cluster.LockDependency{{Package: "xpkg.upbound.io/crossplane-contrib/provider-kubernetes", Constraints: ">=v0.13.0"}}}}
			},
			code:   findings.DependencyVersionConflict,
			msgHas: []string{"installed at v0.12.1, which misses the constraint >=v0.13.0"}},
		{name: "pinned by digest", version: "v2.3.1",
			msg:    "cannot resolve package dependencies: incompatible dependencies: existing package xpkg.upbound.io/upbound/provider-family-azure@sha256:b6f5cbc791b131a76b8e6b031333dae62db05266d1b12988bb12ff14226215d5 is incompatible with constraint sha256:2e10e0d89075cfdf3a1fe097f26f1941229e94593d2cf5f3886d8d46e5fb6a49",
			code:   findings.DependencyDigestMismatch,
			fixHas: []string{"xpkg.upbound.io/upbound/provider-family-azure@sha256:2e10e0d89075cfdf3a1fe097f26f1941229e94593d2cf5f3886d8d46e5fb6a49"}},
		// Corpus devantler-platform-3454.
		{name: "a source twice in the Lock", version: "v2.3.4",
			msg: "cannot resolve package dependencies: cannot initialize dependency graph from the packages in the lock: node xpkg.upbound.io/upbound/provider-family-aws already exists",
			setup: func(s *cluster.Snapshot, p *cluster.Package, r *cluster.Revision) {
				installed("provider-family-aws", "xpkg.upbound.io/upbound/provider-family-aws:v2.6.1", false)(s, p, r)
				installed("upbound-provider-family-aws", "xpkg.upbound.io/upbound/provider-family-aws:v2.6.1", false)(s, p, r)
			},
			code:      findings.DependencyGraphInconsistent,
			fixHas:    []string{"Provider provider-family-aws", "Provider upbound-provider-family-aws"},
			fixHasNot: []string{"mirror", "ImageConfig"}},
		// The resolver cannot reach the upstream: mirror into the cluster's
		// registry, keeping the path the package keeps.
		{name: "unreachable, from the Lock", version: "v1.20.0", ref: "123456789012.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0",
			msg:    family,
			setup:  lockSays(`cannot find dependency version to install: cannot fetch dependency package tags: Get "https://xpkg.upbound.io/v2/": dial tcp 34.111.161.63:443: i/o timeout`),
			code:   findings.DependencyUnresolvable,
			msgHas: []string{"Crossplane cannot reach xpkg.upbound.io/upbound/provider-family-aws", "the Lock's resolver says"},
			fixHas: []string{"123456789012.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-family-aws", "prefix: xpkg.upbound.io/", "prefix: 123456789012.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/"}},
		{name: "refused, from the Lock", version: "v1.20.0", ref: "mirror.corp/upbound/provider-aws-s3:v1.6.0",
			msg:       family,
			setup:     lockSays(`cannot find dependency version to install: cannot fetch dependency package tags: GET https://xpkg.upbound.io/v2/upbound/provider-family-aws/tags/list: unexpected status code 401 Unauthorized`),
			code:      findings.DependencyUnresolvable,
			fixHas:    []string{"Crossplane's ServiceAccount", "ImageConfig with spec.registry.authentication.pullSecretRef"},
			fixHasNot: []string{"mirror"}},
		// Corpus xp-5799: the dependency is in the package's own registry
		// (the report elides its path; this one is made up).
		{name: "the package's pull secrets do not reach dependencies", version: "v1.16.0", ref: "registry.corp.com/provider-x/foo/xpkg:0.1.0",
			msg: "cannot resolve package dependencies: missing dependencies: [registry.corp.com/provider-x/family/xpkg]",
			setup: func(_ *cluster.Snapshot, p *cluster.Package, _ *cluster.Revision) {
				p.PullSecrets = []string{"registry-secret"}
			},
			code:      findings.DependencyUnresolvable,
			fixHas:    []string{"imagePullSecrets of Crossplane's ServiceAccount", "registry-secret"},
			fixHasNot: []string{"mirror"}},
		{name: "a mirrored package, an upstream dependency", version: "v1.16.0", ref: "mirror.corp/upbound/provider-aws-s3:v1.6.0",
			msg:       family,
			code:      findings.DependencyUnresolvable,
			fixHas:    []string{"kubectl xpdoctor mirror --closure xpkg.upbound.io/upbound/provider-family-aws:TAG mirror.corp --yes", "lands at mirror.corp/upbound/provider-family-aws", "skipDependencyResolution"},
			fixHasNot: []string{"kind: ImageConfig", "mirror.corp/mirror.corp", "mirror.corp/upbound/upbound"}},
		{name: "nothing says why", version: "v1.16.0",
			msg:       family,
			code:      findings.DependencyUnresolvable,
			msgHas:    []string{"nothing in the input says why"},
			fixHas:    []string{"kubectl get lock lock -o yaml", "crane ls xpkg.upbound.io/upbound/provider-family-aws"},
			fixHasNot: []string{"kubectl xpdoctor mirror", "kind: ImageConfig"}},
		{name: "unreachable, and already in the package's registry", version: "v1.20.0", ref: "mirror.corp/upbound/provider-aws-s3:v1.6.0",
			msg:       "cannot resolve package dependencies: missing dependencies: [mirror.corp/upbound/provider-family-aws]",
			setup:     lockSays(`cannot find dependency version to install: cannot fetch dependency package tags: Get "https://mirror.corp/v2/": dial tcp 10.0.0.9:443: i/o timeout`),
			code:      findings.DependencyUnresolvable,
			fixHas:    []string{"already names mirror.corp, the registry this package comes from"},
			fixHasNot: []string{"kubectl xpdoctor mirror", "kind: ImageConfig"}},
	})
}

// The mirror a dependency goes to keeps the path the package keeps, whatever
// the mirror's layout; a --upstream-registry mapping wins.
func TestPlanMirror(t *testing.T) {
	cases := []struct {
		pkg, dep, mirror, from, to string
		maps                       []xpkg.Mapping
	}{
		{"mirror.corp/upbound/provider-aws-s3:v1", "xpkg.upbound.io/upbound/provider-family-aws", "mirror.corp/upbound/provider-family-aws", "xpkg.upbound.io", "mirror.corp", nil},
		// ECR pull-through caches keep the upstream host in the path (corpus xp-5968).
		{"1.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-aws-s3:v1", "xpkg.upbound.io/upbound/provider-family-aws",
			"1.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-family-aws", "xpkg.upbound.io", "1.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io", nil},
		// A flat mirror.
		{"harbor.corp/provider-aws-s3:v1", "xpkg.upbound.io/upbound/provider-family-aws", "harbor.corp/provider-family-aws", "xpkg.upbound.io/upbound", "harbor.corp", nil},
		{"harbor.corp/team/provider-aws-s3:v1", "xpkg.upbound.io/upbound/provider-family-aws", "harbor.corp/team/upbound/provider-family-aws", "xpkg.upbound.io", "harbor.corp/team",
			[]xpkg.Mapping{{Mirror: "harbor.corp/team", Upstream: "xpkg.upbound.io"}}},
	}
	for _, tc := range cases {
		c := &pkgCase{in: Input{Upstreams: tc.maps}, source: tc.pkg}
		p, ok := c.planMirror(Dependency{Package: tc.dep})
		if !ok || p.mirror != tc.mirror || p.from != tc.from || p.to != tc.to {
			t.Errorf("%s, %s: %+v (ok=%v), want %s from %s to %s", tc.pkg, tc.dep, p, ok, tc.mirror, tc.from, tc.to)
		}
	}
	// Never into the registry the dependency already comes from.
	c := &pkgCase{source: "mirror.corp/upbound/provider-aws-s3:v1"}
	if p, ok := c.planMirror(Dependency{Package: "mirror.corp/upbound/provider-family-aws"}); ok {
		t.Fatalf("mirrors a registry into itself: %+v", p)
	}
}

// Without a Crossplane Deployment the version is unknown: the report says
// so, and a verdict that depends on the version is given per generation.
func TestUnknownVersion(t *testing.T) {
	ref := "mirror.corp/acme/provider-dot:v1"
	all, _ := crossplane.Select(nil)
	var vs []crossplane.Verdict
	for _, g := range all {
		v := crossplane.Verdict{Crossplane: g.Label(), Outcome: crossplane.OutcomeBaseLayer, Message: "reads ./package.yaml from annotated layer 1"}
		if g.AnnotatedMatch == crossplane.MatchExact {
			v = crossplane.Verdict{Crossplane: g.Label(), Outcome: crossplane.OutcomeFail, Reason: findings.PackageYAMLNotAtRoot,
				Message: crossplane.Render(g.Messages.NotFound, map[string]string{"files": "1", "annotated": "true"})}
		}
		vs = append(vs, v)
	}
	s := &cluster.Snapshot{Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: ref,
		Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "True"}}}}}
	rep := Diagnose(Input{Snapshot: s, Images: map[string]inspect.Image{ref: {Reference: ref, Verdicts: vs}}})
	if rep.CrossplaneVersion != VersionUnknown || len(rep.Findings) != 1 {
		t.Fatalf("version %q, findings %+v", rep.CrossplaneVersion, rep.Findings)
	}
	f := rep.Findings[0]
	if f.Code != findings.PackageYAMLNotAtRoot || f.Severity != findings.Warning ||
		!strings.Contains(f.Message, "Crossplane v1.13, v1.14-v1.20 cannot parse") || !strings.Contains(f.Message, "v2.0-v2.1 (BaseLayer), v2.2+ (BaseLayer) can") {
		t.Fatalf("%+v", f)
	}

	// The message the cluster shows names its generation: that verdict is the one.
	s.Packages[0].Conditions[1] = cluster.Condition{Type: "Healthy", Status: "False", Message: vs[1].Message}
	rep = Diagnose(Input{Snapshot: s, Images: map[string]inspect.Image{ref: {Reference: ref, Verdicts: vs}}})
	if rep.Packages[0].Finding != findings.PackageYAMLNotAtRoot || !strings.Contains(strings.Join(rep.Findings[0].Evidence, "\n"), "verdict for v1.14-v1.20 predicts exactly this message") {
		t.Fatalf("%+v", rep.Findings)
	}
}

// What the registry says about a missing dependency, read from where
// xpdoctor runs: a repository that does not exist is an outdated reference
// (corpus xp-3423); tags that miss the constraint are said; a repository
// that exists decides nothing about the cluster's reach.
func TestDependencyLookups(t *testing.T) {
	const helm = "cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/crossplane/provider-helm]"
	cases := []struct {
		name string
		msg  string
		lk   DependencyLookup
		code findings.Code
		has  []string
		not  []string
	}{
		{"does not exist", helm,
			DependencyLookup{Repository: "xpkg.upbound.io/crossplane/provider-helm", Err: &xpkg.RegistryError{Kind: xpkg.ErrNotFound, Detail: "NAME_UNKNOWN: repository name not known to registry"}},
			findings.DependencyReferenceOutdated, []string{"whose dependsOn names where the package is published now"}, []string{"kubectl xpdoctor mirror", "ImageConfig"}},
		{"no tag satisfies the constraint", `cannot resolve package dependencies: missing dependencies: "xpkg.upbound.io/crossplane/provider-helm" (>=v0.19.0)`,
			DependencyLookup{Repository: "xpkg.upbound.io/crossplane/provider-helm", Tags: []string{"v0.17.0", "v0.18.1"}},
			findings.DependencyUnresolvable, []string{"push a tag that satisfies >=v0.19.0"}, []string{"kubectl xpdoctor mirror"}},
		{"exists, decides nothing", helm,
			DependencyLookup{Repository: "xpkg.upbound.io/crossplane/provider-helm", Tags: []string{"v0.17.0"}},
			findings.DependencyUnresolvable, []string{"kubectl get lock lock -o yaml"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &cluster.Snapshot{CrossplaneNamespace: "crossplane-system",
				Packages: []cluster.Package{{Kind: "Configuration", Name: "platform-ref-gcp", Package: "xpkg.upbound.io/upbound/platform-ref-gcp:v0.2.0",
					Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "Unknown", Message: tc.msg}}}}}
			rep := Diagnose(Input{Snapshot: s, Targets: target(t, "v1.12.0"), VersionKnown: true,
				Dependencies: map[string]DependencyLookup{"xpkg.upbound.io/crossplane/provider-helm": tc.lk}})
			f := rep.Findings[0]
			if f.Code != tc.code {
				t.Fatalf("%+v", f)
			}
			for _, w := range tc.has {
				if !strings.Contains(f.Remediation, w) {
					t.Errorf("fix lacks %q: %s", w, f.Remediation)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(f.Remediation, w) {
					t.Errorf("fix says %q: %s", w, f.Remediation)
				}
			}
		})
	}
}

// An ImageConfig already rewrites the dependency to the mirror: the advice
// copies it there and proposes no second ImageConfig; when the dependency
// exists where Crossplane looks, mirroring is not the fix at all.
func TestDependencyBehindImageConfig(t *testing.T) {
	const msg = "cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]"
	rewrite := func(s *cluster.Snapshot, _ *cluster.Package, _ *cluster.Revision) {
		s.ImageConfigs = []cluster.ImageConfig{{Name: "mirror", Prefixes: []string{"xpkg.upbound.io/"}, RewritePrefix: "mirror.corp/xpkg/"}}
		s.Lock = &cluster.Lock{Conditions: []cluster.Condition{{Type: "Resolved", Status: "False", Reason: "DependencyResolutionFailed",
			Message: "cannot find dependency version to install: cannot fetch dependency package tags: GET https://mirror.corp/v2/xpkg/upbound/provider-family-aws/tags/list: Get \"https://mirror.corp/v2/\": dial tcp 10.0.0.9:443: i/o timeout"}}}
	}
	runCauses(t, []cause{{name: "mirror where the ImageConfig points", version: "v1.20.0", ref: "mirror.corp/xpkg/upbound/provider-aws-s3:v1.6.0", msg: msg, setup: rewrite,
		code:      findings.DependencyUnresolvable,
		fixHas:    []string{"kubectl xpdoctor mirror xpkg.upbound.io/upbound/provider-family-aws:TAG mirror.corp/xpkg/upbound/provider-family-aws:TAG", "ImageConfig mirror makes Crossplane look there"},
		fixHasNot: []string{"kind: ImageConfig"}}})

	t.Run("exists where Crossplane looks", func(t *testing.T) {
		s := &cluster.Snapshot{CrossplaneNamespace: "crossplane-system",
			ImageConfigs: []cluster.ImageConfig{{Name: "mirror", Prefixes: []string{"xpkg.upbound.io/"}, RewritePrefix: "mirror.corp/xpkg/"}},
			Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "mirror.corp/xpkg/upbound/provider-aws-s3:v1.6.0",
				Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "Unknown", Message: msg}}}}}
		rep := Diagnose(Input{Snapshot: s, Targets: target(t, "v1.20.0"), VersionKnown: true,
			Dependencies: map[string]DependencyLookup{"xpkg.upbound.io/upbound/provider-family-aws": {Repository: "mirror.corp/xpkg/upbound/provider-family-aws", Tags: []string{"v1.6.0"}}}})
		f := rep.Findings[0]
		if f.Code != findings.DependencyUnresolvable || !strings.Contains(f.Message, "exists where Crossplane looks, mirror.corp/xpkg/upbound/provider-family-aws") || strings.Contains(f.Remediation, "xpdoctor mirror") {
			t.Fatalf("%+v", f)
		}
	})
}

// Whatever a message says, deciding does not panic and always says something
// about an unhealthy package.
func FuzzDiagnoseMessage(f *testing.F) {
	for _, r := range Rules {
		f.Add(r.Name+" "+strings.Join(r.Any, " "), "xpkg.upbound.io/upbound/provider-aws-ec2:v1")
	}
	f.Add(`cannot establish control of object: x is already controlled by ProviderRevision y-0123456789ab (UID z)`, "")
	f.Add(`cannot resolve package dependencies: missing dependencies: "a" (`, "a/b/c")
	f.Add(`Deployment.apps "" is invalid: `, "UPPER")
	f.Fuzz(func(t *testing.T, msg, ref string) {
		p := cluster.Package{Kind: "Provider", Name: "p", Package: ref, CurrentRevision: "p-0123456789ab",
			Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: "False", Message: msg}}}
		s := &cluster.Snapshot{Packages: []cluster.Package{p}, Lock: &cluster.Lock{},
			Revisions: []cluster.Revision{{Kind: "ProviderRevision", Name: "p-0123456789ab", Parent: "p", Conditions: p.Conditions}}}
		rep := Diagnose(Input{Snapshot: s})
		if len(rep.Packages) != 1 || rep.Packages[0].Finding == "" {
			t.Fatalf("no finding for an unhealthy package: %+v", rep)
		}
	})
}
