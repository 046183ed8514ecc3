package xpkg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Scan limits: a scan that reaches them stops and says so.
const (
	// MaxTarEntries bounds how many tar entries a scan walks.
	MaxTarEntries = 1 << 20
	// maxFlattenPaths bounds the path set kept to emulate whiteouts.
	maxFlattenPaths = 1 << 20
)

// decompress returns the uncompressed stream of a layer, sniffing gzip and
// zstd like go-containerregistry does (ggcr:internal/compression PeekCompression).
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("invalid zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// scanner walks tar entries looking for package.yaml and reads the first one
// it meets by base name, stopping as soon as it has what every Crossplane
// version needs: an entry named exactly package.yaml (v1.x) or the end.
type scanner struct {
	scan *TarScan
	pkg  *PackageFile
	// compareTo makes the scan read package.yaml only until it differs from this one.
	compareTo *PackageFile
	// stopAtBaseName ends the scan at the first package.yaml by base name.
	stopAtBaseName bool
	// budget is how many uncompressed bytes the scan may still read.
	budget int64
}

func newScanner(annotated bool, budget int64) *scanner {
	return &scanner{budget: budget, scan: &TarScan{Annotated: annotated, BaseNameIndex: -1, ExactIndex: -1, BaseNameLayer: -1, LowestLayer: -1}}
}

// errBudget stops a scan that decompressed more than its budget (a gzip bomb).
var errBudget = errors.New("uncompressed size limit reached")

// open decompresses a layer within the scan's budget.
func (s *scanner) open(r io.Reader) (*tar.Reader, func(), error) {
	ur, done, err := decompress(r)
	if err != nil {
		return nil, nil, err
	}
	return tar.NewReader(&budgetReader{r: ur, left: &s.budget}), done, nil
}

type budgetReader struct {
	r    io.Reader
	left *int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if *b.left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > *b.left {
		p = p[:*b.left]
	}
	n, err := b.r.Read(p)
	*b.left -= int64(n)
	return n, err
}

// stopErr records why a scan stopped on an error.
func (s *scanner) stopErr(err error) {
	if errors.Is(err, errBudget) {
		s.scan.Truncated = "stopped: the layer decompresses to more than the uncompressed size limit (a tar or gzip bomb?)"
		return
	}
	s.scan.Err = err.Error()
}

// visit handles one emitted entry; it returns true when the scan can stop.
func (s *scanner) visit(layer int, h *tar.Header, body io.Reader) (bool, error) {
	idx := s.scan.Entries
	s.scan.Entries++
	if filepath.Base(h.Name) == StreamFile && s.scan.BaseNameIndex < 0 {
		s.scan.BaseNameIndex = idx
		s.scan.BaseNamePath = h.Name
		s.scan.BaseNameLayer = layer
		pf, err := readPackageFileComparing(h, body, s.compareTo)
		if err != nil {
			return true, err
		}
		s.pkg = pf
		if s.stopAtBaseName {
			return true, nil
		}
	}
	if h.Name == StreamFile {
		s.scan.ExactIndex = idx
		return true, nil
	}
	if s.scan.Entries >= MaxTarEntries {
		s.scan.Truncated = fmt.Sprintf("stopped after %d tar entries", MaxTarEntries)
		return true, nil
	}
	return false, nil
}

// scanLayer walks one layer's raw entries (the annotated-layer path).
func (s *scanner) scanLayer(layer int, r io.Reader) error {
	s.scan.LowestLayer = layer
	tr, done, err := s.open(r)
	if err != nil {
		s.stopErr(err)
		return nil
	}
	defer done()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			s.scan.Complete = true
			return nil
		}
		if err != nil {
			s.stopErr(err)
			return nil
		}
		stop, err := s.visit(layer, h, tr)
		if err != nil {
			return err
		}
		if stop {
			return nil
		}
	}
}

// flattener emulates go-containerregistry's mutate.Extract, which Crossplane
// uses when no layer is annotated: layers top-down, names cleaned, the first
// occurrence of a path wins, whiteouts hide lower entries
// (ggcr:pkg/v1/mutate/mutate.go@v0.20.6 extract).
type flattener struct {
	*scanner
	seen map[string]bool
}

func newFlattener(budget int64) *flattener {
	return &flattener{scanner: newScanner(false, budget), seen: map[string]bool{}}
}

const whiteoutPrefix = ".wh."

// scanLayer walks one layer; it returns stop=true when no lower layer is needed.
func (f *flattener) scanLayer(layer int, r io.Reader) (bool, error) {
	f.scan.LowestLayer = layer
	tr, done, err := f.open(r)
	if err != nil {
		f.stopErr(err)
		return true, nil
	}
	defer done()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			f.stopErr(err)
			return true, nil
		}
		h.Name = filepath.Clean(h.Name)
		base := filepath.Base(h.Name)
		dir := filepath.Dir(h.Name)
		tombstone := strings.HasPrefix(base, whiteoutPrefix)
		if tombstone {
			base = base[len(whiteoutPrefix):]
		}
		p := h.Name
		if h.Typeflag != tar.TypeDir {
			p = filepath.Join(dir, base)
		}
		if _, ok := f.seen[p]; ok {
			continue
		}
		if inWhiteoutDir(f.seen, p) {
			continue
		}
		if len(f.seen) >= maxFlattenPaths {
			f.scan.Truncated = fmt.Sprintf("stopped after %d distinct paths", maxFlattenPaths)
			return true, nil
		}
		f.seen[p] = tombstone || h.Typeflag != tar.TypeDir
		if tombstone {
			continue
		}
		stop, err := f.visit(layer, h, tr)
		if err != nil || stop {
			return true, err
		}
	}
}

func inWhiteoutDir(seen map[string]bool, p string) bool {
	for {
		if p == "" {
			return false
		}
		d := filepath.Dir(p)
		if p == d {
			return false
		}
		if seen[d] {
			return true
		}
		p = d
	}
}
