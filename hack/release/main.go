// Command release builds reproducible release archives of kubectl-xpdoctor
// for each platform (binary, LICENSE, README.md, the completion helper) and
// renders the krew manifest from plugins/krew.yaml.tmpl with their sha256.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// Platform is one release target.
type Platform struct {
	OS, Arch, Archive, SHA256, Bin string
	// Files are the archive's file names, for the manifest's files list.
	Files []string
}

var defaultPlatforms = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64"

func main() {
	version := flag.String("version", "", "release version, e.g. v0.1.0")
	commit := flag.String("commit", "unknown", "commit stamped into the binary")
	date := flag.String("date", "", "build date (RFC 3339) stamped in and used as every file's mtime; default: SOURCE_DATE_EPOCH or 1970")
	out := flag.String("out", "dist", "output directory")
	platforms := flag.String("platforms", defaultPlatforms, "comma-separated os/arch list")
	tmpl := flag.String("template", "plugins/krew.yaml.tmpl", "krew manifest template")
	manifest := flag.String("manifest", "", "where to write the krew manifest (default: OUT/krew.yaml)")
	flag.Parse()
	if *version == "" {
		fail(fmt.Errorf("-version is required"))
	}
	mtime := time.Unix(0, 0).UTC()
	if *date == "" {
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			var sec int64
			fmt.Sscan(s, &sec)
			mtime = time.Unix(sec, 0).UTC()
		}
		*date = mtime.Format(time.RFC3339)
	} else if t, err := time.Parse(time.RFC3339, *date); err == nil {
		mtime = t.UTC()
	} else {
		fail(fmt.Errorf("-date: %w", err))
	}
	if *manifest == "" {
		*manifest = filepath.Join(*out, "krew.yaml")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	var built []Platform
	for _, pl := range strings.Split(*platforms, ",") {
		goos, goarch, _ := strings.Cut(strings.TrimSpace(pl), "/")
		p, err := build(*version, *commit, *date, *out, goos, goarch, mtime)
		if err != nil {
			fail(fmt.Errorf("%s/%s: %w", goos, goarch, err))
		}
		built = append(built, p)
		fmt.Printf("%s  %s\n", p.SHA256, filepath.Join(*out, p.Archive))
	}
	m, err := renderManifest(*tmpl, *version, built)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*manifest, m, 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s\n", *manifest)
}

// renderManifest is the krew manifest for these archives.
func renderManifest(tmpl, version string, built []Platform) ([]byte, error) {
	t, err := template.ParseFiles(tmpl)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]any{"Version": version, "Platforms": built}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "release:", err)
	os.Exit(1)
}

// archiveFile is one file of an archive: its name there, where to read it
// and its mode.
type archiveFile struct {
	name, path string
	mode       int64
}

// archiveFiles are what an archive for goos holds: the binary, LICENSE,
// README.md and, except on Windows, kubectl_complete-xpdoctor. That helper
// is a POSIX shell script; Windows users complete with
// `kubectl-xpdoctor completion powershell` instead.
func archiveFiles(goos, bin, binPath string) []archiveFile {
	files := []archiveFile{{bin, binPath, 0o755}}
	if goos != "windows" {
		files = append(files, archiveFile{"kubectl_complete-xpdoctor", "kubectl_complete-xpdoctor", 0o755})
	}
	return append(files, archiveFile{"LICENSE", "LICENSE", 0o644}, archiveFile{"README.md", "README.md", 0o644})
}

func build(version, commit, date, out, goos, goarch string, mtime time.Time) (Platform, error) {
	bin := "kubectl-xpdoctor"
	if goos == "windows" {
		bin += ".exe"
	}
	tmp, err := os.MkdirTemp("", "xpdoctor-release")
	if err != nil {
		return Platform{}, err
	}
	defer os.RemoveAll(tmp)
	pkg := "github.com/xpdoctor/xpdoctor/pkg/version"
	ldflags := fmt.Sprintf("-s -w -buildid= -X %s.Version=%s -X %s.Commit=%s -X %s.Date=%s", pkg, version, pkg, commit, pkg, date)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", filepath.Join(tmp, bin), "./cmd/kubectl-xpdoctor")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return Platform{}, err
	}
	files := archiveFiles(goos, bin, filepath.Join(tmp, bin))
	archive := fmt.Sprintf("kubectl-xpdoctor_%s_%s_%s", version, goos, goarch)
	var data bytes.Buffer
	if goos == "windows" {
		archive += ".zip"
		zw := zip.NewWriter(&data)
		for _, f := range files {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return Platform{}, err
			}
			h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: mtime}
			h.SetMode(os.FileMode(f.mode))
			w, err := zw.CreateHeader(h)
			if err != nil {
				return Platform{}, err
			}
			if _, err := w.Write(b); err != nil {
				return Platform{}, err
			}
		}
		if err := zw.Close(); err != nil {
			return Platform{}, err
		}
	} else {
		archive += ".tar.gz"
		gz, _ := gzip.NewWriterLevel(&data, gzip.BestCompression) // no name, zero mtime: reproducible
		tw := tar.NewWriter(gz)
		for _, f := range files {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return Platform{}, err
			}
			h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(b)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
			if err := tw.WriteHeader(h); err != nil {
				return Platform{}, err
			}
			if _, err := io.Copy(tw, bytes.NewReader(b)); err != nil {
				return Platform{}, err
			}
		}
		if err := tw.Close(); err != nil {
			return Platform{}, err
		}
		if err := gz.Close(); err != nil {
			return Platform{}, err
		}
	}
	if err := os.WriteFile(filepath.Join(out, archive), data.Bytes(), 0o644); err != nil {
		return Platform{}, err
	}
	sum := sha256.Sum256(data.Bytes())
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return Platform{OS: goos, Arch: goarch, Archive: archive, SHA256: hex.EncodeToString(sum[:]), Bin: bin, Files: names}, nil
}
