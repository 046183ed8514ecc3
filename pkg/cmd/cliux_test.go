package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// closedRegistry is a loopback address nothing listens on: dumps name it,
// and the tests that read them inspect nothing.
const closedRegistry = "127.0.0.1:9"

// testDump writes testdata/NAME with REGISTRY replaced, for --from-file.
func testDump(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(raw), "REGISTRY", closedRegistry)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rowKinds are the KIND column of a table printed with --no-headers.
func rowKinds(out string) []string {
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			kinds = append(kinds, f[0])
		}
	}
	return kinds
}

// --kind repeated and comma-separated keeps every kind; before, the last won.
func TestKindRepeatedAndCommaSeparated(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	for _, args := range [][]string{
		{"--kind", "Function", "--kind", "Configuration"},
		{"--kind", "Function,Configuration"},
		{"--kind", "functions", "--kind", "configurations.pkg.crossplane.io", "--kind", "Function"},
	} {
		out, errOut, _ := run(t, append([]string{"--from-file", dump, "--inspect", "none", "--no-headers"}, args...)...)
		if got := rowKinds(out); !slices.Equal(got, []string{"Function", "Configuration"}) {
			t.Errorf("%v: kinds %v, want Function and Configuration\n%s%s", args, got, out, errOut)
		}
	}
	_, errOut, code := run(t, "--from-file", dump, "--kind", "Provider,Composition")
	if code != ExitError || !strings.Contains(errOut, `--kind "Composition": want Provider, Function or Configuration`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

// Every usage error ends with kubectl's hint naming the command, once:
// flags cobra refuses, argument counts, and xpdoctor's own validation.
func TestUsageErrorsEndWithHelpHint(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	for _, tc := range []struct {
		args    []string
		command string
		says    string
	}{
		{[]string{"diagnose", "--bogus"}, "diagnose", "unknown flag: --bogus"},
		{[]string{"--timeout", "soon"}, "", `invalid argument "soon"`},
		{[]string{"inspect"}, "inspect", "requires at least 1 arg(s)"},
		{[]string{"diagnose", "--from-file", dump, "-o", "xml"}, "diagnose", `unknown output format "xml"`},
		{[]string{"diagnose", "--from-file", dump, "--upstream-registry", "foo"}, "diagnose", `upstream "foo" is not a registry prefix`},
		{[]string{"fix", "--from-file", dump}, "fix", "fix needs --upstream-registry"},
		{[]string{"mirror", "a"}, "mirror", "want SRC DST"},
		{[]string{"version", "-o", "xml"}, "version", "xml"},
	} {
		_, errOut, code := run(t, tc.args...)
		hint := "See 'xpdoctor " + tc.command + " -h' for help and examples.\n"
		if tc.command == "" {
			hint = "See 'xpdoctor -h' for help and examples.\n"
		}
		if code != ExitError || !strings.Contains(errOut, tc.says) || !strings.HasSuffix(errOut, hint) || strings.Count(errOut, "See '") != 1 {
			t.Errorf("%v: exit %d, stderr:\n%s(want %q and, last, %q)", tc.args, code, errOut, tc.says, hint)
		}
	}
	// A failed run is no usage error: no hint.
	_, errOut, code := run(t, "inspect", closedRegistry+"/acme/p:v1", "--timeout", "5s")
	if code == ExitOK || strings.Contains(errOut, "See '") {
		t.Errorf("a registry failure: exit %d, hint given:\n%s", code, errOut)
	}
}

// -o name prints kind.group/name as kubectl get -o name does.
func TestDiagnoseOutputName(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	out, errOut, code := run(t, "--from-file", dump, "--inspect", "none", "-o", "name", "--kind", "Function,Configuration", "--exit-zero")
	want := "function.pkg.crossplane.io/function-runtime\nconfiguration.pkg.crossplane.io/configuration-platform\n"
	if code != ExitOK || out != want {
		t.Fatalf("exit %d\n%s\nwant\n%s%s", code, out, want, errOut)
	}
	// kubectl's habit: the names feed kubectl.
	out, _, _ = run(t, "--from-file", dump, "--inspect", "none", "-o", "name", "provider-nop")
	if out != "provider.pkg.crossplane.io/provider-nop\n" {
		t.Fatalf("%q", out)
	}
}

// -o jsonpath runs the template on the JSON report; values are escaped,
// what the template writes is not; a bad template is a usage error.
func TestDiagnoseOutputJSONPath(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	out, errOut, code := run(t, "--from-file", dump, "--inspect", "none", "--kind", "Function,Configuration",
		"-o", `jsonpath={range .findings[*]}{.severity}{"\t"}{.code}{"\t"}{.subject.name}{"\n"}{end}`)
	want := "error\tManifestNotFound\tconfiguration-platform\nerror\tPackageYAMLNotFound\tfunction-runtime\n"
	if code != ExitFindings || out != want {
		t.Fatalf("exit %d\n%q\nwant\n%q\n%s", code, out, want, errOut)
	}
	var d diagJSON
	jsonOut, _, _ := run(t, "--from-file", dump, "--inspect", "none", "-o", "json")
	if err := json.Unmarshal([]byte(jsonOut), &d); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, "--from-file", dump, "--inspect", "none", "-o", "jsonpath={.crossplaneVersion} {.packages[0].name} {.missing}")
	if out != d.CrossplaneVersion+" "+d.Packages[0].Name+" " {
		t.Fatalf("%q", out)
	}
	for _, bad := range []string{"jsonpath={.packages[", "jsonpath=", "jsonpath"} {
		_, errOut, code = run(t, "--from-file", dump, "-o", bad)
		if code != ExitError || !strings.Contains(errOut, "jsonpath") || !strings.Contains(errOut, "See '") {
			t.Errorf("-o %s: exit %d\n%s", bad, code, errOut)
		}
	}
}

// Hostile texts stay escaped in -o jsonpath and -o name.
func TestJSONPathAndNameEscapeOutsideText(t *testing.T) {
	pinClock(t)
	dump := hostileDump(t)
	for _, o := range []string{"name", `jsonpath={range .findings[*]}{.message}{"\n"}{range .evidence[*]}{@}{"\n"}{end}{end}`} {
		out, _, _ := run(t, "--from-file", dump, "--inspect", "none", "-o", o)
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				t.Fatalf("-o %s: an empty line", o)
			}
			for _, r := range l {
				if unsafeForTerminal(r) {
					t.Fatalf("-o %s: %q reaches the terminal in %q", o, r, l)
				}
			}
		}
		if !strings.Contains(out, `\x1b`) {
			t.Fatalf("-o %s: no escaped ESC in\n%s", o, out)
		}
	}
}

// unsafeForTerminal are the runes no human format writes raw (report's rule).
func unsafeForTerminal(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0x2066
}

// --no-headers: diagnose prints the package rows only; inspect's tables
// lose their header rows; other formats refuse it.
func TestNoHeaders(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	out, _, _ := run(t, "--from-file", dump, "--inspect", "none", "--no-headers")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 9 || strings.Contains(out, "KIND") || strings.Contains(out, "Summary") || !strings.HasPrefix(lines[0], "Provider ") {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	wide, _, _ := run(t, "--from-file", dump, "--inspect", "none", "--no-headers", "-o", "wide")
	if strings.Count(wide, "\n") != 9 || strings.Contains(wide, "REVISION") {
		t.Fatalf("wide:\n%s", wide)
	}
	_, errOut, code := run(t, "--from-file", dump, "--no-headers", "-o", "json")
	if code != ExitError || !strings.Contains(errOut, "--no-headers applies to table and wide output, not -o json") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

// The summary line counts findings per severity; --fail-on decides the
// exit status: error (default, as before), warning, none.
func TestSummaryLineAndFailOn(t *testing.T) {
	errors := testDump(t, "cluster.yaml")
	warning := testDump(t, "paused-dump.yaml")
	out, _, code := run(t, "--from-file", warning, "--inspect", "none")
	if code != ExitOK || !strings.HasSuffix(out, "\nSummary: 1 warning (1 package, 0 not healthy).\n") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "--from-file", errors, "--inspect", "none")
	if !strings.HasSuffix(out, "\nSummary: 7 errors (9 packages, 6 not healthy).\n") {
		t.Fatalf("%s", out)
	}
	md, _, _ := run(t, "--from-file", warning, "--inspect", "none", "-o", "markdown")
	if !strings.HasSuffix(md, "Summary: 1 warning (1 package, 0 not healthy).\n") {
		t.Fatalf("%s", md)
	}
	for _, tc := range []struct {
		dump string
		args []string
		want int
	}{
		{warning, nil, ExitOK},
		{warning, []string{"--fail-on", "error"}, ExitOK},
		{warning, []string{"--fail-on", "warning"}, ExitFindings},
		{warning, []string{"--fail-on", "warning", "-o", "json"}, ExitFindings},
		{errors, nil, ExitFindings},
		{errors, []string{"--fail-on", "warning"}, ExitFindings},
		{errors, []string{"--fail-on", "none"}, ExitOK},
		{errors, []string{"--exit-zero"}, ExitOK},
		{errors, []string{"--exit-zero", "--fail-on", "none"}, ExitOK},
		{errors, []string{"--exit-zero", "--fail-on", "warning"}, ExitError},
		{errors, []string{"--fail-on", "info"}, ExitError},
	} {
		_, errOut, code := run(t, append([]string{"--from-file", tc.dump, "--inspect", "none"}, tc.args...)...)
		if code != tc.want {
			t.Errorf("%s %v: exit %d, want %d\n%s", filepath.Base(tc.dump), tc.args, code, tc.want, errOut)
		}
	}
}

// inspect: -o name pins each image to its digest, -o jsonpath reads the
// report, --no-headers drops the header rows, --fail-on warning fails on
// the docker mirror's warnings.
func TestInspectPrintersAndFailOn(t *testing.T) {
	host := pushIncident(t)
	genuine, mirror := host+"/upbound/provider-nop:v1.6.0", host+"/mirror/upbound/provider-nop:v1.6.0"
	jsonOut, _, _ := run(t, "inspect", genuine, mirror, "-o", "json", "--dependencies=false")
	var rep struct {
		Images []struct{ Digest string } `json:"images"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &rep); err != nil || len(rep.Images) != 2 {
		t.Fatalf("%v\n%s", err, jsonOut)
	}
	out, errOut, code := run(t, "inspect", genuine, mirror, "-o", "name", "--dependencies=false", "--exit-zero")
	want := host + "/upbound/provider-nop@" + rep.Images[0].Digest + "\n" + host + "/mirror/upbound/provider-nop@" + rep.Images[1].Digest + "\n"
	if code != ExitOK || out != want {
		t.Fatalf("-o name: exit %d\n%s\nwant\n%s%s", code, out, want, errOut)
	}
	out, _, _ = run(t, "inspect", genuine, mirror, "--dependencies=false", "-o", `jsonpath={range .images[*]}{.digest}{"\n"}{end}`)
	if out != rep.Images[0].Digest+"\n"+rep.Images[1].Digest+"\n" {
		t.Fatalf("-o jsonpath: %q", out)
	}
	table, _, _ := run(t, "inspect", genuine, "--dependencies=false")
	bare, _, _ := run(t, "inspect", genuine, "--dependencies=false", "--no-headers")
	for _, h := range []string{"PLATFORM ", "CROSSPLANE    OUTCOME"} {
		if !strings.Contains(table, h) || strings.Contains(bare, h) {
			t.Errorf("header %q: in the table %v, with --no-headers %v", h, strings.Contains(table, h), strings.Contains(bare, h))
		}
	}
	if !strings.Contains(bare, "v2.2+") || !strings.Contains(bare, "linux/amd64") {
		t.Fatalf("--no-headers lost rows:\n%s", bare)
	}
	// The docker mirror parses through the flatten fallback (exit 1 by
	// default); the genuine package has no finding at all.
	for _, tc := range []struct {
		ref, failOn string
		want        int
	}{{genuine, "warning", ExitOK}, {mirror, "error", ExitFindings}, {mirror, "none", ExitOK}, {mirror, "warning", ExitFindings}} {
		if _, errOut, code := run(t, "inspect", tc.ref, "--dependencies=false", "--fail-on", tc.failOn); code != tc.want {
			t.Errorf("%s --fail-on %s: exit %d, want %d\n%s", tc.ref, tc.failOn, code, tc.want, errOut)
		}
	}
}

// Completion of the values this work added: kinds after a comma, the new
// output formats (jsonpath= without a trailing space), --fail-on, fix's
// own formats.
func TestCompletionOfListsAndFormats(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		dir  string
	}{
		{[]string{"--kind", ""}, []string{"Provider", "Function", "Configuration"}, ":4"},
		{[]string{"--kind", "Provider,"}, []string{"Provider,Function", "Provider,Configuration"}, ":4"},
		{[]string{"diagnose", "--kind", "provider,f"}, []string{"provider,Function"}, ":4"},
		{[]string{"-o", ""}, []string{"table", "wide", "json", "yaml", "markdown", "name", "jsonpath="}, ":4"},
		{[]string{"diagnose", "-o", "js"}, []string{"json", "jsonpath="}, ":4"},
		{[]string{"diagnose", "-o", "jsonp"}, []string{"jsonpath="}, ":6"},
		{[]string{"inspect", "-o", ""}, []string{"table", "wide", "json", "yaml", "name", "jsonpath="}, ":4"},
		{[]string{"fix", "-o", ""}, []string{"table", "json"}, ":4"},
		{[]string{"--fail-on", ""}, []string{"error", "warning", "none"}, ":4"},
		{[]string{"inspect", "--fail-on", ""}, []string{"error", "warning", "none"}, ":4"},
	} {
		names, dir := complete(t, c.args...)
		if !slices.Equal(names, c.want) || dir != c.dir {
			t.Errorf("%v: %v %s, want %v %s", c.args, names, dir, c.want, c.dir)
		}
	}
}

// --crossplane-namespace completes the cluster's namespaces, as -n does.
func TestCompletionOfCrossplaneNamespace(t *testing.T) {
	env := testenv.Start(t, false)
	create(t, env.Config, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: upbound-system\n")
	for _, cmd := range [][]string{nil, {"diagnose"}, {"fix"}, {"serve"}, {"mcp"}} {
		names, dir := complete(t, append(cmd, "--kubeconfig", env.Kubeconfig, "--crossplane-namespace", "up")...)
		if !slices.Equal(names, []string{"upbound-system"}) || dir != ":4" {
			t.Errorf("%v: %v %s", cmd, names, dir)
		}
	}
	// The context completes from the kubeconfig, beside it.
	if names, _ := complete(t, "--kubeconfig", env.Kubeconfig, "--crossplane-namespace", "x", "--context", ""); !slices.Equal(names, []string{"envtest"}) {
		t.Errorf("--context: %v", names)
	}
}

// A user without rights gets one PermissionDenied per API group refused
// (and namespace), naming the resources and the user, not one per
// resource; a user with only part of docs/rbac.yaml gets the rest named.
func TestPermissionDeniedOnePerGroup(t *testing.T) {
	env, _, _ := incidentCluster(t)
	// carol may discover the APIs (every authenticated user may) and nothing more.
	base := []string{"--kubeconfig", env.Kubeconfig, "--inspect", "none"}
	out, errOut, code := run(t, append(base, "--as", "carol", "-o", "json")...)
	if code != ExitError || !strings.Contains(errOut, "some reads were forbidden") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var d struct {
		Findings []struct {
			Code, Message string
			Evidence      []string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var denied []string
	for _, f := range d.Findings {
		if f.Code == "PermissionDenied" {
			denied = append(denied, f.Message)
			if len(f.Evidence) > 2 {
				t.Errorf("%d evidence lines for %s", len(f.Evidence), f.Message)
			}
		}
	}
	var pkgLine string
	for _, m := range denied {
		if strings.Contains(m, "pkg.crossplane.io: ") {
			if pkgLine != "" {
				t.Errorf("two findings for pkg.crossplane.io:\n%s\n%s", pkgLine, m)
			}
			pkgLine = m
		}
	}
	for _, r := range []string{"providers", "providerrevisions", "functions", "functionrevisions", "configurations", "configurationrevisions"} {
		if !strings.Contains(pkgLine, r) {
			t.Errorf("the pkg.crossplane.io finding does not name %s: %q", r, pkgLine)
		}
	}
	if !strings.HasPrefix(pkgLine, "not allowed to list pkg.crossplane.io: ") || !strings.Contains(pkgLine, `(forbidden for user "carol")`) {
		t.Errorf("%q", pkgLine)
	}
	// Before, each resource was its own finding: 13 or more.
	if len(denied) > 6 {
		t.Errorf("%d PermissionDenied findings, want one per API group and namespace:\n%s", len(denied), strings.Join(denied, "\n"))
	}
	table, _, _ := run(t, append(base, "--as", "carol")...)
	if n := strings.Count(table, "PermissionDenied"); n != len(denied) {
		t.Errorf("the table has %d PermissionDenied, the JSON %d", n, len(denied))
	}
	t.Logf("%d findings for carol:\n%s", len(denied), strings.Join(denied, "\n"))
}

// inspect oci:DIR and oci-archive:FILE judge each reference an export
// records, through transfer's reader, before it is carried across the air
// gap: the same verdicts as the registry it came from, named as the user
// named them, without the loopback registry that served them.
func TestInspectLocalLayoutAndArchive(t *testing.T) {
	host := pushIncident(t)
	genuine, runtime := host+"/upbound/provider-nop:v1.6.0", host+"/mirror/upbound/provider-runtime:v1.6.0"
	dir := t.TempDir()
	for _, loc := range []string{"oci:" + dir + "/layout", "oci-archive:" + dir + "/carry.tar"} {
		for _, src := range []string{genuine, runtime} {
			if _, errOut, code := run(t, "mirror", src, loc, "--yes"); code != ExitOK {
				t.Fatalf("export %s to %s: exit %d\n%s", src, loc, code, errOut)
			}
		}
		fromRegistry, _, _ := run(t, "inspect", genuine, runtime, "-o", "json", "--dependencies=false")
		out, errOut, code := run(t, "inspect", loc, "-o", "json", "--dependencies=false")
		if code != ExitFindings {
			t.Fatalf("%s: exit %d, want 1 (the runtime image is no package)\n%s", loc, code, errOut)
		}
		var want, got struct {
			Images []struct {
				Reference, Digest string
				Verdicts          []struct{ Outcome, Message string }
				Findings          []struct{ Code string }
			} `json:"images"`
		}
		if err := json.Unmarshal([]byte(fromRegistry), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(got.Images) != 2 {
			t.Fatalf("%s: %d images", loc, len(got.Images))
		}
		for _, g := range got.Images {
			_, recorded, _ := strings.Cut(strings.TrimSuffix(g.Reference, ")"), " (")
			if !strings.HasPrefix(g.Reference, loc+" (") {
				t.Errorf("reference %q is not named as %s (REF)", g.Reference, loc)
			}
			var w *struct {
				Reference, Digest string
				Verdicts          []struct{ Outcome, Message string }
				Findings          []struct{ Code string }
			}
			for i := range want.Images {
				if want.Images[i].Reference == recorded {
					w = &want.Images[i]
				}
			}
			if w == nil {
				t.Fatalf("%s records %q, which was not exported", loc, recorded)
			}
			if g.Digest != w.Digest || len(g.Verdicts) != len(w.Verdicts) || len(g.Findings) != len(w.Findings) {
				t.Errorf("%s: %s judged differently from the registry:\n%+v\n%+v", loc, recorded, g, *w)
			}
			for i := range g.Verdicts {
				if g.Verdicts[i] != w.Verdicts[i] {
					t.Errorf("%s %s: verdict %+v, from the registry %+v", loc, recorded, g.Verdicts[i], w.Verdicts[i])
				}
			}
		}
		if strings.Contains(out, "layout/r0") {
			t.Errorf("%s: the loopback registry shows in the report:\n%s", loc, out)
		}
		names, _, _ := run(t, "inspect", loc, "-o", "name", "--dependencies=false")
		if !strings.Contains(names, host+"/upbound/provider-nop@sha256:") || strings.Count(names, "\n") != 2 {
			t.Errorf("-o name: %s", names)
		}
	}
	// What is not a layout, or not there, is said once, exit 2.
	for _, bad := range []struct{ loc, says string }{
		{"oci:" + dir + "/none", "does not exist"},
		{"oci:" + dir + "/carry.tar", "is not a directory"},
		{"oci:", "needs a path"},
	} {
		_, errOut, code := run(t, "inspect", bad.loc)
		if code != ExitError || !strings.Contains(errOut, bad.says) || strings.Count(errOut, "error:") != 1 {
			t.Errorf("%s: exit %d\n%s", bad.loc, code, errOut)
		}
	}
}

// A layout that lies: index.json names a manifest whose blob holds other
// bytes. The layout is judged unreadable, never healthy.
func TestInspectLocalLayoutThatLies(t *testing.T) {
	host := pushIncident(t)
	dir := filepath.Join(t.TempDir(), "layout")
	if _, errOut, code := run(t, "mirror", host+"/upbound/provider-nop:v1.6.0", "oci:"+dir, "--yes"); code != ExitOK {
		t.Fatal(errOut)
	}
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(raw, &idx) != nil || len(idx.Manifests) != 1 {
		t.Fatalf("%v %s", err, raw)
	}
	blob := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(idx.Manifests[0].Digest, "sha256:"))
	if err := os.WriteFile(blob, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "inspect", "oci:"+dir, "--dependencies=false")
	if code != ExitFindings || !strings.Contains(out, "ERROR") || strings.Contains(out, "BaseLayer ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "hash") && !strings.Contains(out, "digest") {
		t.Errorf("the error does not say the bytes do not match their digest:\n%s", out)
	}
}

// fix -o json prints the plan (and with --yes the result) as JSON on
// stdout, everything human on stderr; -q prints only the summary.
func TestFixJSONAndQuiet(t *testing.T) {
	pinClock(t)
	env, _, host := incidentCluster(t)
	base := []string{"fix", "provider-docker", "--kubeconfig", env.Kubeconfig, "--upstream-registry", host + "/mirror=" + host}
	out, errOut, code := run(t, append(base, "-o", "json")...)
	var plan struct {
		APIVersion, Kind string
		Items            []struct {
			Action      string
			Destination struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != ExitOK {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if plan.Kind != "TransferPlan" || len(plan.Items) != 1 || plan.Items[0].Destination.Ref != host+"/mirror/upbound/provider-nop:v1.6.0" || plan.Items[0].Action != "move" {
		t.Fatalf("%+v", plan)
	}
	// Without --yes the plan is the output, -q or not (as for mirror).
	if table, _, _ := run(t, append(base, "-q")...); !strings.Contains(table, "PLAN ") {
		t.Fatalf("-q without --yes:\n%s", table)
	}
	quiet, errOut, code := run(t, append(base, "-q", "--yes")...)
	if code != ExitOK || strings.Contains(quiet, "PLAN ") || strings.Contains(quiet, "provider-docker") || strings.Count(strings.TrimSpace(quiet), "\n") > 2 ||
		!strings.Contains(quiet, "1 reference(s): 1 copied") {
		t.Fatalf("-q --yes: exit %d\n%s\n%s", code, quiet, errOut)
	}
	if _, errOut, code := run(t, append(base, "-o", "yaml")...); code != ExitError || !strings.Contains(errOut, `unknown output format "yaml"`) {
		t.Fatalf("fix -o yaml: exit %d\n%s", code, errOut)
	}
}

// diagnose of a package whose tag is missing says so once, from its own
// read of the registry, and offers the nearest tags that exist.
func TestDiagnoseMissingTagOffersNearestTags(t *testing.T) {
	pinClock(t)
	reg := testregistry.InProcess(t)
	for _, tag := range []string{"v1.5.0", "v1.6.0", "v1.6.2", "v2.0.0"} {
		if err := xpkgtest.Push(reg.Host+"/acme/provider-nop:"+tag, provider.Index()); err != nil {
			t.Fatal(err)
		}
	}
	ref := reg.Host + "/acme/provider-nop:v1.6.1"
	// Crossplane's message for a missing tag (as in testdata/cluster.yaml).
	msg := "cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: HEAD http://" + reg.Host + "/v2/acme/provider-nop/manifests/v1.6.1: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details): GET http://" + reg.Host + "/v2/acme/provider-nop/manifests/v1.6.1: MANIFEST_UNKNOWN: manifest unknown; map[Tag:v1.6.1]"
	dump := filepath.Join(t.TempDir(), "dump.yaml")
	doc := `apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-nop}
spec: {package: "` + ref + `"}
status:
  conditions:
  - {type: Installed, status: "False", reason: UnpackingPackage, lastTransitionTime: "2026-11-27T01:00:00Z", message: "` + msg + `"}
`
	if err := os.WriteFile(dump, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "--from-file", dump, "--crossplane-version", "v2.1.3")
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"ManifestNotFound Provider/provider-nop [error]\n   the registry has no manifest for this reference (missing tag or repository): tag v1.6.1 does not exist in " + reg.Host + "/acme/provider-nop",
		"fix: set spec.package to a tag that exists, the nearest: v1.6.2, v1.6.0, v1.5.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	noGo := []string{"map[Tag", "interface {}"}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "evidence:") {
			continue // Crossplane's own words, quoted
		}
		for _, g := range noGo {
			if strings.Contains(l, g) {
				t.Errorf("xpdoctor's own text shows %q: %s", g, l)
			}
		}
	}
}

// preflight takes -o jsonpath too (every command's -o that prints a
// structured report does).
func TestPreflightOutputJSONPath(t *testing.T) {
	dump := testDump(t, "cluster.yaml")
	args := []string{"preflight", "--from-file", dump, "--to", "v2.3.4", "--timeout", "30s", "--insecure-registry", closedRegistry}
	jsonOut, _, _ := run(t, append(args, "-o", "json")...)
	var rep struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &rep); err != nil || rep.Kind == "" {
		t.Fatalf("%v\n%s", err, jsonOut)
	}
	out, errOut, _ := run(t, append(args, "-o", "jsonpath={.kind}")...)
	if out != rep.Kind {
		t.Fatalf("%q, want %q\n%s", out, rep.Kind, errOut)
	}
}

// A failed copy names the reference once ("reading source X: X: GET ..."
// before) and shows no Go value; fix's "cannot repair" line too.
func TestMirrorErrorNamesTheReferenceOnce(t *testing.T) {
	host := pushIncident(t)
	src := host + "/upbound/provider-nop:v1.6.O"
	_, errOut, code := run(t, "mirror", src, host+"/copy/provider-nop:v1")
	if code != ExitError || strings.Count(errOut, src) != 1 || !strings.Contains(errOut, "reading source "+src+": tag v1.6.O does not exist") ||
		!strings.Contains(errOut, "the nearest tags there: v1.6.0") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, g := range []string{"map[", "interface {}"} {
		if strings.Contains(errOut, g) {
			t.Errorf("stderr shows %q:\n%s", g, errOut)
		}
	}
}
