package cluster

import (
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Where a pull secret name comes from (SecretRef.From).
const (
	FromPackagePullSecrets = "spec.packagePullSecrets"
	FromServiceAccount     = "imagePullSecrets of Crossplane's ServiceAccount"
	fromImageConfig        = "spec.registry.authentication.pullSecretRef of ImageConfig "
)

// SecretRef is one pull secret Crossplane hands its keychain, and why.
type SecretRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// From says who names it: spec.packagePullSecrets, an ImageConfig, or
	// Crossplane's ServiceAccount.
	From string `json:"from"`
	// State is what the cluster answered for it: found, not found, denied,
	// or "" when it was not read (a support dump, --read-pull-secrets=false).
	State string `json:"state,omitempty"`
}

// ID is namespace/name.
func (r SecretRef) ID() string { return r.Namespace + "/" + r.Name }

// ImageConfigPullSecret is the pull secret of the ImageConfig whose prefix
// is the longest match of image among those with a pull secret, and that
// ImageConfig's name ("" when none): ImageConfigStore.PullSecretFor
// (internal/xpkg/config.go@v1.17.3..v2.1.8, crossplane-runtime
// pkg/xpkg/config.go@v2.3.3 bestMatch: a plain string prefix of the
// reference as written, the first of equally long prefixes in List order,
// which is by name). ImageConfigs exist from v1.17.3 (backport of PR #6000,
// commit febeaa63e), so a cluster that has any supports this.
func (s *Snapshot) ImageConfigPullSecret(image string) (secret, imageConfig string) {
	longest := 0
	for _, ic := range s.ImageConfigs {
		if ic.PullSecret == "" {
			continue
		}
		for _, p := range ic.Prefixes {
			if strings.HasPrefix(image, p) && len(p) > longest {
				longest, secret, imageConfig = len(p), ic.PullSecret, ic.Name
			}
		}
	}
	return secret, imageConfig
}

// PackagePullSecrets are the secrets Crossplane's keychain reads, in its
// order, when the package manager and the revision controller pull p's
// image: spec.packagePullSecrets, then the pull secret of the ImageConfig
// matching the image (v1.17.3+; matched against spec.package up to v1.19
// and against the rewritten source from v1.20, which is what Source()
// is), then the imagePullSecrets of Crossplane's ServiceAccount, all in
// Crossplane's namespace. Sources: revision/imageback.go Init@v1.16.0
// (packagePullSecrets), @v1.20.0 (`ps = append(ps, n.pullSecretFromConfig)`),
// revision/reconciler.go@v1.20.0 (PullSecretFor(pr.GetResolvedSource())),
// crossplane-runtime pkg/xpkg/client.go@v2.3.3 Get (`secrets =
// append(secrets, secret)`), and go-containerregistry
// pkg/authn/kubernetes keychain.go New (explicit secrets first, then the
// ServiceAccount's). A secret named twice is read twice; it is listed once.
func (s *Snapshot) PackagePullSecrets(p Package) []SecretRef {
	var names []SecretRef
	for _, n := range p.PullSecrets {
		names = append(names, SecretRef{Name: n, From: FromPackagePullSecrets})
	}
	return s.withImageConfigAndServiceAccount(names, p.Source())
}

// DependencyPullSecrets are the secrets Crossplane's dependency resolver
// lists a dependency's tags with: never the parent's packagePullSecrets,
// the ImageConfig's pull secret from v1.17.3, and the ServiceAccount's
// (resolver/reconciler.go@v1.16.0 and @v1.20.11: "we will be unable to
// fetch tags for private dependencies because we do not attach any
// secrets"; crossplane-runtime pkg/xpkg/client.go@v2.3.3 ListVersions).
func (s *Snapshot) DependencyPullSecrets(repository string) []SecretRef {
	return s.withImageConfigAndServiceAccount(nil, repository)
}

func (s *Snapshot) withImageConfigAndServiceAccount(names []SecretRef, image string) []SecretRef {
	if sec, ic := s.ImageConfigPullSecret(image); sec != "" {
		names = append(names, SecretRef{Name: sec, From: fromImageConfig + ic})
	}
	for _, n := range s.ServiceAccountPullSecrets {
		names = append(names, SecretRef{Name: n, From: FromServiceAccount})
	}
	seen := map[string]bool{}
	out := names[:0]
	for _, r := range names {
		if r.Name == "" || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		r.Namespace = s.CrossplaneNamespace
		r.State = s.SecretReads[r.Name]
		if _, ok := s.Secrets[r.Name]; ok && r.State == "" {
			r.State = SecretFound // a support dump that holds it
		}
		out = append(out, r)
	}
	return out
}

// SecretsOf returns the secrets of refs that were read, in order, for a
// keyring.
func (s *Snapshot) SecretsOf(refs []SecretRef) []xpkg.PullSecret {
	var out []xpkg.PullSecret
	for _, r := range refs {
		if sec, ok := s.Secrets[r.Name]; ok {
			out = append(out, sec)
		}
	}
	return out
}
