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

// Code is a stable finding code. Scripts and runbooks match on it; every
// code has a section in docs/findings.md.
type Code string

// Codes of the registry-side (inspect) catalogue.
const (
	BaseLayerAnnotationMissing Code = "BaseLayerAnnotationMissing"
	MirrorDigestDiffers        Code = "MirrorDigestDiffers"
	IndexCollapsed             Code = "IndexCollapsed"
	LayersRecompressed         Code = "LayersRecompressed"
	FlattenPathTooSlow         Code = "FlattenPathTooSlow"
	PackageYAMLNotFound        Code = "PackageYAMLNotFound"
	PackageYAMLNotAtRoot       Code = "PackageYAMLNotAtRoot"
	PackageYAMLInvalid         Code = "PackageYAMLInvalid"
	PackageYAMLTooLarge        Code = "PackageYAMLTooLarge"
	MultipleBaseLayers         Code = "MultipleBaseLayers"
	TooManyLayers              Code = "TooManyLayers"
	NoPlatformMatch            Code = "NoPlatformMatch"
	ManifestNotFound           Code = "ManifestNotFound"
	ManifestInvalid            Code = "ManifestInvalid"
	LayerInvalid               Code = "LayerInvalid"
	RegistryUnauthorized       Code = "RegistryUnauthorized"
	RegistryTLSUntrusted       Code = "RegistryTLSUntrusted"
	RegistryUnreachable        Code = "RegistryUnreachable"
	CrossplaneVersionIncompat  Code = "CrossplaneVersionIncompatible"
	UpstreamUnreadable         Code = "UpstreamUnreadable"
)

// Codes of the cluster-side (diagnose) catalogue.
const (
	DependencyUnresolvable      Code = "DependencyUnresolvable"
	FamilyRegistryMismatch      Code = "FamilyRegistryMismatch"
	RuntimeImagePullFailed      Code = "RuntimeImagePullFailed"
	RuntimeCrashLooping         Code = "RuntimeCrashLooping"
	RuntimeNotAvailable         Code = "RuntimeNotAvailable"
	SignatureVerificationFailed Code = "SignatureVerificationFailed"
	PullPolicyNeverNotCached    Code = "PullPolicyNeverNotCached"
	PermissionDenied            Code = "PermissionDenied"
	PackageUnhealthy            Code = "PackageUnhealthy"

	// Causes public Crossplane reports show (issue 11). Titles and fixes
	// below are refined with the rules that emit them.
	OwnershipConflict           Code = "OwnershipConflict"
	PullSecretNotFound          Code = "PullSecretNotFound"
	WebhookTLSNotReady          Code = "WebhookTLSNotReady"
	RuntimeManifestRejected     Code = "RuntimeManifestRejected"
	KubernetesAPIUnavailable    Code = "KubernetesAPIUnavailable"
	PackageCacheUnusable        Code = "PackageCacheUnusable"
	PackageDownloadIncomplete   Code = "PackageDownloadIncomplete"
	PackageKindMismatch         Code = "PackageKindMismatch"
	CrossplaneVersionUnknown    Code = "CrossplaneVersionUnknown"
	RegistryProtocolError       Code = "RegistryProtocolError"
	RegistryRateLimited         Code = "RegistryRateLimited"
	RegistryContentMismatch     Code = "RegistryContentMismatch"
	DependencyNotInLock         Code = "DependencyNotInLock"
	DependencyNameMismatch      Code = "DependencyNameMismatch"
	DependencyVersionConflict   Code = "DependencyVersionConflict"
	DependencyDigestMismatch    Code = "DependencyDigestMismatch"
	DependencyGraphInconsistent Code = "DependencyGraphInconsistent"

	// Credentials as Crossplane resolves them (issue 17).
	PullSecretNoMatch      Code = "PullSecretNoMatch"
	PullSecretRejected     Code = "PullSecretRejected"
	PullSecretUnreferenced Code = "PullSecretUnreferenced"

	// Package lifecycle states (issue 18).
	UpgradeStuck               Code = "UpgradeStuck"
	RevisionAwaitingActivation Code = "RevisionAwaitingActivation"
	PackagePaused              Code = "PackagePaused"
	PackageTerminating         Code = "PackageTerminating"
	RevisionOrphaned           Code = "RevisionOrphaned"
	RevisionHistoryExceeded    Code = "RevisionHistoryExceeded"
	ImageConfigRewritten       Code = "ImageConfigRewritten"
)

// Spec describes a code: its title and fix, shown with every finding.
type Spec struct {
	Code  Code   `json:"code"`
	Title string `json:"title"`
	Fix   string `json:"fix"`
}

const recopy = "re-mirror the package byte-for-byte from its upstream: `kubectl xpdoctor mirror UPSTREAM MIRROR` (or `crane copy`, `regctl image copy`, `skopeo copy --all --preserve-digests`), never docker pull/tag/push"

// Catalogue holds every code.
var Catalogue = map[Code]Spec{
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
	OwnershipConflict:           {OwnershipConflict, "an object the package installs is already controlled by another package revision", "find the other owner named in the message: delete it if it is a stale revision of this package, or uninstall the other package that ships the same CRD"},
	PullSecretNotFound:          {PullSecretNotFound, "a pull secret the package or Crossplane names does not exist in Crossplane's namespace", "create the secret in Crossplane's namespace, or remove it from spec.packagePullSecrets (or from the Helm chart's imagePullSecrets)"},
	WebhookTLSNotReady:          {WebhookTLSNotReady, "the package's webhook TLS secret is missing or empty", "let the revision become active (revisionActivationPolicy: Manual revisions get no TLS secret), or check that Crossplane can create the <package>-tls-server secret"},
	RuntimeManifestRejected:     {RuntimeManifestRejected, "the Kubernetes API server rejected an object Crossplane builds for the package's runtime", "read the API server's reason in the evidence; a package built for a newer Crossplane needs that Crossplane"},
	KubernetesAPIUnavailable:    {KubernetesAPIUnavailable, "Crossplane timed out talking to the Kubernetes API server, not to a registry", "check the API server's health and load, and Crossplane's client rate limits (--max-reconcile-rate, CPU limits); the registry is not involved"},
	PackageCacheUnusable:        {PackageCacheUnusable, "Crossplane's package cache cannot be read or written", "give the package cache room (Helm value packageCache.sizeLimit, default 20Mi) or clear it by restarting the Crossplane pod"},
	PackageDownloadIncomplete:   {PackageDownloadIncomplete, "the package contents ended early (a truncated download or cache file)", "retry: delete the failing revision, or restart Crossplane to clear its cache; if it persists, check proxies between Crossplane and the registry"},
	PackageKindMismatch:         {PackageKindMismatch, "the package's metadata is of another kind than the object that installs it", "install the package with the kind its crossplane.yaml declares (a Configuration package as a Configuration, not a Provider)"},
	CrossplaneVersionUnknown:    {CrossplaneVersionUnknown, "the running Crossplane reports an empty or development version, so version constraints cannot be checked", "run a released Crossplane build, or set spec.ignoreCrossplaneConstraints: true on the package"},
	RegistryProtocolError:       {RegistryProtocolError, "the registry breaks the distribution protocol (e.g. a HEAD without Docker-Content-Digest)", "upgrade or reconfigure the registry; newer Crossplane releases fall back to GET"},
	RegistryRateLimited:         {RegistryRateLimited, "the registry is rate limiting pulls (429 / TOOMANYREQUESTS)", "authenticate pulls (rate limits are per anonymous IP on Docker Hub), wait for the window to reset, or mirror the packages into a registry you control"},
	RegistryContentMismatch:     {RegistryContentMismatch, "the registry served bytes that do not match the digest they were asked for", "the registry or a proxy in front of it is corrupting or substituting content: re-push the image and check the proxy"},
	DependencyNotInLock:         {DependencyNotInLock, "a dependency is installed but the Lock does not track it (installed with skipDependencyResolution)", "let Crossplane install the dependency (remove skipDependencyResolution on the package that installed it), or skip dependency resolution on the dependent package too"},
	DependencyNameMismatch:      {DependencyNameMismatch, "the dependency is installed from another source than dependsOn names", "install the dependency from the source dependsOn names, or rebuild the package with the dependsOn of the source you use"},
	DependencyVersionConflict:   {DependencyVersionConflict, "an installed dependency's version does not satisfy the constraint", "upgrade or downgrade the installed dependency to a version the constraint accepts"},
	DependencyDigestMismatch:    {DependencyDigestMismatch, "a dependency pinned by digest does not match what is installed", "install the dependency at the digest the package pins"},
	DependencyGraphInconsistent: {DependencyGraphInconsistent, "Crossplane's dependency graph disagrees with the Lock", "read the evidence; usually a dependency installed by hand while another package declares it"},

	PullSecretNoMatch:      {PullSecretNoMatch, "the pull secret has no entry for the image's registry", "add an auth entry for the registry host (and path) to the secret"},
	PullSecretRejected:     {PullSecretRejected, "the registry refused the credentials of the pull secret Crossplane uses", "refresh the credentials (ECR tokens expire after 12 hours)"},
	PullSecretUnreferenced: {PullSecretUnreferenced, "a secret that would work exists but this package does not reference it", "add the secret to spec.packagePullSecrets, or to an ImageConfig's pullSecretRef"},

	UpgradeStuck:               {UpgradeStuck, "a new package revision is not becoming healthy", "roll back spec.package to the version that works, or fix the new revision's cause"},
	RevisionAwaitingActivation: {RevisionAwaitingActivation, "a new revision waits for manual activation (revisionActivationPolicy: Manual)", "activate it: kubectl patch the revision's spec.desiredState to Active"},
	PackagePaused:              {PackagePaused, "the package is paused: Crossplane will not change it", "remove the crossplane.io/paused annotation"},
	PackageTerminating:         {PackageTerminating, "the package or revision is being deleted and a finalizer holds it", "see which finalizer remains and what holds it"},
	RevisionOrphaned:           {RevisionOrphaned, "a revision has no parent package", "delete the orphaned revision"},
	RevisionHistoryExceeded:    {RevisionHistoryExceeded, "more inactive revisions remain than revisionHistoryLimit allows", "check why Crossplane cannot garbage collect old revisions"},
	ImageConfigRewritten:       {ImageConfigRewritten, "an ImageConfig rewrote the package source", "nothing to fix: the rewritten image is the one judged"},
}

// Subject names the Crossplane package a finding is about.
type Subject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// String is KIND/NAME, or "" for no package.
func (s Subject) String() string {
	if s.Name == "" {
		return ""
	}
	return s.Kind + "/" + s.Name
}

// Finding is one diagnosed problem: the one type inspect and diagnose both
// report. Inspect findings name an Image; diagnose findings name the package
// (Subject) and, when one is involved, its Image; cluster-wide findings
// (PermissionDenied) name neither.
type Finding struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	// Subject is the package the finding is about; zero when none.
	Subject Subject `json:"subject,omitzero"`
	// Image is the image reference the finding is about; Digest its digest when known.
	Image   string `json:"image,omitempty"`
	Digest  string `json:"digest,omitempty"`
	Message string `json:"message"`
	// Evidence lists the observations behind the finding.
	Evidence []string `json:"evidence,omitempty"`
	// Remediation is the exact fix.
	Remediation string `json:"remediation,omitempty"`
}

// Sort orders findings by severity, then package, then code, then image.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return ra > rb
		}
		if sa, sb := a.Subject.String(), b.Subject.String(); sa != sb {
			return sa < sb
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Image < b.Image
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
