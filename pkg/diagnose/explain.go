package diagnose

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// explainer completes the finding of one classified cause with what the
// snapshot and the registry add: the objects, versions and commands of the
// case, and whether the evidence determines the cause (no Alternatives) or
// leaves several (Alternatives, and the command that tells them apart).
type explainer func(c *pkgCase, g *causeGroup, f *findings.Finding)

var explainers map[findings.Code]explainer

func init() {
	explainers = map[findings.Code]explainer{
		findings.OwnershipConflict:           explainOwnership,
		findings.WebhookTLSNotReady:          explainWebhookTLS,
		findings.KubernetesAPIUnavailable:    explainAPIServer,
		findings.RuntimeManifestRejected:     explainRejected,
		findings.PullSecretNotFound:          explainPullSecret,
		findings.PackageCacheUnusable:        explainCache,
		findings.PackageKindMismatch:         explainKindMismatch,
		findings.CrossplaneVersionUnknown:    explainVersionUnknown,
		findings.RegistryProtocolError:       explainProtocol,
		findings.RegistryUnauthorized:        explainUnauthorized,
		findings.ManifestNotFound:            explainNotFound,
		findings.RegistryTLSUntrusted:        explainRegistryHost,
		findings.RegistryUnreachable:         explainRegistryHost,
		findings.RegistryRateLimited:         explainRegistryHost,
		findings.PackageYAMLNotFound:         explainNoPackageYAML,
		findings.DependencyUnresolvable:      explainMissingDependencies,
		findings.DependencyVersionConflict:   explainVersionConflict,
		findings.DependencyDigestMismatch:    explainVersionConflict,
		findings.DependencyGraphInconsistent: explainGraph,
		findings.PackagePaused:               explainPaused,
		findings.RevisionAwaitingActivation:  explainActivation,
		findings.RevisionOrphaned:            explainStaleOwner,
	}
}

func firstMatch(re *regexp.Regexp, texts []string) []string {
	for _, t := range texts {
		if m := re.FindStringSubmatch(t); m != nil {
			return m
		}
	}
	return nil
}

func lower(kind string) string { return strings.ToLower(kind) }

// explainOwnership names the other owner, whether it still exists, and what
// to do. Crossplane names a revision FriendlyID(package name, digest):
// the package name, "-", 12 hex (internal/xpkg/name.go@v1.16.0), so a
// revision that is gone still names its package.
func explainOwnership(c *pkgCase, g *causeGroup, f *findings.Finding) {
	if m := firstMatch(reTwoControllers, g.inners()); m != nil {
		f.Message = fmt.Sprintf("the API server refuses to give %s a second controller: its ownerReferences already mark %s as controller, and Crossplane adds %s", m[1], m[2], m[3])
		f.Remediation = fmt.Sprintf("demote the old revision's controller ownerReference (to %s) so the new one can take control (the owner stays, so the object is not garbage collected):\n  %s",
			m[2], demoteCommand("crd", m[1], ownerNameOf(m[2]), ""))
		return
	}
	m := firstMatch(reControlledBy, g.inners())
	if m == nil {
		return
	}
	obj, ownerKind, owner, uid := m[1], m[2], m[3], m[4]
	resource := "crd"
	if c.pkg.Kind == "Configuration" {
		resource = "compositeresourcedefinition,composition"
	}
	uidNote := ""
	if uid != "" {
		uidNote = " (UID " + uid + ")"
	}
	ownerPkg := ""
	if reFriendlySuffix.MatchString(owner) {
		ownerPkg = owner[:len(owner)-13]
	}
	var exists *bool
	for _, r := range c.s.Revisions {
		if r.Kind == ownerKind && r.Name == owner {
			t := true
			exists = &t
			ownerPkg = r.Parent
		}
	}
	// Absent from a live read is gone; absent from a dump is unknown.
	if exists == nil && c.revisionsRead() && !c.s.FromDump {
		f := false
		exists = &f
	}
	demote := demoteCommand(resource, obj, owner, uid) + "   (the ownerReference to " + ownerKind + " " + owner + uidNote + ")"
	switch {
	case c.rev != nil && owner == c.rev.Name && uid != "":
		// corpus xp-6761: the owner has the current revision's name.
		f.Message = fmt.Sprintf("%s is controlled by %s %s%s: a revision of the same name as %s's current one, but a replaced one (another UID): a stale controller reference left when the revision was recreated", obj, ownerKind, owner, uidNote, c.pkg.Name)
		f.Remediation = "demote the stale controller ownerReference on " + obj + " so the current revision can take control (crossplane/crossplane#7733 makes Crossplane do it):\n  " + demote
	case ownerPkg != "" && ownerPkg != c.pkg.Name && c.hasPackage(ownerPkg):
		other := c.findPackage(ownerPkg)
		f.Message = fmt.Sprintf("%s is controlled by %s %s%s, a revision of %s %s (%s): two packages install the same object, and only one can control it", obj, ownerKind, owner, uidNote, other.Kind, other.Name, other.Package)
		f.Remediation = fmt.Sprintf("keep one package that ships %s: uninstall the other one,\n  kubectl delete %s %s\n(its CRDs stay: they are also owned by this package); or, if %s is the one to keep, delete %s %s instead",
			obj, lower(other.Kind), other.Name, other.Name, lower(c.pkg.Kind), c.pkg.Name)
	case ownerPkg == c.pkg.Name && exists != nil && *exists:
		f.Message = fmt.Sprintf("%s is controlled by %s %s%s, another revision of %s that still holds control", obj, ownerKind, owner, uidNote, c.pkg.Name)
		f.Remediation = fmt.Sprintf("the old revision should hand %s over when it is deactivated; if it stays stuck, demote its controller ownerReference:\n  %s", obj, demote)
	case exists != nil && !*exists:
		f.Message = fmt.Sprintf("%s is controlled by %s %s%s, which no longer exists: a stale controller reference left by a replaced or deleted revision", obj, ownerKind, owner, uidNote)
		if ownerPkg != "" && ownerPkg != c.pkg.Name {
			f.Message += fmt.Sprintf(" (of a package %s that is not installed either: a renamed package?)", ownerPkg)
		}
		f.Remediation = "demote the stale controller ownerReference on " + obj + " so this package's revision can take control:\n  " + demote
	default:
		f.Message = fmt.Sprintf("%s is controlled by %s %s%s, and the input does not say whether that revision still exists", obj, ownerKind, owner, uidNote)
		if ownerPkg != "" {
			f.Message += fmt.Sprintf(" (it is a revision of a package named %s", ownerPkg)
			if ownerPkg == c.pkg.Name {
				f.Message += ", this one)"
			} else {
				f.Message += ")"
			}
		}
		f.Remediation = fmt.Sprintf("check the owner: kubectl get %s %s\n- it exists and belongs to another package (%s): uninstall that package, which ships the same object\n- it is gone, or is a replaced revision of this package: demote its controller ownerReference on %s:\n  %s",
			lower(ownerKind), owner, orUnknown(ownerPkg), obj, demote)
	}
}

var (
	reTwoControllers = regexp.MustCompile(`"([^"]+)" is invalid: .*Only one reference can have Controller set to true\. Found "true" in references for (\S+) and (\S+)`)
	reFriendlySuffix = regexp.MustCompile(`-[0-9a-f]{12}$`)
)

func ownerNameOf(ref string) string {
	if _, n, ok := strings.Cut(ref, "/"); ok {
		return n
	}
	return ref
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// demoteCommand sets controller=false on the stale ownerReference, which
// keeps the owner (so garbage collection leaves the object alone) and lets
// the new revision take control (corpus upjet-aws-1909 confirms it works).
func demoteCommand(resource, obj, owner, uid string) string {
	sel := fmt.Sprintf(`.name=="%s"`, owner)
	if uid != "" && !strings.HasPrefix(uid, "<") {
		sel = fmt.Sprintf(`.uid=="%s"`, uid)
	}
	res := strings.Split(resource, ",")[0]
	return fmt.Sprintf(`kubectl get %s %s -o json | jq '(.metadata.ownerReferences[] | select(%s) | .controller) = false' | kubectl replace -f -`, res, obj, sel)
}

func (c *pkgCase) revisionsRead() bool {
	for _, r := range c.s.Revisions {
		if r.Kind == cluster.RevisionKind(c.pkg.Kind) {
			return true
		}
	}
	return false
}

func (c *pkgCase) hasPackage(name string) bool { return c.findPackage(name) != nil }

func (c *pkgCase) findPackage(name string) *packageRef {
	for _, p := range c.s.Packages {
		if p.Name == name {
			return &packageRef{Kind: p.Kind, Name: p.Name, Package: p.Package}
		}
	}
	return nil
}

type packageRef struct{ Kind, Name, Package string }

// explainWebhookTLS tells manual activation from a secret not yet created.
// Up to v1.14 the establisher reads the TLS secret even for an inactive
// revision (establisher.go@v1.14.0 validate), whose runtime hook creates
// none (runtime_provider.go@v1.14.0 Pre returns for inactive revisions);
// from v1.15 only active revisions need it (establisher.go@v1.15.0).
func explainWebhookTLS(c *pkgCase, g *causeGroup, f *findings.Finding) {
	secret := c.pkg.Name + "-tls-server" // apis/pkg/v1/interfaces.go@v1.16.0 TLSServerSecretNameSuffix
	if m := firstMatch(reSecretNotFound, g.inners()); m != nil {
		secret = m[1]
	}
	inactive := c.rev != nil && c.rev.DesiredState == "Inactive" || c.pkg.RevisionActivationPolicy == "Manual"
	before15, from15 := c.crossplaneBefore("1.15.0")
	switch {
	case inactive && !from15:
		f.Alternatives = nil
		f.Message = fmt.Sprintf("%s's revision is inactive (revisionActivationPolicy: Manual), and Crossplane before v1.15 reads the webhook TLS secret %s even for inactive revisions, which get none", c.pkg.Name, secret)
		if !before15 {
			f.Message += " (the Crossplane version is unknown: v1.15+ does not need it for inactive revisions)"
		}
		f.Remediation = fmt.Sprintf("activate the revision when it should take over:\n  kubectl patch %srevision %s --type merge -p '{\"spec\":{\"desiredState\":\"Active\"}}'\nor install with revisionActivationPolicy: Automatic, or upgrade Crossplane to v1.15+", lower(c.pkg.Kind), c.revName())
	default:
		f.Alternatives = nil
		f.Message = fmt.Sprintf("the webhook TLS secret %s/%s of %s does not exist yet or is empty: Crossplane creates it for the active revision before it establishes the CRDs that use webhook conversion", c.s.CrossplaneNamespace, secret, c.pkg.Name)
		f.Remediation = fmt.Sprintf("check the secret: kubectl -n %s get secret %s; if it stays missing, Crossplane's log says why it cannot create it (kubectl -n %s logs deploy/crossplane | grep -i tls); revisionActivationPolicy: Manual revisions get none until activated",
			c.s.CrossplaneNamespace, secret, c.s.CrossplaneNamespace)
	}
}

func (c *pkgCase) revName() string {
	if c.rev != nil {
		return c.rev.Name
	}
	return "REVISION"
}

var reURLHost = regexp.MustCompile(`https?://([^/"\s]+)`)

// explainAPIServer says which stage talked to the API server, and its address.
func explainAPIServer(c *pkgCase, g *causeGroup, f *findings.Finding) {
	stage := g.causes[0].Stage
	what := map[Stage]string{StageEstablish: "establishing the package's objects (CRDs)", StageRuntime: "applying the package's runtime (Deployment, Service)", StageAPI: "updating its own objects"}[stage]
	if what == "" {
		what = "a request to the Kubernetes API"
	}
	f.Message = fmt.Sprintf("Crossplane ran out of time talking to the Kubernetes API server while %s; the registry is not involved", what)
	if m := firstMatch(reURLHost, g.inners()); m != nil && reAPIURL.MatchString(strings.Join(g.inners(), " ")) {
		f.Message += fmt.Sprintf(" (%s is the API server: the request's path is a Kubernetes API path)", m[1])
	}
	if strings.Contains(strings.Join(g.inners(), " "), "client rate limiter") {
		f.Message += "; Crossplane's own client throttled its requests until the reconcile deadline"
	}
}

// explainRejected names the object and the API server's reason.
func explainRejected(c *pkgCase, g *causeGroup, f *findings.Finding) {
	inner := strings.Join(g.inners(), " ")
	loc := reInvalid.FindString(inner)
	f.Message = fmt.Sprintf("the API server rejected %s: %s", strings.TrimSuffix(strings.TrimSpace(loc), " is invalid:"), strings.TrimSpace(inner[strings.Index(inner, loc)+len(loc):]))
	switch {
	case strings.Contains(inner, "containers[0].image: Required value"):
		// deployment.go@v1.5.0 uses spec.controller.image as is; from v1.6.0
		// the package image runs when it is unset (commit 8c48d4c06).
		f.Message = fmt.Sprintf("Crossplane built %s's Deployment without a container image: the package names no spec.controller.image (a single-image package, whose runtime is the package image), which Crossplane before v1.6 requires", c.pkg.Name)
		f.Remediation = "run Crossplane v1.6 or later (it runs the package image when spec.controller.image is unset), or use a package version whose crossplane.yaml sets spec.controller.image"
	case strings.Contains(inner, "may not change once set"):
		f.Remediation = "an existing object of that name has a field the API server will not let Crossplane change: find who created it, and delete it so Crossplane creates its own (for a Service: kubectl -n " + c.s.CrossplaneNamespace + " delete service NAME)"
	}
}

// explainPullSecret says which object names the secret and where
// Crossplane looked (its own namespace: internal/xpkg/fetch.go@v1.10.0
// k8schain Options.Namespace).
func explainPullSecret(c *pkgCase, g *causeGroup, f *findings.Finding) {
	ns := c.s.CrossplaneNamespace
	m := firstMatch(reSecretNotFound, g.inners())
	if m == nil || m[1] == "" {
		f.Message = "Crossplane was asked to read a pull secret with an empty name (a reference in spec.packagePullSecrets or the Helm chart's imagePullSecrets has no name)"
		f.Remediation = "remove the empty entry from the Helm value imagePullSecrets (Crossplane's ServiceAccount) or from spec.packagePullSecrets of " + c.pkg.Name
		return
	}
	name := m[1]
	var who []string
	if slices.Contains(c.pkg.PullSecrets, name) {
		who = append(who, fmt.Sprintf("spec.packagePullSecrets of %s %s", c.pkg.Kind, c.pkg.Name))
	}
	if slices.Contains(c.s.CrossplanePullSecrets, name) {
		who = append(who, "imagePullSecrets of Crossplane's ServiceAccount or Deployment (the Helm chart's imagePullSecrets)")
	}
	for _, ic := range c.s.ImageConfigs {
		if ic.PullSecret == name {
			who = append(who, "ImageConfig "+ic.Name+" (spec.registry.authentication.pullSecretRef)")
		}
	}
	named := strings.Join(who, " and ")
	if named == "" {
		named = "spec.packagePullSecrets, the Helm chart's imagePullSecrets (Crossplane's ServiceAccount) or an ImageConfig (the input does not show which)"
	}
	f.Message = fmt.Sprintf("the pull secret %q does not exist in namespace %s, where Crossplane looks for it; it is named by %s", name, ns, named)
	f.Remediation = fmt.Sprintf("create it where Crossplane looks:\n  kubectl -n %s create secret docker-registry %s --docker-server=REGISTRY --docker-username=USER --docker-password=TOKEN\nor remove %q from %s", ns, name, name, named)
}

// explainCache tells an evicted pod, a full cache and a missing cache file apart.
func explainCache(c *pkgCase, g *causeGroup, f *findings.Finding) {
	inner := strings.Join(g.inners(), " ")
	switch {
	case strings.Contains(inner, `EmptyDir volume "package-cache" exceeds the limit`):
		f.Message = "Crossplane's pod was evicted: its package-cache emptyDir grew past its size limit"
		f.Remediation = "raise the Helm value packageCache.sizeLimit (20Mi by default since v1.12, 5Mi before: crossplane/crossplane#3988); a package that fills the cache alone may be a controller image installed as the package"
	case strings.Contains(inner, "no space left on device"):
		f.Message = "Crossplane's package cache is full (no space left on device)"
	case strings.Contains(inner, "no such file or directory"):
		f.Message = "Crossplane's package cache lacks a file Crossplane expected to read or write there: something removed it, or the cache volume is not the one it wrote to (the message does not say which)"
		f.Remediation = fmt.Sprintf("make Crossplane download the package again: kubectl delete %srevision %s (or restart the Crossplane pod); if it recurs, use the default emptyDir cache (Helm packageCache.pvc unset)", lower(c.pkg.Kind), c.revName())
	}
}

// explainKindMismatch: the linter of the revision's kind did not accept the
// package's metadata. The message names the kind that was expected.
func explainKindMismatch(c *pkgCase, g *causeGroup, f *findings.Finding) {
	m := firstMatch(regexp.MustCompile(`package meta type is not (\w+)`), g.inners())
	if m == nil {
		return
	}
	want := m[1]
	if want != c.pkg.Kind {
		// corpus xp-1810: a ConfigurationRevision linted as a Provider.
		f.Code = findings.PackageUnhealthy
		f.Message = fmt.Sprintf("Crossplane linted %s %s as a %s (\"package meta type is not %s\" on a %sRevision): a defect of this Crossplane build, not of the package (crossplane/crossplane#1810 fixed one such)", c.pkg.Kind, c.pkg.Name, want, want, c.pkg.Kind)
		f.Remediation = "run a released Crossplane version; report the build if it is one"
		return
	}
	if c.img != nil && c.img.Package != nil && c.img.Package.Meta != nil {
		meta := c.img.Package.Meta
		if meta.Kind != want {
			f.Message = fmt.Sprintf("%s %s installs a package whose crossplane.yaml declares kind %s", c.pkg.Kind, c.pkg.Name, meta.Kind)
			f.Remediation = fmt.Sprintf("install it as a %s: kubectl delete %s %s, then apply a %s with spec.package: %s", meta.Kind, lower(c.pkg.Kind), c.pkg.Name, meta.Kind, c.pkg.Package)
			return
		}
		f.Code = findings.PackageMetaVersionUnsupported
		f.Message = fmt.Sprintf("the package declares kind %s at %s, which this Crossplane does not read as a %s", meta.Kind, meta.APIVersion, want)
		return
	}
	// Function metadata is read only as meta.pkg.crossplane.io/v1beta1 up to
	// v1.17 (internal/xpkg/lint.go@v1.17.0 IsFunction), also as v1 from
	// v1.18 (lint.go@v1.18.0 TryConvert).
	_, from18 := c.crossplaneBefore("1.18.0")
	if want == "Function" && !from18 {
		f.Alternatives = append(f.Alternatives, findings.PackageMetaVersionUnsupported)
		f.Message = fmt.Sprintf("Crossplane does not accept %s's metadata as a Function: either its crossplane.yaml declares another kind, or it declares kind Function at meta.pkg.crossplane.io/v1, which Crossplane before v1.18 reads only as v1beta1", c.pkg.Name)
		f.Remediation = fmt.Sprintf("look at the metadata: kubectl xpdoctor inspect %s (PACKAGE shows its kind)\n- another kind: install the package as that kind\n- kind Function: rebuild it with apiVersion: meta.pkg.crossplane.io/v1beta1 in crossplane.yaml, or upgrade Crossplane to v1.18+", orRef(c.pkg.Package))
		return
	}
	f.Message = fmt.Sprintf("%s %s installs a package whose crossplane.yaml declares another kind than %s", c.pkg.Kind, c.pkg.Name, want)
	f.Remediation = fmt.Sprintf("see its kind with kubectl xpdoctor inspect %s, and install it as that kind (kubectl delete %s %s first)", orRef(c.pkg.Package), lower(c.pkg.Kind), c.pkg.Name)
}

func orRef(ref string) string {
	if ref == "" {
		return "REF"
	}
	return ref
}

// explainVersionUnknown says which version Crossplane reported and why no
// constraint matches it.
func explainVersionUnknown(c *pkgCase, g *causeGroup, f *findings.Finding) {
	m := firstMatch(reIncompatible, g.inners())
	if m == nil {
		return
	}
	v := strings.TrimSpace(m[1])
	switch {
	case v == "":
		f.Message = "the running Crossplane reports an empty version (a build without version information), so no Crossplane version constraint can match it"
	case m[2] != "":
		f.Message = fmt.Sprintf("the running Crossplane reports %q, which is not a semantic version, so no Crossplane version constraint can match it", v)
	case reDevVersion.MatchString(v):
		f.Message = fmt.Sprintf("the running Crossplane reports %s, a development build, which the package's Crossplane version constraint does not match", v)
	default:
		f.Message = fmt.Sprintf("the running Crossplane reports %s, a pre-release: semantic-version constraints such as >=v1.15.0 exclude pre-releases unless they name one", v)
	}
}

// explainProtocol: the GET fallback after a failed HEAD came in v1.10
// (internal/xpkg/fetch.go@v1.10.0; crossplane/crossplane#3223).
func explainProtocol(c *pkgCase, g *causeGroup, f *findings.Finding) {
	host := ""
	if m := firstMatch(reURLHost, g.inners()); m != nil {
		host = m[1] + " "
	}
	f.Message = fmt.Sprintf("the registry %sanswers a manifest HEAD without the Docker-Content-Digest header the distribution protocol requires, and this Crossplane does not retry with GET", host)
}

// explainUnauthorized: Docker Hub and ghcr.io answer 401/DENIED for a
// repository that does not exist as for one that needs credentials.
func explainUnauthorized(c *pkgCase, g *causeGroup, f *findings.Finding) {
	f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[f.Code].Title, orRef(c.source))
	inner := strings.Join(g.inners(), " ")
	if !hidesExistence(inner) {
		if reECR.MatchString(inner) || reECR.MatchString(c.source) {
			// Crossplane links the ECR credential helper (internal/xpkg/fetch.go@v1.16.0).
			f.Remediation = findings.Catalogue[f.Code].Fix + "; for ECR, Crossplane uses its pod's AWS identity (IRSA or the node role) through the ECR credential helper, which needs ecr:GetAuthorizationToken and ecr:BatchGetImage, while a token put into a pull secret expires after 12 hours"
		}
		return
	}
	f.Message = fmt.Sprintf("the registry refused %s; it answers so both when the repository needs credentials Crossplane does not have and when the repository (or tag) does not exist", orRef(c.source))
	repo := repositoryIn(inner, c.source)
	tell := fmt.Sprintf("`crane manifest %s` with credentials that can read it (after `crane auth login HOST`): MANIFEST_UNKNOWN or NAME_UNKNOWN means it does not exist", orRef(c.source))
	if strings.Contains(inner, "docker.io") && repo != "" {
		tell = fmt.Sprintf("`curl -s -o /dev/null -w '%%{http_code}\\n' https://hub.docker.com/v2/repositories/%s/`: 200 means it exists (Crossplane lacks credentials), 404 means no public repository of that name exists (check the name, or where the package is published)", repo)
	}
	f.Remediation = "tell the two apart: " + tell + "\n- it exists: " + findings.Catalogue[findings.RegistryUnauthorized].Fix + "\n- it does not: set spec.package to where the package is published"
}

var reECR = regexp.MustCompile(`\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com`)

var reRepoInURL = regexp.MustCompile(`https?://[^/"\s]+/v2/(\S+?)/(?:manifests|blobs|tags)/`)

func repositoryIn(inner, ref string) string {
	if m := reRepoInURL.FindStringSubmatch(inner); m != nil {
		return m[1]
	}
	if ref == "" {
		return ""
	}
	_, path, ok := strings.Cut(xpkg.RepositoryOf(ref), "/")
	if !ok {
		return ""
	}
	return path
}

// defaultRegistries are the hosts an unqualified spec.package resolves
// against: index.docker.io up to v1.14, xpkg.upbound.io v1.15-v1.19,
// xpkg.crossplane.io in v1.20, none in v2 (cmd/crossplane/core/core.go at
// each tag; crossplane-contrib/provider-ansible#346).
var defaultRegistries = []string{"index.docker.io", "xpkg.upbound.io", "xpkg.crossplane.io"}

// explainRegistryHost names the registry the message was about.
func explainRegistryHost(c *pkgCase, g *causeGroup, f *findings.Finding) {
	target := orRef(c.source)
	if m := firstMatch(reURLHost, g.inners()); m != nil {
		target = m[1]
		if c.source != "" {
			target += " (for " + c.source + ")"
		}
	}
	f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[f.Code].Title, target)
}

// explainNotFound adds the default-registry change when the reference may
// be unqualified.
func explainNotFound(c *pkgCase, g *causeGroup, f *findings.Finding) {
	f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[f.Code].Title, orRef(c.source))
	f.Remediation = findings.Catalogue[f.Code].Fix
	if c.img != nil && c.img.Error != "" && c.img.Reference == c.source {
		// What xpdoctor's own read found, said once: the tag or the
		// repository missing, and the tags nearest to the one asked for.
		f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[f.Code].Title, c.img.Error)
	}
	if c.img != nil && len(c.img.NearestTags) > 0 {
		f.Remediation = fmt.Sprintf("set spec.package to a tag that exists, the nearest: %s (`crane ls %s` lists them all); for a mirror, copy the missing tag: `kubectl xpdoctor mirror UPSTREAM %s`",
			strings.Join(c.img.NearestTags, ", "), xpkg.RepositoryOf(c.source), c.source)
	}
	inner := strings.Join(g.inners(), " ")
	unqualified := c.pkg.Package != "" && !strings.Contains(strings.SplitN(c.pkg.Package, "/", 2)[0], ".")
	viaDefault := false
	for _, h := range defaultRegistries {
		viaDefault = viaDefault || strings.Contains(inner, "https://"+h+"/")
	}
	if unqualified || c.pkg.Package == "" && viaDefault {
		f.Remediation += "\nif spec.package names no registry, Crossplane resolves it against its default registry, which changed: index.docker.io up to v1.14, xpkg.upbound.io in v1.15-v1.19, xpkg.crossplane.io in v1.20, none in v2: write the registry explicitly (e.g. index.docker.io/ORG/NAME:TAG where the package is published on Docker Hub)"
	}
}

// explainNoPackageYAML says what the evidence supports: the image has no
// package.yaml; a wrong mirror only when the upstream is known to have one.
func explainNoPackageYAML(c *pkgCase, g *causeGroup, f *findings.Finding) {
	f.Message = fmt.Sprintf("package.yaml is not in %s: the image is not a Crossplane package", orRef(c.source))
	if c.img != nil && c.img.Upstream != nil && c.img.Upstream.AnnotationsDropped {
		up := c.img.Upstream.Upstream
		f.Message += fmt.Sprintf(", while its upstream %s is one: the mirror holds another image (often the provider's runtime image, pushed in the package's place)", up)
		f.Remediation = fmt.Sprintf("re-mirror the package from its upstream, byte-for-byte:\n  kubectl xpdoctor mirror %s %s --yes --force", up, c.source)
	}
}
