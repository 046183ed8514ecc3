package xpkg

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Kubernetes pull secret types and the data keys Crossplane's keychain
// reads (k8s.io/api core/v1 SecretTypeDockerConfigJson, DockerConfigJsonKey,
// SecretTypeDockercfg, DockerConfigKey).
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeDockercfg        = "kubernetes.io/dockercfg"
	DockerConfigJSONKey        = ".dockerconfigjson"
	DockercfgKey               = ".dockercfg"
)

// PullSecret is a Kubernetes Secret as Crossplane's keychain reads it: its
// type and the two data keys it looks at, decoded. Its content is never
// rendered; only Namespace/Name are.
type PullSecret struct {
	Namespace string
	Name      string
	Type      string
	// Data holds the values of .dockerconfigjson and .dockercfg only.
	Data map[string][]byte
}

// ID is namespace/name, how the report names a secret.
func (s PullSecret) ID() string { return s.Namespace + "/" + s.Name }

// Credential is one auth entry of a pull secret, as the keyring indexes
// it. Only Secret, Key and Kind are ever rendered.
type Credential struct {
	// Secret is the namespace/name of the secret holding the entry.
	Secret string `json:"secret"`
	// Key is what the entry matches: host[:port][/path] (a host may have
	// wildcards: *.dkr.ecr.us-east-1.amazonaws.com).
	Key string `json:"entry"`
	// Kind is username/password, identity token, registry token or empty.
	Kind string `json:"kind"`
	auth authn.AuthConfig
}

// String names the entry, never its content (fmt's %v and %+v would
// print the unexported credential otherwise).
func (c Credential) String() string { return fmt.Sprintf("%s entry %s (%s)", c.Secret, c.Key, c.Kind) }

// GoString is String, for %#v.
func (c Credential) GoString() string { return c.String() }

// Authenticator is what the keyring hands go-containerregistry for this entry.
func (c Credential) Authenticator() authn.Authenticator { return authn.FromConfig(c.auth) }

// Credential kinds, by what go-containerregistry sends with them
// (pkg/v1/remote/transport/basic.go, bearer.go).
const (
	CredentialUserPassword  = "username/password"
	CredentialIdentityToken = "identity token"
	CredentialRegistryToken = "registry token"
	CredentialEmpty         = "empty"
)

func credentialKind(a authn.AuthConfig) string {
	switch {
	case a.RegistryToken != "":
		return CredentialRegistryToken
	case a.IdentityToken != "":
		return CredentialIdentityToken
	case a.Username != "" || a.Password != "":
		return CredentialUserPassword
	}
	return CredentialEmpty
}

// KeyringError says which pull secret made the keyring fail. Crossplane's
// keychain fails the same way, and then the pull fails whatever registry
// it is for.
type KeyringError struct {
	Secret string
	Reason string
}

func (e *KeyringError) Error() string {
	return fmt.Sprintf("pull secret %s cannot be read as a docker config: %s", e.Secret, e.Reason)
}

// Keyring resolves credentials from pull secrets exactly as Crossplane's
// keychain does. Every Crossplane release from v1.13.0 to v2.3.4 fetches
// packages through go-containerregistry's k8schain (internal/xpkg/fetch.go
// K8sFetcher@v1.13.0..v2.1.8, crossplane-runtime pkg/xpkg/fetch.go@v2.3.3),
// whose secrets part is pkg/authn/kubernetes NewFromPullSecrets, the same
// code at every version those releases pin (v0.0.0-20230516205744-dbecb1de8cfa,
// -20230919002926-dbcd01c402b2, -20250225234217-098045d5e61f; keychain_test.go
// checks this implementation against it). Its rules, which differ from the
// kubelet's and from docker's:
//
//   - only a secret of type kubernetes.io/dockerconfigjson with key
//     .dockerconfigjson, or of type kubernetes.io/dockercfg with key
//     .dockercfg, is read (an Opaque secret holding the same JSON is not);
//   - an entry's key is its host[:port] and path (a /v1/ or /v2/ prefix of
//     the path dropped); entries are tried longest key first (reverse
//     lexical order), and a key is matched when the port is the same, the
//     host has as many dot-separated parts, each matching as a glob
//     (*.example.com), and the key's path is a string prefix of the
//     repository's path (so reg.io/team also matches reg.io/team-a);
//   - docker.io is not index.docker.io: an entry for docker.io never
//     matches a Docker Hub image (index.docker.io/...);
//   - of all matching entries only the FIRST is used: a second credential
//     for the same registry is never tried (toAuthenticator);
//   - a secret that is not JSON, or whose auth field is not base64 of
//     user:password, fails the whole keychain, and with it the pull.
type Keyring struct {
	index []string
	creds map[string][]Credential
}

// NewKeyring indexes the entries of secrets, in the order given (the
// order Crossplane passes them: the package's, the ImageConfig's, then the
// ServiceAccount's).
func NewKeyring(secrets []PullSecret) (*Keyring, error) {
	k := &Keyring{creds: map[string][]Credential{}}
	for _, s := range secrets {
		auths, err := secretAuths(s)
		if err != nil {
			return nil, err
		}
		for _, e := range auths {
			if _, ok := k.creds[e.key]; !ok {
				k.index = append(k.index, e.key)
			}
			k.creds[e.key] = append(k.creds[e.key], Credential{Secret: s.ID(), Key: e.key, Kind: credentialKind(e.auth), auth: e.auth})
		}
	}
	// "We reverse sort in to give more specific (aka longer) keys priority
	// when matching for creds" (keychain.go NewFromPullSecrets).
	sort.Sort(sort.Reverse(sort.StringSlice(k.index)))
	return k, nil
}

type keyedAuth struct {
	key  string
	auth authn.AuthConfig
}

// secretAuths reads one secret's entries, sorted by their registry (the
// upstream ranges over a map: the order of a secret's own entries does not
// matter to it, only which keys exist).
func secretAuths(s PullSecret) ([]keyedAuth, error) {
	var auths map[string]authn.AuthConfig
	if b := s.Data[DockerConfigJSONKey]; s.Type == SecretTypeDockerConfigJSON && len(b) > 0 {
		var cfg struct {
			Auths map[string]authn.AuthConfig
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, &KeyringError{Secret: s.ID(), Reason: jsonReason(DockerConfigJSONKey, err)}
		}
		auths = cfg.Auths
	}
	if b := s.Data[DockercfgKey]; s.Type == SecretTypeDockercfg && len(b) > 0 {
		if err := json.Unmarshal(b, &auths); err != nil {
			return nil, &KeyringError{Secret: s.ID(), Reason: jsonReason(DockercfgKey, err)}
		}
	}
	registries := make([]string, 0, len(auths))
	for r := range auths {
		registries = append(registries, r)
	}
	sort.Strings(registries)
	out := make([]keyedAuth, 0, len(registries))
	for _, registry := range registries {
		key, err := entryKey(registry)
		if err != nil {
			return nil, &KeyringError{Secret: s.ID(), Reason: err.Error()}
		}
		a := auths[registry]
		// toAuthenticator drops auth once it has been decoded into
		// username and password (authn.AuthConfig.UnmarshalJSON).
		a.Auth = ""
		out = append(out, keyedAuth{key: key, auth: a})
	}
	return out, nil
}

// jsonReason says what is wrong with a secret's JSON without quoting it:
// encoding/json's syntax errors name the offending character.
func jsonReason(key string, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s is not valid JSON (at byte %d)", key, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s has a %s where a docker config has an object or string (field %q)", key, typ.Value, typ.Field)
	case strings.Contains(err.Error(), "auth field"):
		return fmt.Sprintf("an auth field of %s is not base64 of username:password", key)
	}
	return fmt.Sprintf("%s is not a docker config", key)
}

// entryKey is the keyring key of a docker config registry: host and path,
// without scheme and without a leading /v1/ or /v2/ (ResolveAuthConfig in
// docker/registry/auth.go, as keychain.go NewFromPullSecrets copies it).
func entryKey(registry string) (string, error) {
	value := registry
	if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		value = "https://" + value
	}
	parsed, err := url.Parse(value)
	if err != nil {
		return "", fmt.Errorf("an entry's registry is not a URL (%s)", urlReason(err))
	}
	path := parsed.Path
	if strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/") {
		path = path[3:]
	}
	if path != "" && path != "/" {
		return parsed.Host + path, nil
	}
	return parsed.Host, nil
}

// urlReason is url.Parse's complaint without the URL it quotes.
func urlReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "invalid"
}

// Matches lists every entry whose key matches the resource, in the order
// the keyring tries them: the first is the one Crossplane uses.
func (k *Keyring) Matches(target authn.Resource) []Credential {
	if k == nil {
		return nil
	}
	var out []Credential
	for _, key := range k.index {
		if urlsMatchStr(key, target.String()) {
			out = append(out, k.creds[key]...)
		}
	}
	return out
}

// Entries lists every entry, in the keyring's order (for the report: keys
// and secret names only).
func (k *Keyring) Entries() []Credential {
	if k == nil {
		return nil
	}
	var out []Credential
	for _, key := range k.index {
		out = append(out, k.creds[key]...)
	}
	return out
}

// Resolve implements authn.Keychain: the first matching entry, else anonymous.
func (k *Keyring) Resolve(target authn.Resource) (authn.Authenticator, error) {
	m := k.Matches(target)
	if len(m) == 0 {
		return authn.Anonymous, nil
	}
	return m[0].Authenticator(), nil
}

// CredentialKeychain answers one credential for every resource: doctor
// checks with it whether an entry Crossplane does not use would work.
func CredentialKeychain(c Credential) authn.Keychain { return singleKeychain{c.Authenticator()} }

type singleKeychain struct{ a authn.Authenticator }

func (s singleKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return s.a, nil }

// urlsMatchStr, parseSchemelessURL, splitURL and urlsMatch follow
// pkg/authn/kubernetes keychain.go (itself from the kubelet's
// credentialprovider); paths and ports have no wildcards.
func urlsMatchStr(glob, target string) bool {
	globURL, err := parseSchemelessURL(glob)
	if err != nil {
		return false
	}
	targetURL, err := parseSchemelessURL(target)
	if err != nil {
		return false
	}
	return urlsMatch(globURL, targetURL)
}

func parseSchemelessURL(s string) (*url.URL, error) {
	parsed, err := url.Parse("https://" + s)
	if err != nil {
		return nil, err
	}
	parsed.Scheme = ""
	return parsed, nil
}

func splitURL(u *url.URL) (parts []string, port string) {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return strings.Split(host, "."), port
}

func urlsMatch(globURL, targetURL *url.URL) bool {
	globParts, globPort := splitURL(globURL)
	targetParts, targetPort := splitURL(targetURL)
	if globPort != targetPort || len(globParts) != len(targetParts) {
		return false
	}
	if !strings.HasPrefix(targetURL.Path, globURL.Path) {
		return false
	}
	for i, g := range globParts {
		if ok, err := filepath.Match(g, targetParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// RegistryOf is the registry host of a reference as go-containerregistry
// parses it (index.docker.io for Docker Hub), or its first segment when
// it does not parse.
func RegistryOf(ref string) string {
	if r, err := name.ParseReference(ref); err == nil {
		return r.Context().RegistryStr()
	}
	host, _, _ := strings.Cut(ref, "/")
	return host
}
