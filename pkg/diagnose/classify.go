// Package diagnose decides, without I/O, why Crossplane packages are not
// healthy: it classifies condition and event messages by their inner cause,
// joins them with the registry verdicts from package inspect, and names the
// root cause per package with evidence and a fix.
package diagnose

import (
	"regexp"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// wrappers are prefixes that say where a failure surfaced, not why; they
// are stripped before classifying (revision/reconciler.go@v2.1.3,
// manager/reconciler.go and apis/pkg/v1/conditions.go@v2.3.4).
var wrappers = []string{
	"cannot initialize parser backend: ",
	"cannot unpack package: ",
	"cannot get package: ",
	"post establish runtime hook failed for package: ",
	"pre establish runtime hook failed for package: ",
}

var healthPrefix = regexp.MustCompile(`^Package (?:revision|runtime) health is "[A-Za-z]+" with message: `)

// Cause is what a message says went wrong.
type Cause struct {
	Code findings.Code
	// Inner is the message with its wrappers removed.
	Inner string
	// Generation says which Crossplane message family the text belongs to.
	Generation string
}

type rule struct {
	code findings.Code
	// any: the rule matches if the inner message contains one of these.
	any []string
	re  *regexp.Regexp
}

// rules are tried in order; the first match wins. More specific causes come
// before the generic transport ones that they may also contain.
var rules = []rule{
	{code: findings.PackageYAMLNotFound, any: []string{`couldn't find "package.yaml" file`, "package.yaml not found in package", "failed to open package stream file"}},
	{code: findings.MultipleBaseLayers, any: []string{"multiple annotated base layers"}},
	{code: findings.TooManyLayers, re: regexp.MustCompile(`package has \d+ layers, but only \d+ are allowed`)},
	{code: findings.NoPlatformMatch, any: []string{"no child with platform"}},
	{code: findings.PullPolicyNeverNotCached, any: []string{"pull policy is Never", "pre-cached package with pull policy Never"}},
	{code: findings.SignatureVerificationFailed, any: []string{"signature verification failed", "no attestation of type", "cannot fetch Fulcio roots"}},
	{code: findings.CrossplaneVersionIncompat, any: []string{"incompatible Crossplane version", "is not compatible with Crossplane version"}},
	{code: findings.DependencyUnresolvable, any: []string{"cannot resolve package dependencies", "missing dependencies", "incompatible dependencies"}},
	{code: findings.PackageYAMLInvalid, any: []string{"cannot parse package contents", "linting package contents failed", "not exactly one package meta type", "cannot parse package ", "multiple meta types"}},
	{code: findings.LayerInvalid, any: []string{"invalid package layer", "cannot read package contents"}},
	// validate.Image on the flatten path runs out of the revision deadline (#6771).
	{code: findings.FlattenPathTooSlow, re: regexp.MustCompile(`(invalid package image|validating layers|cannot extract package content).*context deadline exceeded`)},
	{code: findings.RegistryTLSUntrusted, any: []string{"x509:", "certificate signed by unknown authority", "tls: failed to verify certificate"}},
	{code: findings.RegistryUnauthorized, any: []string{"401 Unauthorized", "403 Forbidden", "UNAUTHORIZED", "DENIED:", "authentication required", "no basic auth credentials", "pull access denied"}},
	{code: findings.ManifestNotFound, any: []string{"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "404 Not Found", "manifest unknown", "not found: manifest"}},
	{code: findings.RegistryUnreachable, any: []string{"dial tcp", "i/o timeout", "no such host", "connection refused", "context deadline exceeded", "TLS handshake timeout", "503 Service Unavailable", "502 Bad Gateway", "500 Internal Server Error", "connection reset by peer"}},
	{code: findings.RuntimeNotAvailable, any: []string{"does not have minimum availability", `has no condition of type "Available"`, "deployment is unavailable"}},
}

// Classify returns the cause a Crossplane message names, if it names one.
// "cannot initialize parser backend" and the other wrappers are never a
// cause by themselves.
func Classify(msg string) (Cause, bool) {
	inner, gen := Unwrap(msg)
	for _, r := range rules {
		if r.re != nil && r.re.MatchString(inner) {
			return Cause{Code: r.code, Inner: inner, Generation: gen}, true
		}
		for _, s := range r.any {
			if strings.Contains(inner, s) {
				return Cause{Code: r.code, Inner: inner, Generation: gen}, true
			}
		}
	}
	return Cause{Inner: inner, Generation: gen}, false
}

// Unwrap strips the wrappers from msg and tells which message generation
// they belong to: "v1.x-v2.1" for the parser-backend family, "v2.2+" for
// the xpkg client family, "" when the text does not say.
func Unwrap(msg string) (inner, generation string) {
	inner = strings.TrimSpace(healthPrefix.ReplaceAllString(msg, ""))
	for changed := true; changed; {
		changed = false
		for _, w := range wrappers {
			if rest, ok := strings.CutPrefix(inner, w); ok {
				switch w {
				case "cannot initialize parser backend: ":
					generation = "v1.x-v2.1"
				case "cannot get package: ":
					generation = "v2.2+"
				}
				inner, changed = rest, true
			}
		}
	}
	switch {
	case generation != "":
	case strings.HasPrefix(inner, "failed to fetch package digest from remote"):
		generation = "v1.x-v2.1"
	case strings.HasPrefix(inner, "cannot resolve ") && strings.Contains(inner, " to digest"),
		strings.HasPrefix(inner, "cannot extract package content from"),
		strings.HasPrefix(inner, "cannot fetch package "):
		generation = "v2.2+"
	}
	return inner, generation
}

// missingDeps reads "missing dependencies: [a b]" (revision/dependency.go).
var missingDeps = regexp.MustCompile(`missing dependencies: \[([^\]]*)\]`)

// MissingDependencies lists the dependencies a message names as missing.
func MissingDependencies(msg string) []string {
	m := missingDeps.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	return strings.Fields(strings.ReplaceAll(m[1], ",", " "))
}
