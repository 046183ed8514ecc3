package xpkg

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// ErrorKind says what went wrong talking to a registry.
type ErrorKind string

// Error kinds, each with its own advice.
const (
	ErrUnauthorized ErrorKind = "Unauthorized"
	ErrNotFound     ErrorKind = "NotFound"
	ErrTLS          ErrorKind = "TLSUntrusted"
	ErrUnreachable  ErrorKind = "Unreachable"
	ErrInvalid      ErrorKind = "Invalid"
	ErrTooLarge     ErrorKind = "TooLarge"
	ErrPlainHTTP    ErrorKind = "PlainHTTPRefused"
	ErrRateLimited  ErrorKind = "RateLimited"
	// ErrContentMismatch: the bytes served do not hash to the digest asked for.
	ErrContentMismatch ErrorKind = "ContentMismatch"
	// ErrDeadline and ErrCanceled are xpdoctor's own limits (--timeout, an
	// interrupt), not the registry's fault.
	ErrDeadline ErrorKind = "DeadlineExceeded"
	ErrCanceled ErrorKind = "Canceled"
)

// Transient reports whether trying the same request again later may work:
// the registry was unreachable or rate limiting.
func (e *RegistryError) Transient() bool {
	return e != nil && (e.Kind == ErrUnreachable || e.Kind == ErrRateLimited)
}

// Stopped reports whether the error is xpdoctor's own --timeout or an
// interrupt rather than something the registry did.
func (e *RegistryError) Stopped() bool {
	return e != nil && (e.Kind == ErrDeadline || e.Kind == ErrCanceled)
}

// RegistryError is a failure to read something from a registry, with the
// reference involved and what to do about it.
type RegistryError struct {
	Kind ErrorKind `json:"kind"`
	// Ref is the reference or blob being read.
	Ref string `json:"ref"`
	// Detail is the underlying error text.
	Detail string `json:"detail"`
	// StatusCode is the HTTP status, when there was one.
	StatusCode int `json:"statusCode,omitempty"`
	// NearestTags are the tags nearest to a tag that does not exist, in
	// the repository that was asked for it.
	NearestTags []string `json:"nearestTags,omitempty"`
	// RepositoryMissing: the tag was not found because the repository has
	// no tag at all (or does not exist).
	RepositoryMissing bool `json:"repositoryMissing,omitempty"`
	err               error
	// raw is the library's own text, Detail before Describe: Crossplane
	// links the same library, so its messages quote this text.
	raw string
}

// LibraryText is the error as go-containerregistry words it, which is
// how Crossplane's messages quote it (Detail is the text for users).
func (e *RegistryError) LibraryText() string {
	if e.raw != "" {
		return e.raw
	}
	return e.Detail
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("%s: %s", e.Ref, e.Detail)
}

// Unwrap returns the underlying error.
func (e *RegistryError) Unwrap() error { return e.err }

// Advice says what the user can do.
func (e *RegistryError) Advice() string {
	switch e.Kind {
	case ErrUnauthorized:
		return LoginAdvice(e.Ref, e.StatusCode)
	case ErrNotFound:
		repo := RepositoryOf(e.Ref)
		switch {
		case len(e.NearestTags) > 0:
			return fmt.Sprintf("use a tag that exists (nearest: %s; `crane ls %s` lists them all), or mirror the missing one: kubectl xpdoctor mirror UPSTREAM %s", strings.Join(e.NearestTags, ", "), repo, e.Ref)
		case e.RepositoryMissing:
			return fmt.Sprintf("check the repository's name and registry (`crane ls %s`); if it is a mirror that was never filled, mirror the package into it: kubectl xpdoctor mirror UPSTREAM %s", repo, e.Ref)
		}
		return fmt.Sprintf("check the repository and tag exist (crane ls %s); mirror the package if it is missing", repo)
	case ErrTLS:
		return "trust the registry's CA (Crossplane: registryCaBundleConfig / --ca-bundle-path), or name the host with --insecure-registry if it is a test registry"
	case ErrUnreachable:
		return "check the host name, network path, proxy settings and --timeout"
	case ErrPlainHTTP:
		return "name the host with --insecure-registry to allow plain HTTP"
	case ErrTooLarge:
		return "the registry served more than a package manifest or config can hold; check the reference points at a Crossplane package"
	case ErrRateLimited:
		return "wait for the registry's rate limit window, authenticate (anonymous pulls have the lowest limits), or raise --timeout"
	case ErrContentMismatch:
		return "the registry or a proxy in front of it serves other bytes than the digest names: re-push the image and check the proxy"
	case ErrDeadline:
		return "xpdoctor's --timeout ran out before the registry answered: raise --timeout"
	case ErrCanceled:
		return "the run was interrupted"
	default:
		return "check the reference points at a Crossplane package (an OCI or Docker v2 image or index)"
	}
}

// LoginAdvice says what to do when a registry refuses xpdoctor (401: no
// credentials or ones it does not accept; 403: an account without pull
// access). xpdoctor reads the credentials docker login stores
// ($DOCKER_CONFIG/config.json, by default ~/.docker/config.json) and, in
// diagnose, the pull secrets Crossplane uses; Crossplane needs its own.
func LoginAdvice(ref string, status int) string {
	host := ref
	if h, _, ok := strings.Cut(ref, "/"); ok {
		host = h
	}
	who := fmt.Sprintf("log in: `docker login %s` (or `crane auth login %s`); xpdoctor reads the credentials it stores in $DOCKER_CONFIG/config.json (default ~/.docker/config.json)", host, host)
	if status == http.StatusForbidden {
		who = fmt.Sprintf("the registry knows the account but refuses it (403): use one that may pull %s, then `docker login %s`; xpdoctor reads $DOCKER_CONFIG/config.json (default ~/.docker/config.json)", RepositoryOf(ref), host)
	}
	return who + "; Crossplane pulls with its own credentials: spec.packagePullSecrets, an ImageConfig with spec.registry.authentication.pullSecretRef, or imagePullSecrets on its ServiceAccount"
}

// classify turns any error from a registry request into a *RegistryError.
func classify(ref string, err error) *RegistryError {
	if err == nil {
		return nil
	}
	var re *RegistryError
	if errors.As(err, &re) {
		return re
	}
	// Registry answers and redirect URLs can carry credentials (signed
	// storage URLs, echoed tokens): strip what looks like one at the source.
	out := &RegistryError{Ref: ref, Detail: redact.Patterns(strings.TrimSpace(Describe(err))), raw: redact.Patterns(strings.TrimSpace(err.Error())), err: err, Kind: ErrInvalid}
	var terr *transport.Error
	var uaErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var netErr net.Error
	var plain *plainHTTPError
	switch {
	case errors.As(err, &plain):
		out.Kind = ErrPlainHTTP
	case strings.Contains(err.Error(), "stopped after 10 redirects"):
		// net/http's redirect limit: a redirect loop is a broken registry, not a network fault.
		out.Kind = ErrInvalid
	// Before status codes: a ping that races https and http (ggcr
	// transport/ping.go) joins a TLS failure with the http attempt's 400.
	case errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &certErr), errors.As(err, &verifyErr):
		out.Kind = ErrTLS
	case errors.As(err, &terr):
		out.StatusCode = terr.StatusCode
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			out.Kind = ErrUnauthorized
		case http.StatusNotFound:
			out.Kind = ErrNotFound
		case http.StatusTooManyRequests:
			out.Kind = ErrRateLimited
		default:
			if terr.StatusCode >= 500 {
				out.Kind = ErrUnreachable
			}
		}
	case errors.Is(err, context.DeadlineExceeded):
		out.Kind = ErrDeadline
	case errors.Is(err, context.Canceled):
		out.Kind = ErrCanceled
	case errors.As(err, &netErr):
		out.Kind = ErrUnreachable
	}
	return out
}

// plainHTTPError refuses plain HTTP to a host the user did not name insecure.
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s (not a loopback host and not named with --insecure-registry)", e.host)
}

// About says what failed on ref: "reading source REF: DETAIL". A
// RegistryError about the same reference is not named twice ("reading
// source X: X: GET ..."); errors.As still finds it.
func About(what, ref string, err error) error {
	if err == nil {
		return nil
	}
	var re *RegistryError
	if errors.As(err, &re) && re.Ref == ref {
		return &aboutError{msg: fmt.Sprintf("%s %s: %s", what, ref, re.Detail), err: err}
	}
	return &aboutError{msg: fmt.Sprintf("%s %s: %s", what, ref, err), err: err}
}

type aboutError struct {
	msg string
	err error
}

func (e *aboutError) Error() string { return e.msg }
func (e *aboutError) Unwrap() error { return e.err }
