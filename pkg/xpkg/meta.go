package xpkg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxDocumentBytes bounds one YAML document held in memory; larger documents
// are counted but not decoded (a meta object is a few hundred bytes).
const maxDocumentBytes = 32 << 20

const metaGroup = "meta.pkg.crossplane.io/"

// readPackageFile reads package.yaml from a tar entry without holding more
// than one document in memory, and stops counting just past Crossplane's
// 200 MiB limit.
func readPackageFile(h *tar.Header, body io.Reader) (*PackageFile, error) {
	pf := &PackageFile{Path: h.Name}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // TypeRegA still appears in old tars
	case tar.TypeSymlink, tar.TypeLink:
		pf.NotRegular = fmt.Sprintf("package.yaml is a link to %q: Crossplane reads the link entry itself, which holds no content", h.Linkname)
	case tar.TypeDir:
		pf.NotRegular = "package.yaml is a directory"
	default:
		pf.NotRegular = fmt.Sprintf("package.yaml is a tar entry of type %q", h.Typeflag)
	}
	lr := &io.LimitedReader{R: body, N: MaxPackageYAMLBytes + 1}
	err := splitDocuments(lr, func(doc []byte, oversize bool) error {
		pf.Documents++
		if oversize {
			return nil
		}
		var probe struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Crossplane struct {
					Version string `json:"version"`
				} `json:"crossplane"`
				Controller struct {
					Image string `json:"image"`
				} `json:"controller"`
				DependsOn []map[string]any `json:"dependsOn"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			if pf.ParseError == "" {
				pf.ParseError = fmt.Sprintf("document %d: %v", pf.Documents, err)
			}
			return nil
		}
		if !strings.HasPrefix(probe.APIVersion, metaGroup) {
			return nil
		}
		pf.MetaCount++
		if pf.MetaCount > 1 {
			pf.Meta = nil
			return nil
		}
		m := &Meta{APIVersion: probe.APIVersion, Kind: probe.Kind, Name: probe.Metadata.Name,
			Crossplane: probe.Spec.Crossplane.Version, ControllerImage: probe.Spec.Controller.Image,
			Family: probe.Metadata.Labels["pkg.crossplane.io/provider-family"]}
		for _, d := range probe.Spec.DependsOn {
			m.DependsOn = append(m.DependsOn, dependencyFrom(d))
		}
		pf.Meta = m
		return nil
	})
	pf.Size = MaxPackageYAMLBytes + 1 - lr.N
	if pf.Size > MaxPackageYAMLBytes {
		pf.TooLarge = true
	}
	if err != nil {
		return pf, err
	}
	return pf, nil
}

// dependencyFrom reads both dependsOn forms: v1 keys provider/configuration/
// function, and v1.20+/v2 apiVersion+kind+package (apis/pkg/meta/v1/meta.go@v2.3.4).
func dependencyFrom(d map[string]any) Dependency {
	str := func(k string) string { s, _ := d[k].(string); return s }
	dep := Dependency{Version: str("version")}
	switch {
	case str("provider") != "":
		dep.Kind, dep.Package = "Provider", str("provider")
	case str("configuration") != "":
		dep.Kind, dep.Package = "Configuration", str("configuration")
	case str("function") != "":
		dep.Kind, dep.Package = "Function", str("function")
	default:
		dep.Kind, dep.Package = str("kind"), str("package")
	}
	return dep
}

// splitDocuments calls fn for every YAML document of r. A document larger
// than maxDocumentBytes is passed as oversize with no content.
func splitDocuments(r io.Reader, fn func(doc []byte, oversize bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var doc bytes.Buffer
	oversize := false
	hasContent := false
	flush := func() error {
		if !hasContent {
			return nil
		}
		d := doc.Bytes()
		empty := len(bytes.TrimSpace(stripComments(d))) == 0
		defer func() { doc.Reset(); oversize = false; hasContent = false }()
		if empty && !oversize {
			return nil
		}
		return fn(d, oversize)
	}
	for {
		line, err := br.ReadSlice('\n')
		continued := false
		for errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: keep it (bounded) and go on reading it.
			appendBounded(&doc, line, &oversize)
			hasContent, continued = true, true
			line, err = br.ReadSlice('\n')
		}
		if len(line) > 0 {
			if !continued && isSeparator(line) {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			} else {
				appendBounded(&doc, line, &oversize)
				hasContent = true
			}
		}
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return err
		}
	}
}

func appendBounded(b *bytes.Buffer, line []byte, oversize *bool) {
	if *oversize {
		return
	}
	if b.Len()+len(line) > maxDocumentBytes {
		*oversize = true
		b.Reset()
		return
	}
	b.Write(line)
}

func isSeparator(line []byte) bool {
	l := bytes.TrimRight(line, "\r\n")
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t'
}

func stripComments(d []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(d, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, t...)
	}
	return out
}
