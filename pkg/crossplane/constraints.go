package crossplane

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CrossplaneCompatible checks a package's spec.crossplane.version constraint
// against a Crossplane version the way the revision reconciler does when
// spec.ignoreCrossplaneConstraints is not true: Masterminds semver Check of
// the full version, pre-release included (revision/reconciler.go@v2.3.4 ->
// crossplane-runtime:pkg/xpkg/lint.go@v2.3.3 PackageCrossplaneCompatible ->
// pkg/version/version.go InConstraints). An empty constraint accepts any
// version. The message is the condition text when it does not pass.
func CrossplaneCompatible(constraint string, ver *semver.Version) (bool, string) {
	if strings.TrimSpace(constraint) == "" {
		return true, ""
	}
	msg := Render(imageBackendMessages.Incompatible, map[string]string{"version": "v" + ver.String()})
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false, msg + ": " + err.Error()
	}
	if !c.Check(ver) {
		return false, msg
	}
	return true, ""
}

// DependencySatisfied checks an installed dependency (its Lock source and
// version: a tag or a digest) against a dependsOn version constraint, as the
// revision's dependency manager does (revision/dependency.go@v2.3.4 Resolve,
// the same checks in @v1.20.0): a digest must equal the installed version,
// otherwise the installed version must be semantic and satisfy the
// constraint. The message is Crossplane's text when it does not pass
// (Crossplane wraps it as "cannot resolve package dependencies: ...").
func DependencySatisfied(source, installed, constraint string) (bool, string) {
	constraint = strings.TrimSpace(constraint)
	if d, err := v1.NewHash(constraint); err == nil {
		if installed != d.String() {
			return false, fmt.Sprintf("existing package %s@%s is incompatible with constraint %s", source, installed, constraint)
		}
		return true, ""
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false, err.Error()
	}
	ver, err := semver.NewVersion(installed)
	if err != nil {
		return false, err.Error()
	}
	if !c.Check(ver) {
		s := fmt.Sprintf("existing package %s@%s", source, installed)
		if constraint != "" {
			s += " is incompatible with constraint " + constraint
		}
		return false, "incompatible dependencies: " + s
	}
	return true, ""
}
