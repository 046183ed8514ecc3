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
	OwnershipConflict         Code = "OwnershipConflict"
	PullSecretNotFound        Code = "PullSecretNotFound"
	WebhookTLSNotReady        Code = "WebhookTLSNotReady"
	RuntimeManifestRejected   Code = "RuntimeManifestRejected"
	KubernetesAPIUnavailable  Code = "KubernetesAPIUnavailable"
	PackageCacheUnusable      Code = "PackageCacheUnusable"
	PackageDownloadIncomplete Code = "PackageDownloadIncomplete"
	PackageKindMismatch       Code = "PackageKindMismatch"
	// PackageMetaVersionUnsupported is told apart from PackageKindMismatch
	// because its fix is the opposite: the kind is right, its apiVersion is
	// one this Crossplane does not read (corpus xp-5971).
	PackageMetaVersionUnsupported Code = "PackageMetaVersionUnsupported"
	CrossplaneVersionUnknown      Code = "CrossplaneVersionUnknown"
	RegistryProtocolError         Code = "RegistryProtocolError"
	RegistryRateLimited           Code = "RegistryRateLimited"
	RegistryContentMismatch       Code = "RegistryContentMismatch"
	DependencyNotInLock           Code = "DependencyNotInLock"
	DependencyNameMismatch        Code = "DependencyNameMismatch"
	DependencyVersionConflict     Code = "DependencyVersionConflict"
	DependencyDigestMismatch      Code = "DependencyDigestMismatch"
	DependencyGraphInconsistent   Code = "DependencyGraphInconsistent"
	// DependencyReferenceOutdated is told apart from DependencyUnresolvable
	// because neither mirroring nor credentials fix it: the repository
	// dependsOn names does not exist (corpus xp-3423).
	DependencyReferenceOutdated Code = "DependencyReferenceOutdated"

	// Credentials as Crossplane resolves them (issue 17).
	PullSecretNoMatch      Code = "PullSecretNoMatch"
	PullSecretRejected     Code = "PullSecretRejected"
	PullSecretUnreferenced Code = "PullSecretUnreferenced"
	PullSecretInvalid      Code = "PullSecretInvalid"

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

// Catalogue holds every code. Diagnose replaces a fix with one that names
// the objects, versions and commands of the case when the evidence has them.
var Catalogue = map[Code]Spec{
	BaseLayerAnnotationMissing:    {BaseLayerAnnotationMissing, "no layer is annotated io.crossplane.xpkg: base", recopy},
	MirrorDigestDiffers:           {MirrorDigestDiffers, "the mirror's digest differs from the upstream's", recopy + "; digest-pinned packages and dependencies only match the upstream digest"},
	IndexCollapsed:                {IndexCollapsed, "the upstream multi-platform index became a single manifest", recopy + " (all platforms: crane copies every platform by default, skopeo needs --all)"},
	LayersRecompressed:            {LayersRecompressed, "the layers were recompressed: the config labels name layer digests the manifest no longer has", recopy},
	FlattenPathTooSlow:            {FlattenPathTooSlow, "the flatten fallback downloads more than fits the reconcile deadline", "restore the base-layer annotation by re-mirroring byte-for-byte; Crossplane then downloads one small layer"},
	PackageYAMLNotFound:           {PackageYAMLNotFound, "package.yaml is not in the image: it is not a Crossplane package", "build and push the package with `crossplane xpkg build` and `crossplane xpkg push`, which put package.yaml at the root of an annotated layer; if spec.package names a controller (runtime) image, point it at the package image instead (`crane config REF` of a package shows io.crossplane.xpkg labels)"},
	PackageYAMLNotAtRoot:          {PackageYAMLNotAtRoot, "package.yaml is in the image, but not as the root entry named exactly package.yaml", "rebuild with `crossplane xpkg build` (it writes package.yaml at the layer root) or upgrade to Crossplane v2.0+, which matches the base name"},
	PackageYAMLInvalid:            {PackageYAMLInvalid, "the package's contents do not parse, or do not hold exactly one meta.pkg.crossplane.io object", "fix the package source (crossplane.yaml and the other YAML files: each document needs apiVersion and kind, one meta object per package) and rebuild with `crossplane xpkg build`, which parses and lints it"},
	PackageYAMLTooLarge:           {PackageYAMLTooLarge, "package.yaml is larger than Crossplane's 200 MiB read limit", "split the package (e.g. a provider family) so each package.yaml stays under 200 MiB"},
	MultipleBaseLayers:            {MultipleBaseLayers, "more than one layer is annotated io.crossplane.xpkg: base", "rebuild and push with `crossplane xpkg push`, which annotates exactly one layer; Crossplane v2.2+ uses the first"},
	TooManyLayers:                 {TooManyLayers, "the image has more than 256 layers (Crossplane up to v2.1 refuses it)", "squash the runtime image's layers, or run Crossplane v2.2+"},
	NoPlatformMatch:               {NoPlatformMatch, "the index has no linux/amd64 image, which is the only platform Crossplane reads", "push the package as an index that includes linux/amd64 (`crossplane xpkg push -f amd64.xpkg,arm64.xpkg`)"},
	ManifestNotFound:              {ManifestNotFound, "the registry has no manifest for this reference (missing tag or repository)", "check what the repository holds (`crane ls REPOSITORY`) and set spec.package to a tag that exists; for a mirror, copy the tag: `kubectl xpdoctor mirror UPSTREAM MIRROR`"},
	ManifestInvalid:               {ManifestInvalid, "the registry served something that is not a readable image manifest", "check the reference points at a registry and a Crossplane package"},
	LayerInvalid:                  {LayerInvalid, "a layer is not a valid gzip/zstd tar stream", "re-mirror the package byte-for-byte, or rebuild it"},
	RegistryUnauthorized:          {RegistryUnauthorized, "the registry refused the request (401/403): no credentials, or credentials it does not accept", "give Crossplane credentials for the registry: spec.packagePullSecrets, an ImageConfig with spec.registry.authentication.pullSecretRef (v1.17.3+), or imagePullSecrets on Crossplane's ServiceAccount; check them with `crane manifest REF` after `crane auth login HOST`"},
	RegistryTLSUntrusted:          {RegistryTLSUntrusted, "the registry's TLS certificate is not trusted", "give Crossplane the CA: Helm value registryCaBundleConfig (core flag --ca-bundle-path); if a proxy intercepts TLS, that proxy's CA; for xpdoctor, install the CA or use --insecure-registry for a test host"},
	RegistryUnreachable:           {RegistryUnreachable, "the registry could not be reached (DNS, connection, timeout or 5xx)", "check the network path from the Crossplane pod to the registry: network policies, DNS, and proxies (HTTP_PROXY/HTTPS_PROXY/NO_PROXY on Crossplane: Helm value extraEnvVarsCrossplane); in a private cluster, mirror the package and point Crossplane at the mirror"},
	CrossplaneVersionIncompat:     {CrossplaneVersionIncompat, "the package's spec.crossplane.version constraint excludes this Crossplane version", "install a package version that supports this Crossplane, upgrade Crossplane, or set spec.ignoreCrossplaneConstraints: true"},
	UpstreamUnreadable:            {UpstreamUnreadable, "the upstream given for comparison could not be read", "check --upstream / --upstream-registry and your credentials for the upstream"},
	DependencyUnresolvable:        {DependencyUnresolvable, "a dependency in package.yaml's dependsOn is not installed, and nothing in the cluster says why", "read the Lock's status (`kubectl get lock lock -o yaml`) and Crossplane's log for the dependency; check the dependency exists where Crossplane looks (`crane ls DEPENDENCY`)"},
	FamilyRegistryMismatch:        {FamilyRegistryMismatch, "provider family members come from a different registry or organisation than their family provider", "install the whole family from one registry host and first path segment: the RBAC manager only shares ProviderConfig types within one (OrgDiffer, internal/controller/rbac/provider/roles/reconciler.go)"},
	RuntimeImagePullFailed:        {RuntimeImagePullFailed, "the kubelet cannot pull the package's runtime (controller) image", "mirror the controller image too and give its pods pull credentials: spec.packagePullSecrets (copied to the runtime pods) or imagePullSecrets on a DeploymentRuntimeConfig"},
	RuntimeCrashLooping:           {RuntimeCrashLooping, "the package's runtime container keeps crashing", "read the container's last termination message and logs (kubectl -n NAMESPACE logs POD --previous); `exec format error` means the image has no build for the node's architecture (e.g. arm64)"},
	RuntimeNotAvailable:           {RuntimeNotAvailable, "the package's runtime Deployment is not available", "check the Deployment's pods (`kubectl -n NAMESPACE get pods -l pkg.crossplane.io/revision=REVISION`), their events, scheduling and the DeploymentRuntimeConfig"},
	SignatureVerificationFailed:   {SignatureVerificationFailed, "the package's signature did not verify against its ImageConfig", "check the ImageConfig's verification authorities; keyless verification needs Sigstore access, which an air-gapped cluster lacks"},
	PullPolicyNeverNotCached:      {PullPolicyNeverNotCached, "packagePullPolicy is Never and the package is not in Crossplane's cache", "pre-populate the package cache under the file name Crossplane builds (internal/xpkg/name.go BuildPath), or set packagePullPolicy: IfNotPresent; on v2.2+ a tag is still resolved with a registry HEAD, so use a digest reference"},
	PermissionDenied:              {PermissionDenied, "xpdoctor was not allowed to read something it needs; the report is incomplete", "bind the read-only ClusterRole in docs/rbac.yaml to the user running xpdoctor"},
	PackageUnhealthy:              {PackageUnhealthy, "the package is not healthy and xpdoctor could not classify why", "read the evidence; please report the message so xpdoctor can learn it"},
	OwnershipConflict:             {OwnershipConflict, "an object the package installs is already controlled by another package revision", "find the owner named in the message: if it is a revision of another package that ships the same object, uninstall that package; if it is stale (replaced or deleted), demote its controller ownerReference on the object so the active revision can take control"},
	PullSecretNotFound:            {PullSecretNotFound, "a pull secret the package or Crossplane names does not exist in Crossplane's namespace", "create the secret in Crossplane's namespace, or remove the name from spec.packagePullSecrets (or from the Helm chart's imagePullSecrets)"},
	WebhookTLSNotReady:            {WebhookTLSNotReady, "the package's webhook TLS secret is missing or empty, so its CRDs with webhook conversion cannot be established", "let the revision become active (revisionActivationPolicy: Manual revisions get no TLS secret), or check that Crossplane can create the <package>-tls-server secret"},
	RuntimeManifestRejected:       {RuntimeManifestRejected, "the Kubernetes API server rejected an object Crossplane builds for the package's runtime", "read the API server's reason in the evidence and fix the object it names; a package built for a newer Crossplane needs that Crossplane"},
	KubernetesAPIUnavailable:      {KubernetesAPIUnavailable, "Crossplane timed out talking to the Kubernetes API server, not to a registry", "check the API server's health and load, and Crossplane's own limits: client throttling (--max-reconcile-rate), CPU limits, and the 3-minute revision deadline for packages with hundreds of CRDs; the registry is not involved"},
	PackageCacheUnusable:          {PackageCacheUnusable, "Crossplane's package cache cannot be read or written", "give the package cache room (Helm value packageCache.sizeLimit, 20Mi by default since v1.12, 5Mi before) or clear it by restarting the Crossplane pod"},
	PackageDownloadIncomplete:     {PackageDownloadIncomplete, "the package contents ended early (a truncated download or cache file)", "delete the failing revision so Crossplane downloads the package again, or restart Crossplane to clear its cache; if it persists, check proxies between Crossplane and the registry"},
	PackageKindMismatch:           {PackageKindMismatch, "the package's metadata is not of the kind of the object that installs it", "install the package with the kind its crossplane.yaml declares"},
	PackageMetaVersionUnsupported: {PackageMetaVersionUnsupported, "this Crossplane does not read the package metadata's apiVersion for its kind", "rebuild the package with metadata of an apiVersion this Crossplane reads (Function: meta.pkg.crossplane.io/v1beta1 before v1.18), or upgrade Crossplane"},
	CrossplaneVersionUnknown:      {CrossplaneVersionUnknown, "the running Crossplane reports an empty, development or pre-release version, which the package's Crossplane constraint cannot match", "set spec.ignoreCrossplaneConstraints: true on the package, or run a released Crossplane build"},
	RegistryProtocolError:         {RegistryProtocolError, "the registry breaks the distribution protocol (a HEAD without Docker-Content-Digest)", "run Crossplane v1.10+ (or v1.7.x-v1.9.x with the backport), which falls back to GET when a HEAD fails (crossplane/crossplane#3223), or make the registry send Docker-Content-Digest on HEAD"},
	RegistryRateLimited:           {RegistryRateLimited, "the registry is rate limiting pulls (429 / TOOMANYREQUESTS)", "authenticate pulls (rate limits are per anonymous IP on Docker Hub), wait for the window to reset, or mirror the packages into a registry you control"},
	RegistryContentMismatch:       {RegistryContentMismatch, "the registry served bytes that do not match the digest they were asked for", "the registry or a proxy in front of it is corrupting or substituting content: re-push the image and check the proxy"},
	DependencyNotInLock:           {DependencyNotInLock, "a dependency is installed but the Lock does not track it (installed with skipDependencyResolution)", "let Crossplane track the dependency (remove skipDependencyResolution on the package that installs it), or skip dependency resolution on the dependent package too"},
	DependencyNameMismatch:        {DependencyNameMismatch, "the dependency is installed from another source than dependsOn names", "install the dependency from the source dependsOn names, or use a version of the dependent package whose dependsOn names the source you use"},
	DependencyVersionConflict:     {DependencyVersionConflict, "an installed dependency's version does not satisfy the constraint", "upgrade or downgrade the installed dependency to a version the constraint accepts: Crossplane does not change an installed dependency's version for you (before v2.0)"},
	DependencyDigestMismatch:      {DependencyDigestMismatch, "a dependency pinned by digest does not match what is installed", "install the dependency at the digest the package pins"},
	DependencyReferenceOutdated:   {DependencyReferenceOutdated, "the repository a dependsOn names does not exist where Crossplane looks (an outdated or wrong dependency reference)", "use a version of the dependent package whose dependsOn names where the dependency is published now; mirroring and credentials do not help"},
	DependencyGraphInconsistent:   {DependencyGraphInconsistent, "Crossplane's dependency graph disagrees with the Lock (a source twice, or a package under a source no revision has)", "keep one package per source: remove the duplicate the evidence names, and set skipDependencyResolution: true on packages whose dependencies you install yourself"},

	PullSecretNoMatch:      {PullSecretNoMatch, "no entry of the pull secrets Crossplane reads for the image matches its registry and path, so it pulls anonymously", "add an auth entry for the registry host (and path) to the secret"},
	PullSecretRejected:     {PullSecretRejected, "the registry refuses the credential Crossplane sends (the first matching entry of its pull secrets)", "refresh the credentials (ECR tokens expire after 12 hours)"},
	PullSecretUnreferenced: {PullSecretUnreferenced, "a pull secret this package does not use reads the image (xpdoctor verified it)", "add the secret to spec.packagePullSecrets, or to an ImageConfig's pullSecretRef"},
	PullSecretInvalid:      {PullSecretInvalid, "a pull secret Crossplane reads for the package is not a valid docker config, which fails every pull of the package", "recreate the secret with kubectl create secret docker-registry"},

	UpgradeStuck: {UpgradeStuck, "spec.package changed and the new version is not becoming healthy",
		"roll back spec.package to the version that served (kubectl patch KIND NAME --type merge -p '{\"spec\":{\"package\":\"OLD\"}}'; its revision is kept and becomes active again), or fix the new revision's cause and roll forward"},
	RevisionAwaitingActivation: {RevisionAwaitingActivation, "the current revision waits for manual activation (revisionActivationPolicy: Manual): nothing of it runs",
		"activate it: kubectl patch KINDrevision REVISION --type merge -p '{\"spec\":{\"desiredState\":\"Active\"}}'"},
	PackagePaused: {PackagePaused, "the package is paused (crossplane.io/paused): Crossplane changes nothing about it, and its old errors are not current",
		"unpause it when Crossplane should act again: kubectl annotate KIND NAME crossplane.io/paused-"},
	PackageTerminating: {PackageTerminating, "the package or a revision is being deleted and a finalizer keeps it",
		"make the finalizer's owner finish (the evidence says who removes each and what holds it); remove a finalizer by hand only once its controller is gone for good"},
	RevisionOrphaned: {RevisionOrphaned, "a revision belongs to no package, or to a previous package of the same name",
		"adopt it (install its package again, or remove a stale owner reference) or delete it with --cascade=orphan so the CRDs it installed stay"},
	RevisionHistoryExceeded: {RevisionHistoryExceeded, "more inactive revisions remain than revisionHistoryLimit allows",
		"see why Crossplane does not collect them (a pause, a deletion that does not finish, a GarbageCollect event) and delete the oldest"},
	ImageConfigRewritten: {ImageConfigRewritten, "an ImageConfig rewrote the package source: Crossplane pulls the rewritten image",
		"nothing to fix: the rewritten image is the one Crossplane pulls and the one judged"},
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
	// Alternatives are the other causes the evidence cannot rule out; the
	// message and remediation say how to tell them apart. A finding without
	// alternatives names the cause the evidence determines.
	Alternatives []Code `json:"alternatives,omitempty"`
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
