package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxArchiveEntries bounds the entries of an oci-archive read from outside.
const maxArchiveEntries = 1 << 20

// archiveReader reads an oci-archive in place: one pass over the tar
// headers records where each regular file's bytes are, and blobs are then
// read straight from the file. Nothing is unpacked, so a tiny archive that
// declares a huge (sparse) file cannot fill the disk; entries that are not
// regular files, sparse files, and entries whose declared size is not
// stored in the file are refused before anything is written.
type archiveReader struct {
	file    string
	f       *os.File
	entries map[string]archiveEntry
}

type archiveEntry struct {
	offset, size int64
}

func (a *archiveReader) describe() string { return "oci-archive:" + a.file }

// errNotArchive marks a file that is not an OCI archive at all.
var errNotArchive = errors.New("not an OCI archive")

func openArchive(file string) (*archiveReader, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	a := &archiveReader{file: file, f: f, entries: map[string]archiveEntry{}}
	if err := a.scan(); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

func (a *archiveReader) scan() error {
	st, err := a.f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, not a file", a.describe(), fileKind(st.Mode()))
	}
	tr := tar.NewReader(a.f)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if n == 0 {
				return fmt.Errorf("%s: %w (it is not a tar file)", a.describe(), errNotArchive)
			}
			return fmt.Errorf("%s is not a valid oci-archive: %v", a.describe(), err)
		}
		if n >= maxArchiveEntries {
			return fmt.Errorf("%s has more than %d entries; xpdoctor reads at most that many", a.describe(), maxArchiveEntries)
		}
		// tar.Reader reads the headers straight from the file, so the file
		// offset is where this entry's bytes start.
		off, err := a.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%s: refusing entry %q (%s): an OCI archive holds regular files inside the layout only, and nothing was unpacked", a.describe(), h.Name, tarKind(h.Typeflag))
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return fmt.Errorf("%s: refusing entry %q: it is a sparse file declaring %d bytes; an OCI archive holds regular files only, and nothing was unpacked", a.describe(), h.Name, h.Size)
			}
		}
		if h.Size < 0 || off+h.Size > st.Size() {
			return fmt.Errorf("%s: refusing entry %q: it declares %d bytes but the archive holds only %d after it (a truncated or sparse archive); nothing was unpacked", a.describe(), h.Name, h.Size, st.Size()-off)
		}
		a.entries[name] = archiveEntry{offset: off, size: h.Size}
	}
	if _, ok := a.entries["oci-layout"]; !ok {
		return fmt.Errorf("%s: %w (it has no oci-layout entry)", a.describe(), errNotArchive)
	}
	return nil
}

func tarKind(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "a device"
	case tar.TypeFifo:
		return "a named pipe"
	case tar.TypeGNUSparse:
		return "a sparse file"
	case tar.TypeReg:
		return "a regular file"
	}
	return fmt.Sprintf("type %q", t)
}

func (a *archiveReader) read(name string, limit int64) ([]byte, error) {
	e, ok := a.entries[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	if e.size > limit {
		return nil, fmt.Errorf("%s: %s is %d bytes; %s", a.describe(), name, e.size, bound(limit))
	}
	b := make([]byte, e.size)
	_, err := a.f.ReadAt(b, e.offset)
	return b, err
}

func (a *archiveReader) stat(digest string) (int64, error) {
	n, err := blobName(digest)
	if err != nil {
		return 0, err
	}
	e, ok := a.entries[n]
	if !ok {
		return -1, nil
	}
	return e.size, nil
}

func (a *archiveReader) open(digest string, size int64) (io.ReadCloser, error) {
	n, err := blobName(digest)
	if err != nil {
		return nil, err
	}
	e, ok := a.entries[n]
	if !ok {
		return nil, fmt.Errorf("%s has no blob %s", a.describe(), digest)
	}
	if e.size != size {
		return nil, fmt.Errorf("%s: blob %s is %d bytes, its manifest declares %d", a.describe(), digest, e.size, size)
	}
	return io.NopCloser(io.NewSectionReader(a.f, e.offset, e.size)), nil
}

// openArchiveStore opens oci-archive:FILE. For writing, a missing file is
// created at commit; an existing file must be an OCI archive, whose
// references are kept: an archive gains references as a layout does.
func openArchiveStore(file string, forWrite bool) (*ociStore, error) {
	s := &ociStore{kind: Archive, path: file, pending: map[string]v1.Descriptor{}}
	if _, err := os.Lstat(file); errors.Is(err, fs.ErrNotExist) {
		if !forWrite {
			return nil, fmt.Errorf("oci-archive:%s does not exist", file)
		}
		s.created = true
		return s, nil
	}
	a, err := openArchive(file)
	if errors.Is(err, errNotArchive) && forWrite {
		return nil, fmt.Errorf("%s exists and is not an OCI archive (%v): refusing to overwrite it; name a new file, or an oci-archive to add to", file, err)
	}
	if err != nil {
		return nil, err
	}
	s.read = a
	marker, err := a.read("oci-layout", 4096)
	if err == nil {
		err = checkMarker(marker)
	}
	if err != nil {
		a.f.Close()
		return nil, fmt.Errorf("%s: %w", a.describe(), err)
	}
	raw, err := a.read("index.json", MaxIndexBytes)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.f.Close()
		return nil, err
	}
	if s.index, err = parseLayoutIndex(raw); err != nil {
		a.f.Close()
		return nil, fmt.Errorf("%s: %w", a.describe(), err)
	}
	return s, nil
}

// stage gives an archive store a staging directory beside the file, so the
// new archive is renamed over the old one on the same file system.
func (s *ociStore) stage() error {
	if s.staging != nil {
		return nil
	}
	dir, err := os.MkdirTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".staging-")
	if err != nil {
		return err
	}
	s.staging = &layoutDir{dir: dir}
	return nil
}

// close releases an archive and removes its staging directory.
func (s *ociStore) close() {
	if a, ok := s.read.(*archiveReader); ok && a.f != nil {
		a.f.Close()
	}
	if s.kind == Archive && s.staging != nil {
		os.RemoveAll(s.staging.dir)
	}
}

// repack writes the archive anew beside the old one, with every entry of
// the old archive (copied byte for byte), the staged blobs and the merged
// index.json, in sorted order with fixed metadata (the same content gives
// the same bytes), then renames it over the old one.
func (s *ociStore) repack(descs []v1.Descriptor) error {
	type entry struct {
		size int64
		open func() (io.ReadCloser, error)
	}
	entries := map[string]entry{}
	if a, ok := s.read.(*archiveReader); ok {
		for name, e := range a.entries {
			e := e
			entries[name] = entry{size: e.size, open: func() (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(a.f, e.offset, e.size)), nil
			}}
		}
	}
	if s.staging != nil {
		root := s.staging.dir
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".partial-") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			info, err := d.Info()
			if err != nil {
				return err
			}
			entries[filepath.ToSlash(rel)] = entry{size: info.Size(), open: func() (io.ReadCloser, error) { return os.Open(p) }}
			return nil
		})
		if err != nil {
			return err
		}
	}
	index, err := indexBytes(descs)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"index.json": index, "oci-layout": []byte(layoutMarker)} {
		b := b
		entries[name] = entry{size: int64(len(b)), open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".partial-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	tw := tar.NewWriter(tmp)
	for _, name := range names {
		e := entries[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: e.size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			tmp.Close()
			return err
		}
		rc, err := e.open()
		if err == nil {
			_, err = io.Copy(tw, rc)
			rc.Close()
		}
		if err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	// Read the new archive from now on (post-commit verification reads it).
	s.close()
	a, err := openArchive(s.path)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", s.path, err)
	}
	s.read, s.staging, s.index, s.pending = a, nil, descs, map[string]v1.Descriptor{}
	return nil
}
