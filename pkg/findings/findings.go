// Package findings is xpdoctor's catalogue of finding codes. Codes are
// stable: scripts and runbooks match on them. docs/findings.md explains each.
package findings

import "sort"

// Severity of a finding.
type Severity string

// Severities, most severe first.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rank orders severities: error > warning > info.
func (s Severity) Rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Codes of the registry-side (inspect) catalogue.
const (
	BaseLayerAnnotationMissing = "BaseLayerAnnotationMissing"
	MirrorDigestDiffers        = "MirrorDigestDiffers"
	IndexCollapsed             = "IndexCollapsed"
	LayersRecompressed         = "LayersRecompressed"
	FlattenPathTooSlow         = "FlattenPathTooSlow"
	PackageYAMLNotFound        = "PackageYAMLNotFound"
	PackageYAMLNotAtRoot       = "PackageYAMLNotAtRoot"
	PackageYAMLInvalid         = "PackageYAMLInvalid"
	PackageYAMLTooLarge        = "PackageYAMLTooLarge"
	MultipleBaseLayers         = "MultipleBaseLayers"
	TooManyLayers              = "TooManyLayers"
	NoPlatformMatch            = "NoPlatformMatch"
	ManifestNotFound           = "ManifestNotFound"
	ManifestInvalid            = "ManifestInvalid"
	LayerInvalid               = "LayerInvalid"
	RegistryUnauthorized       = "RegistryUnauthorized"
	RegistryTLSUntrusted       = "RegistryTLSUntrusted"
	RegistryUnreachable        = "RegistryUnreachable"
	CrossplaneVersionIncompat  = "CrossplaneVersionIncompatible"
	UpstreamUnreadable         = "UpstreamUnreadable"
)

// Codes of the cluster-side (diagnose) catalogue.
const (
	DependencyUnresolvable      = "DependencyUnresolvable"
	FamilyRegistryMismatch      = "FamilyRegistryMismatch"
	RuntimeImagePullFailed      = "RuntimeImagePullFailed"
	RuntimeCrashLooping         = "RuntimeCrashLooping"
	RuntimeNotAvailable         = "RuntimeNotAvailable"
	SignatureVerificationFailed = "SignatureVerificationFailed"
	PullPolicyNeverNotCached    = "PullPolicyNeverNotCached"
	PermissionDenied            = "PermissionDenied"
	PackageUnhealthy            = "PackageUnhealthy"
)

// Spec describes a code: its title and fix, shown with every finding.
type Spec struct {
	Code  string `json:"code"`
	Title string `json:"title"`
	Fix   string `json:"fix"`
}

const recopy = "re-mirror the package byte-for-byte from its upstream: `kubectl xpdoctor mirror UPSTREAM MIRROR` (or `crane copy`, `regctl image copy`, `skopeo copy --all --preserve-digests`), never docker pull/tag/push"

// Catalogue holds every code.
var Catalogue = map[string]Spec{
	BaseLayerAnnotationMissing:  {BaseLayerAnnotationMissing, "no layer is annotated io.crossplane.xpkg: base", recopy},
	MirrorDigestDiffers:         {MirrorDigestDiffers, "the mirror's digest differs from the upstream's", recopy + "; digest-pinned packages and dependencies only match the upstream digest"},
	IndexCollapsed:              {IndexCollapsed, "the upstream multi-platform index became a single manifest", recopy + " (all platforms: crane copies every platform by default, skopeo needs --all)"},
	LayersRecompressed:          {LayersRecompressed, "the layers were recompressed: the config labels name layer digests the manifest no longer has", recopy},
	FlattenPathTooSlow:          {FlattenPathTooSlow, "the flatten fallback downloads more than fits the reconcile deadline", "restore the base-layer annotation by re-mirroring byte-for-byte; Crossplane then downloads one small layer"},
	PackageYAMLNotFound:         {PackageYAMLNotFound, "package.yaml is not in the image: this is not a Crossplane package (often the provider's runtime image was mirrored in its place)", "mirror the package image (xpkg.upbound.io/... or xpkg.crossplane.io/...), not the controller image; check `crane config REF` shows io.crossplane.xpkg labels"},
	PackageYAMLNotAtRoot:        {PackageYAMLNotAtRoot, "package.yaml is in the image, but not as the root entry named exactly package.yaml", "rebuild with `crossplane xpkg build` (it writes package.yaml at the layer root) or upgrade to Crossplane v2.0+, which matches the base name"},
	PackageYAMLInvalid:          {PackageYAMLInvalid, "package.yaml does not parse, or does not hold exactly one meta.pkg.crossplane.io object", "rebuild the package with `crossplane xpkg build`, which lints it"},
	PackageYAMLTooLarge:         {PackageYAMLTooLarge, "package.yaml is larger than Crossplane's 200 MiB read limit", "split the package (e.g. a provider family) so each package.yaml stays under 200 MiB"},
	MultipleBaseLayers:          {MultipleBaseLayers, "more than one layer is annotated io.crossplane.xpkg: base", "rebuild and push with `crossplane xpkg push`, which annotates exactly one layer; Crossplane v2.2+ uses the first"},
	TooManyLayers:               {TooManyLayers, "the image has more than 256 layers (Crossplane up to v2.1 refuses it)", "squash the runtime image's layers, or run Crossplane v2.2+"},
	NoPlatformMatch:             {NoPlatformMatch, "the index has no linux/amd64 image, which is the only platform Crossplane reads", "push the package as an index that includes linux/amd64 (`crossplane xpkg push -f amd64.xpkg,arm64.xpkg`)"},
	ManifestNotFound:            {ManifestNotFound, "the registry has no manifest for this reference (missing tag or repository)", "mirror the tag: `kubectl xpdoctor mirror UPSTREAM MIRROR`, or fix spec.package"},
	ManifestInvalid:             {ManifestInvalid, "the registry served something that is not a readable image manifest", "check the reference points at a registry and a Crossplane package"},
	LayerInvalid:                {LayerInvalid, "a layer is not a valid gzip/zstd tar stream", "re-mirror the package byte-for-byte, or rebuild it"},
	RegistryUnauthorized:        {RegistryUnauthorized, "the registry refused the credentials (401/403)", "give Crossplane credentials: spec.packagePullSecrets, an ImageConfig with spec.registry.authentication.pullSecretRef, or imagePullSecrets on Crossplane's ServiceAccount"},
	RegistryTLSUntrusted:        {RegistryTLSUntrusted, "the registry's TLS certificate is not trusted", "give Crossplane the CA: Helm value registryCaBundleConfig (core flag --ca-bundle-path); for xpdoctor, install the CA or use --insecure-registry for a test host"},
	RegistryUnreachable:         {RegistryUnreachable, "the registry could not be reached (DNS, connection, timeout or 5xx)", "check network policy, proxies and DNS from the cluster to the registry; in a private cluster, mirror the package and point Crossplane at the mirror"},
	CrossplaneVersionIncompat:   {CrossplaneVersionIncompat, "the package's spec.crossplane.version constraint excludes this Crossplane version", "install a package version that supports this Crossplane, upgrade Crossplane, or set spec.ignoreCrossplaneConstraints: true"},
	DependencyUnresolvable:      {DependencyUnresolvable, "a dependency in package.yaml's dependsOn cannot be resolved from where the cluster looks", "mirror every dependency too and, on Crossplane v1.20+, apply an ImageConfig whose rewriteImage maps the upstream prefix to the mirror; older versions need fully qualified mirror references and skipDependencyResolution on the packages whose dependencies you install yourself"},
	FamilyRegistryMismatch:      {FamilyRegistryMismatch, "provider family members come from a different registry or organisation than their family provider", "mirror the whole family under one registry host and first path segment: the RBAC manager only shares ProviderConfig types within one (OrgDiffer, internal/controller/rbac/provider/roles/reconciler.go)"},
	RuntimeImagePullFailed:      {RuntimeImagePullFailed, "the kubelet cannot pull the package's runtime (controller) image", "mirror the controller image too and give its pods pull credentials: spec.packagePullSecrets (copied to the runtime pods) or imagePullSecrets on a DeploymentRuntimeConfig"},
	RuntimeCrashLooping:         {RuntimeCrashLooping, "the package's runtime container keeps crashing", "read the container's last termination message and logs (kubectl -n NAMESPACE logs POD --previous)"},
	RuntimeNotAvailable:         {RuntimeNotAvailable, "the package's runtime Deployment is not available", "check the Deployment's pods, scheduling and DeploymentRuntimeConfig"},
	SignatureVerificationFailed: {SignatureVerificationFailed, "the package's signature did not verify against its ImageConfig", "check the ImageConfig's verification authorities; keyless verification needs Sigstore access, which an air-gapped cluster lacks"},
	PullPolicyNeverNotCached:    {PullPolicyNeverNotCached, "packagePullPolicy is Never and the package is not in Crossplane's cache", "pre-populate the package cache, or set packagePullPolicy: IfNotPresent; on v2.2+ a tag is still resolved with a registry HEAD, so use a digest reference"},
	PermissionDenied:            {PermissionDenied, "xpdoctor was not allowed to read something it needs; the report is incomplete", "bind the read-only ClusterRole in docs/rbac.yaml to the user running xpdoctor"},
	PackageUnhealthy:            {PackageUnhealthy, "the package is not healthy and xpdoctor could not classify why", "read the evidence; please report the message so xpdoctor can learn it"},
	UpstreamUnreadable:          {UpstreamUnreadable, "the upstream given for comparison could not be read", "check --upstream / --upstream-registry and your credentials for the upstream"},
}

// Finding is one diagnosed problem.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	// Subject names what the finding is about (an image reference, a package).
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
	// Evidence lists the observations behind the finding.
	Evidence []string `json:"evidence,omitempty"`
	// Remediation is the exact fix.
	Remediation string `json:"remediation,omitempty"`
}

// Sort orders findings by severity, then code, then subject.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if a, b := fs[i].Severity.Rank(), fs[j].Severity.Rank(); a != b {
			return a > b
		}
		if fs[i].Code != fs[j].Code {
			return fs[i].Code < fs[j].Code
		}
		return fs[i].Subject < fs[j].Subject
	})
}

// Worst is the highest severity among fs ("" if none).
func Worst(fs []Finding) Severity {
	var w Severity
	for _, f := range fs {
		if f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}

// String returns the severity's name.
func (s Severity) String() string { return string(s) }
