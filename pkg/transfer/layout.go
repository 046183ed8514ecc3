package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// RefNameAnnotation records, in an OCI layout's index.json, which reference
// each manifest was exported from (OCI image-layout spec, "index.json").
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Bounds on a layout or archive read from outside. A real export holds a
// few hundred references at most; 200,000 entries once cost 400 MiB and a
// request per entry.
const (
	// MaxIndexBytes bounds index.json.
	MaxIndexBytes = 4 << 20
	// MaxIndexEntries bounds the references index.json may record.
	MaxIndexEntries = 10_000
)

const layoutMarker = `{"imageLayoutVersion":"1.0.0"}`

// blobStore is the storage under a layout: a directory or an archive.
type blobStore interface {
	// stat returns a blob's size, -1 when absent; links and special files
	// are errors.
	stat(digest string) (int64, error)
	// open streams a blob of the declared size.
	open(digest string, size int64) (io.ReadCloser, error)
	// describe names the store in messages.
	describe() string
}

// layoutDir is a layout directory. Blobs are only ever regular files:
// a symbolic link is refused, never followed (one once streamed a local key
// file to a registry), and so is anything else that is not a regular file.
type layoutDir struct {
	dir string
}

func (l *layoutDir) describe() string { return "oci:" + l.dir }

func blobName(digest string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil || h.Algorithm != "sha256" {
		return "", fmt.Errorf("%q is not a sha256 digest", digest)
	}
	return "blobs/sha256/" + h.Hex, nil
}

func (l *layoutDir) path(digest string) (string, error) {
	n, err := blobName(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.dir, filepath.FromSlash(n)), nil
}

// checkDirs refuses blobs/ or blobs/sha256 that are not real directories.
func (l *layoutDir) checkDirs() error {
	for _, d := range []string{"blobs", filepath.Join("blobs", "sha256")} {
		st, err := os.Lstat(filepath.Join(l.dir, d))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s: %s is %s, not a directory: refusing it (a layout holds regular files in directories only)", l.describe(), d, fileKind(st.Mode()))
		}
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

func (l *layoutDir) stat(digest string) (int64, error) {
	p, err := l.path(digest)
	if err != nil {
		return 0, err
	}
	if err := l.checkDirs(); err != nil {
		return 0, err
	}
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: blob %s is %s: refusing it (a layout holds regular files only)", l.describe(), digest, fileKind(st.Mode()))
	}
	return st.Size(), nil
}

func (l *layoutDir) open(digest string, size int64) (io.ReadCloser, error) {
	n, err := l.stat(digest)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%s has no blob %s", l.describe(), digest)
	}
	if n != size {
		return nil, fmt.Errorf("%s: blob %s is %d bytes, its manifest declares %d", l.describe(), digest, n, size)
	}
	h, _ := v1.NewHash(digest)
	// go-containerregistry's layout refuses links and special files too
	// (pkg/v1/layout/blob.go openBlob).
	rc, err := layout.Path(l.dir).Blob(h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.describe(), err)
	}
	return rc, nil
}

// write stores a blob under its digest through a temporary file, so a crash
// or a refused stream never leaves a partial blob under its name.
func (l *layoutDir) write(digest string, r io.Reader) error {
	p, err := l.path(digest)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := l.checkDirs(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// ociStore is an OCI layout (or archive) shared by every reference of a
// transfer: index.json read once and bounded, references written by tag()
// kept pending until commit writes index.json (or the archive) once.
type ociStore struct {
	kind Kind
	path string
	// read holds what exists; staging receives new blobs (for a layout the
	// same directory; for an archive a directory beside the file).
	read    blobStore
	staging *layoutDir
	// created is true when this transfer created the directory or file.
	created bool

	mu      sync.Mutex
	index   []v1.Descriptor
	pending map[string]v1.Descriptor
}

// openLayoutStore opens oci:DIR; forWrite allows a new or empty directory.
func openLayoutStore(dir string, forWrite bool) (*ociStore, error) {
	s := &ociStore{kind: Layout, path: dir, pending: map[string]v1.Descriptor{}}
	l := &layoutDir{dir: dir}
	s.read, s.staging = l, l
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && forWrite:
		s.created = true
		return s, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("oci:%s does not exist", dir)
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("oci:%s is not a directory: name an OCI layout directory, or oci-archive:%s for a tarball", dir, dir)
	}
	marker, err := readRegular(filepath.Join(dir, "oci-layout"), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		if forWrite && len(entries) == 0 {
			return s, nil
		}
		return nil, fmt.Errorf("oci:%s is not an OCI image layout (it has no oci-layout file): refusing to %s it; name a new or empty directory", dir, map[bool]string{true: "write into", false: "read"}[forWrite])
	}
	if err != nil {
		return nil, fmt.Errorf("oci:%s/oci-layout: %w", dir, err)
	}
	if err := checkMarker(marker); err != nil {
		return nil, fmt.Errorf("oci:%s: %w", dir, err)
	}
	if err := l.checkDirs(); err != nil {
		return nil, err
	}
	raw, err := readRegular(filepath.Join(dir, "index.json"), MaxIndexBytes)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("oci:%s/index.json: %w", dir, err)
	}
	if s.index, err = parseLayoutIndex(raw); err != nil {
		return nil, fmt.Errorf("oci:%s/index.json: %w", dir, err)
	}
	return s, nil
}

func checkMarker(raw []byte) error {
	var m struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Version == "" {
		return fmt.Errorf("oci-layout is not an OCI layout marker")
	}
	return nil
}

// readRegular reads a regular file of at most limit bytes; a link, a
// special file or a larger file is an error that says the bound.
func readRegular(p string, limit int64) ([]byte, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s: refusing it (a layout holds regular files only)", filepath.Base(p), fileKind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes; %s", filepath.Base(p), st.Size(), bound(limit))
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// bound says what xpdoctor reads at most from a layout file.
func bound(limit int64) string {
	if limit == MaxIndexBytes {
		return fmt.Sprintf("xpdoctor reads at most %d MiB and %d references from a layout's index.json", MaxIndexBytes>>20, MaxIndexEntries)
	}
	return fmt.Sprintf("xpdoctor reads at most %d bytes of it", limit)
}

type layoutIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType,omitempty"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

// parseLayoutIndex decodes index.json within the bounds.
func parseLayoutIndex(raw []byte) ([]v1.Descriptor, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if len(raw) > MaxIndexBytes {
		return nil, fmt.Errorf("index.json is larger than %d bytes (xpdoctor reads at most %d MiB and %d references from a layout)", MaxIndexBytes, MaxIndexBytes>>20, MaxIndexEntries)
	}
	var idx layoutIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if len(idx.Manifests) > MaxIndexEntries {
		return nil, fmt.Errorf("index.json records %d entries; xpdoctor reads at most %d references (and %d MiB) from a layout", len(idx.Manifests), MaxIndexEntries, MaxIndexBytes>>20)
	}
	return idx.Manifests, nil
}

func (s *ociStore) describe() string { return string(s.kind) + ":" + s.path }

// References lists the references index.json records, in order.
func (s *ociStore) references() []string {
	var out []string
	for _, d := range s.index {
		if r := d.Annotations[RefNameAnnotation]; r != "" {
			out = append(out, r)
		}
	}
	return out
}

// lookup returns the descriptor a reference names, pending ones first.
func (s *ociStore) lookup(ref string) (v1.Descriptor, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.pending[ref]; ok {
		return d, true
	}
	for _, d := range s.index {
		if d.Annotations[RefNameAnnotation] == ref {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// statAny looks in staging, then in what existed.
func (s *ociStore) statAny(digest string) (int64, blobStore, error) {
	s.mu.Lock()
	staging := s.staging
	s.mu.Unlock()
	if staging != nil && blobStore(staging) != s.read {
		n, err := staging.stat(digest)
		if err != nil || n >= 0 {
			return n, staging, err
		}
	}
	if s.read == nil {
		return -1, nil, nil
	}
	n, err := s.read.stat(digest)
	return n, s.read, err
}

// readManifestBlob reads a manifest blob by digest, bounded and checked.
func (s *ociStore) readManifestBlob(digest string, mt types.MediaType) (*xpkg.Manifest, bool, error) {
	n, store, err := s.statAny(digest)
	if err != nil || n < 0 {
		return nil, false, err
	}
	if n > xpkg.MaxManifestBytes {
		return nil, false, fmt.Errorf("%s: manifest %s is %d bytes; xpdoctor reads at most %d", s.describe(), digest, n, xpkg.MaxManifestBytes)
	}
	rc, err := store.open(digest, n)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, xpkg.MaxManifestBytes+1))
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(raw)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return nil, false, &DigestError{Where: s.describe(), Digest: digest, Actual: got, Size: n, Read: int64(len(raw))}
	}
	if mt == "" {
		var probe struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		_ = json.Unmarshal(raw, &probe)
		mt = probe.MediaType
	}
	h, _ := v1.NewHash(digest)
	return &xpkg.Manifest{Raw: raw, MediaType: mt, Digest: h}, true, nil
}

// commit writes index.json with the pending references (replacing earlier
// records of the same reference, keeping every other), atomically.
func (s *ociStore) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	descs := s.mergedIndex()
	if s.kind == Archive {
		return s.repack(descs)
	}
	raw, err := indexBytes(descs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.path, 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(s.path, "oci-layout")); errors.Is(err, fs.ErrNotExist) {
		if err := layout.Path(s.path).WriteFile("oci-layout", []byte(layoutMarker), 0o644); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(s.path, ".index-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.path, "index.json")); err != nil {
		return err
	}
	s.index, s.pending = descs, map[string]v1.Descriptor{}
	return nil
}

func (s *ociStore) mergedIndex() []v1.Descriptor {
	var descs []v1.Descriptor
	for _, d := range s.index {
		if _, replaced := s.pending[d.Annotations[RefNameAnnotation]]; !replaced {
			descs = append(descs, d)
		}
	}
	for _, d := range s.pending {
		descs = append(descs, d)
	}
	sort.SliceStable(descs, func(i, j int) bool {
		return descs[i].Annotations[RefNameAnnotation] < descs[j].Annotations[RefNameAnnotation]
	})
	return descs
}

func indexBytes(descs []v1.Descriptor) ([]byte, error) {
	if descs == nil {
		descs = []v1.Descriptor{}
	}
	return json.MarshalIndent(layoutIndex{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}, "", "  ")
}

// ociEnd is one reference of an ociStore, either side.
type ociEnd struct {
	s   *ociStore
	ref string
}

func (e *ociEnd) where() string                  { return e.s.describe() }
func (e *ociEnd) registryRepo() (string, string) { return "", "" }

func (e *ociEnd) top(context.Context) (*xpkg.Manifest, error) {
	d, ok := e.s.lookup(e.ref)
	if !ok {
		return nil, fmt.Errorf("%s records no reference %s", e.s.describe(), e.ref)
	}
	m, ok, err := e.s.readManifestBlob(d.Digest.String(), d.MediaType)
	if err == nil && !ok {
		err = fmt.Errorf("%s: %s names %s, which the layout does not hold", e.s.describe(), e.ref, d.Digest)
	}
	return m, err
}

func (e *ociEnd) child(_ context.Context, digest string) (*xpkg.Manifest, error) {
	m, ok, err := e.s.readManifestBlob(digest, "")
	if err == nil && !ok {
		err = fmt.Errorf("%s does not hold manifest %s", e.s.describe(), digest)
	}
	return m, err
}

func (e *ociEnd) openBlob(_ context.Context, b *Blob) (io.ReadCloser, error) {
	n, store, err := e.s.statAny(b.Digest)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%s does not hold blob %s", e.s.describe(), b.Digest)
	}
	return store.open(b.Digest, b.Size)
}

func (e *ociEnd) current(context.Context) (*xpkg.Manifest, error) {
	d, ok := e.s.lookup(e.ref)
	if !ok {
		return nil, nil
	}
	m, ok, err := e.s.readManifestBlob(d.Digest.String(), d.MediaType)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Recorded but absent: treat as a reference to replace.
		return &xpkg.Manifest{Digest: d.Digest, MediaType: d.MediaType}, nil
	}
	return m, nil
}

func (e *ociEnd) hasManifest(_ context.Context, digest string) (bool, error) {
	n, _, err := e.s.statAny(digest)
	return n >= 0, err
}

func (e *ociEnd) hasBlob(_ context.Context, b *Blob) (bool, error) {
	n, _, err := e.s.statAny(b.Digest)
	return n == b.Size, err
}

func (e *ociEnd) putBlob(_ context.Context, b *Blob, r io.Reader) error {
	l, err := e.s.writer()
	if err != nil {
		return err
	}
	return l.write(b.Digest, r)
}

// writer returns where new blobs go, creating an archive's staging
// directory on first use.
func (s *ociStore) writer() (*layoutDir, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.staging == nil {
		if err := s.stage(); err != nil {
			return nil, err
		}
	}
	return s.staging, nil
}

func (e *ociEnd) mount(context.Context, *Blob, string) (bool, error) { return false, nil }

func (e *ociEnd) putManifest(_ context.Context, m *xpkg.Manifest) error {
	l, err := e.s.writer()
	if err != nil {
		return err
	}
	return l.write(m.Digest.String(), bytes.NewReader(m.Raw))
}

func (e *ociEnd) tag(_ context.Context, m *xpkg.Manifest) error {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.pending[e.ref] = v1.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Raw)),
		Annotations: map[string]string{RefNameAnnotation: e.ref}}
	return nil
}

func (e *ociEnd) readManifest(_ context.Context, digest string) ([]byte, bool, error) {
	m, ok, err := e.s.readManifestBlob(digest, "")
	if err != nil || !ok {
		return nil, ok, err
	}
	return m.Raw, true, nil
}

func (e *ociEnd) blobSize(_ context.Context, b *Blob) (int64, error) {
	n, _, err := e.s.statAny(b.Digest)
	return n, err
}

func (e *ociEnd) readBlob(ctx context.Context, b *Blob) (io.ReadCloser, error) {
	return e.openBlob(ctx, b)
}
