package doctor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// RegistryCredentials says whose credentials diagnose reads package images
// with (--registry-credentials).
type RegistryCredentials string

// Credential sources.
const (
	// CredentialsCrossplane reads each package's image with exactly the
	// pull secrets Crossplane uses for it, so a refusal Crossplane will
	// meet is predicted (the default).
	CredentialsCrossplane RegistryCredentials = diagnose.CredentialsCrossplane
	// CredentialsLocal reads every image with the user's docker config and
	// credential helpers, as inspect does.
	CredentialsLocal RegistryCredentials = diagnose.CredentialsLocal
)

// cloudHelper names the credential helper go-containerregistry's k8schain
// asks after the pull secrets (k8schain.go New: the kubernetes keychain,
// then authn.DefaultKeychain, google.Keychain, the ECR helper, the ACR
// helper; the same at the versions Crossplane v1.13.0 to v2.3.4 pin),
// for hosts it serves: google/keychain.go isGoogle, the ECR helper's host
// pattern, ACR's azurecr.io. Each uses the Crossplane pod's own cloud
// identity, which xpdoctor cannot see.
func cloudHelper(host string) string {
	switch {
	case host == "gcr.io" || strings.HasSuffix(host, ".gcr.io") || strings.HasSuffix(host, ".pkg.dev") || strings.HasSuffix(host, ".google.com"):
		return "Google credential helper (gcloud / GKE workload identity)"
	case strings.Contains(host, ".dkr.ecr") && (strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")):
		return "ECR credential helper (IRSA, EKS pod identity or the node role)"
	case strings.HasSuffix(host, ".azurecr.io") || strings.HasSuffix(host, ".azurecr.cn") || strings.HasSuffix(host, ".azurecr.de") || strings.HasSuffix(host, ".azurecr.us"):
		return "ACR credential helper (AZURE_* environment of the Crossplane pod)"
	}
	return ""
}

// packageCredentials decides, for one package, what Crossplane's keychain
// has for its image and the keychain xpdoctor reads it with: exactly
// Crossplane's when the pull secrets were read, the user's (local) when
// they could not be, or when Crossplane would ask a cloud helper.
func packageCredentials(snap *cluster.Snapshot, p cluster.Package, mode RegistryCredentials, local authn.Keychain) (diagnose.Credentials, authn.Keychain) {
	image := p.Source()
	refs := snap.PackagePullSecrets(p)
	cr := diagnose.Credentials{Image: image, Secrets: refs, InspectedWith: diagnose.CredentialsCrossplane}
	if refs == nil {
		cr.Secrets = []cluster.SecretRef{}
	}
	if mode == CredentialsLocal {
		cr.InspectedWith, cr.Why = diagnose.CredentialsLocal, "--registry-credentials=local"
	}
	if why := unreadable(snap, refs); why != "" && cr.InspectedWith == diagnose.CredentialsCrossplane {
		cr.InspectedWith, cr.Why = diagnose.CredentialsLocal, why
	}
	kr, err := xpkg.NewKeyring(snap.SecretsOf(refs))
	if err != nil {
		cr.KeyringError = err.Error()
		if cr.InspectedWith == diagnose.CredentialsCrossplane {
			return cr, failingKeychain{err}
		}
		return cr, local
	}
	cr.Entries = kr.Entries()
	if repo, err := name.NewRepository(xpkg.RepositoryOf(image)); err == nil {
		if m := kr.Matches(repo); len(m) > 0 {
			cr.Used, cr.NotTried = &m[0], m[1:]
		} else {
			cr.CloudHelper = cloudHelper(repo.RegistryStr())
		}
	}
	if cr.InspectedWith == diagnose.CredentialsCrossplane && cr.CloudHelper != "" {
		cr.InspectedWith, cr.Why = diagnose.CredentialsLocal, "no pull secret matches, and Crossplane would ask the "+cr.CloudHelper+", which xpdoctor cannot ask as Crossplane's pod"
	}
	if cr.InspectedWith == diagnose.CredentialsLocal {
		return cr, local
	}
	return cr, kr
}

// unreadable says why Crossplane's keychain cannot be known: a secret it
// names was not read (--read-pull-secrets=false, or a support dump that
// does not hold it), reading it was denied, or Crossplane's ServiceAccount
// could not be read. "" when every named secret was read or is known to
// be missing.
func unreadable(snap *cluster.Snapshot, refs []cluster.SecretRef) string {
	for _, r := range refs {
		switch r.State {
		case cluster.SecretDenied:
			return "reading secret " + r.ID() + " was denied"
		case "":
			if snap.FromBundle {
				return "a support bundle holds no Secret (" + r.ID() + ")"
			}
			if snap.FromDump {
				return "the support dump does not hold secret " + r.ID()
			}
			return "pull secrets were not read (--read-pull-secrets=false)"
		}
	}
	if snap.FromDump && snap.ServiceAccountPullSecrets == nil {
		return "the support dump does not hold Crossplane's ServiceAccount, whose imagePullSecrets Crossplane adds"
	}
	if !snap.FromDump && !serviceAccountRead(snap) {
		return "Crossplane's ServiceAccount " + snap.CrossplaneNamespace + "/" + snap.CrossplaneServiceAccount() + " could not be read"
	}
	return ""
}

// serviceAccountRead tells whether the ServiceAccount Get was answered
// (a ServiceAccount without imagePullSecrets leaves the list nil too).
func serviceAccountRead(snap *cluster.Snapshot) bool {
	for _, d := range snap.Denied {
		if d.Resource == "serviceaccounts" {
			return false
		}
	}
	return true
}

// dependencyKeychain resolves, for each repository asked for, the
// credential Crossplane's dependency resolver would send: the pull secret
// of the ImageConfig matching it and the ServiceAccount's, never the
// package's own (cluster.Snapshot.DependencyPullSecrets).
type dependencyKeychain struct{ snap *cluster.Snapshot }

func (k dependencyKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	kr, err := xpkg.NewKeyring(k.snap.SecretsOf(k.snap.DependencyPullSecrets(r.String())))
	if err != nil {
		return nil, err
	}
	return kr.Resolve(r)
}

// failingKeychain fails as Crossplane's does when a secret is not a
// docker config: before any request.
type failingKeychain struct{ err error }

func (k failingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return nil, k.err }

// maxAlternatives bounds the other secrets' entries tried per package.
const maxAlternatives = 4

// verifyAlternatives tries, for a package whose image the registry
// refused with Crossplane's credentials, the matching entries of the
// secrets Crossplane does not use for it (secrets other packages,
// ImageConfigs or the ServiceAccount name, and the entries its keychain
// never tries), and keeps those that read the image's manifest.
func verifyAlternatives(ctx context.Context, client *xpkg.Client, snap *cluster.Snapshot, cr *diagnose.Credentials, ref name.Reference) {
	own := map[string]bool{}
	for _, s := range cr.Secrets {
		own[s.Namespace+"/"+s.Name] = true
	}
	var others []xpkg.PullSecret
	for _, n := range sortedKeys(snap.Secrets) {
		if s := snap.Secrets[n]; !own[s.ID()] {
			others = append(others, s)
		}
	}
	var candidates []xpkg.Credential
	candidates = append(candidates, cr.NotTried...)
	for _, s := range others {
		kr, err := xpkg.NewKeyring([]xpkg.PullSecret{s})
		if err != nil {
			continue
		}
		candidates = append(candidates, kr.Matches(ref.Context())...)
	}
	tried := 0
	for _, c := range candidates {
		if tried == maxAlternatives {
			break
		}
		if own[c.Secret] && !contains(cr.NotTried, c) {
			continue
		}
		tried++
		if _, err := client.WithCredentials(xpkg.CredentialKeychain(c)).GetManifest(ctx, ref); err == nil {
			cr.Working = append(cr.Working, c)
		}
	}
}

func contains(cs []xpkg.Credential, c xpkg.Credential) bool {
	for _, x := range cs {
		if x.Secret == c.Secret && x.Key == c.Key {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// registerSecrets gives the Redactor every credential of every secret read.
func registerSecrets(snap *cluster.Snapshot, r *redact.Redactor) {
	var all []xpkg.PullSecret
	for _, n := range sortedKeys(snap.Secrets) {
		all = append(all, snap.Secrets[n])
	}
	r.Add(xpkg.PullSecretCredentials(all...)...)
}

// credentialsNote says once how the run judged credentials.
func credentialsNote(mode RegistryCredentials, creds map[string]diagnose.Credentials) string {
	read := 0
	for _, c := range creds {
		if c.InspectedWith != "" {
			read++
		}
	}
	if read == 0 {
		return ""
	}
	if mode == CredentialsLocal {
		return "package images were read with your local docker config and credential helpers (--registry-credentials=local), not with the pull secrets Crossplane uses: a refusal Crossplane meets may not show"
	}
	local := 0
	why := ""
	for _, k := range sortedKeys(creds) {
		if c := creds[k]; c.InspectedWith == diagnose.CredentialsLocal {
			local++
			if why == "" {
				why = c.Why
			}
		}
	}
	if local == 0 {
		return ""
	}
	return fmt.Sprintf("%d package image(s) were read with your local credentials instead of Crossplane's (%s)", local, why)
}
