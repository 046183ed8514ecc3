package diagnose

import (
	"fmt"
	"strings"
)

// crossplaneCredentials says which credentials Crossplane had for the
// package's image, from what the cluster holds: the package's
// spec.packagePullSecrets, ImageConfigs whose matchImages prefix covers
// the image and name a spec.registry.authentication.pullSecretRef, and the
// imagePullSecrets of Crossplane's own ServiceAccount or Deployment.
// Crossplane's fetcher uses them together: a k8schain keychain of the
// package's pull secrets (and the ImageConfig's, v1.17.3+) plus its
// ServiceAccount's imagePullSecrets (internal/xpkg/fetch.go@v1.16.0;
// v2.2+ crossplane-runtime:pkg/xpkg/client.go@v2.3.3 CachedClient.Get
// appends the ImageConfig's PullSecretFor). It names them; which one the
// registry refused only the registry knows.
func crossplaneCredentials(c *pkgCase) string {
	var had []string
	if len(c.pkg.PullSecrets) > 0 {
		had = append(had, fmt.Sprintf("spec.packagePullSecrets %s of %s %s", strings.Join(c.pkg.PullSecrets, ", "), c.pkg.Kind, c.pkg.Name))
	}
	for _, ic := range c.s.ImageConfigs {
		if ic.PullSecret == "" {
			continue
		}
		for _, p := range ic.Prefixes {
			if c.source != "" && strings.HasPrefix(c.source, p) {
				had = append(had, fmt.Sprintf("ImageConfig %s (matchImages %s, pullSecretRef %s)", ic.Name, p, ic.PullSecret))
				break
			}
		}
	}
	if len(c.s.CrossplanePullSecrets) > 0 {
		had = append(had, fmt.Sprintf("imagePullSecrets %s of Crossplane's ServiceAccount or Deployment", strings.Join(c.s.CrossplanePullSecrets, ", ")))
	}
	if len(had) == 0 {
		return "Crossplane had no credentials for this image: no spec.packagePullSecrets, no ImageConfig with a pullSecretRef matching it, no imagePullSecrets on its ServiceAccount"
	}
	return "Crossplane pulled with: " + strings.Join(had, "; ")
}
