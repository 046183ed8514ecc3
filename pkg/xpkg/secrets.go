package xpkg

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// WithRedactor registers every credential the client resolves or sends with
// r, so that whatever prints a registry's answer can remove them: the
// keychain's answers (passwords, identity and registry tokens), every
// Authorization header sent, and the tokens token endpoints return.
func WithRedactor(r *redact.Redactor) Option { return func(c *Client) { c.redactor = r } }

// registerAuth registers every credential of an AuthConfig.
func registerAuth(r *redact.Redactor, a *authn.AuthConfig) {
	if a == nil {
		return
	}
	r.AddUserPassword(a.Username, a.Password)
	r.Add(a.Auth, a.IdentityToken, a.RegistryToken)
	if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
		if u, p, ok := strings.Cut(string(raw), ":"); ok {
			r.AddUserPassword(u, p)
		}
	}
}

// redactingKeychain registers what its keychain resolves.
type redactingKeychain struct {
	inner authn.Keychain
	r     *redact.Redactor
}

func (k redactingKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	a, err := k.inner.Resolve(res)
	if err != nil || a == nil || a == authn.Anonymous {
		return a, err
	}
	return redactingAuthenticator{inner: a, r: k.r}, nil
}

// redactingAuthenticator registers credentials each time they are asked
// for: credential helpers may hand out a fresh token every time.
type redactingAuthenticator struct {
	inner authn.Authenticator
	r     *redact.Redactor
}

func (a redactingAuthenticator) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a redactingAuthenticator) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	cfg, err := authn.Authorization(ctx, a.inner)
	registerAuth(a.r, cfg)
	return cfg, err
}

// maxTokenResponse bounds how much of a token endpoint's answer is kept to
// find its tokens (ggcr reads at most 1 MiB: transport/bearer.go maxTokenBodySize).
const maxTokenResponse = 1 << 20

// credentialCapture sits under go-containerregistry's auth transports, so
// it sees every request as sent: it registers the Authorization header's
// credential, and the tokens in token endpoint responses (the Docker token
// flow: GET realm?scope=...&service=..., or the OAuth2 POST form).
type credentialCapture struct {
	inner http.RoundTripper
	r     *redact.Redactor
}

func (t *credentialCapture) RoundTrip(req *http.Request) (*http.Response, error) {
	registerHeader(t.r, req.Header.Get("Authorization"))
	// A blob redirect to signed storage: the signature is a credential too
	// (a storage error may echo it, S3's SignatureDoesNotMatch does).
	for k, vs := range req.URL.Query() {
		if redact.SensitiveParam(k) {
			t.r.Add(vs...)
		}
	}
	if p := req.URL.User; p != nil {
		pw, _ := p.Password()
		t.r.AddUserPassword(p.Username(), pw)
	}
	resp, err := t.inner.RoundTrip(req)
	if resp != nil && resp.Body != nil && isTokenRequest(req) {
		resp.Body = &tokenBody{ReadCloser: resp.Body, r: t.r}
	}
	return resp, err
}

func registerHeader(r *redact.Redactor, h string) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return
	}
	cred = strings.TrimSpace(cred)
	r.Add(cred)
	if strings.EqualFold(scheme, "basic") {
		if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if u, p, ok := strings.Cut(string(raw), ":"); ok {
				r.AddUserPassword(u, p)
			}
		}
	}
}

func isTokenRequest(req *http.Request) bool {
	q := req.URL.RawQuery
	return strings.Contains(q, "scope=") || strings.Contains(q, "service=") ||
		(req.Method == http.MethodPost && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded"))
}

// tokenBody keeps what the caller reads of a token response and registers
// its tokens when the body ends or is closed.
type tokenBody struct {
	io.ReadCloser
	r    *redact.Redactor
	buf  bytes.Buffer
	done bool
}

func (b *tokenBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.buf.Len()+n <= maxTokenResponse {
		b.buf.Write(p[:n])
	}
	if err != nil {
		b.register()
	}
	return n, err
}

func (b *tokenBody) Close() error {
	b.register()
	return b.ReadCloser.Close()
}

func (b *tokenBody) register() {
	if b.done {
		return
	}
	b.done = true
	var tok struct {
		Token        string `json:"token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if json.Unmarshal(b.buf.Bytes(), &tok) == nil {
		b.r.Add(tok.Token, tok.AccessToken, tok.RefreshToken, tok.IDToken)
	}
	b.buf = bytes.Buffer{}
}

// PullSecretCredentials lists every credential in pull secrets, for a
// Redactor: the tool holds them all, even those for registries it never
// contacts, and those of secrets Crossplane would not read (an Opaque
// secret holding a docker config, a value that is not valid JSON).
func PullSecretCredentials(secrets ...PullSecret) []string {
	var out []string
	for _, s := range secrets {
		for _, b := range s.Data {
			out = append(out, dockerConfigCredentials(b)...)
		}
	}
	return out
}

// dockerConfigCredentials reads .dockerconfigjson ({"auths": {...}}) and
// legacy .dockercfg ({host: {...}}) alike.
func dockerConfigCredentials(b []byte) []string {
	type entry struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	}
	var cfg struct {
		Auths map[string]entry `json:"auths"`
	}
	var legacy map[string]entry
	_ = json.Unmarshal(b, &cfg)
	_ = json.Unmarshal(b, &legacy)
	var out []string
	for _, entries := range []map[string]entry{cfg.Auths, legacy} {
		for _, a := range entries {
			out = append(out, a.Password, a.Auth, a.IdentityToken, a.RegistryToken)
			if a.Password != "" {
				out = append(out, a.Username+":"+a.Password)
			}
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
				if raw, err := enc.DecodeString(a.Auth); err == nil {
					if _, p, ok := strings.Cut(string(raw), ":"); ok {
						out = append(out, p, string(raw))
					}
				}
			}
		}
	}
	return out
}
