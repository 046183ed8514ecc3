// Package redact removes credentials from text before xpdoctor prints it.
//
// A Redactor holds the credentials one run of xpdoctor uses (registered by
// the registry client as it resolves and sends them, and by the commands
// for pull secrets and kubeconfig tokens) and replaces every occurrence of
// them in any text. It also removes what looks like a credential whatever
// its source: the userinfo and the query of URLs (pre-signed storage URLs
// carry their signature there), Authorization header values, JWTs, and
// token fields of JSON bodies a registry echoes. There is no global state:
// each command invocation makes its own Redactor.
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every credential.
const Mask = "<redacted>"

// MinSecretLength is the shortest credential replaced by value: shorter
// ones would erase ordinary words from the output. The patterns still
// remove them from URLs, headers and JSON fields.
const MinSecretLength = 6

// Redactor replaces registered credentials and credential-shaped text. The
// zero value and nil are ready to use (patterns only). Safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]bool
	// sorted holds secrets longest first, so a secret that contains another
	// is replaced whole.
	sorted []string
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{} }

// Add registers credentials, with the forms they take on the wire and in
// output: as given, base64-encoded, and URL-escaped.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), url.QueryEscape(s), url.PathEscape(s)} {
			form = strings.TrimSpace(form)
			if len(form) < MinSecretLength || r.secrets[form] {
				continue
			}
			if r.secrets == nil {
				r.secrets = map[string]bool{}
			}
			r.secrets[form] = true
			r.sorted = append(r.sorted, form)
		}
	}
	sort.SliceStable(r.sorted, func(i, j int) bool { return len(r.sorted[i]) > len(r.sorted[j]) })
}

// AddUserPassword registers a username:password pair: the password, the
// pair, and the pair base64-encoded as in a Basic Authorization header and
// a docker config "auth" field. The username alone is not a secret.
func (r *Redactor) AddUserPassword(user, password string) {
	if password == "" {
		return
	}
	r.Add(password, user+":"+password)
}

// String returns s with every registered credential and every
// credential-shaped text replaced by Mask.
func (r *Redactor) String(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, secret := range r.sorted {
			if strings.Contains(s, secret) {
				s = strings.ReplaceAll(s, secret, Mask)
			}
		}
		r.mu.RUnlock()
	}
	return Patterns(s)
}

// Patterns removes credential-shaped text, whoever holds the credential:
// the userinfo and query of URLs, Authorization header values, key=value
// and JSON fields named like credentials, and JWTs. It needs no Redactor.
func Patterns(s string) string {
	s = urlPattern.ReplaceAllStringFunc(s, redactURL)
	s = authHeader.ReplaceAllString(s, "${1}"+Mask)
	s = jsonField.ReplaceAllString(s, `${1}"`+Mask+`"`)
	s = keyValue.ReplaceAllString(s, "${1}="+Mask)
	return jwt.ReplaceAllString(s, Mask)
}

var (
	// urlPattern matches absolute URLs up to whitespace or a quote.
	// A backslash ends it too: in JSON text it escapes the quote after it.
	urlPattern = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>\x60\\]+`)
	// authHeader matches the credential of an Authorization value
	// (RFC 9110 s.11.4): a scheme, then a token68 of at least 8 characters,
	// so that a challenge such as `Basic realm=...` is left alone.
	authHeader = regexp.MustCompile(`(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/-]{8,}=*`)
	// jsonField matches credential fields of JSON bodies: token endpoint
	// answers (Docker token spec: token, access_token, refresh_token) and
	// docker config entries (auth, password, identitytoken, registrytoken).
	jsonField = regexp.MustCompile(`(?i)("(?:token|access_token|refresh_token|id_token|password|secret|auth|identitytoken|registrytoken)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// keyValue matches credential parameters outside a URL.
	keyValue = regexp.MustCompile(`(?i)\b(` + strings.Join(sensitiveParams, "|") + `)=[^&\s"'\\<]+`)
	// jwt matches JSON Web Tokens (RFC 7519): base64url header.payload.signature.
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
)

// sensitiveParams are query and form parameters that carry credentials:
// signed storage URLs (AWS SigV4: X-Amz-*; GCS: X-Goog-*; Azure SAS: sig),
// tokens and OAuth2 form fields.
var sensitiveParams = []string{"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential",
	"sig", "signature", "token", "access_token", "refresh_token", "password", "client_secret"}

// SensitiveParam reports whether a query or form parameter carries a credential.
func SensitiveParam(name string) bool {
	for _, p := range sensitiveParams {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// redactURL drops a URL's userinfo and the values of its query, keeping the
// scheme, host and path so that the text still says where it went.
func redactURL(raw string) string {
	// Trailing punctuation belongs to the sentence, not the URL.
	end := len(raw)
	for end > 0 && strings.ContainsRune(".,;:)]}", rune(raw[end-1])) {
		end--
	}
	u, tail := raw[:end], raw[end:]
	scheme, rest, _ := strings.Cut(u, "://")
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = Mask + authority[at:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 && i < len(path)-1 && !protocolQuery(path[i+1:]) {
		path = path[:i] + "?" + Mask
	}
	return scheme + "://" + authority + path + tail
}

// protocolParams are the query parameters of the registry protocol itself,
// which carry no credential; anything else probably came from a redirect
// to signed storage (go-containerregistry's internal/redact paramAllowlist).
var protocolParams = map[string]bool{"scope": true, "service": true, "mount": true, "from": true, "digest": true, "n": true, "last": true}

// protocolQuery reports whether a query holds only protocol parameters: it
// is kept, as Crossplane prints it (tags/list?n=1000).
func protocolQuery(q string) bool {
	if strings.Contains(q, "#") {
		return false
	}
	for _, kv := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if !protocolParams[k] {
			return false
		}
	}
	return true
}
