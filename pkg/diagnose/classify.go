// Package diagnose decides, without I/O, why Crossplane packages are not
// healthy: it classifies condition and event messages by their inner cause
// (a table of rules, each citing the Crossplane source of its text), joins
// them with what the snapshot and the registry verdicts of package inspect
// say, and names the root cause per package with evidence and a fix, in
// named steps (decide.go).
package diagnose

import (
	"regexp"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// Stage says where in Crossplane's installation a message surfaced, as its
// outermost Crossplane prefix tells. The names are those of inspect's
// verdict stages.
type Stage string

// Stages, in the order Crossplane runs them.
const (
	StageUnknown      Stage = ""
	StageResolve      Stage = "resolve"
	StageFetch        Stage = "fetch"
	StageParse        Stage = "parse"
	StageLint         Stage = "lint"
	StageDependencies Stage = "dependencies"
	StageEstablish    Stage = "establish"
	StageRuntime      Stage = "runtime"
	// StageAPI is Crossplane updating its own objects (revision metadata,
	// status, RBAC roles) on the API server.
	StageAPI Stage = "api"
)

// wrapper is a prefix Crossplane puts before an error to say where it
// surfaced; it is stripped before classifying.
type wrapper struct {
	prefix string
	// re matches prefixes that carry a reference ("cannot fetch package REF: ").
	re         *regexp.Regexp
	stage      Stage
	generation string
}

const (
	genImageBackend = "v1.x-v2.1"
	genClient       = "v2.2+"
)

// wrappers are tried repeatedly, so nested ones all go; the innermost stage wins.
var wrappers = []wrapper{
	// revision/reconciler.go@v2.1.3 errInitParserBackend; imageback.go@v2.1.3.
	{prefix: "cannot initialize parser backend: ", stage: StageFetch, generation: genImageBackend},
	{prefix: "failed to fetch package from remote: ", stage: StageFetch, generation: genImageBackend},
	{prefix: "failed to get uncompressed contents from layer: ", stage: StageFetch, generation: genImageBackend},
	{prefix: "failed to fetch annotated base layer from remote: ", stage: StageFetch, generation: genImageBackend},
	// manager/reconciler.go@v2.3.4 errUnpack: the package manager, every version.
	{prefix: "cannot unpack package: ", stage: StageFetch},
	// manager/revisioner.go@v2.1.3 errFetchPackage (the tag's digest).
	{prefix: "failed to fetch package digest from remote: ", stage: StageResolve, generation: genImageBackend},
	// revision/reconciler.go@v2.3.4 errGetPackage; crossplane-runtime pkg/xpkg/client.go@v2.3.3.
	{prefix: "cannot get package: ", stage: StageFetch, generation: genClient},
	{re: regexp.MustCompile(`^cannot resolve \S+ to digest: `), stage: StageResolve, generation: genClient},
	{re: regexp.MustCompile(`^cannot fetch package \S+: `), stage: StageFetch, generation: genClient},
	{re: regexp.MustCompile(`^cannot extract package content from \S+: `), stage: StageFetch, generation: genClient},
	{re: regexp.MustCompile(`^cannot parse package \S+: `), stage: StageParse, generation: genClient},
	// revision/reconciler.go@v2.1.3 errParsePackage, errLintPackage; @v2.3.4 errValidatePackage.
	{prefix: "cannot parse package contents: ", stage: StageParse, generation: genImageBackend},
	{prefix: "linting package contents failed: ", stage: StageLint},
	{prefix: "validating package contents failed: ", stage: StageLint, generation: genClient},
	{prefix: "cannot resolve package dependencies: ", stage: StageDependencies},
	// revision/reconciler.go@v1.5.0..v2.3.4 errEstablishControl.
	{prefix: "cannot establish control of object: ", stage: StageEstablish},
	// revision/reconciler.go@v1.14.0 errPreHook/errPostHook; @v1.13.0 the older wording.
	{prefix: "pre establish runtime hook failed for package: ", stage: StageRuntime},
	{prefix: "post establish runtime hook failed for package: ", stage: StageRuntime},
	{prefix: "cannot run pre establish hook for package: ", stage: StageRuntime},
	{prefix: "cannot run post establish hook for package: ", stage: StageRuntime},
	// revision/reconciler.go@v2.1.3 errUpdateMeta, errUpdateStatus; rbac roles reconciler.
	{prefix: "cannot update package revision object metadata: ", stage: StageAPI},
	{prefix: "cannot update package revision status: ", stage: StageAPI},
	{prefix: "cannot apply ClusterRole: ", stage: StageAPI},
	// manager/reconciler.go@v1.14.9..v2.3.4 errApplyPackageRevision,
	// errUpdateInactivePackageRevision, errGCPackageRevision: the package
	// manager writing its revisions.
	{prefix: "cannot apply package revision: ", stage: StageAPI},
	{prefix: "cannot update inactive package revision: ", stage: StageAPI},
	{prefix: "cannot garbage collect old package revision: ", stage: StageAPI},
}

// healthPrefix is how v2 packages relay their revision's message
// (apis/pkg/v1/conditions.go@v2.3.4 PackageHealth).
var healthPrefix = regexp.MustCompile(`^Package (?:revision|runtime) health is "[A-Za-z]+" with message: `)

// Cause is what a message says went wrong.
type Cause struct {
	Code findings.Code
	// Also are the causes the message alone cannot rule out.
	Also []findings.Code
	// Inner is the message with its wrappers removed.
	Inner string
	// Stage is where it surfaced.
	Stage Stage
	// Generation says which Crossplane message family the text belongs to.
	Generation string
	// Rule is the rule that matched.
	Rule string
}

// Rule recognises one cause in a Crossplane message.
type Rule struct {
	// Name identifies the rule.
	Name string
	Code findings.Code
	// Stages limits the rule to messages that surfaced there (none: any).
	Stages []Stage
	// Any matches when the inner message contains one of these; Re when it
	// matches; Match for what neither can say. A rule with none of them
	// matches every message of its Stages.
	Any   []string
	Re    *regexp.Regexp
	Match func(inner string) bool
	// Also are the causes this message alone cannot rule out.
	Also []findings.Code
	// Source cites where the text is written (Crossplane file@tag, a library
	// it wraps, or a public report for texts of other programs).
	Source string
}

func (r Rule) matches(inner string, stage Stage) bool {
	if len(r.Stages) > 0 {
		ok := false
		for _, s := range r.Stages {
			ok = ok || s == stage
		}
		if !ok {
			return false
		}
	}
	if len(r.Any) == 0 && r.Re == nil && r.Match == nil {
		return true
	}
	for _, s := range r.Any {
		if strings.Contains(inner, s) {
			return true
		}
	}
	return r.Re != nil && r.Re.MatchString(inner) || r.Match != nil && r.Match(inner)
}

var (
	// reControlledBy is crossplane-runtime's AddControllerReference error
	// (pkg/meta/meta.go@v2.3.3: "%s is already controlled by %s %s (UID %s)").
	reControlledBy = regexp.MustCompile(`(\S+) is already controlled by (\S+) (\S+?)(?: \(UID ([^)\s]+)\))?(?:[\s"]|$)`)
	// reAPIURL is a client-go request to the API server: net/http's url.Error
	// ("Put \"https://host/apis/...\": err") with a Kubernetes API path.
	reAPIURL = regexp.MustCompile(`"https?://[^/"\s]+/apis?/[^"\s]*"|https?://kubernetes\.default(?:\.svc)?[:/]`)
	// reInvalid is the API server's validation error
	// (k8s.io/apimachinery pkg/api/errors NewInvalid: "%s %q is invalid: %v").
	reInvalid = regexp.MustCompile(`\b[A-Z][A-Za-z]*(?:\.[a-z0-9.-]+)? "[^"]*" is invalid: `)
	// reSecretNotFound is the API server's NotFound for a secret
	// (apimachinery NewNotFound: "%s %q not found").
	reSecretNotFound = regexp.MustCompile(`secrets? \\?"([^"\\]*)\\?" not found`)
	reIncompatible   = regexp.MustCompile(`is not compatible with Crossplane version \(([^)]*)\)(: Invalid Semantic Version)?`)
	// reDevVersion is a git-describe build version (v1.16.0-rc.0.38.gdd131a7a).
	reDevVersion = regexp.MustCompile(`\.g[0-9a-f]{7,}$|^v?0\.0\.`)
)

// versionUnknown tells whether an incompatible-version message names an
// empty, development, pre-release or non-semantic Crossplane version:
// constraints cannot match those (Masterminds/semver excludes pre-releases
// from ranges that do not name one).
func versionUnknown(inner string) bool {
	m := reIncompatible.FindStringSubmatch(inner)
	if m == nil {
		return false
	}
	v := strings.TrimSpace(m[1])
	return v == "" || m[2] != "" || reDevVersion.MatchString(v) || strings.Contains(strings.TrimPrefix(v, "v"), "-")
}

// hidesExistence is true for a 401/403 from a registry that answers so
// for a repository that does not exist: Docker Hub (corpus cdloh-provider-
// cloudflare-48) and ghcr.io's token service (contrib-provider-kafka-88).
func hidesExistence(inner string) bool {
	denied := strings.Contains(inner, "401 Unauthorized") || strings.Contains(inner, "UNAUTHORIZED") || strings.Contains(inner, "DENIED")
	return denied && registryHidesExistence(inner)
}

func registryHidesExistence(s string) bool {
	for _, h := range []string{"index.docker.io/", "registry-1.docker.io/", "https://docker.io/", "ghcr.io/token", "https://ghcr.io/v2/"} {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

var dependencyFamily = []findings.Code{findings.DependencyNotInLock, findings.DependencyNameMismatch, findings.DependencyReferenceOutdated,
	findings.DependencyVersionConflict, findings.DependencyDigestMismatch, findings.DependencyGraphInconsistent}

// Rules are tried in order; the first match wins. Specific causes come
// before the generic transport ones that their texts may also contain, and
// API-server causes before registry ones.
var Rules = []Rule{
	// Lifecycle states the package manager writes as conditions (lifecycle.go).
	{Name: "reconcile-paused", Code: findings.PackagePaused, Any: []string{pausedMessage},
		Source: "manager/reconciler.go, revision/reconciler.go@v1.14.9..v2.3.4 reconcilePausedMsg (Synced=False, ReconcilePaused)"},
	{Name: "package-inactive", Code: findings.RevisionAwaitingActivation, Re: regexp.MustCompile(`^` + inactiveMessage + `$`),
		Source: "manager/reconciler.go@v1.14.9..v2.3.4 v1.Inactive().WithMessage(\"Package is inactive\")"},
	{Name: "revision-controlled-elsewhere", Code: findings.RevisionOrphaned, Stages: []Stage{StageAPI}, Any: []string{"existing object is not controlled by UID"},
		Source: "crossplane-runtime pkg/resource/resource.go@v1.20.0 MustBeControllableBy, via manager/reconciler.go@v1.14.9..v2.3.4 errApplyPackageRevision, errUpdateInactivePackageRevision"},
	// Ownership.
	{Name: "controlled-by-another", Code: findings.OwnershipConflict, Re: reControlledBy,
		Source: "crossplane-runtime pkg/meta/meta.go@v2.3.3 AddControllerReference, wrapped by revision/reconciler.go@v1.5.0..v2.3.4 errEstablishControl"},
	{Name: "two-controllers", Code: findings.OwnershipConflict, Any: []string{"Only one reference can have Controller set to true"},
		Source: "k8s.io/apimachinery pkg/api/validation/objectmeta.go@v0.37.2 ValidateOwnerReferences"},
	// Webhook TLS (revision/establisher.go@v1.8.0..v2.3.4).
	{Name: "webhook-tls", Code: findings.WebhookTLSNotReady, Also: []findings.Code{findings.RevisionAwaitingActivation},
		Any: []string{"cannot get webhook tls secret", "webhook conversion strategy without having a TLS bundle",
			"waiting for package runtime controller to set revision's webhook TLS secret", "the value for the key tls.crt cannot be empty"},
		Source: "internal/controller/pkg/revision/establisher.go@v1.14.0, @v2.3.4 errGetWebhookTLSSecret, errConversionWithNoWebhookCA, errWebhookSecretNotPresent, errWebhookSecretWithoutCABundle"},
	// The Kubernetes API server, told apart from registries by the client
	// that failed, the URL and the stage.
	{Name: "api-rate-limiter", Code: findings.KubernetesAPIUnavailable, Any: []string{"client rate limiter Wait returned an error"},
		Source: "k8s.io/client-go rest/request.go@v0.37.2 (tryThrottle), golang.org/x/time rate.go@v0.15.0"},
	{Name: "api-url", Code: findings.KubernetesAPIUnavailable, Re: reAPIURL,
		Source: "client-go requests to the API server (/api/, /apis/ paths; kubernetes.default.svc), net/http url.Error"},
	{Name: "api-stage-timeout", Code: findings.KubernetesAPIUnavailable, Stages: []Stage{StageEstablish, StageRuntime, StageAPI},
		Any:    []string{"context deadline excee", "i/o timeout", "connection refused", "context canceled", "TLS handshake timeout"},
		Source: "revision/reconciler.go@v2.3.4: establish, runtime hooks and metadata updates talk only to the API server"},
	{Name: "api-rejected", Code: findings.RuntimeManifestRejected, Re: reInvalid,
		Source: "k8s.io/apimachinery pkg/api/errors NewInvalid, surfaced by runtime hooks (revision/runtime_provider.go@v1.14.0, deployment.go@v1.5.0)"},
	// Pull secrets: up to v1.12 Crossplane's keychain fails on a missing
	// secret (go-containerregistry k8schain 2022-05, go.mod@v1.12.0); from
	// v1.13 it logs "secret %s/%s not found; ignoring" and the registry answers 401.
	{Name: "pull-secret-not-found", Code: findings.PullSecretNotFound, Re: reSecretNotFound,
		Source: "k8schain.New in internal/xpkg/fetch.go@v1.10.0 (Secrets().Get), apimachinery NewNotFound"},
	{Name: "pull-secret-empty-name", Code: findings.PullSecretNotFound, Stages: []Stage{StageResolve, StageFetch}, Any: []string{"resource name may not be empty"},
		Source: "k8s.io/client-go rest/request.go@v0.37.2 Name(\"\"), reached through k8schain with an empty imagePullSecrets name (corpus contrib-provider-kubernetes-146)"},
	// The package cache (--cache-dir /cache/xpkg, cmd/crossplane/core/core.go@v1.20.0).
	{Name: "cache", Code: findings.PackageCacheUnusable,
		Any:    []string{"cannot get package contents from cache", "/cache/xpkg/", "no space left on device", `EmptyDir volume "package-cache" exceeds the limit`},
		Source: "revision/reconciler.go@v2.1.3 errGetCache and the cache.Store tee; internal/xpkg/cache.go@v1.20.0; kubelet eviction (corpus xp-2877, xp-3988)"},
	{Name: "truncated", Code: findings.PackageDownloadIncomplete, Stages: []Stage{StageParse}, Any: []string{"unexpected EOF"},
		Also:   []findings.Code{findings.PackageCacheUnusable},
		Source: "revision/reconciler.go@v2.1.3 errParsePackage over a gzip/tar stream that ended early (io.ErrUnexpectedEOF)"},
	// Package contents.
	{Name: "kind-mismatch", Code: findings.PackageKindMismatch, Re: regexp.MustCompile(`package meta type is not (Provider|Configuration|Function)`),
		Source: "internal/xpkg/lint.go@v1.10.0..v2.1.3 errNotMetaProvider/Configuration/Function; crossplane-runtime pkg/xpkg/lint.go@v2.3.3"},
	{Name: "not-package-yaml", Code: findings.PackageYAMLNotFound, Any: []string{`couldn't find "package.yaml" file`, "package.yaml not found in package", "failed to open package stream file"},
		Source: "imageback.go@v1.13.2 errOpenPackageStream, @v2.1.3 errFmtNoPackageFileFound; crossplane-runtime pkg/xpkg/client.go@v2.3.3"},
	{Name: "multiple-base-layers", Code: findings.MultipleBaseLayers, Any: []string{"multiple annotated base layers"}, Source: "imageback.go@v2.1.3 errMultipleAnnotatedLayers"},
	{Name: "too-many-layers", Code: findings.TooManyLayers, Re: regexp.MustCompile(`package has \d+ layers, but only \d+ are allowed`), Source: "imageback.go@v2.1.3 errFmtMaxManifestLayers"},
	{Name: "no-platform", Code: findings.NoPlatformMatch, Any: []string{"no child with platform"}, Source: "go-containerregistry remote/index.go, via imageback.go@v2.1.3"},
	{Name: "pull-policy-never", Code: findings.PullPolicyNeverNotCached, Any: []string{"pull policy is Never", "pre-cached package with pull policy Never"},
		Source: "revision/reconciler.go@v2.1.3 errPullPolicyNever; crossplane-runtime pkg/xpkg/client.go@v2.3.3"},
	{Name: "signature", Code: findings.SignatureVerificationFailed, Any: []string{"signature verification failed", "no attestation of type", "cannot fetch Fulcio roots"},
		Source: "internal/controller/pkg/signature@v1.20.11; crossplane-runtime pkg/xpkg/client.go@v2.3.3"},
	{Name: "version-unknown", Code: findings.CrossplaneVersionUnknown, Match: versionUnknown,
		Source: "internal/xpkg/lint.go@v2.1.3 errFmtCrossplaneIncompatible with the running version; Masterminds/semver ErrInvalidSemVer"},
	{Name: "version-incompatible", Code: findings.CrossplaneVersionIncompat, Any: []string{"incompatible Crossplane version", "is not compatible with Crossplane version"},
		Source: "revision/reconciler.go@v2.1.3 errIncompatible, internal/xpkg/lint.go@v2.1.3"},
	// Dependencies (revision/dependency.go@v1.5.0..v2.3.4, internal/dag/dag.go,
	// resolver/reconciler.go@v2.3.4); Lock and installed packages refine them.
	{Name: "dependency-graph", Code: findings.DependencyGraphInconsistent,
		Any:    []string{"cannot initialize dependency graph from the packages in the lock", "missing node in tree", "dependency is not present in graph", "dependency in graph is not a lock package"},
		Source: "revision/dependency.go@v1.14.0..v2.3.4 errInitDAG, errDependencyNotInGraph; internal/dag/dag.go@v1.5.0..v2.3.4"},
	{Name: "dependency-node-exists", Code: findings.DependencyGraphInconsistent, Stages: []Stage{StageDependencies}, Any: []string{"already exists"},
		Source: "internal/dag/dag.go@v2.3.4 AddNode \"node %s already exists\""},
	{Name: "dependency-digest", Code: findings.DependencyDigestMismatch, Re: regexp.MustCompile(`is incompatible with constraint sha256:[0-9a-f]{64}|has different digests in parent constraints`),
		Source: "revision/dependency.go@v2.3.4 (digest constraints), resolver/reconciler.go@v1.18.0 errFmtDiffDigests"},
	{Name: "dependency-version", Code: findings.DependencyVersionConflict,
		Any:    []string{"incompatible dependencies", "is incompatible with constraint", "does not have a valid version to upgrade that satisfies all constraints"},
		Source: "revision/dependency.go@v1.5.0 errIncompatibleDependencyFmt, @v1.16.0 errFmtIncompatibleDependency; resolver/reconciler.go@v2.3.4 errFmtNoValidVersion"},
	{Name: "dependency-missing", Code: findings.DependencyUnresolvable, Stages: []Stage{StageDependencies},
		Source: "revision/dependency.go@v1.5.0..v2.3.4 errFmtMissingDependencies"},
	// Package contents that do not parse or lint.
	{Name: "contents-invalid", Code: findings.PackageYAMLInvalid,
		Any: []string{"not exactly one package meta type", "multiple meta types", "package must contain exactly one meta object", "object is not a CRD",
			"Object 'Kind' is missing", "is registered for version", "failed to parse package"},
		Source: "internal/xpkg/lint.go@v2.1.3 errNotExactlyOneMeta, errNotCRD; revision/reconciler.go errNotOneMeta; apimachinery runtime scheme errors; crossplane CLI build (corpus xp-5504, xp-4770)"},
	{Name: "parse-failed", Code: findings.PackageYAMLInvalid, Stages: []Stage{StageParse},
		Source: "revision/reconciler.go@v2.1.3 errParsePackage; crossplane-runtime pkg/xpkg/client.go@v2.3.3 \"cannot parse package %s\""},
	{Name: "layer-invalid", Code: findings.LayerInvalid, Any: []string{"invalid package layer", "cannot read package contents"}, Source: "imageback.go@v2.1.3 errValidateLayer; client.go@v2.3.3"},
	// validate.Image on the flatten path runs out of the revision deadline (#6771).
	{Name: "flatten-deadline", Code: findings.FlattenPathTooSlow, Re: regexp.MustCompile(`(invalid package image|validating layers|cannot extract package content).*context deadline exceeded`),
		Also: []findings.Code{findings.BaseLayerAnnotationMissing, findings.RegistryUnreachable}, Source: "imageback.go@v2.1.3 errValidateImage (crossplane/crossplane#6771)"},
	// Registries (go-containerregistry transport/error.go@v0.20.6, remote/fetcher.go).
	{Name: "registry-protocol", Code: findings.RegistryProtocolError, Any: []string{"response did not include Docker-Content-Digest header", "response did not include Content-Type header"},
		Source: "go-containerregistry remote/fetcher.go@v0.20.6 headManifest; before v1.10 Crossplane had no GET fallback (internal/xpkg/fetch.go@v1.8.0, PR #3223)"},
	{Name: "registry-rate-limit", Code: findings.RegistryRateLimited, Any: []string{"TOOMANYREQUESTS", "toomanyrequests", "429 Too Many Requests"},
		Source: "go-containerregistry transport/error.go@v0.20.6 TooManyRequestsErrorCode"},
	{Name: "registry-tls", Code: findings.RegistryTLSUntrusted, Any: []string{"x509:", "certificate signed by unknown authority", "tls: failed to verify certificate"},
		Source: "crypto/x509 via go-containerregistry (crossplane/crossplane#6203)"},
	{Name: "registry-hides-existence", Code: findings.RegistryUnauthorized, Match: hidesExistence, Also: []findings.Code{findings.ManifestNotFound},
		Source: "Docker Hub and ghcr.io answer 401/DENIED for repositories that do not exist (corpus cdloh-provider-cloudflare-48, contrib-provider-kafka-88)"},
	{Name: "registry-unauthorized", Code: findings.RegistryUnauthorized, Any: []string{"401 Unauthorized", "403 Forbidden", "UNAUTHORIZED", "DENIED:", "authentication required", "no basic auth credentials", "pull access denied"},
		Source: "go-containerregistry transport/error.go@v0.20.6"},
	{Name: "registry-not-found", Code: findings.ManifestNotFound, Any: []string{"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "404 Not Found", "manifest unknown", "not found: manifest"},
		Source: "go-containerregistry transport/error.go@v0.20.6"},
	{Name: "registry-unreachable", Code: findings.RegistryUnreachable,
		Any: []string{"dial tcp", "i/o timeout", "no such host", "connection refused", "context deadline exceeded", "TLS handshake timeout", "proxyconnect", "server misbehaving",
			"no route to host", "network is unreachable", "503 Service Unavailable", "502 Bad Gateway", "500 Internal Server Error", "connection reset by peer"},
		Source: "net/http and net errors through go-containerregistry"},
	// The runtime.
	{Name: "runtime-unavailable", Code: findings.RuntimeNotAvailable, Any: []string{"does not have minimum availability", `has no condition of type "Available"`, "deployment is unavailable"},
		Also:   []findings.Code{findings.RuntimeCrashLooping, findings.RuntimeImagePullFailed},
		Source: "revision/runtime_provider.go@v1.14.0 errFmtUnavailable; revision/deployment.go@v1.0.0"},
	{Name: "runtime-exec-format", Code: findings.RuntimeCrashLooping, Any: []string{"exec format error"},
		Source: "the kernel's ENOEXEC as the container runtime reports it: an image for another architecture (corpus vshn-provider-minio-56)"},
}

// refinements are the codes the per-package decision may turn a
// classified code into, with what the snapshot and the registry say.
var refinements = map[findings.Code][]findings.Code{
	findings.DependencyUnresolvable:    dependencyFamily,
	findings.DependencyVersionConflict: {findings.DependencyDigestMismatch},
	findings.PackageYAMLNotFound:       {findings.PackageYAMLNotAtRoot},
	findings.RegistryUnauthorized:      {findings.ManifestNotFound},
	findings.WebhookTLSNotReady:        {findings.RevisionAwaitingActivation},
	findings.RuntimeNotAvailable:       {findings.RuntimeImagePullFailed, findings.RuntimeCrashLooping},
	findings.PackageKindMismatch:       {findings.PackageMetaVersionUnsupported, findings.PackageUnhealthy},
	findings.RuntimeManifestRejected:   {findings.OwnershipConflict},
}

// Refinements lists the codes the per-package decision may turn code into.
func Refinements(code findings.Code) []findings.Code { return refinements[code] }

// normalize undoes what reports and terminals do to a message: line
// wrapping, surrounding quotes.
func normalize(msg string) string {
	s := strings.Join(strings.Fields(msg), " ")
	if len(s) >= 2 && (s[0] == '\'' && s[len(s)-1] == '\'' || s[0] == '"' && s[len(s)-1] == '"') {
		s = s[1 : len(s)-1]
	}
	return s
}

// Classify returns the cause a Crossplane message names, if it names one.
// "cannot initialize parser backend" and the other wrappers are never a
// cause by themselves.
func Classify(msg string) (Cause, bool) {
	inner, gen, stage := unwrap(msg)
	for _, r := range Rules {
		if r.matches(inner, stage) {
			return Cause{Code: r.Code, Also: r.Also, Inner: inner, Stage: stage, Generation: gen, Rule: r.Name}, true
		}
	}
	return Cause{Inner: inner, Stage: stage, Generation: gen}, false
}

// Unwrap strips the wrappers from msg and tells which message generation
// they belong to: "v1.x-v2.1" for the parser-backend family, "v2.2+" for
// the xpkg client family, "" when the text does not say.
func Unwrap(msg string) (inner, generation string) {
	inner, generation, _ = unwrap(msg)
	return inner, generation
}

func unwrap(msg string) (inner, generation string, stage Stage) {
	inner = strings.TrimSpace(healthPrefix.ReplaceAllString(normalize(msg), ""))
	for changed := true; changed; {
		changed = false
		for _, w := range wrappers {
			rest, ok := "", false
			if w.re != nil {
				if loc := w.re.FindStringIndex(inner); loc != nil {
					rest, ok = inner[loc[1]:], true
				}
			} else {
				rest, ok = strings.CutPrefix(inner, w.prefix)
			}
			if !ok {
				continue
			}
			if generation == "" {
				generation = w.generation
			}
			stage = w.stage
			inner, changed = rest, true
		}
	}
	return inner, generation, stage
}
