package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// ErrTooLarge ends a YAMLList past its limit.
var ErrTooLarge = errors.New("output too large")

// YAMLList renders items as one YAML List, laid out as `kubectl get -o
// yaml` prints it, after comment lines: each item redacted and escaped as
// Structured renders YAML, so every value reads back exact but the
// credentials. It fails with ErrTooLarge rather than write more than
// limit bytes (what was written before stays written).
func (p Printer) YAMLList(w io.Writer, comments []string, items []any, limit int64) error {
	bw := bufio.NewWriter(&limitWriter{w: w, left: limit})
	text := Text{Redactor: p.Redactor}
	for _, c := range comments {
		if _, err := bw.WriteString("# " + text.Line(c) + "\n"); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString("apiVersion: v1\nkind: List\nitems:\n"); err != nil {
		return err
	}
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		b, err = yaml.JSONToYAML(escapeForYAML(redactJSON(b, p.Redactor)))
		if err != nil {
			return err
		}
		// An item of the List's block sequence: "- " then the document
		// indented under it.
		for i, l := range strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n") {
			prefix := "  "
			if i == 0 {
				prefix = "- "
			}
			if _, err := bw.WriteString(prefix + l); err != nil {
				return err
			}
		}
		if _, err := bw.WriteString("\n"); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// limitWriter fails a write that would go past left bytes.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, ErrTooLarge
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}
