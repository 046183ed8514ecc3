package xpkg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"
)

// Bounds on what reading package.yaml keeps in memory.
const (
	// maxDocumentBytes bounds one YAML document held in memory; larger
	// documents are counted but not decoded (a meta object is a few hundred bytes).
	maxDocumentBytes = 32 << 20
	// maxQuotedDocument bounds a document quoted whole in an error message
	// (Crossplane quotes it, however large; xpdoctor then says it shortened it).
	maxQuotedDocument = 4 << 10
	// maxKinds and maxGroups bound the distinct object kinds and API groups kept.
	maxKinds, maxGroups = 64, 256
	// maxDocumentSums bounds the per-document digests kept to compare two
	// annotated layers' package.yaml.
	maxDocumentSums = 1 << 16
)

const metaGroup = "meta.pkg.crossplane.io/"

// packageReader reads package.yaml the way Crossplane's parser does
// (crossplane-runtime:pkg/parser/parser.go@v1.20.0 PackageParser.Parse, the
// same code in crossplane-runtime:pkg/xpkg/parser/parser.go@v2.3.3):
// k8s.io/apimachinery's YAMLReader splits the stream into documents, each
// non-empty one is converted with sigs.k8s.io/yaml YAMLToJSON and its
// apiVersion and kind are read; the first failure ends the parse. It also
// collects what xpdoctor reports: the meta object, the kinds of the other
// objects and the API groups their CRDs and XRDs define.
type packageReader struct {
	pf *PackageFile
	// compareTo, when set, is another layer's package.yaml: reading stops at
	// the first document that differs from it, once the meta object is known.
	compareTo *PackageFile
	kinds     map[ObjectKind]int
	groups    map[string]bool
	whole     hash.Hash
}

// readPackageFile reads package.yaml from a tar entry without holding more
// than one document in memory, and stops counting just past Crossplane's
// 200 MiB limit.
func readPackageFile(h *tar.Header, body io.Reader) (*PackageFile, error) {
	return readPackageFileComparing(h, body, nil)
}

// readPackageFileComparing reads package.yaml, stopping early once it
// differs from other (nil: read it all).
func readPackageFileComparing(h *tar.Header, body io.Reader, other *PackageFile) (*PackageFile, error) {
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
	pr := &packageReader{pf: pf, compareTo: other, kinds: map[ObjectKind]int{}, groups: map[string]bool{}, whole: sha256.New()}
	lr := &io.LimitedReader{R: body, N: MaxPackageYAMLBytes + 1}
	err := splitDocuments(io.TeeReader(lr, pr.whole), pr.document)
	pf.Size = MaxPackageYAMLBytes + 1 - lr.N
	if pf.Size > MaxPackageYAMLBytes {
		pf.TooLarge = true
	}
	if errors.Is(err, errDiffers) {
		pf.StoppedEarly = true
		err = nil
	}
	var sep *separatorError
	if errors.As(err, &sep) {
		// The YAMLReader's own error ends Crossplane's parse (k8s.io/apimachinery
		// pkg/util/yaml/decoder.go@v0.31.2 YAMLReader.Read).
		if pf.ParseError == "" {
			pf.ParseError, pf.ParseErrorExact, pf.ParseErrorLine = sep.Error(), true, sep.line
		}
		err = nil
	}
	if !pf.StoppedEarly {
		pf.SHA256 = "sha256:" + hex.EncodeToString(pr.whole.Sum(nil))
	}
	pf.Kinds = sortedKinds(pr.kinds)
	pf.Groups = sortedKeys(pr.groups)
	return pf, err
}

// errDiffers stops reading a package.yaml once it differs from the one compared with.
var errDiffers = errors.New("differs")

// yamlLine finds the line goyaml reports ("yaml: line 7: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+):`)

// probe is what xpdoctor reads from every document.
type probe struct {
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
		// Group is what a CRD or XRD defines.
		Group string `json:"group"`
	} `json:"spec"`
}

func (r *packageReader) document(d document) error {
	pf := r.pf
	pf.Documents++
	idx := pf.Documents - 1
	sum := sha256.Sum256(d.bytes)
	if d.oversize {
		sum = [32]byte{} // not kept: never equal to another layer's
	}
	if len(pf.docSums) < maxDocumentSums {
		pf.docSums = append(pf.docSums, sum)
	}
	differs := false
	if o := r.compareTo; o != nil {
		differs = d.oversize || idx >= len(o.docSums) || o.docSums[idx] != sum
		if differs && pf.DiffersAtDocument == 0 {
			pf.DiffersAtDocument = pf.Documents
		}
	}
	r.decode(d)
	if r.compareTo != nil && pf.DiffersAtDocument > 0 && (pf.MetaCount > 0 || pf.ParseError != "") {
		return errDiffers
	}
	return nil
}

// decode reads one document as Crossplane's parser does, recording its
// first failure with Crossplane's text: apimachinery's json serializer
// converts with YAMLToJSON and reads apiVersion and kind with
// SimpleMetaFactory.Interpret before anything else
// (runtime/serializer/json/json.go and meta.go@v0.31.2).
func (r *packageReader) decode(d document) {
	pf := r.pf
	if d.oversize || pf.ParseError != "" {
		// Crossplane stops at the first error; xpdoctor keeps counting.
		return
	}
	fail := func(msg string, exact bool, line int) {
		pf.ParseError, pf.ParseErrorExact, pf.ParseErrorLine = msg, exact, line
	}
	j, err := yaml.YAMLToJSON(d.bytes)
	if err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			// goyaml counts from the document's first line; the first document
			// keeps its leading "---", so there it is the file's line.
			line = d.startLine + n - 1
		}
		fail(err.Error(), true, line)
		return
	}
	// The same anonymous type as Interpret's, so encoding/json words a type
	// error exactly as it does for Crossplane.
	findKind := struct {
		// +optional
		APIVersion string `json:"apiVersion,omitempty"`
		// +optional
		Kind string `json:"kind,omitempty"`
	}{}
	if err := json.Unmarshal(j, &findKind); err != nil {
		fail(fmt.Sprintf("couldn't get version/kind; json parse error: %v", err), true, d.startLine)
		return
	}
	if strings.Count(findKind.APIVersion, "/") > 1 {
		fail(fmt.Sprintf("unexpected GroupVersion string: %v", findKind.APIVersion), true, d.startLine)
		return
	}
	// runtime.NewMissingKindErr / NewMissingVersionErr quote the document as
	// read (apimachinery runtime/error.go@v0.31.2).
	quote := func(what string) {
		body, exact := string(d.bytes), true
		if len(body) > maxQuotedDocument {
			body, exact = body[:maxQuotedDocument]+fmt.Sprintf("...(%d bytes)", len(d.bytes)), false
		}
		fail(fmt.Sprintf("Object '%s' is missing in '%s'", what, body), exact, d.startLine)
	}
	_, version, _ := strings.Cut(findKind.APIVersion, "/")
	if !strings.Contains(findKind.APIVersion, "/") {
		version = findKind.APIVersion
	}
	switch {
	case findKind.Kind == "":
		quote("Kind")
		return
	case version == "":
		quote("apiVersion")
		return
	}
	k := ObjectKind{APIVersion: findKind.APIVersion, Kind: findKind.Kind}
	if _, seen := r.kinds[k]; !seen && len(r.kinds) < maxKinds {
		r.kinds[k] = pf.Documents
	}
	var p probe
	perr := json.Unmarshal(j, &p)
	if !strings.HasPrefix(findKind.APIVersion, metaGroup) {
		// Other objects are decoded into their own types, which xpdoctor does
		// not model; it only wants the groups CRDs and XRDs define.
		if perr == nil && (p.Kind == "CustomResourceDefinition" || p.Kind == "CompositeResourceDefinition") && p.Spec.Group != "" && len(r.groups) < maxGroups {
			r.groups[p.Spec.Group] = true
		}
		return
	}
	if perr != nil {
		// The typed meta decode fails too, in words of its own.
		fail(fmt.Sprintf("document %d (line %d): %v", pf.Documents, d.startLine, perr), false, d.startLine)
		return
	}
	pf.MetaCount++
	if pf.MetaCount > 1 {
		pf.Meta = nil
		return
	}
	m := &Meta{APIVersion: p.APIVersion, Kind: p.Kind, Name: p.Metadata.Name,
		Crossplane: p.Spec.Crossplane.Version, ControllerImage: p.Spec.Controller.Image,
		Family: p.Metadata.Labels["pkg.crossplane.io/provider-family"]}
	for _, dep := range p.Spec.DependsOn {
		m.DependsOn = append(m.DependsOn, dependencyFrom(dep))
	}
	pf.Meta = m
}

func sortedKinds(m map[ObjectKind]int) []ObjectKind {
	out := make([]ObjectKind, 0, len(m))
	for k, first := range m {
		k.FirstDocument = first
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstDocument < out[j].FirstDocument })
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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

// document is one YAML document as apimachinery's YAMLReader returns it.
type document struct {
	bytes []byte
	// startLine is the file line of its first line (1-based).
	startLine int
	// oversize is true when it was larger than maxDocumentBytes; bytes is then empty.
	oversize bool
}

// separatorError is the YAMLReader's "invalid Yaml document separator".
type separatorError struct {
	rest string
	line int
}

func (e *separatorError) Error() string { return "invalid Yaml document separator: " + e.rest }

// splitDocuments calls fn for every non-empty YAML document of r, split as
// k8s.io/apimachinery's YAMLReader splits them (pkg/util/yaml/decoder.go@v0.31.2,
// unchanged in v0.35.3): lines are read without their line ending and given
// "\n"; a line starting with "---" ends a non-empty document and is dropped,
// but starts the document when nothing precedes it (so the first document
// keeps a leading "---"); anything after "---" other than spaces and a
// comment is an error. Documents holding only separators, "...", comments
// and blank lines are skipped as crossplane-runtime's isEmptyYAML does.
func splitDocuments(r io.Reader, fn func(document) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var doc bytes.Buffer
	cur := document{}
	line := 0
	flush := func() error {
		defer func() { doc.Reset(); cur = document{} }()
		if doc.Len() == 0 && !cur.oversize {
			return nil
		}
		if !cur.oversize && isEmptyYAML(doc.Bytes()) {
			return nil
		}
		cur.bytes = doc.Bytes()
		return fn(cur)
	}
	write := func(b []byte) {
		if cur.startLine == 0 {
			cur.startLine = line
		}
		if cur.oversize {
			return
		}
		if doc.Len()+len(b) > maxDocumentBytes {
			cur.oversize = true
			doc.Reset()
			return
		}
		doc.Write(b)
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) == 0 && errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		line++
		first := lineContent(chunk)
		complete := !errors.Is(err, bufio.ErrBufferFull)
		if bytes.HasPrefix(first, []byte("---")) {
			if rest := strings.TrimSpace(string(first[3:])); rest != "" && rest[0] != '#' {
				return &separatorError{rest: rest, line: line}
			}
			if doc.Len() > 0 || cur.oversize {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				if err = skipRest(br, complete); err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				if errors.Is(err, io.EOF) {
					return nil
				}
				continue
			}
		}
		write(first)
		for !complete {
			// A very long line: keep it (bounded) and go on reading it.
			chunk, err = br.ReadSlice('\n')
			complete = !errors.Is(err, bufio.ErrBufferFull)
			write(lineContent(chunk))
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
				return err
			}
		}
		write([]byte("\n"))
		if errors.Is(err, io.EOF) {
			return flush()
		}
	}
}

// lineContent drops a line's ending, "\n" or "\r\n", as bufio.Reader.ReadLine
// does for apimachinery's LineReader.
func lineContent(chunk []byte) []byte {
	if c, ok := bytes.CutSuffix(chunk, []byte("\n")); ok {
		return bytes.TrimSuffix(c, []byte("\r"))
	}
	return chunk
}

// skipRest discards the remainder of a line that did not fit the buffer.
func skipRest(br *bufio.Reader, complete bool) error {
	for !complete {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
	return nil
}

// isEmptyYAML is crossplane-runtime's (pkg/parser/parser.go@v1.20.0): only
// blank lines, separators, "..." and comments.
func isEmptyYAML(y []byte) bool {
	for _, line := range strings.Split(string(y), "\n") {
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if trimmed != "" && trimmed != "---" && trimmed != "..." && !strings.HasPrefix(trimmed, "#") {
			return false
		}
	}
	return true
}
