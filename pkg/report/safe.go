package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// Outside text (condition and event messages anyone who can create Events
// can write, registry answers, package metadata) is data. Before it reaches
// a terminal or a ticket it is redacted, then escaped for the format:
//
//   - table, wide and every plain line (plans, summaries, errors on stderr):
//     control characters are shown as escapes (\x1b, \u009b, \u202e, \n),
//     so no CSI or OSC sequence (cursor moves, clear screen, OSC 52
//     clipboard writes), C1 control, bidirectional override or NUL reaches
//     the terminal, and a cell never holds a raw newline or tab;
//   - markdown: the same, then markdown and HTML punctuation is
//     backslash-escaped, so a message renders as the text it is;
//   - JSON and YAML: only redacted; their encoders escape.

// Text makes outside text safe to print. Its zero value redacts with the
// patterns only (see package redact).
type Text struct {
	Redactor *redact.Redactor
}

// Line is s for one line of a terminal: redacted, surrounding space
// trimmed, every control character escaped (newlines too).
func (t Text) Line(s string) string {
	return escapeTerminal(t.Redactor.String(strings.TrimSpace(s)), false)
}

// Bounded is Line cut to at most limit bytes, on a rune boundary, with "…"
// where it was cut: for fields an API bounds (an Event's note) and for
// metric labels.
func (t Text) Bounded(s string, limit int) string {
	s = t.Line(s)
	if len(s) <= limit {
		return s
	}
	const mark = "…"
	cut := max(limit-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Lines is s redacted and escaped for a terminal, keeping its newlines.
func (t Text) Lines(s string) string { return escapeTerminal(t.Redactor.String(s), true) }

// Printf writes format with every string, error and Stringer argument
// passed through Line: the format is xpdoctor's own text, the arguments
// are not. Numbers and other values are formatted as usual.
func (t Text) Printf(w io.Writer, format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			safe[i] = t.Line(v)
		case error:
			safe[i] = t.Line(v.Error())
		case fmt.Stringer:
			safe[i] = t.Line(v.String())
		default:
			safe[i] = a
		}
	}
	fmt.Fprintf(w, format, safe...)
}

// Markdown is s as markdown text that renders as s: one line, control
// characters escaped, markdown and HTML punctuation backslash-escaped
// (CommonMark s.2.4), and a leading list or heading marker neutralised.
func (t Text) Markdown(s string) string { return t.markdown(strings.TrimSpace(s), true) }

// MarkdownCell is Markdown for a table cell, where no line-start marker
// applies.
func (t Text) MarkdownCell(s string) string { return t.markdown(strings.TrimSpace(s), false) }

func (t Text) markdown(s string, lineStart bool) string {
	s = escapeTerminal(t.Redactor.String(s), false)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' && intraword(s, i):
			// An underscore inside a word never emphasises (CommonMark s.6.2).
		case strings.ContainsRune("\\`*_[]<>#|~&!", r):
			b.WriteByte('\\')
		case i == 0 && lineStart && strings.ContainsRune("-+=", r):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	out := b.String()
	// "1. text" and "1) text" open an ordered list at the start of a line.
	if n := len(out) - len(strings.TrimLeft(out, "0123456789")); lineStart && n > 0 && n < len(out) && (out[n] == '.' || out[n] == ')') {
		out = out[:n] + "\\" + out[n:]
	}
	return out
}

func intraword(s string, i int) bool {
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	return i > 0 && i+1 < len(s) && alnum(s[i-1]) && alnum(s[i+1])
}

// MarkdownCode is s as a `code span`: one line, control characters
// escaped, backticks replaced so nothing ends the span early; in a table
// cell pipes are escaped too (GFM tables honour \| even in code spans).
// HTML and markdown inside a code span are not interpreted.
func (t Text) MarkdownCode(s string, inTable bool) string {
	s = strings.ReplaceAll(t.Line(s), "`", "'")
	if s == "" {
		return "-"
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return "`" + s + "`"
}

// MarkdownSpans is Markdown, except that `code spans` in s stay code spans
// (xpdoctor's fixes quote commands that way). Code spans are inert: what
// they hold is not interpreted, so s may come from outside. With an odd
// number of backticks all of s is text.
func (t Text) MarkdownSpans(s string) string {
	s = t.Redactor.String(strings.TrimSpace(s))
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		return t.Markdown(s)
	}
	for i, part := range parts {
		if i%2 == 1 {
			parts[i] = t.MarkdownCode(part, false)
		} else {
			parts[i] = t.markdown(part, i == 0)
		}
	}
	return strings.Join(parts, "")
}

// MarkdownBlock is s as a fenced code block: newlines kept, control
// characters escaped, and a fence longer than any backtick run inside.
func (t Text) MarkdownBlock(s string) string {
	s = strings.TrimRight(t.Lines(s), "\n")
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + "\n" + s + "\n" + fence + "\n"
}

// escapeTerminal shows every control, format and separator character
// (Unicode Cc, Cf, Zl, Zp: C0 and C1 controls with ESC, CSI and OSC, DEL,
// bidirectional overrides and isolates, zero-width characters) and every
// invalid UTF-8 byte as a Go-style escape.
func escapeTerminal(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) && !(keepNewlines && r == '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepNewlines && r == '\n':
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// SafeWriter passes everything written through Text.Lines: for streams of
// xpdoctor's own lines that carry outside text (stderr, mirror and fix
// plans and summaries). Each Write is filtered whole (fmt writes each
// Printf in one call), so it holds nothing back and needs no flush.
type SafeWriter struct {
	w    io.Writer
	text Text
}

// NewSafeWriter wraps w; r holds the credentials to remove (nil: patterns only).
func NewSafeWriter(w io.Writer, r *redact.Redactor) *SafeWriter {
	if sw, ok := w.(*SafeWriter); ok && sw.text.Redactor == r {
		return sw
	}
	return &SafeWriter{w: w, text: Text{Redactor: r}}
}

// Write implements io.Writer.
func (s *SafeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, s.text.Lines(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap is the writer underneath (a progress bar needs the terminal itself).
func (s *SafeWriter) Unwrap() io.Writer { return s.w }

// escapeForYAML writes as JSON \u escapes the characters JSON leaves raw
// but a YAML reader refuses (YAML 1.1 s.5.1, go-yaml's "control characters
// are not allowed"): DEL, the C1 controls and U+FFFE/U+FFFF. They only
// occur inside string literals, whose value does not change; the YAML
// emitter then writes them escaped.
func escapeForYAML(b []byte) []byte {
	return escapeInJSON(b, func(r rune) bool { return r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xfffe || r == 0xffff })
}

// escapeForJSON writes as \u escapes what encoding/json leaves raw and a
// terminal or a reader would interpret: DEL, the C1 controls (U+009B is a
// CSI), and Unicode's format and separator characters (Cf, Zl, Zp:
// bidirectional overrides and isolates, zero-width characters, the tag
// characters U+E0000-U+E007F that hide text from a reader). A JSON reader
// decodes the same value, so JSON stays exact and `-o json` is safe to cat.
func escapeForJSON(b []byte) []byte {
	return escapeInJSON(b, func(r rune) bool {
		return r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xfffe || r == 0xffff || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
	})
}

// escapeInJSON writes every rune of b that escape selects as a JSON \u
// escape (a UTF-16 surrogate pair beyond the BMP, RFC 8259 s.7). b is
// encoding/json's output: such runes only occur inside string literals.
func escapeInJSON(b []byte, escape func(rune) bool) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x7f && escape(r) {
			out = append(out, b[last:i]...)
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
			last = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// redactJSON redacts the contents of every string literal of a JSON
// document and re-encodes the ones that changed, leaving the rest of the
// bytes as the encoder wrote them.
func redactJSON(b []byte, r *redact.Redactor) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		end := i + 1
		for end < len(b) && b[end] != '"' {
			if b[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(b) {
			break
		}
		var s string
		if json.Unmarshal(b[i:end+1], &s) == nil {
			if red := r.String(s); red != s {
				enc, _ := json.Marshal(red)
				out = append(append(out, b[last:i]...), enc...)
				last = end + 1
			}
		}
		i = end
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
