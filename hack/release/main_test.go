package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// entries lists an archive's files with their modes and contents.
func entries(t *testing.T, path string) map[string]struct {
	mode os.FileMode
	data []byte
} {
	t.Helper()
	out := map[string]struct {
		mode os.FileMode
		data []byte
	}{}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			out[f.Name] = struct {
				mode os.FileMode
				data []byte
			}{f.Mode().Perm(), b}
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = struct {
			mode os.FileMode
			data []byte
		}{os.FileMode(h.Mode).Perm(), b}
	}
}

func names[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// What each archive holds (the Windows one has no POSIX shell helper), that
// the manifest lists exactly those files, and that a second build of the
// same inputs has the same sha256.
func TestArchives(t *testing.T) {
	t.Chdir("../..")
	helper, err := os.ReadFile("kubectl_complete-xpdoctor")
	if err != nil {
		t.Fatal(err)
	}
	date := "2026-11-27T00:00:00Z"
	mtime, _ := time.Parse(time.RFC3339, date)
	out := t.TempDir()
	var built []Platform
	want := map[string]string{
		"linux":   "LICENSE README.md kubectl-xpdoctor kubectl_complete-xpdoctor",
		"windows": "LICENSE README.md kubectl-xpdoctor.exe",
	}
	for _, goos := range []string{"linux", "windows"} {
		p, err := build("v0.0.1-test", "abc1234", date, out, goos, "amd64", mtime)
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, p)
		files := entries(t, filepath.Join(out, p.Archive))
		if got := names(files); got != want[goos] {
			t.Errorf("%s archive holds %s, want %s", goos, got, want[goos])
		}
		if bin := files[p.Bin]; bin.mode != 0o755 || len(bin.data) < 1<<20 {
			t.Errorf("%s: %s mode %v, %d bytes", goos, p.Bin, bin.mode, len(bin.data))
		}
		if h, ok := files["kubectl_complete-xpdoctor"]; ok && (h.mode != 0o755 || !bytes.Equal(h.data, helper)) {
			t.Errorf("%s: the helper is not the repository's generated one (mode %v)", goos, h.mode)
		}
		for name, f := range files {
			if bytes.HasPrefix(f.data, []byte("#!")) && goos == "windows" {
				t.Errorf("windows archive ships the shell script %s", name)
			}
		}
		sort.Strings(p.Files)
		if strings.Join(p.Files, " ") != want[goos] {
			t.Errorf("%s: manifest files %v", goos, p.Files)
		}
	}

	again := t.TempDir()
	p, err := build("v0.0.1-test", "abc1234", date, again, "linux", "amd64", mtime)
	if err != nil {
		t.Fatal(err)
	}
	if p.SHA256 != built[0].SHA256 {
		t.Errorf("not reproducible: %s then %s", built[0].SHA256, p.SHA256)
	}

	m, err := renderManifest("plugins/krew.yaml.tmpl", "v0.0.1-test", built)
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Spec struct {
			Caveats   string
			Platforms []struct {
				Selector struct{ MatchLabels map[string]string } `json:"selector"`
				SHA256   string
				Files    []struct{ From, To string }
			}
		}
	}
	if err := yaml.Unmarshal(m, &manifest); err != nil {
		t.Fatalf("%v\n%s", err, m)
	}
	for i, pl := range manifest.Spec.Platforms {
		var from []string
		for _, f := range pl.Files {
			from = append(from, f.From)
		}
		sort.Strings(from)
		if os := pl.Selector.MatchLabels["os"]; strings.Join(from, " ") != want[os] || pl.SHA256 != built[i].SHA256 {
			t.Errorf("%s: manifest extracts %v (sha256 %s)", os, from, pl.SHA256)
		}
	}
	// The caveat survives krew upgrade: it writes into krew's bin, not the
	// versioned store (test/krew runs it through an upgrade).
	if strings.Contains(manifest.Spec.Caveats, "store/") || !strings.Contains(manifest.Spec.Caveats, `/bin/kubectl_complete-xpdoctor"`) {
		t.Errorf("caveats:\n%s", manifest.Spec.Caveats)
	}
}
