package xpkg

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerConfig is the .dockerconfigjson format of kubernetes.io/dockerconfigjson secrets.
type dockerConfig struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
		// IdentityToken and RegistryToken are only listed for redaction.
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	} `json:"auths"`
}

// secretKeychain resolves credentials from docker config JSON documents, the
// way Crossplane's k8schain does with packagePullSecrets. Credentials stay in
// memory and are never rendered.
type secretKeychain struct {
	byHost map[string]authn.AuthConfig
}

// KeychainFromDockerConfigs builds a keychain from .dockerconfigjson contents;
// invalid documents are skipped.
func KeychainFromDockerConfigs(configs ...[]byte) authn.Keychain {
	k := &secretKeychain{byHost: map[string]authn.AuthConfig{}}
	for _, c := range configs {
		var dc dockerConfig
		if json.Unmarshal(c, &dc) != nil {
			continue
		}
		for host, a := range dc.Auths {
			ac := authn.AuthConfig{Username: a.Username, Password: a.Password}
			if a.Auth != "" {
				if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					if u, p, ok := strings.Cut(string(raw), ":"); ok {
						ac.Username, ac.Password = u, p
					}
				}
			}
			k.byHost[normaliseHost(host)] = ac
		}
	}
	return k
}

func normaliseHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "docker.io" || h == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return h
}

// Resolve implements authn.Keychain.
func (k *secretKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if ac, ok := k.byHost[normaliseHost(r.RegistryStr())]; ok {
		return authn.FromConfig(ac), nil
	}
	return authn.Anonymous, nil
}
