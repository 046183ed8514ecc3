package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// LocalRegistry serves the references an OCI layout or archive records as
// a read-only registry on a loopback port of this process, so that an
// export is judged by the registry reader (xpkg) exactly as a mirror is:
// this package stays the one reader of layouts and archives, xpkg the one
// reader of packages. It answers GET and HEAD only, and only for what the
// layout holds; it listens on 127.0.0.1, which xpkg reads over plain HTTP.
type LocalRegistry struct {
	// Refs are the references recorded, in index.json order.
	Refs []LocalRef
	srv  *http.Server
}

// LocalRef is one recorded reference and where the local registry serves it.
type LocalRef struct {
	// Recorded is the reference index.json records (org.opencontainers.image.ref.name).
	Recorded string
	// Served is HOST/layout/rNNNNN:TAG on the local registry.
	Served string
	// Location is how the user names it: oci:DIR (REF).
	Location string
}

// ServeLocal opens the layout or archive (read-only) and serves it.
func (e *Engine) ServeLocal(kind Kind, path string) (*LocalRegistry, error) {
	s, err := e.store(kind, path, false)
	if err != nil {
		return nil, err
	}
	refs, err := e.References(kind, path)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving %s to read it: %w", s.describe(), err)
	}
	lr := &LocalRegistry{}
	tags := map[string]string{}
	for i, r := range refs {
		tag := "latest"
		if t, err := name.NewTag(r); err == nil && !strings.Contains(r, "@") {
			tag = t.TagStr()
		}
		// Fixed width, so that no served name is a prefix of another.
		repo := fmt.Sprintf("layout/r%05d", i)
		tags[repo] = tag
		lr.Refs = append(lr.Refs, LocalRef{Recorded: r, Served: l.Addr().String() + "/" + repo + ":" + tag,
			Location: Endpoint{Kind: kind, Path: path, Ref: r}.String()})
	}
	h := &localHandler{s: s, refs: refs, tags: tags}
	lr.srv = &http.Server{Handler: h}
	go func() { _ = lr.srv.Serve(l) }()
	return lr, nil
}

// Close stops serving.
func (l *LocalRegistry) Close() {
	if l != nil && l.srv != nil {
		_ = l.srv.Close()
	}
}

type localHandler struct {
	s    *ociStore
	refs []string
	// tags maps layout/rN to the tag it is served under.
	tags map[string]string
}

// ServeHTTP answers the distribution API's reads: /v2/, manifests by tag
// or digest, blobs by digest, and the tag list.
func (h *localHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "this local registry only reads "+h.s.describe())
		return
	}
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/layout/r")
	if !ok {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	num, rest, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(h.refs) {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	repo := fmt.Sprintf("layout/r%05d", i)
	switch {
	case rest == "tags/list":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": []string{h.tags[repo]}})
	case strings.HasPrefix(rest, "manifests/"):
		h.manifest(w, r, i, repo, strings.TrimPrefix(rest, "manifests/"))
	case strings.HasPrefix(rest, "blobs/"):
		h.blob(w, r, strings.TrimPrefix(rest, "blobs/"))
	default:
		registryError(w, http.StatusNotFound, "NOT_FOUND", "not a read this local registry serves")
	}
}

func (h *localHandler) manifest(w http.ResponseWriter, r *http.Request, i int, repo, ref string) {
	digest := ref
	if !strings.HasPrefix(ref, "sha256:") {
		if ref != h.tags[repo] {
			registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		d, ok := h.s.lookup(h.refs[i])
		if !ok {
			registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		digest = d.Digest.String()
	}
	m, ok, err := h.s.readManifestBlob(digest, "")
	var de *DigestError
	switch {
	case errors.As(err, &de):
		// The layout's bytes are not what their name says: distribution's
		// DIGEST_INVALID (400), which no client retries.
		registryError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	case err != nil:
		registryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	case !ok:
		registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("%s does not hold manifest %s", h.s.describe(), digest))
		return
	}
	w.Header().Set("Content-Type", string(m.MediaType))
	w.Header().Set("Docker-Content-Digest", m.Digest.String())
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Raw)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.Raw)
	}
}

func (h *localHandler) blob(w http.ResponseWriter, r *http.Request, digest string) {
	n, store, err := h.s.statAny(digest)
	switch {
	case err != nil:
		registryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	case n < 0:
		registryError(w, http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("%s does not hold blob %s", h.s.describe(), digest))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method != http.MethodGet {
		return
	}
	rc, err := store.open(digest, n)
	if err != nil {
		registryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	defer rc.Close()
	_, _ = io.Copy(w, rc)
}

// registryError answers as distribution does (errcode.Errors).
func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
