package xpkg

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// Limits on what xpdoctor reads into memory.
const (
	// MaxManifestBytes bounds a manifest or index (distribution's own limit is 4 MiB).
	MaxManifestBytes = 4 << 20
	// MaxConfigBytes bounds an image config blob.
	MaxConfigBytes = 8 << 20
)

// acceptedManifestTypes are the manifest media types we ask for, newest first.
var acceptedManifestTypes = []string{
	string(types.OCIImageIndex),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestList),
	string(types.DockerManifestSchema2),
	string(types.DockerManifestSchema1Signed),
	string(types.DockerManifestSchema1),
}

// Client reads manifests and blobs from registries with the user's
// credentials, counting every byte it reads. It is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	insecure  map[string]bool
	base      http.RoundTripper
	userAgent string

	// fetched is shared with the clients WithCredentials derives.
	fetched *atomic.Int64

	mu         sync.Mutex
	transports map[string]*cacheEntry[transportResult]
	// identities are the credential identities per repository (cache.go).
	identities map[string]string
	// cache is shared with the run's other clients: reads, tag lists, pings
	// and the per-host bound (cache.go).
	cache *ReadCache

	logf func(format string, args ...any)
	// warnf tells the user about waits they would otherwise not see (retry.go).
	warnf    func(format string, args ...any)
	redactor *redact.Redactor
	wrap     func(http.RoundTripper) http.RoundTripper
	// readOnly refuses every write (WithReadOnly).
	readOnly bool
}

// Option configures a Client.
type Option func(*Client)

// WithKeychain sets where credentials come from (default: docker config and
// credential helpers, like crane).
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// WithInsecureRegistries names hosts (host[:port]) that may be reached over
// plain HTTP or with an unverified TLS certificate.
func WithInsecureRegistries(hosts ...string) Option {
	return func(c *Client) {
		for _, h := range hosts {
			c.insecure[strings.ToLower(h)] = true
		}
	}
}

// WithTransport sets the base HTTP transport (tests use it to inject faults).
func WithTransport(t http.RoundTripper) Option { return func(c *Client) { c.base = t } }

// WithLogger logs every registry request: method, URL without its query
// (pre-signed storage URLs carry signatures there), status and duration.
// Headers are never logged, so credentials and tokens cannot leak.
func WithLogger(logf func(format string, args ...any)) Option {
	return func(c *Client) { c.logf = logf }
}

// WithWarnings receives what the user should know while it happens, at any
// verbosity: a registry rate limiting and how long it asks to wait.
func WithWarnings(warnf func(format string, args ...any)) Option {
	return func(c *Client) { c.warnf = warnf }
}

// WithWrapTransport wraps the transport every request goes through, once
// per attempt (under retries and logging; redirects to blob storage are
// requests of their own): `xpdoctor serve` counts and times them there.
func WithWrapTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *Client) { c.wrap = wrap }
}

// WithUserAgent sets the User-Agent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// NewClient returns a Client.
func NewClient(opts ...Option) *Client {
	c := &Client{
		keychain:   authn.DefaultKeychain,
		insecure:   map[string]bool{},
		transports: map[string]*cacheEntry[transportResult]{},
		identities: map[string]string{},
		userAgent:  "xpdoctor",
		fetched:    new(atomic.Int64),
	}
	for _, o := range opts {
		o(c)
	}
	if c.base == nil {
		c.base = newBaseTransport(c.insecure)
	}
	if c.wrap != nil {
		c.base = c.wrap(c.base)
	}
	if c.logf != nil {
		c.base = &loggingTransport{inner: c.base, logf: c.logf}
	}
	c.base = newRetryTransport(c.base, c.warnf)
	if c.redactor != nil {
		c.base = &credentialCapture{inner: c.base, r: c.redactor}
		c.keychain = redactingKeychain{inner: c.keychain, r: c.redactor}
	}
	if c.readOnly {
		// Outermost, so that no retry or capture sees a write.
		c.base = readOnlyTransport{inner: c.base}
	}
	if c.cache == nil {
		c.cache = NewReadCache(DefaultRegistryConcurrency)
	}
	return c
}

// WithCredentials returns a client that reads with k instead of c's
// keychain and shares everything else with c (transport, retries, the
// run's ReadCache with its pings and per-host bound, the byte count, the
// redactor): diagnose reads each package's image with the pull secrets
// Crossplane uses for that package. Its authenticated transports and
// credential identities are its own, so two keychains never share a token
// or a cached read (the ReadCache keys reads by credential identity).
func (c *Client) WithCredentials(k authn.Keychain) *Client {
	d := &Client{keychain: k, insecure: c.insecure, base: c.base, userAgent: c.userAgent, fetched: c.fetched,
		transports: map[string]*cacheEntry[transportResult]{}, identities: map[string]string{}, cache: c.cache,
		logf: c.logf, warnf: c.warnf, redactor: c.redactor, wrap: c.wrap, readOnly: c.readOnly}
	if c.redactor != nil {
		d.keychain = redactingKeychain{inner: k, r: c.redactor}
	}
	return d
}

// BytesFetched is the number of response body bytes the client read so
// far, over all its requests (CountBytes counts those of one operation),
// and those of the clients WithCredentials derived from it.
func (c *Client) BytesFetched() int64 { return c.fetched.Load() }

// Insecure reports whether the host was named insecure.
func (c *Client) Insecure(host string) bool { return c.insecure[strings.ToLower(host)] }

// ParseReference parses a reference, honouring --insecure-registry.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		// pkg/name ends its messages with the reference, which this one
		// starts with: say it once.
		why := DescribeText(strings.ReplaceAll(err.Error(), ": "+s, ""))
		return nil, fmt.Errorf("%q is not a valid image reference (want REGISTRY/REPOSITORY[:TAG|@DIGEST]): %s", s, why)
	}
	if c.Insecure(ref.Context().RegistryStr()) {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// newBaseTransport verifies TLS except for the named hosts, and refuses plain
// HTTP to anything that is neither loopback nor named. go-containerregistry
// falls back to HTTP for RFC1918 hosts (pkg/name/registry.go Scheme); we do not.
func newBaseTransport(insecure map[string]bool) http.RoundTripper {
	secure := remote.DefaultTransport.(*http.Transport).Clone()
	// Blobs are streamed through these buffers: net/http's 4 KiB default
	// costs a system call per 4 KiB of a 100 MB layer.
	secure.WriteBufferSize, secure.ReadBufferSize = 64<<10, 64<<10
	unverified := secure.Clone()
	unverified.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only for hosts the user named insecure
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		host := strings.ToLower(req.URL.Host)
		named := insecure[host]
		if req.URL.Scheme == "http" && !named && !isLoopback(req.URL.Hostname()) {
			return nil, &plainHTTPError{host: req.URL.Host}
		}
		if named {
			return unverified.RoundTrip(req)
		}
		return secure.RoundTrip(req)
	})
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingTransport counts response body bytes: the client's total, and
// every counter the request's context carries (CountBytes), so that reads
// running at once each know their own bytes.
type countingTransport struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(r)
	if resp != nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: t.n, counter: counterFrom(r.Context())}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n       *atomic.Int64
	counter *ByteCounter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	b.counter.add(int64(n))
	return n, err
}

// ByteCounter counts the response body bytes of the requests sent with a
// context from CountBytes.
type ByteCounter struct {
	n      atomic.Int64
	parent *ByteCounter
}

// Load is the number of bytes counted so far.
func (b *ByteCounter) Load() int64 { return b.n.Load() }

func (b *ByteCounter) add(n int64) {
	for ; b != nil; b = b.parent {
		b.n.Add(n)
	}
}

type byteCounterKey struct{}

// CountBytes returns a context whose requests' response bytes are counted
// by the returned counter (and by any counter ctx already carries).
func CountBytes(ctx context.Context) (context.Context, *ByteCounter) {
	b := &ByteCounter{parent: counterFrom(ctx)}
	return context.WithValue(ctx, byteCounterKey{}, b), b
}

func counterFrom(ctx context.Context) *ByteCounter {
	b, _ := ctx.Value(byteCounterKey{}).(*ByteCounter)
	return b
}

type transportResult struct {
	t   http.RoundTripper
	err error
}

// transportFor returns an authenticated transport for pulling from repo:
// one per repository and scope for the client's life, built once even when
// many reads ask at the same time, so that the registry sees one ping (the
// run's ping cache answers the others) and one token exchange per scope;
// go-containerregistry's bearer transport reuses the token and fetches a
// new one only when the registry answers 401 (transport/bearer.go
// RoundTrip).
func (c *Client) transportFor(ctx context.Context, repo name.Repository, actions ...string) (http.RoundTripper, error) {
	if len(actions) == 0 {
		actions = []string{transport.PullScope}
	}
	key := repo.String() + "|" + strings.Join(actions, ",")
	res, err := once(ctx, &c.mu, c.transports, key, func() (transportResult, bool) {
		t, err := c.newTransport(ctx, repo, actions)
		// A failure is not kept: the next request tries again.
		return transportResult{t, err}, err == nil
	})
	if err != nil {
		return nil, err
	}
	return res.t, res.err
}

func (c *Client) newTransport(ctx context.Context, repo name.Repository, actions []string) (http.RoundTripper, error) {
	auth, err := c.keychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", repo.RegistryStr(), err)
	}
	// c.base retries (retry.go); no second retry layer here.
	inner := transport.NewUserAgent(&countingTransport{inner: c.cache.pings.wrap(c.base), n: c.fetched}, c.userAgent)
	scopes := make([]string, 0, len(actions))
	for _, a := range actions {
		scopes = append(scopes, repo.Scope(a))
	}
	return transport.NewWithContext(ctx, repo.Registry, auth, inner, scopes)
}

// Manifest is a manifest or index as the registry stored it.
type Manifest struct {
	// Raw holds the exact bytes served.
	Raw       []byte
	MediaType types.MediaType
	Digest    v1.Hash
}

// GetManifest fetches the manifest for ref, byte for byte, reading at most
// MaxManifestBytes.
func (c *Client) GetManifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	t, err := c.transportFor(ctx, ref.Context())
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	return c.getManifest(ctx, ref, t)
}

func (c *Client) getManifest(ctx context.Context, ref name.Reference, t http.RoundTripper) (*Manifest, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", ref.Context().Scheme(), ref.Context().RegistryStr(), ref.Context().RepositoryStr(), ref.Identifier())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	req.Header.Set("Accept", strings.Join(acceptedManifestTypes, ","))
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, classify(ref.String(), err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestBytes+1))
	if err != nil {
		return nil, classify(ref.String(), fmt.Errorf("reading manifest: %w", err))
	}
	if len(raw) > MaxManifestBytes {
		return nil, &RegistryError{Kind: ErrTooLarge, Ref: ref.String(), Detail: fmt.Sprintf("manifest is larger than %d bytes", MaxManifestBytes)}
	}
	sum := sha256.Sum256(raw)
	dgst := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != dgst.String() {
		return nil, &RegistryError{Kind: ErrContentMismatch, Ref: ref.String(), Detail: fmt.Sprintf("manifest digest mismatch: asked for %s, got bytes hashing to %s", d.DigestStr(), dgst)}
	}
	mt := types.MediaType(strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0]))
	mt, err = sniffMediaType(mt, raw)
	if err != nil {
		return nil, &RegistryError{Kind: ErrInvalid, Ref: ref.String(), Detail: Describe(err)}
	}
	return &Manifest{Raw: raw, MediaType: mt, Digest: dgst}, nil
}

// OpenBlob streams a blob. The caller must close it.
func (c *Client) OpenBlob(ctx context.Context, repo name.Repository, digest string) (io.ReadCloser, error) {
	ref := repo.String() + "@" + digest
	t, err := c.transportFor(ctx, repo)
	if err != nil {
		return nil, classify(ref, err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, classify(ref, err)
	}
	// Registries redirect blob reads to storage (S3, a CDN); http.Client
	// follows at most 10 redirects, which also ends a redirect loop.
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, classify(ref, err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, classify(ref, err)
	}
	return resp.Body, nil
}

// readBlob reads a whole small blob, at most limit bytes, and checks its digest.
func (c *Client) readBlob(ctx context.Context, repo name.Repository, digest string, limit int64) ([]byte, error) {
	rc, err := c.OpenBlob(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, classify(repo.String()+"@"+digest, err)
	}
	if int64(len(b)) > limit {
		return nil, &RegistryError{Kind: ErrTooLarge, Ref: repo.String() + "@" + digest, Detail: fmt.Sprintf("blob is larger than %d bytes", limit)}
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return nil, &RegistryError{Kind: ErrContentMismatch, Ref: repo.String() + "@" + digest, Detail: "blob content hashes to " + got}
	}
	return b, nil
}

// sniffMediaType trusts the Content-Type when it names a manifest type, and
// otherwise reads mediaType from the body; HTML and non-JSON are errors.
func sniffMediaType(header types.MediaType, raw []byte) (types.MediaType, error) {
	body := strings.TrimSpace(string(raw[:min(len(raw), 512)]))
	if !strings.HasPrefix(body, "{") {
		what := "a non-JSON body"
		if strings.HasPrefix(strings.ToLower(body), "<!doctype html") || strings.HasPrefix(strings.ToLower(body), "<html") {
			what = "an HTML page"
		}
		return "", fmt.Errorf("registry answered with %s (Content-Type %q), not a manifest: is this a registry endpoint?", what, header)
	}
	m, err := decodeMediaType(raw)
	if err != nil {
		return "", fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	for _, t := range acceptedManifestTypes {
		if string(header) == t {
			return header, nil
		}
	}
	if m != "" {
		return m, nil
	}
	return "", fmt.Errorf("manifest has no recognisable media type (Content-Type %q)", header)
}

// maxTags bounds a tag listing.
const maxTags = 100_000

// ListTags lists a repository's tags, following pagination (Link headers).
// Like Read, it goes through the ReadCache: a repository is listed once per
// run and credentials, within the per-host bound.
func (c *Client) ListTags(ctx context.Context, repo name.Repository) ([]string, error) {
	key := repo.Scheme() + "://" + repo.String() + "|" + c.credentialIdentity(repo)
	l, err := once(ctx, &c.cache.mu, c.cache.tags, key, func() (tagList, bool) {
		release, err := c.cache.acquire(ctx, repo.RegistryStr())
		if err != nil {
			return tagList{err: classify(repo.String(), err)}, false
		}
		defer release()
		tags, err := c.listTags(ctx, repo, maxTags)
		return tagList{tags, err}, ctx.Err() == nil
	})
	if err != nil {
		return nil, classify(repo.String(), err)
	}
	// Callers may sort what they get; the cache keeps its own.
	return append([]string(nil), l.tags...), l.err
}

// listTags lists up to about limit tags (whole pages), uncached.
func (c *Client) listTags(ctx context.Context, repo name.Repository, limit int) ([]string, error) {
	t, err := c.transportFor(ctx, repo)
	if err != nil {
		return nil, classify(repo.String(), err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/tags/list?n=1000", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr())
	var tags []string
	for u != "" && len(tags) < limit {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := (&http.Client{Transport: t}).Do(req)
		if err != nil {
			return nil, classify(repo.String(), err)
		}
		if err := transport.CheckError(resp, http.StatusOK); err != nil {
			resp.Body.Close()
			return nil, classify(repo.String(), err)
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, MaxManifestBytes)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, &RegistryError{Kind: ErrInvalid, Ref: repo.String(), Detail: "tag list is not JSON: " + Describe(err)}
		}
		tags = append(tags, page.Tags...)
		u = nextLink(resp, req.URL)
	}
	return tags, nil
}

// nextLink reads an RFC 5988 Link: <url>; rel="next" header.
func nextLink(resp *http.Response, base *url.URL) string {
	link := resp.Header.Get("Link")
	if link == "" {
		return ""
	}
	start, end := strings.Index(link, "<"), strings.Index(link, ">")
	if start < 0 || end < start || !strings.Contains(link[end:], `rel="next"`) {
		return ""
	}
	next, err := base.Parse(link[start+1 : end])
	if err != nil {
		return ""
	}
	return next.String()
}

type loggingTransport struct {
	inner http.RoundTripper
	logf  func(string, ...any)
}

func (t *loggingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(r)
	u := *r.URL
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	if err != nil {
		t.logf("%s %s: %v (%s)", r.Method, u.String(), redact.Patterns(err.Error()), time.Since(start).Round(time.Millisecond))
		return resp, err
	}
	t.logf("%s %s -> %d (%s)", r.Method, u.String(), resp.StatusCode, time.Since(start).Round(time.Millisecond))
	return resp, nil
}
