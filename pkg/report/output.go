package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/util/jsonpath"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// kubectl's -o name and -o jsonpath=TEMPLATE, beside the formats of
// inspect.go. JSONPath is client-go's, the one kubectl get uses
// (k8s.io/cli-runtime@v0.37.2 pkg/printers/jsonpath.go: the object as JSON
// decoded to interface{}, then the template executed on it), linked alone:
// cli-runtime's printers work on runtime.Objects, which reports are not.
const (
	Name     Format = "name"
	JSONPath Format = "jsonpath"
)

// ParsePrinter validates -o (one of allowed; "jsonpath=TEMPLATE" when
// JSONPath is allowed) and returns the Printer for it.
func ParsePrinter(output string, r *redact.Redactor, allowed ...Format) (Printer, error) {
	if tmpl, ok := strings.CutPrefix(output, string(JSONPath)+"="); ok && has(allowed, JSONPath) {
		if strings.TrimSpace(tmpl) == "" {
			return Printer{}, fmt.Errorf("-o jsonpath= needs a template, e.g. -o jsonpath='{.items[*].name}'")
		}
		// Parsed now, so that a bad template is a usage error before anything is read.
		if err := jsonpath.New("output").Parse(tmpl); err != nil {
			return Printer{}, fmt.Errorf("-o jsonpath: the template %q does not parse: %v", tmpl, err)
		}
		return Printer{Format: JSONPath, JSONPath: tmpl, Redactor: r}, nil
	}
	if output == string(JSONPath) && has(allowed, JSONPath) {
		return Printer{}, fmt.Errorf("-o jsonpath needs a template: -o jsonpath='{.items[*].name}'")
	}
	if output == "" {
		output = string(Table)
	}
	names := make([]string, 0, len(allowed))
	for _, f := range allowed {
		if f == JSONPath {
			names = append(names, "jsonpath=TEMPLATE")
			continue
		}
		if string(f) == output {
			return Printer{Format: f, Redactor: r}, nil
		}
		names = append(names, string(f))
	}
	return Printer{}, fmt.Errorf("unknown output format %q: want one of %s", output, strings.Join(names, ", "))
}

func has(fs []Format, f Format) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// jsonPath writes the template executed on v's JSON. Every string of the
// document is redacted and escaped as a table cell is (control characters,
// tabs and newlines shown as escapes) before the template runs: what the
// template itself writes ({"\t"}, {"\n"}) is the user's and stays.
func (p Printer) jsonPath(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	doc = escapeStrings(doc, p.Redactor)
	// As kubectl get does: a key missing from one item is empty, not an error.
	j := jsonpath.New("output").AllowMissingKeys(true)
	if err := j.Parse(p.JSONPath); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := j.Execute(&out, doc); err != nil {
		return fmt.Errorf("-o jsonpath: %v", err)
	}
	_, err = w.Write(out.Bytes())
	return err
}

// escapeStrings redacts and escapes every string (keys too) of a decoded
// JSON document.
func escapeStrings(v any, r *redact.Redactor) any {
	switch x := v.(type) {
	case string:
		return escapeTerminal(r.String(x), false)
	case []any:
		for i := range x {
			x[i] = escapeStrings(x[i], r)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[escapeTerminal(r.String(k), false)] = escapeStrings(e, r)
		}
		return out
	}
	return v
}
