package xpkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultRegistryConcurrency is how many reads one registry host serves at
// once by default (--registry-concurrency). Eight is the bound the issue
// measured crane at (`crane manifest` and `crane config`, 8 at a time).
const DefaultRegistryConcurrency = 8

// ReadCache is what every registry read of one run shares, so that several
// clients (one per cluster context, each with that cluster's pull secrets)
// and several callers (inspect, dependency lookups, closure, preflight)
// read each thing once:
//
//   - reads: an image is read once per reference, read options and
//     credential identity (a hash of the credentials the client sends to
//     that repository, never the credentials), and every later Read of it
//     is answered from memory; a read in flight is waited for, not repeated.
//     Two clients with the same credentials (or none) share a read; a
//     client whose credentials differ reads for itself, since a registry
//     may answer it differently.
//   - tag lists, likewise per repository and credential identity;
//   - the /v2/ ping, once per registry and scheme (its answer does not
//     depend on credentials: ping.go);
//   - a bound on the reads in flight per registry host (--registry-
//     concurrency), shared by every client of the run, so that N clusters
//     inspected at once do not send N times the bound to a registry they
//     share.
//
// A read whose context ended before it finished is not kept: another run
// with time left reads again. A manifest pushed through a client of the
// cache drops what it holds of that repository. Reports served from the cache are shared:
// callers must not modify them.
//
// Build one with NewReadCache per run (doctor.Options.ReadCache, or one for
// a whole fleet of doctor.Run calls) and give it to clients with
// WithReadCache. A client built without one has its own. Do not keep one
// across runs that should see registry changes (serve builds one per
// diagnosis).
type ReadCache struct {
	perHost int
	pings   *pingCache

	mu    sync.Mutex
	hosts map[string]chan struct{}
	reads map[string]*cacheEntry[*Report]
	tags  map[string]*cacheEntry[tagList]
}

type tagList struct {
	tags []string
	err  error
}

// cacheEntry is one value being read or read; done is closed when val is
// set, or when the read was abandoned (ok false: the waiter reads itself).
type cacheEntry[T any] struct {
	done chan struct{}
	val  T
	ok   bool
}

// NewReadCache returns an empty cache whose reads run at most perHost at a
// time per registry host (DefaultRegistryConcurrency when perHost < 1).
func NewReadCache(perHost int) *ReadCache {
	if perHost < 1 {
		perHost = DefaultRegistryConcurrency
	}
	return &ReadCache{perHost: perHost, pings: newPingCache(), hosts: map[string]chan struct{}{},
		reads: map[string]*cacheEntry[*Report]{}, tags: map[string]*cacheEntry[tagList]{}}
}

// PerHost is the bound on reads in flight per registry host.
func (rc *ReadCache) PerHost() int { return rc.perHost }

// WithReadCache makes the client share rc with every other client given it.
func WithReadCache(rc *ReadCache) Option { return func(c *Client) { c.cache = rc } }

// acquire takes one of host's slots until release is called.
func (rc *ReadCache) acquire(ctx context.Context, host string) (release func(), err error) {
	host = strings.ToLower(host)
	rc.mu.Lock()
	sem, ok := rc.hosts[host]
	if !ok {
		sem = make(chan struct{}, rc.perHost)
		rc.hosts[host] = sem
	}
	rc.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// once returns the value stored under key, or runs read once for every
// caller asking for key at the same time and stores its value, unless the
// reader's context ended (keep false).
func once[T any](ctx context.Context, mu *sync.Mutex, m map[string]*cacheEntry[T], key string, read func() (val T, keep bool)) (T, error) {
	for {
		mu.Lock()
		e, seen := m[key]
		if !seen {
			e = &cacheEntry[T]{done: make(chan struct{})}
			m[key] = e
		}
		mu.Unlock()
		if !seen {
			val, keep := read()
			if keep {
				e.val, e.ok = val, true
			} else {
				mu.Lock()
				delete(m, key)
				mu.Unlock()
			}
			close(e.done)
			return val, nil
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.ok {
			return e.val, nil
		}
		// The reader gave up (its context ended); read with ours.
	}
}

// forget drops what the cache holds of repo: every read of a reference in
// it and its tag list. A manifest this run pushes there (fix, mirror)
// would otherwise be judged from the read made before it.
func (rc *ReadCache) forget(repo name.Repository) {
	prefix := repo.Scheme() + "://" + repo.String()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for k := range rc.reads {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" && strings.ContainsRune(":@", rune(rest[0])) {
			delete(rc.reads, k)
		}
	}
	for k := range rc.tags {
		if strings.HasPrefix(k, prefix+"|") {
			delete(rc.tags, k)
		}
	}
}

// credentialIdentity names the credentials the client sends to repo
// without holding them: a SHA-256 of the resolved auth config, or
// "anonymous". Resolved once per repository and client.
func (c *Client) credentialIdentity(repo name.Repository) string {
	key := repo.String()
	c.mu.Lock()
	id, ok := c.identities[key]
	c.mu.Unlock()
	if ok {
		return id
	}
	id = "anonymous"
	if auth, err := c.keychain.Resolve(repo); err != nil {
		// Resolving again will fail the same way; the read reports it.
		id = "unresolvable"
	} else if auth != authn.Anonymous {
		cfg, err := auth.Authorization()
		switch {
		case err != nil:
			id = "unresolvable"
		case *cfg != (authn.AuthConfig{}):
			sum := sha256.Sum256([]byte(strings.Join([]string{cfg.Username, cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken}, "\x00")))
			id = hex.EncodeToString(sum[:])
		}
	}
	c.mu.Lock()
	c.identities[key] = id
	c.mu.Unlock()
	return id
}

// readKey is what makes two reads the same read.
func (c *Client) readKey(ref name.Reference, o ReadOptions) string {
	return fmt.Sprintf("%s://%s|%t|%t|%d|%s", ref.Context().Scheme(), ref.String(), o.AllPlatforms, o.Shallow, o.MaxUncompressedBytes, c.credentialIdentity(ref.Context()))
}
