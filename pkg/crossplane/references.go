package crossplane

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultRegistry is where a Crossplane version pulls a package reference
// that names no registry, unless --registry (env REGISTRY) overrides it:
//
//   - up to v1.14: go-containerregistry's name.DefaultRegistry, index.docker.io
//     (cmd/crossplane/core/core.go@v1.14.0 "default_registry": name.DefaultRegistry);
//   - v1.15 to v1.19: xpkg.upbound.io (internal/xpkg/name.go@v1.15.0, PR
//     https://github.com/crossplane/crossplane/pull/5261);
//   - v1.20: xpkg.crossplane.io (internal/xpkg/name.go@v1.20.0, PR
//     https://github.com/crossplane/crossplane/pull/6296);
//   - v2.0 and later: none; --registry is refused (cmd/crossplane/core/core.go@v2.0.0,
//     PR https://github.com/crossplane/crossplane/pull/6548).
//
// It returns "" for v2.0 and later.
func DefaultRegistry(ver *semver.Version) string {
	core, _ := ver.SetPrerelease("")
	switch {
	case core.LessThan(v("1.15.0")):
		return name.DefaultRegistry
	case core.LessThan(v("1.20.0")):
		return "xpkg.upbound.io"
	case core.LessThan(v("2.0.0")):
		return "xpkg.crossplane.io"
	}
	return ""
}

// RegistryOf is the registry a reference names explicitly, or "" when it
// names none, parsed as Crossplane's v1.20 CLI `beta upgrade check` does
// (name.WithDefaultRegistry(""), cmd/crank/beta/upgrade/check/package_source.go@v1.20.11).
// Dependency sources carry no tag, which the parser accepts.
func RegistryOf(ref string) string {
	r, err := name.ParseReference(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return ""
	}
	return r.Context().RegistryStr()
}

// Qualify prefixes a reference that names no registry with registry.
func Qualify(ref, registry string) string {
	if registry == "" || RegistryOf(ref) != "" {
		return ref
	}
	return registry + "/" + ref
}

// packageSourceRule is the CEL rule Crossplane v2.0+ puts on spec.package of
// Providers, Configurations and Functions (apis/pkg/v1/package_types.go@v2.0.0,
// unchanged in @v2.3.4; commit 97c09ebee, PR
// https://github.com/crossplane/crossplane/pull/6548). The CRD writes it as a
// CEL string; this is the regular expression that string holds.
var packageSourceRule = regexp.MustCompile(`^[^\.\/]+(\.[^\.\/]+)+(\/[^\/:@]+)+(:[^:@]+(@sha256.+)?|@sha256.+)$`)

// PackageSourceRuleMessage is the rule's message, which the API server
// returns as `spec.package: Invalid value: "<spec.package>": <message>`
// (seen from a real kube-apiserver with the v2.3.4 CRDs, TestPreflightEnvtest).
const PackageSourceRuleMessage = "must be a fully qualified image name, including the registry, repository, and tag or digest. For example, 'registry.example.com/repo/package:tag' or 'registry.example.com/repo/package[:tag]@sha256:1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef'."

// FullyQualified tells whether Crossplane v2 accepts a spec.package: the API
// server's CEL rule (a registry host with a dot, a repository, and a tag or
// digest) and the strict parse its package manager does (name.StrictValidation,
// internal/controller/pkg/manager/revisioner.go@v2.0.0). The error says why not.
func FullyQualified(ref string) error {
	if !packageSourceRule.MatchString(ref) {
		return fmt.Errorf("spec.package: Invalid value: %q: %s", ref, PackageSourceRuleMessage)
	}
	if _, err := name.ParseReference(ref, name.StrictValidation); err != nil {
		return fmt.Errorf("package tag is not a valid reference: %w", err)
	}
	return nil
}

// DependencyQualified tells whether a dependsOn package (a source without
// tag) names its registry. Crossplane v2 matches dependencies to installed
// packages by exact source (revision/dependency.go@v2.0.0 d.NodeExists) and
// installed sources must be fully qualified, so an unqualified dependency
// never matches; the resolver then parses it without a default registry
// applied (resolver/reconciler.go@v2.0.0 "dependencies identifiers are
// without registry and tag"), which go-containerregistry reads as Docker Hub.
func DependencyQualified(source string) bool {
	return RegistryOf(strings.TrimSpace(source)) != ""
}
