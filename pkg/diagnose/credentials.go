package diagnose

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Whose credentials an image was read with (Credentials.InspectedWith,
// Report.RegistryCredentials).
const (
	// CredentialsCrossplane: the pull secrets Crossplane's keychain has for
	// the package, nothing else.
	CredentialsCrossplane = "crossplane"
	// CredentialsLocal: the user's docker config and credential helpers.
	CredentialsLocal = "local"
)

// Credentials is what Crossplane's keychain has for one package's image,
// collected by doctor from the cluster (pkg/doctor/credentials.go). It
// names secrets and entries, never their content.
type Credentials struct {
	// Image is the reference Crossplane pulls.
	Image string `json:"image"`
	// Secrets are the pull secrets Crossplane hands its keychain for the
	// image, in its order, with what the cluster answered for each.
	Secrets []cluster.SecretRef `json:"secrets"`
	// Used is the entry Crossplane's keychain sends for the image: the
	// first match. Nil when none matches: Crossplane pulls anonymously, or
	// through a cloud credential helper (CloudHelper).
	Used *xpkg.Credential `json:"used,omitempty"`
	// NotTried match the image too, but the keychain only ever uses the first.
	NotTried []xpkg.Credential `json:"notTried,omitempty"`
	// Entries are every entry of the secrets read (secret and key only),
	// to show what did not match.
	Entries []xpkg.Credential `json:"entries,omitempty"`
	// KeyringError: a secret that fails Crossplane's keychain, and with it
	// every pull of the package.
	KeyringError string `json:"keyringError,omitempty"`
	// CloudHelper names the credential helper k8schain falls back to for
	// the image's host when no secret matches (it uses the Crossplane
	// pod's cloud identity, which xpdoctor cannot see).
	CloudHelper string `json:"cloudHelper,omitempty"`
	// Working are entries of secrets the package does not use that read
	// the image's manifest when xpdoctor tried them.
	Working []xpkg.Credential `json:"working,omitempty"`
	// Refused is true when the registry refused the image as xpdoctor read
	// it with exactly Crossplane's credentials (InspectedWith crossplane).
	Refused bool `json:"refused,omitempty"`
	// InspectedWith says whose credentials xpdoctor read the image with:
	// crossplane, or local when Crossplane's could not be known or it
	// would use a cloud helper; "" when it did not read the image (a
	// healthy package with --inspect problems, or --inspect none).
	InspectedWith string `json:"inspectedWith,omitempty"`
	// Why says why InspectedWith is local.
	Why string `json:"why,omitempty"`
}

// Summary is the credentials in one line, for evidence.
func (cr Credentials) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "credentials: Crossplane's keychain for %s reads ", cr.Image)
	if len(cr.Secrets) == 0 {
		b.WriteString("no pull secret (none is named by spec.packagePullSecrets, an ImageConfig or Crossplane's ServiceAccount)")
	} else {
		var parts []string
		for _, s := range cr.Secrets {
			p := s.ID() + " (" + s.From
			if s.State != "" && s.State != cluster.SecretFound {
				p += ", " + s.State
			}
			parts = append(parts, p+")")
		}
		b.WriteString(strings.Join(parts, ", "))
	}
	switch {
	case cr.KeyringError != "":
		fmt.Fprintf(&b, "; the keychain fails: %s", cr.KeyringError)
	case cr.Used != nil:
		fmt.Fprintf(&b, "; it sends %s", cr.Used)
		if len(cr.NotTried) > 0 {
			fmt.Fprintf(&b, " and never tries %s", joinCredentials(cr.NotTried))
		}
	case cr.CloudHelper != "":
		fmt.Fprintf(&b, "; no entry matches, so it asks the %s with the Crossplane pod's identity", cr.CloudHelper)
	default:
		b.WriteString("; no entry matches, so it pulls anonymously")
		if len(cr.Entries) > 0 {
			fmt.Fprintf(&b, " (entries: %s)", entryKeys(cr.Entries))
		}
	}
	if cr.InspectedWith == CredentialsLocal && cr.Why != "" {
		fmt.Fprintf(&b, "; xpdoctor read the image with your local credentials: %s", cr.Why)
	}
	return b.String()
}

func joinCredentials(cs []xpkg.Credential) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

// maxEntriesShown bounds the entry keys one evidence line lists.
const maxEntriesShown = 10

func entryKeys(cs []xpkg.Credential) string {
	var parts []string
	seen := map[string]bool{}
	for _, c := range cs {
		if k := c.Secret + ": " + c.Key; !seen[k] {
			seen[k] = true
			parts = append(parts, k)
		}
	}
	if len(parts) > maxEntriesShown {
		parts = append(parts[:maxEntriesShown], fmt.Sprintf("and %d more", len(parts)-maxEntriesShown))
	}
	return strings.Join(parts, ", ")
}

// reECRHost is an ECR private registry host (the ECR credential helper's
// pattern, amazon-ecr-credential-helper ecr-login/api/client.go).
var reECRHost = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_]*\.dkr\.ecr(-fips)?\.[a-zA-Z0-9][a-zA-Z0-9-_]*\.amazonaws\.com(\.cn)?`)

// credentials says which pull secret Crossplane uses for the image and,
// when the registry refuses it or a named secret is missing, why: the
// secret does not exist, has no entry for the image, holds a credential
// the registry refuses, or a secret the package does not name would work.
func (c *pkgCase) credentials() {
	cr, ok := c.in.Credentials[c.pkg.Kind+"/"+c.pkg.Name]
	if !ok {
		return
	}
	c.row.Credentials = &cr
	summary := cr.Summary()
	refused := c.refused(cr)
	for i := range c.out {
		if c.out[i].Code == findings.RegistryUnauthorized {
			c.out[i].Evidence = append(c.out[i].Evidence, summary)
		}
	}
	if cr.KeyringError != "" {
		// The registry verdict read nothing: the keychain failed first.
		kept := c.out[:0]
		for _, f := range c.out {
			if !strings.Contains(strings.Join(f.Evidence, "\n"), cr.KeyringError) {
				kept = append(kept, f)
			}
		}
		c.out = kept
		c.add(findings.Finding{Code: findings.PullSecretInvalid, Image: cr.Image,
			Message:     "Crossplane cannot build its keychain for " + cr.Image + ": " + cr.KeyringError + "; it fails every pull of the package, whatever registry the secret is for",
			Evidence:    []string{summary},
			Remediation: "recreate the secret with kubectl create secret docker-registry (or fix its JSON: {\"auths\": {\"HOST\": {\"auth\": base64(user:password)}}})"})
		return
	}
	if refused {
		c.refusedBecause(cr, summary)
	}
	c.missingSecrets(cr, summary, refused)
	if refused {
		c.alternatives(cr, summary)
	}
}

// refusedBecause says why the registry refuses what Crossplane sends: the
// credential itself, or no entry matching the image.
func (c *pkgCase) refusedBecause(cr Credentials, summary string) {
	switch {
	case cr.Used != nil:
		msg := fmt.Sprintf("the registry refuses the credential Crossplane sends for %s: %s", cr.Image, cr.Used)
		fix := fmt.Sprintf("put a credential the registry accepts into %s (kubectl -n %s create secret docker-registry ... --dry-run=client -o yaml | kubectl apply -f -)", cr.Used.Secret, c.s.CrossplaneNamespace)
		if reECRHost.MatchString(cr.Used.Key) || reECRHost.MatchString(xpkg.RegistryOf(cr.Image)) {
			msg += "; ECR authorization tokens last 12 hours, so a token put into a pull secret stops working unless something refreshes it"
			fix = fmt.Sprintf("refresh the token in %s (aws ecr get-login-password, every < 12 hours, e.g. with a CronJob), or remove the secret's ECR entry so Crossplane's ECR credential helper uses its pod's IAM role (IRSA)", cr.Used.Secret)
		}
		if len(cr.NotTried) > 0 {
			msg += fmt.Sprintf("; %s also match(es) but Crossplane never tries a second credential", joinCredentials(cr.NotTried))
		}
		c.addCause(findings.Finding{Code: findings.PullSecretRejected, Image: cr.Image, Message: msg, Evidence: []string{summary}, Remediation: fix})
	case cr.CloudHelper != "":
		// Crossplane asks the cloud helper; xpdoctor cannot judge its identity.
	case len(cr.Entries) > 0:
		c.addCause(findings.Finding{Code: findings.PullSecretNoMatch, Image: cr.Image,
			Message:     fmt.Sprintf("no entry of the pull secrets Crossplane reads for %s matches it (keys match by host, port and path prefix; a path-scoped key covers only the repositories under it), so Crossplane pulls anonymously and the registry refuses", cr.Image),
			Evidence:    []string{summary},
			Remediation: fmt.Sprintf("add an entry for %s (or for its host %s) to one of the secrets, or name a secret that has one in spec.packagePullSecrets", xpkg.RepositoryOf(cr.Image), xpkg.RegistryOf(cr.Image))})
	}
}

// alternatives names the verified credentials Crossplane does not use.
func (c *pkgCase) alternatives(cr Credentials, summary string) {
	for _, w := range cr.Working {
		secretName := w.Secret[strings.Index(w.Secret, "/")+1:]
		f := findings.Finding{Code: findings.PullSecretUnreferenced, Severity: findings.Warning, Image: cr.Image, Evidence: []string{summary}}
		switch {
		case cr.Used != nil && containsCredential(cr.NotTried, w):
			f.Message = fmt.Sprintf("%s reads %s (xpdoctor read its manifest with it), but Crossplane never tries it: it sends only the first matching entry, %s", w, cr.Image, cr.Used)
			f.Remediation = fmt.Sprintf("fix or remove the entry %s of %s, so that Crossplane's keychain reaches %s", cr.Used.Key, cr.Used.Secret, w.Secret)
		default:
			f.Message = fmt.Sprintf("%s reads %s (xpdoctor read its manifest with it), but Crossplane does not use it for %s %s", w, cr.Image, c.pkg.Kind, c.pkg.Name)
			f.Remediation = fmt.Sprintf("kubectl patch %s %s --type merge -p '{\"spec\":{\"packagePullSecrets\":[{\"name\":\"%s\"}]}}' (this replaces the list: keep the names that are still needed), or an ImageConfig matching %s with spec.registry.authentication.pullSecretRef.name: %s",
				strings.ToLower(c.pkg.Kind), c.pkg.Name, secretName, xpkg.RepositoryOf(cr.Image), secretName)
			if cr.Used != nil {
				f.Remediation += fmt.Sprintf("; Crossplane sends only the first matching entry, so also fix or remove the entry %s of %s", cr.Used.Key, cr.Used.Secret)
			}
		}
		c.add(f)
	}
}

func containsCredential(cs []xpkg.Credential, c xpkg.Credential) bool {
	for _, x := range cs {
		if x.Secret == c.Secret && x.Key == c.Key {
			return true
		}
	}
	return false
}

// addCause adds f ahead of the RegistryUnauthorized finding it explains,
// so that it is the package's root cause.
func (c *pkgCase) addCause(f findings.Finding) {
	c.add(f)
	added := c.out[len(c.out)-1]
	for i := range c.out[:len(c.out)-1] {
		if c.out[i].Code == findings.RegistryUnauthorized {
			copy(c.out[i+1:], c.out[i:len(c.out)-1])
			c.out[i] = added
			return
		}
	}
}

// missingSecrets names the secrets Crossplane's keychain skips because
// they do not exist: an error where the registry refuses and nothing else
// matched, a warning otherwise.
func (c *pkgCase) missingSecrets(cr Credentials, summary string, refused bool) {
	for _, s := range cr.Secrets {
		if s.State != cluster.SecretNotFound || c.namesMissingSecret(s.Name) {
			continue
		}
		// The ServiceAccount's secrets go with every package: a missing
		// one is worth a word only where the registry refuses.
		if s.From == cluster.FromServiceAccount && !refused {
			continue
		}
		sev := findings.Warning
		if refused && cr.Used == nil {
			sev = findings.Error
		}
		c.addCause(findings.Finding{Code: findings.PullSecretNotFound, Severity: sev, Image: cr.Image,
			Message:  fmt.Sprintf("pull secret %s, named by %s, does not exist (or holds no .dockerconfigjson/.dockercfg): Crossplane's keychain skips it without an error (\"secret %s not found; ignoring\") and pulls without it", s.ID(), s.From, s.ID()),
			Evidence: []string{summary},
			Remediation: fmt.Sprintf("create it: kubectl -n %s create secret docker-registry %s --docker-server=%s --docker-username=USER --docker-password=PASSWORD; or remove the name from %s",
				s.Namespace, s.Name, xpkg.RegistryOf(cr.Image), s.From)})
	}
}

// refused tells whether the registry refuses the image to Crossplane: the
// cluster's messages say so, or xpdoctor read it with Crossplane's
// credentials and was refused.
func (c *pkgCase) refused(cr Credentials) bool {
	return hasAny(c.out, findings.RegistryUnauthorized) || (cr.Refused && cr.InspectedWith == CredentialsCrossplane)
}

// namesMissingSecret tells whether a finding already says the secret is missing.
func (c *pkgCase) namesMissingSecret(name string) bool {
	for _, f := range c.out {
		if f.Code == findings.PullSecretNotFound && strings.Contains(f.Message, name) {
			return true
		}
	}
	return false
}
