package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

func TestTextLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"  trimmed\n", "trimmed"},
		{"\x1b[2Jclear", `\x1b[2Jclear`},
		{"\x1b]52;c;eA==\x07", `\x1b]52;c;eA==\x07`},
		{"\u009b2J \u0085 x", `\u009b2J \u0085 x`},
		{"\u202eevil\u202c \u2066i\u2069 \u200b", `\u202eevil\u202c \u2066i\u2069 \u200b`},
		{"a\x00b\x7fc", `a\x00b\x7fc`},
		{"one\ntwo\tthree\rfour", `one\ntwo\tthree\rfour`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"keeps é, 日本, emoji 🙂 and \uFFFD", "keeps é, 日本, emoji 🙂 and \uFFFD"},
	}
	for _, c := range cases {
		if got := (Text{}).Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := (Text{}).Lines("one\n\x1b[1Atwo\n"); got != "one\n\\x1b[1Atwo\n" {
		t.Errorf("Lines keeps newlines only: %q", got)
	}
}

// Bounded cuts what Line makes of s, on a rune boundary, and says so.
func TestTextBounded(t *testing.T) {
	r := redact.New()
	r.Add("hunter2-secret")
	text := Text{Redactor: r}
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"0123456789abc", 10, "0123456…"},
		{"日本語のテキスト", 10, "日本…"},
		{"token hunter2-secret\x1b[2J", 64, "token <redacted>\\x1b[2J"},
	} {
		got := text.Bounded(c.in, c.limit)
		if got != c.want || len(got) > c.limit {
			t.Errorf("Bounded(%q, %d) = %q (%d bytes), want %q", c.in, c.limit, got, len(got), c.want)
		}
	}
}

func TestTextMarkdown(t *testing.T) {
	txt := Text{}
	cases := []struct{ in, want string }{
		{"# heading", `\# heading`},
		{"<img src=x onerror=alert(1)>", `\<img src=x onerror=alert(1)\>`},
		{"a | b", `a \| b`},
		{"`code` and *bold* _em_ ~~s~~ [l](u) ![i](u) &amp;", "\\`code\\` and \\*bold\\* \\_em\\_ \\~\\~s\\~\\~ \\[l\\](u) \\!\\[i\\](u) \\&amp;"},
		{"- item", `\- item`},
		{"12. item", `12\. item`},
		{"> quote", `\> quote`},
		{"NAME_UNKNOWN stays readable", "NAME_UNKNOWN stays readable"},
		{"line\n# two", `line\\n\# two`},
	}
	for _, c := range cases {
		if got := txt.Markdown(c.in); got != c.want {
			t.Errorf("Markdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := txt.MarkdownCell("- a | b"); got != `- a \| b` {
		t.Errorf("MarkdownCell: %q", got)
	}
	if got := txt.MarkdownCode("a`b|c<d>", true); got != "`a'b\\|c<d>`" {
		t.Errorf("MarkdownCode in a table: %q", got)
	}
	if got := txt.MarkdownSpans("run `crane copy A B`, never <docker push>"); got != "run `crane copy A B`, never \\<docker push\\>" {
		t.Errorf("MarkdownSpans: %q", got)
	}
	if got := txt.MarkdownBlock("a\n```\nb"); got != "````\na\n```\nb\n````\n" {
		t.Errorf("MarkdownBlock: %q", got)
	}
}

// JSON and YAML keep every value exact, control characters included, and
// only redact; YAML no longer refuses DEL and C1 controls.
func TestStructuredIsExactAndRedacted(t *testing.T) {
	r := redact.New()
	r.Add("s3cr3t-TOKEN")
	v := map[string]any{"message": "\x1b[2J\u009b\x7f\u202e<b> token s3cr3t-TOKEN https://u:p@h/x?sig=abc", "n": 1}
	want := "\x1b[2J\u009b\x7f\u202e<b> token <redacted> https://<redacted>@h/x?<redacted>"
	for _, f := range []Format{JSON, YAML} {
		var b bytes.Buffer
		if err := (Printer{Format: f, Redactor: r}).Structured(&b, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var got map[string]any
		var err error
		if f == JSON {
			err = json.Unmarshal(b.Bytes(), &got)
		} else {
			err = yaml.Unmarshal(b.Bytes(), &got)
		}
		if err != nil || got["message"] != want || strings.Contains(b.String(), "s3cr3t") {
			t.Errorf("%s: %v %q\n%s", f, err, got["message"], b.String())
		}
	}
}

func TestSafeWriter(t *testing.T) {
	r := redact.New()
	r.Add("pa55w0rd-x")
	var b bytes.Buffer
	w := NewSafeWriter(&b, r)
	if NewSafeWriter(w, r) != w {
		t.Error("wrapping twice should not filter twice")
	}
	_, _ = w.Write([]byte("error: \x1b[31mpa55w0rd-x\x1b[0m\nnext line\n"))
	if got := b.String(); got != "error: \\x1b[31m<redacted>\\x1b[0m\nnext line\n" {
		t.Errorf("got %q", got)
	}
}

// JSON output writes every control and format character as a \u escape
// (tag characters beyond the BMP as surrogate pairs), and decodes to the
// exact values.
func TestJSONEscapesWhatTerminalsInterpret(t *testing.T) {
	in := map[string]string{
		"controls": "\x1b[2J\u009b2J\u0085\x7f",
		"bidi":     "\u202eexe.tset\u202c \u2066i\u2069 \u200b\u200d\ufeff\u2028\u2029",
		"tags":     "hidden\U000E0041\U000E0042\U000E007F text",
		"keeps":    "é, 日本, 🙂, \uFFFD, <b>&",
	}
	var b bytes.Buffer
	if err := (Printer{Format: JSON}).Structured(&b, in); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, r := range out {
		if r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0x200b || r == 0xfeff || r >= 0xe0000 && r <= 0xe007f {
			t.Errorf("raw %U in %s", r, out)
		}
	}
	if !strings.Contains(out, `\udb40\udc41`) || !strings.Contains(out, "é, 日本, 🙂") {
		t.Errorf("escapes: %s", out)
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for k, v := range in {
		if back[k] != v {
			t.Errorf("%s: decoded %q, want %q", k, back[k], v)
		}
	}
}
