package xpkg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// crossplaneSplit is what Crossplane's parser does with package.yaml before
// decoding: apimachinery's YAMLReader, skipping empty documents
// (crossplane-runtime:pkg/parser/parser.go@v1.20.0 Parse). The test uses
// the real YAMLReader (the same code in apimachinery v0.31.2, v0.35.3 and
// the version xpdoctor links).
func crossplaneSplit(b []byte) (docs []string, err error) {
	yr := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		d, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if !isEmptyYAML(d) {
			docs = append(docs, string(d))
		}
	}
}

func xpdoctorSplit(b []byte) (docs []string, err error) {
	err = splitDocuments(bytes.NewReader(b), func(d document) error {
		docs = append(docs, string(d.bytes))
		return nil
	})
	return docs, err
}

var yamlStreams = []string{
	"---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: p\n",
	"apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n",
	"---\n---\n# only comments\n---\nkey: [unclosed\n",
	"--- \n\n---\t# comment\na: 1\n...\n---\n",
	"a: 1\r\nb: 2\r\n---\r\nc: 3",
	"a: 1\n--- trailing text\nb: 2\n",
	"a: 1\n----\nb: 2\n",
	"no newline at the end",
	"",
	"\n\n\n",
	"a: |\n  ---\n  not a separator when indented\n",
	"a: 1\n---\n",
	strings.Repeat("x", 70<<10) + ": 1\n---\nb: 2\n",
	"---" + strings.Repeat(" ", 70<<10) + "\na: 1\n",
}

// TestSplitLikeApimachinery holds xpdoctor's splitter to apimachinery's:
// the same documents, byte for byte, and the same separator errors.
func TestSplitLikeApimachinery(t *testing.T) {
	for _, s := range yamlStreams {
		want, werr := crossplaneSplit([]byte(s))
		got, gerr := xpdoctorSplit([]byte(s))
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Errorf("%.40q: error %v, apimachinery %v", s, gerr, werr)
			continue
		}
		if werr != nil {
			continue // apimachinery returns no documents with its error
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%.40q:\n got %q\nwant %q", s, got, want)
		}
	}
}

func FuzzSplitLikeApimachinery(f *testing.F) {
	for _, s := range yamlStreams {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := crossplaneSplit(b)
		got, gerr := xpdoctorSplit(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("error %v, apimachinery %v", gerr, werr)
		}
		if werr == nil && strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("\n got %q\nwant %q", got, want)
		}
	})
}

// TestParseErrorsAsCrossplane checks the first failure's text, and the
// line of package.yaml it points at, against what Crossplane's decode path
// gives for the same bytes: YAMLToJSON on each document of the YAMLReader.
func TestParseErrorsAsCrossplane(t *testing.T) {
	cases := []struct {
		name, body string
		exact      bool
		fileLine   int
	}{
		{"first document keeps its ---", "---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: p\nspec:\n  crossplane:\n    version: [unclosed\n", true, 8},
		{"no leading ---", "apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata: [unclosed\n", true, 3},
		{"second document counts from its own start", "---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: p\n---\napiVersion: v1\nkind: X\nmetadata:\n  labels: {unclosed\n", true, 10},
		{"bad separator", "apiVersion: v1\nkind: A\n--- junk\n", true, 3},
		{"missing kind", "---\napiVersion: v1\nmetadata:\n  name: x\n", true, 1},
		{"missing apiVersion", "kind: Thing\n", true, 1},
		{"a scalar document", "---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\n---\njust a string\n", true, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pf, err := readPackageFile(&tar.Header{Name: StreamFile, Typeflag: tar.TypeReg}, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			want := crossplaneFirstError(t, c.body)
			if pf.ParseError != want || pf.ParseErrorExact != c.exact || pf.ParseErrorLine != c.fileLine {
				t.Fatalf("got %q (exact %v, line %d)\nwant %q (exact %v, line %d)", pf.ParseError, pf.ParseErrorExact, pf.ParseErrorLine, want, c.exact, c.fileLine)
			}
		})
	}
}

// crossplaneFirstError replays Crossplane's decode far enough for these
// cases: YAMLReader, YAMLToJSON, SimpleMetaFactory.Interpret and the
// missing kind and version checks (runtime/serializer/json/json.go@v0.31.2).
func crossplaneFirstError(t *testing.T, body string) string {
	t.Helper()
	yr := kyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(body)))
	for {
		d, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
		if isEmptyYAML(d) {
			continue
		}
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			return err.Error()
		}
		var gvk struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
		}
		if err := json.Unmarshal(j, &gvk); err != nil {
			return "couldn't get version/kind; json parse error: " + err.Error()
		}
		if gvk.Kind == "" {
			return "Object 'Kind' is missing in '" + string(d) + "'"
		}
		if gvk.APIVersion == "" {
			return "Object 'apiVersion' is missing in '" + string(d) + "'"
		}
	}
}
