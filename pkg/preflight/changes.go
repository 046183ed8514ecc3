package preflight

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Effect is what a change does to what it touches.
type Effect string

// Effects.
const (
	EffectBreaks   Effect = "Breaks"
	EffectDegrades Effect = "Degrades"
	EffectNotice   Effect = "Notice"
	// EffectFixes lifts a limit of earlier releases.
	EffectFixes Effect = "Fixes"
)

// Change is one package-side change between Crossplane releases.
type Change struct {
	// ID is stable: scripts and docs/preflight.md use it.
	ID string
	// Since is the first release with the new behaviour.
	Since  string
	Effect Effect
	Title  string
	// Affects says what it breaks or degrades for a package that meets Detect.
	Affects string
	// Detect says how preflight finds it, from what xpdoctor reads.
	Detect string
	// Fix is what to change before upgrading.
	Fix string
	// Sources cite it: file@tag in github.com/crossplane/crossplane, PRs,
	// documentation. Inference says what is read from code rather than
	// stated by a source ("" when nothing is).
	Sources   []string
	Inference string

	since *semver.Version
	// check finds what the change touches; nil for changes the image check
	// applies through the generations of package crossplane.
	check func(sc *scope, c *Change) []hit
}

// hit is one thing a change touches: a package, or Crossplane itself (pkg nil).
type hit struct {
	pkg      *cluster.Package
	status   Status
	code     findings.Code
	message  string
	evidence []string
	fix      string
}

func (h hit) asCheck(c *Change) Check {
	fix := h.fix
	if fix == "" {
		fix = c.Fix
	}
	return Check{Check: c.ID, Status: h.status, Code: h.code, Message: h.message, Evidence: h.evidence, Fix: fix, Sources: c.Sources}
}

// status is the status of a hit of an effect.
func (e Effect) status() Status {
	switch e {
	case EffectBreaks:
		return Breaks
	case EffectDegrades:
		return Degrades
	case EffectNotice:
		return Notice
	}
	return Safe
}

func changeByID(id string) *Change {
	for i := range Changes {
		if Changes[i].ID == id {
			return &Changes[i]
		}
	}
	panic("preflight: no change " + id)
}

func init() {
	for i := range Changes {
		Changes[i].since = semver.MustParse(Changes[i].Since)
	}
	sort.SliceStable(Changes, func(i, j int) bool { return Changes[i].since.LessThan(Changes[j].since) })
}

const (
	upgradeGuide = "https://docs.crossplane.io/latest/guides/upgrade-to-crossplane-v2/ (crossplane/docs content/master/guides/upgrade-to-crossplane-v2.md)"
	upgradeCheck = "cmd/crank/beta/upgrade/check@v1.20.11 (`crossplane beta upgrade check`, PR https://github.com/crossplane/crossplane/pull/7451)"
)

// Changes are the package-side changes preflight knows, oldest first.
var Changes = []Change{
	{
		ID: "ImageValidated", Since: "1.13.0", Effect: EffectBreaks,
		Title:   "an image without an annotated layer is validated whole (validate.Image) before it is flattened; more than 256 layers or several annotated base layers are refused",
		Affects: "before v1.13 such images parsed; from v1.13 to v2.1 they fail (`package has %d layers, but only 256 are allowed`, `package is invalid due to multiple annotated base layers`) or download the whole image twice within 3 minutes",
		Detect:  "the image verdict of the target generation",
		Fix:     "re-mirror the package byte-for-byte so its base layer keeps its annotation; squash a runtime with more than 256 layers",
		Sources: []string{"internal/controller/pkg/revision/imageback.go@v1.13.0", "PR https://github.com/crossplane/crossplane/pull/4370 (commits 4feb58e7b, abcc64ec4)"},
	},
	{
		ID: "FunctionV1", Since: "1.17.0", Effect: EffectNotice,
		Title:   "Function and FunctionRevision are served as pkg.crossplane.io/v1 (storage); v1beta1 is still served",
		Affects: "nothing stops working; manifests and scripts may move to pkg.crossplane.io/v1",
		Detect:  "any Function installed",
		Fix:     "write Functions as apiVersion: pkg.crossplane.io/v1 in manifests and GitOps sources",
		Sources: []string{"cluster/crds/pkg.crossplane.io_functions.yaml@v1.17.0 (v1 storage, v1beta1 served)", "PR https://github.com/crossplane/crossplane/pull/5885"},
		check: func(sc *scope, c *Change) []hit {
			var names []string
			for _, p := range sc.snap.Packages {
				if p.Kind == "Function" {
					names = append(names, p.Name)
				}
			}
			if len(names) == 0 {
				return nil
			}
			return []hit{{status: Notice, message: fmt.Sprintf("%d Function(s) (%s) become pkg.crossplane.io/v1 in storage; pkg.crossplane.io/v1beta1 stays served", len(names), strings.Join(names, ", "))}}
		},
	},
	{
		ID: "ImageConfigPullSecret", Since: "1.17.3", Effect: EffectFixes,
		Title:   "ImageConfig (pkg.crossplane.io/v1beta1) supplies a pull secret by image prefix, also when listing dependency tags",
		Affects: "dependency tags of private registries were listed with no pull secret before (packagePullSecrets are never used for them)",
		Detect:  "a package with spec.packagePullSecrets whose package.yaml has dependsOn",
		Fix:     "after the upgrade, create an ImageConfig with spec.matchImages for the registry and spec.registry.authentication.pullSecretRef",
		Sources: []string{"PR https://github.com/crossplane/crossplane/pull/6000 (v1.18.0; backported to v1.17.3, commit febeaa63e)", "internal/controller/pkg/resolver/reconciler.go@v1.16.0 and @v1.20.11 (\"we will be unable to fetch tags for private dependencies\")"},
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				if m := sc.meta(p); m != nil && len(m.DependsOn) > 0 && len(p.PullSecrets) > 0 {
					out = append(out, hit{pkg: &sc.snap.Packages[i], status: Notice,
						message: fmt.Sprintf("its %d dependencies are resolved without its packagePullSecrets (%s); from v1.17.3 an ImageConfig pull secret is used for them", len(m.DependsOn), strings.Join(p.PullSecrets, ", "))})
				}
			}
			return out
		},
	},
	{
		ID: "DefaultRegistryUpbound", Since: "1.15.0", Effect: EffectBreaks,
		Title:   "the default registry for unqualified package references moves from index.docker.io to xpkg.upbound.io",
		Affects: "an unqualified spec.package or dependsOn is pulled from another registry: a new revision, or a failure when the package is not there",
		Detect:  "spec.package or dependsOn without a registry, and no --registry / REGISTRY on Crossplane",
		Fix:     "qualify spec.package (and rebuild packages whose dependsOn is unqualified) with the registry they come from today, or set --registry to keep it",
		Sources: []string{"cmd/crossplane/core/core.go@v1.14.0 (name.DefaultRegistry) and @v1.15.0 (xpkg.DefaultRegistry)", "internal/xpkg/name.go@v1.15.0", "PR https://github.com/crossplane/crossplane/pull/5261", "https://github.com/crossplane-contrib/provider-ansible/issues/346"},
		check:   defaultRegistryMove("1.20.0"),
	},
	{
		ID: "DefaultRegistryCrossplane", Since: "1.20.0", Effect: EffectBreaks,
		Title:   "the default registry for unqualified package references moves from xpkg.upbound.io to xpkg.crossplane.io",
		Affects: "an unqualified spec.package or dependsOn is pulled from another registry: a new revision, or a failure when the package is not there",
		Detect:  "spec.package or dependsOn without a registry, and no --registry / REGISTRY on Crossplane",
		Fix:     "qualify spec.package (and rebuild packages whose dependsOn is unqualified) with the registry they come from today, or set --registry to keep it",
		Sources: []string{"internal/xpkg/name.go@v1.20.0 (commit 939ff655e)", "PR https://github.com/crossplane/crossplane/pull/6296"},
		check:   defaultRegistryMove("2.0.0"),
	},
	{
		ID: "ImageConfigRewrite", Since: "1.20.0", Effect: EffectFixes,
		Title:   "ImageConfig spec.rewriteImage rewrites package and dependency sources by prefix; status.resolvedPackage shows the result",
		Affects: "before v1.20 a mirrored package's dependencies were looked up where package.yaml names them",
		Detect:  "a package whose dependsOn names another registry than the package comes from",
		Fix:     "after the upgrade, an ImageConfig with spec.rewriteImage.prefix can send the dependencies to the mirror (kubectl xpdoctor mirror --emit-imageconfig writes it)",
		Sources: []string{"PR https://github.com/crossplane/crossplane/pull/6421", "apis/pkg/v1beta1/image_config_types.go@v1.20.0"},
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				m := sc.meta(p)
				if m == nil {
					continue
				}
				own := crossplane.RegistryOf(p.Source())
				var other []string
				for _, d := range m.DependsOn {
					if reg := crossplane.RegistryOf(d.Package); reg != "" && own != "" && reg != own {
						other = append(other, d.Package)
					}
				}
				if len(other) > 0 {
					out = append(out, hit{pkg: &sc.snap.Packages[i], status: Notice,
						message: fmt.Sprintf("comes from %s but depends on %s; from v1.20 an ImageConfig rewriteImage can point those at %s", own, strings.Join(other, ", "), own)})
				}
			}
			return out
		},
	},
	{
		ID: "DowngradeFlagRenamed", Since: "1.20.0", Effect: EffectBreaks,
		Title:   "--automatic-dependency-downgrade-enabled (v1.19 alpha) is replaced by --enable-dependency-version-downgrades: Crossplane refuses to start with the old flag",
		Affects: "Crossplane itself: `crossplane core start` exits with an error, so no package is reconciled",
		Detect:  "Crossplane's container args (Helm value args) hold the flag",
		Fix:     "replace the flag before upgrading",
		Sources: []string{"cmd/crossplane/core/core.go@v1.19.0 (AutomaticDependencyDowngradeEnabled) and @v1.20.0 (EnableDependencyVersionDowngrades)"},
		check:   removedFlags,
	},
	{
		ID: "CoreFlagRemoved", Since: "2.0.0", Effect: EffectBreaks,
		Title:   "core flags v2 no longer accepts (--registry, and flags of features v2 removed or always enables): Crossplane refuses to start",
		Affects: "Crossplane itself: `crossplane core start` exits with an error, so no package is reconciled",
		Detect:  "Crossplane's container args (Helm value args) hold a flag of crossplane.RemovedFlags; REGISTRY in its environment",
		Fix:     "remove the flag from the Helm value args before upgrading",
		Sources: []string{"cmd/crossplane/core/core.go startCommand at every tag v1.13.0 to v2.3.4 (compared)", "cmd/crossplane/core/core.go@v2.0.0 (explicit errors)", "PR https://github.com/crossplane/crossplane/pull/6548", "the real v2.3.4 and v2.1.3 cores print `crossplane: error: unknown flag --NAME` (TestRemovedFlagsAgreeWithRealCore)"},
		check: func(sc *scope, c *Change) []hit {
			if !sc.flagsKnown {
				return []hit{{status: Unknown, message: "Crossplane's Deployment was not read, so its flags (--registry and the flags v2.0 removed) are unknown",
					fix: "let preflight read Crossplane's Deployment, or check its args for --registry and the flags in docs/preflight.md"}}
			}
			out := removedFlags(sc, c)
			if env := sc.snap.CrossplaneEnv["REGISTRY"]; env != "" {
				out = append(out, hit{status: Notice, message: fmt.Sprintf("Crossplane's container sets REGISTRY=%s, which v2 ignores (its hidden --registry flag has no env binding): unqualified packages stop resolving there", env),
					evidence: []string{"cmd/crossplane/core/core.go@v2.0.0: Registry string `hidden:\"\"` (no env tag)"},
					fix:      "qualify every package and dependency with its registry, then remove REGISTRY"})
			}
			return out
		},
	},
	{
		ID: "ControllerConfigRemoved", Since: "2.0.0", Effect: EffectBreaks,
		Title:   "ControllerConfig (pkg.crossplane.io/v1alpha1) and spec.controllerConfigRef are removed",
		Affects: "the runtime Deployment of a Provider or Function that references a ControllerConfig loses every setting it gave (service account annotations such as IRSA roles, args, env, resources, scheduling)",
		Detect:  "Provider or Function with spec.controllerConfigRef",
		Fix:     "convert the ControllerConfig with the v1.20 CLI (`crossplane beta convert deployment-runtime controller-config.yaml -o drc.yaml`), apply the DeploymentRuntimeConfig, set spec.runtimeConfigRef.name to it and remove spec.controllerConfigRef",
		Sources: []string{"cluster/crds@v2.0.0 (no pkg.crossplane.io_controllerconfigs.yaml; providers/functions lose controllerConfigRef)", "PR https://github.com/crossplane/crossplane/pull/6489", "PR https://github.com/crossplane/crossplane/pull/6520", upgradeGuide, upgradeCheck + " controller_config.go"},
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				if p.ControllerConfigRef == "" {
					continue
				}
				fix := c.Fix
				if !coreOf(sc.target).LessThan(semver.MustParse("2.2.0")) {
					fix += "; on v2.2+ an ImageConfig with spec.runtime.configRef can set it for every package it matches"
				}
				out = append(out, hit{pkg: &sc.snap.Packages[i], status: Breaks,
					message:  fmt.Sprintf("spec.controllerConfigRef names ControllerConfig %s; v2 has no ControllerConfig and drops the field, so the runtime loses what it configured and runs with DeploymentRuntimeConfig %s", p.ControllerConfigRef, orDefault(p.RuntimeConfigRef, "default")),
					evidence: []string{"spec.controllerConfigRef.name: " + p.ControllerConfigRef},
					fix:      fix})
			}
			return out
		},
	},
	{
		ID: "PackageSourceUnqualified", Since: "2.0.0", Effect: EffectBreaks,
		Title:     "no default registry: spec.package must be fully qualified (registry, repository, tag or digest) and dependsOn must name its registry",
		Affects:   "the API server refuses a spec.package that is not fully qualified (CEL rule); an existing one fails to unpack; an unqualified dependency never matches an installed package and is looked up on Docker Hub",
		Detect:    "spec.package that fails the v2 CEL rule or a strict parse; dependsOn without a registry",
		Fix:       "set spec.package to the fully qualified reference it is pulled from today; rebuild packages whose dependsOn is unqualified (or install those dependencies yourself and set skipDependencyResolution: true)",
		Sources:   []string{"apis/pkg/v1/package_types.go@v2.0.0 (CEL rule, commit 97c09ebee)", "internal/controller/pkg/manager/revisioner.go@v2.0.0 (name.StrictValidation)", "internal/controller/pkg/resolver/reconciler.go@v2.0.0", "internal/controller/pkg/revision/dependency.go@v2.0.0", "PR https://github.com/crossplane/crossplane/pull/6548", upgradeGuide, upgradeCheck + " package_source.go"},
		Inference: "what an existing unqualified spec.package does on v2 is read from code: v2.0-v2.1 fail the strict parse; v2.2+ parse it without a default registry (crossplane-runtime:pkg/xpkg/client.go@v2.3.3), i.e. pull it from Docker Hub, and then fail the strict parses of the dependency manager and runtime",
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			reg, regKnown := sc.defaultRegistryToday()
			for i, p := range sc.snap.Packages {
				var msgs, ev, fixes []string
				if err := crossplane.FullyQualified(p.Package); err != nil {
					msgs = append(msgs, fmt.Sprintf("spec.package %q is not fully qualified: the v2 API server refuses it as a new value (%v; an unchanged value is let through with that warning) and Crossplane fails with %q", p.Package, err, unqualifiedMessage(sc.target, p.Package)))
					ev = append(ev, "spec.package: "+p.Package)
					want := suggestQualified(p.Package, reg, regKnown)
					fixes = append(fixes, fmt.Sprintf("set spec.package to %s", want))
				}
				if m := sc.meta(p); m != nil && !p.SkipDependencyResolution {
					var deps []string
					for _, d := range m.DependsOn {
						if !crossplane.DependencyQualified(d.Package) {
							deps = append(deps, d.Package)
						}
					}
					if len(deps) > 0 {
						msgs = append(msgs, fmt.Sprintf("dependsOn names %s without a registry: on v2 it never matches an installed package (sources are fully qualified) and the resolver looks it up on Docker Hub (index.docker.io)", strings.Join(deps, ", ")))
						ev = append(ev, "package.yaml dependsOn: "+strings.Join(deps, ", "))
						fixes = append(fixes, fmt.Sprintf("use a version of %s whose dependsOn is qualified (e.g. %s), or install each dependency from its qualified reference and set skipDependencyResolution: true on %s %s", repositoryOf(p), qualifyOrPlaceholder(deps[0], reg, regKnown), p.Kind, p.Name))
					}
				}
				if len(msgs) > 0 {
					out = append(out, hit{pkg: &sc.snap.Packages[i], status: Breaks, message: strings.Join(msgs, "; "), evidence: ev, fix: strings.Join(fixes, "; ")})
				}
			}
			return out
		},
	},
	{
		ID: "NativePatchAndTransformRemoved", Since: "2.0.0", Effect: EffectBreaks,
		Title:   "native patch-and-transform Compositions (spec.mode: Resources) are removed; Compositions need mode Pipeline",
		Affects: "a Configuration that ships a mode Resources Composition cannot install it (the API server refuses it); XRs using such a Composition stop being composed",
		Detect:  "Compositions with spec.mode Resources, or no mode and spec.resources, by the ConfigurationRevision that owns them",
		Fix:     "convert each Composition with the v1.20 CLI (`crossplane beta convert pipeline-composition`) and publish a Configuration version that ships the Pipeline Compositions",
		Sources: []string{"cluster/crds/apiextensions.crossplane.io_compositions.yaml@v2.0.0 (mode enum Pipeline; rule \"an array of pipeline steps is required in Pipeline mode\")", upgradeGuide, upgradeCheck + " native_pnt.go"},
		check: func(sc *scope, c *Change) []hit {
			if !sc.snap.CompositionsRead {
				return []hit{{status: Unknown, message: "Compositions were not read, so native patch-and-transform Compositions (refused by v2) cannot be ruled out", fix: "let preflight list compositions.apiextensions.crossplane.io (docs/rbac.yaml, ClusterRole xpdoctor-preflight)"}}
			}
			owners := map[string]string{} // revision -> package name
			for _, r := range sc.snap.Revisions {
				if r.Kind == "ConfigurationRevision" {
					owners[r.Name] = r.Parent
				}
			}
			byPkg := map[string][]string{}
			var loose []string
			for _, comp := range sc.snap.Compositions {
				if !(comp.Mode == "Resources" || comp.Mode == "" && comp.Resources > 0) {
					continue
				}
				if pkg, ok := owners[comp.Owner]; ok && comp.Owner != "" {
					byPkg[pkg] = append(byPkg[pkg], comp.Name)
				} else {
					loose = append(loose, comp.Name)
				}
			}
			var out []hit
			for i, p := range sc.snap.Packages {
				if names := byPkg[p.Name]; p.Kind == "Configuration" && len(names) > 0 {
					out = append(out, hit{pkg: &sc.snap.Packages[i], status: Breaks,
						message:  fmt.Sprintf("it installs %d native patch-and-transform Composition(s) (%s), which v2 refuses (spec.mode: Unsupported value: \"Resources\": supported values: \"Pipeline\")", len(names), strings.Join(names, ", ")),
						evidence: []string{"Compositions owned by its revision with spec.mode Resources: " + strings.Join(names, ", ")}})
				}
			}
			if len(loose) > 0 {
				sort.Strings(loose)
				out = append(out, hit{status: Breaks, message: fmt.Sprintf("%d native patch-and-transform Composition(s) no package owns (%s): v2 removes that mode", len(loose), strings.Join(loose, ", ")),
					fix: "convert them with `crossplane beta convert pipeline-composition` (v1.20 CLI) and apply the Pipeline versions before upgrading"})
			}
			return out
		},
	},
	{
		ID: "ControllerImageIgnored", Since: "2.0.0", Effect: EffectBreaks,
		Title:     "a Provider package's spec.controller.image is ignored: the runtime Deployment runs the package image itself",
		Affects:   "a provider whose package image holds only package.yaml (its controller shipped as a separate image) gets a pod that cannot run",
		Detect:    "package.yaml of a Provider sets spec.controller.image; the package image's layers show whether a runtime is embedded",
		Fix:       "install a provider version whose package embeds its runtime (`crossplane xpkg build --embed-runtime-image`), as v2 requires",
		Sources:   []string{"internal/controller/pkg/revision/runtime_provider.go@v1.20.0 getProviderImage", "internal/controller/pkg/runtime/runtime_provider.go@v2.0.0 (the resolved source)", "commit 3c12a93d9 \"Drop runtime image and permissionRequests from package meta\" (issue https://github.com/crossplane/crossplane/issues/6487, PR https://github.com/crossplane/crossplane/pull/6498)"},
		Inference: "an unknown field in crossplane.yaml is ignored, not refused: crossplane-runtime:pkg/xpkg/parser/parser.go@v2.3.3 decodes without strict mode",
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				m := sc.meta(p)
				if p.Kind != "Provider" || m == nil || m.ControllerImage == "" {
					continue
				}
				img := sc.image(p).SelectedImage()
				runtime := 0
				for _, l := range img.Layers {
					if l.Annotations[xpkg.AnnotationKey] == "" {
						runtime++
					}
				}
				if len(img.BaseLayers) == 0 && runtime > 0 {
					runtime-- // one of the unannotated layers is the package's
				}
				h := hit{pkg: &sc.snap.Packages[i], evidence: []string{"package.yaml spec.controller.image: " + m.ControllerImage, fmt.Sprintf("package image: %d layers, %d besides the package's", len(img.Layers), runtime)}}
				if runtime == 0 {
					h.status = Breaks
					h.message = fmt.Sprintf("package.yaml runs the controller from %s; v2 ignores that and runs the package image %s, which holds no runtime", m.ControllerImage, p.Source())
				} else {
					h.status = Notice
					h.message = fmt.Sprintf("v2 runs the package image %s (it embeds a runtime) instead of spec.controller.image %s", p.Source(), m.ControllerImage)
					h.fix = "check that the runtime embedded in the package image is the controller you run today"
				}
				out = append(out, h)
			}
			return out
		},
	},
	{
		ID: "PermissionRequestsIgnored", Since: "2.0.0", Effect: EffectBreaks,
		Title:   "a Provider's extra RBAC permission requests (spec.controller.permissionRequests) are no longer granted",
		Affects: "the provider's ServiceAccount loses the extra permissions the RBAC manager granted; its controllers get forbidden errors for those resources",
		Detect:  "ProviderRevisions whose status.permissionRequests is not empty",
		Fix:     "before upgrading, create a ClusterRole with the rules of the revision's status.permissionRequests and bind it to the provider's ServiceAccount (give it a stable name with a DeploymentRuntimeConfig serviceAccountTemplate)",
		Sources: []string{"internal/controller/rbac/provider/roles/reconciler.go@v1.20.0 (PermissionRequestsValidator)", "apis/pkg/v1/revision_types.go@v2.0.0 (status.permissionRequests removed)", "commit 3c12a93d9 (issue https://github.com/crossplane/crossplane/issues/6487)"},
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				if r := sc.revisionOf(p); r != nil && r.PermissionRequests > 0 {
					out = append(out, hit{pkg: &sc.snap.Packages[i], status: Breaks,
						message:  fmt.Sprintf("revision %s holds %d permission request(s) the RBAC manager grants today; v2 grants none of them", r.Name, r.PermissionRequests),
						evidence: []string{fmt.Sprintf("kubectl get providerrevision %s -o jsonpath='{.status.permissionRequests}'", r.Name)}})
				}
			}
			return out
		},
	},
	{
		ID: "RevisionHealthSplit", Since: "2.0.0", Effect: EffectNotice,
		Title:     "revisions report RevisionHealthy and RuntimeHealthy instead of Healthy; packages keep Healthy",
		Affects:   "runbooks, alerts and scripts that read or wait for condition Healthy on ProviderRevision, FunctionRevision or ConfigurationRevision (kubectl wait --for=condition=Healthy): new revisions never get it, and on existing ones it stays as v1 left it, no longer updated",
		Detect:    "revisions that carry a Healthy condition today",
		Fix:       "read RevisionHealthy (package contents) and RuntimeHealthy (Provider/Function runtime) on revisions, or Healthy on the package",
		Sources:   []string{"apis/pkg/v1/conditions.go@v2.0.0 (TypeRevisionHealthy, TypeRuntimeHealthy)", "PR https://github.com/crossplane/crossplane/pull/6498 (commit 8d44f1876)", "cluster/crds/pkg.crossplane.io_providerrevisions.yaml@v2.3.4 (printer columns HEALTHY=RevisionHealthy, RUNTIME=RuntimeHealthy)"},
		Inference: "that v1's Healthy stays on existing revisions is read from code: no v2 reconciler removes it (internal/controller/pkg/runtime/reconciler.go@v2.0.0 only reads it), and conditions merge by type",
		check: func(sc *scope, c *Change) []hit {
			n := 0
			for _, r := range sc.snap.Revisions {
				if r.Condition("Healthy") != nil {
					n++
				}
			}
			if n == 0 {
				return nil
			}
			return []hit{{status: Notice, message: fmt.Sprintf("%d revision(s) report condition Healthy today; on v2 revisions report RevisionHealthy and RuntimeHealthy, and the Healthy v1 left is no longer updated", n)}}
		},
	},
	{
		ID: "CRDsBecomeMRDs", Since: "2.0.0", Effect: EffectNotice,
		Title:   "a provider's CRDs are installed as ManagedResourceDefinitions, activated by a ManagedResourceActivationPolicy (the default one activates all)",
		Affects: "managed resource kinds are only served once an activation policy activates them; deleting the default policy without a replacement leaves new providers' kinds inactive",
		Detect:  "any Provider installed",
		Fix:     "keep the default ManagedResourceActivationPolicy (activates \"*\"), or replace it with one that activates the kinds in use",
		Sources: []string{"cmd/crossplane/core/core.go@v2.0.0 (--enable-custom-to-managed-resource-conversion, default true)", upgradeGuide + " step 3"},
		check: func(sc *scope, c *Change) []hit {
			n := 0
			for _, p := range sc.snap.Packages {
				if p.Kind == "Provider" {
					n++
				}
			}
			if n == 0 {
				return nil
			}
			return []hit{{status: Notice, message: fmt.Sprintf("%d Provider(s): their CRDs become ManagedResourceDefinitions, served while a ManagedResourceActivationPolicy activates them (v2 creates a default one that activates all)", n)}}
		},
	},
	{
		ID: "PackageYAMLByBaseName", Since: "2.0.0", Effect: EffectFixes,
		Title:   "package.yaml is matched by its base name, so ./package.yaml in the annotated layer is found",
		Affects: "v1.x fails an annotated layer whose entry is ./package.yaml (`couldn't find \"package.yaml\" file ... (annotated layer: true): EOF`)",
		Detect:  "the image verdict of the running and the target generation",
		Fix:     "nothing: the target reads it",
		Sources: []string{"internal/controller/pkg/revision/imageback.go@v2.0.0 (filepath.Base, commit 5238910f5)", "PR https://github.com/crossplane/crossplane/pull/6510"},
	},
	{
		ID: "LayerLimitRemoved", Since: "2.2.0", Effect: EffectFixes,
		Title:   "the 256-layer limit is gone",
		Affects: "up to v2.1 an image with more than 256 layers fails (`package has %d layers, but only 256 are allowed`)",
		Detect:  "the image verdict of the running and the target generation",
		Fix:     "nothing on v2.2+; before, squash the runtime image's layers",
		Sources: []string{"internal/controller/pkg/revision/imageback.go@v2.1.8 (maxLayers = 256)", "internal/xpkg/client.go@v2.2.0", "PR https://github.com/crossplane/crossplane/pull/6981"},
	},
	{
		ID: "FirstBaseLayerWins", Since: "2.2.0", Effect: EffectFixes,
		Title:   "with several layers annotated io.crossplane.xpkg: base, the first is used",
		Affects: "up to v2.1 such an image fails (`package is invalid due to multiple annotated base layers`); from v2.2 the first one's package.yaml is installed, which may not be the one the image was built to carry",
		Detect:  "the image verdict of the running and the target generation",
		Fix:     "rebuild and push with `crossplane xpkg push`, which annotates one layer",
		Sources: []string{"internal/controller/pkg/revision/imageback.go@v2.1.8", "crossplane-runtime:pkg/xpkg/client.go@v2.3.3 ExtractPackageYAML (break on the first)", "PR https://github.com/crossplane/crossplane/pull/6981"},
	},
	{
		ID: "FlattenInPackageManager", Since: "2.2.0", Effect: EffectDegrades,
		Title:   "an image without an annotated layer is flattened by the package manager under a 1-minute deadline, without validate.Image",
		Affects: "up to v2.1 the revision reconciler validates the whole image (every layer downloaded twice) then flattens it within 3 minutes; from v2.2 it downloads less but must finish within 1 minute",
		Detect:  "an image judged Flatten by the target generation",
		Fix:     findings.Catalogue[findings.BaseLayerAnnotationMissing].Fix,
		Sources: []string{"internal/controller/pkg/revision/reconciler.go@v2.1.8 (reconcileTimeout 3m)", "internal/controller/pkg/manager/reconciler.go@v2.3.4 (reconcileTimeout 1m)", "crossplane-runtime:pkg/xpkg/client.go@v2.3.3", "ggcr:pkg/v1/validate/image.go@v0.19.0"},
	},
	{
		ID: "VerifiedConditionRemoved", Since: "2.2.0", Effect: EffectNotice,
		Title:   "signature verification moves into the package fetch: the revision condition Verified and reason AwaitingSignatureVerification are gone",
		Affects: "scripts and alerts reading Verified; a failure now shows as `cannot unpack package: signature verification failed` on the package; packages already in the cache are not verified again",
		Detect:  "ImageConfigs with spec.verification, or revisions with a Verified condition",
		Fix:     "read the package's Installed/Healthy conditions and its UnpackPackage events instead of Verified",
		Sources: []string{"apis/pkg/v1/conditions.go@v2.1.8 and @v2.2.0", "internal/xpkg/client.go@v2.2.0 (\"Verification only happens if we don't get a cache hit\")", "PR https://github.com/crossplane/crossplane/pull/6981 (commit 34548d545)"},
		check: func(sc *scope, c *Change) []hit {
			var ev []string
			for _, ic := range sc.snap.ImageConfigs {
				if ic.Verification != "" {
					ev = append(ev, fmt.Sprintf("ImageConfig %s verifies with %s", ic.Name, ic.Verification))
				}
			}
			for _, r := range sc.snap.Revisions {
				if r.Condition("Verified") != nil {
					ev = append(ev, r.Kind+" "+r.Name+" has a Verified condition")
				}
			}
			if len(ev) == 0 {
				return nil
			}
			return []hit{{status: Notice, message: "signature verification is in use; from v2.2 it happens while fetching the package, reports on the package (not a Verified condition) and skips packages already cached", evidence: ev}}
		},
	},
	{
		ID: "PullPolicyNeverNeedsDigest", Since: "2.2.0", Effect: EffectBreaks,
		Title:     "packagePullPolicy Never still resolves a tag with a registry HEAD, and the package cache is keyed by source and digest",
		Affects:   "a package with packagePullPolicy: Never and a tag fails offline (`cannot resolve REF to digest`); entries cached by an earlier release are not found (`package not in cache and pull policy is Never`)",
		Detect:    "packagePullPolicy: Never",
		Fix:       "before upgrading, reference the package by digest and plan to re-fill the package cache after the upgrade, or switch to IfNotPresent with a registry the cluster reaches",
		Sources:   []string{"internal/xpkg/client.go@v2.2.0 Get (Head before the cache; cacheKey = FriendlyID(source, digest))", "internal/controller/pkg/revision/reconciler.go@v2.1.8 (cache id = spec.package for Never)"},
		Inference: "that cache entries written by v2.1 or earlier are not found is read from the two cache keys, not observed",
		check: func(sc *scope, c *Change) []hit {
			var out []hit
			for i, p := range sc.snap.Packages {
				if p.PullPolicy != "Never" {
					continue
				}
				msg := "packagePullPolicy is Never: from v2.2 the package cache is keyed by source and digest, so what an earlier release cached is not found (package not in cache and pull policy is Never)"
				if !crossplane.IsDigest(splitIdentifier(p.Package)) {
					msg = fmt.Sprintf("packagePullPolicy is Never with the tag reference %s: from v2.2 Crossplane resolves the tag with a registry HEAD before looking in its cache (cannot resolve %s to digest when offline), and keys its cache by digest", p.Package, p.Package)
				}
				out = append(out, hit{pkg: &sc.snap.Packages[i], status: Breaks, code: findings.PullPolicyNeverNotCached, message: msg, evidence: []string{"spec.packagePullPolicy: Never"}})
			}
			return out
		},
	},
	{
		ID: "ImageConfigRuntime", Since: "2.2.0", Effect: EffectFixes,
		Title:   "ImageConfig spec.runtime.configRef selects the DeploymentRuntimeConfig of every package it matches (overriding spec.runtimeConfigRef)",
		Affects: "nothing breaks; runtime settings can be set by image prefix",
		Detect:  "listed with the changes an upgrade crosses; cited in ControllerConfigRemoved's fix",
		Fix:     "after the upgrade, optionally move per-package runtimeConfigRef settings into ImageConfigs",
		Sources: []string{"apis/pkg/v1beta1/image_config_types.go@v2.2.0", "internal/controller/pkg/runtime/reconciler.go@v2.2.0 builderOptions"},
	},
}

// removedFlags reports the flags in Crossplane's args that the target
// refuses and that were removed at this change's release.
func removedFlags(sc *scope, c *Change) []hit {
	var out []hit
	for _, r := range sc.args.Refused(sc.target) {
		if !r.Since.Equal(c.since) {
			continue
		}
		out = append(out, hit{status: Breaks, message: "crossplane: error: " + r.Message,
			evidence: []string{"Crossplane's container args hold " + r.Written, "refused from v" + r.Since.String() + ": " + r.Source},
			fix:      r.Instead})
	}
	return out
}

// defaultRegistryMove reports unqualified references whose registry
// changes, once: the entry for the last move before until reports the net
// move from today's registry to the target's.
func defaultRegistryMove(until string) func(sc *scope, c *Change) []hit {
	limit := semver.MustParse(until)
	return func(sc *scope, c *Change) []hit {
		if !coreOf(sc.target).LessThan(limit) {
			return nil // a later move (or v2's removal) reports it
		}
		var unqualified []struct {
			p    *cluster.Package
			refs []string
		}
		for i, p := range sc.snap.Packages {
			var refs []string
			if crossplane.RegistryOf(p.Package) == "" {
				refs = append(refs, "spec.package "+p.Package)
			}
			if m := sc.meta(p); m != nil && !p.SkipDependencyResolution {
				for _, d := range m.DependsOn {
					if !crossplane.DependencyQualified(d.Package) {
						refs = append(refs, "dependsOn "+d.Package)
					}
				}
			}
			if len(refs) > 0 {
				unqualified = append(unqualified, struct {
					p    *cluster.Package
					refs []string
				}{&sc.snap.Packages[i], refs})
			}
		}
		if len(unqualified) == 0 {
			return nil
		}
		to := crossplane.DefaultRegistry(sc.target)
		var out []hit
		for _, u := range unqualified {
			h := hit{pkg: u.p, evidence: u.refs}
			switch {
			case !sc.flagsKnown:
				h.status = Unknown
				h.message = fmt.Sprintf("%s name no registry; Crossplane's Deployment was not read, so whether --registry keeps them where they are is unknown (%s pulls them from %s by default)", strings.Join(u.refs, ", "), sc.label(), to)
			case sc.args.Values["registry"] != "" || sc.snap.CrossplaneEnv["REGISTRY"] != "":
				h.status = Safe
				h.message = fmt.Sprintf("%s name no registry; Crossplane sets --registry/REGISTRY, so they keep resolving there", strings.Join(u.refs, ", "))
			case sc.running == nil:
				h.status = Unknown
				h.message = fmt.Sprintf("%s name no registry; %s pulls them from %s, and where the running version pulls them from is unknown", strings.Join(u.refs, ", "), sc.label(), to)
				h.evidence = append(h.evidence, sc.runningEvidence()...)
			default:
				from := crossplane.DefaultRegistry(sc.running)
				if from == to {
					continue
				}
				h.status = Breaks
				h.message = fmt.Sprintf("%s name no registry: v%s pulls them from %s, %s from %s", strings.Join(u.refs, ", "), sc.running, from, sc.label(), to)
				h.fix = fmt.Sprintf("qualify them with %s (the registry they come from today), or set Crossplane's --registry=%s", from, from)
			}
			out = append(out, h)
		}
		return out
	}
}

// unqualifiedMessage is what the target's package manager reports for an
// existing spec.package that is not fully qualified.
func unqualifiedMessage(target *semver.Version, ref string) string {
	if coreOf(target).LessThan(semver.MustParse("2.2.0")) {
		// manager/revisioner.go@v2.0.0: errUnpack + errBadReference + ggcr's error.
		return "cannot unpack package: package tag is not a valid reference: could not parse reference: " + ref
	}
	// crossplane-runtime:pkg/xpkg/client.go@v2.3.3 parses it with Docker Hub as
	// the default and resolves the tag there first.
	return "cannot unpack package: cannot resolve " + ref + " to digest: ..."
}

// suggestQualified is the fully qualified spec.package to write: the
// registry it is pulled from today (REGISTRY when unknown) and the tag v1
// pulls when none is given, latest (go-containerregistry's default tag).
func suggestQualified(ref, reg string, known bool) string {
	ref = qualifyOrPlaceholder(ref, reg, known)
	if _, id := splitReference(ref); id == "latest" && !strings.HasSuffix(ref, ":latest") {
		ref += ":latest"
	}
	return ref
}

// qualifyOrPlaceholder prefixes today's registry, or REGISTRY when it is unknown.
func qualifyOrPlaceholder(ref, reg string, known bool) string {
	if !known || reg == "" {
		reg = "REGISTRY"
	}
	return crossplane.Qualify(ref, reg)
}

func splitIdentifier(ref string) string {
	_, id := splitReference(ref)
	return id
}

// repositoryOf names the package's repository for messages.
func repositoryOf(p cluster.Package) string {
	src, _ := splitReference(p.Package)
	return src
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}
