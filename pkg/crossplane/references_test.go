package crossplane

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
)

func TestDefaultRegistry(t *testing.T) {
	for v, want := range map[string]string{
		"v1.14.9": "index.docker.io", "v1.15.0": "xpkg.upbound.io", "v1.19.3": "xpkg.upbound.io",
		"v1.20.0-rc.1": "xpkg.crossplane.io", "v1.20.11": "xpkg.crossplane.io", "v2.0.0": "", "v2.3.4": "",
	} {
		if got := DefaultRegistry(semver.MustParse(v)); got != want {
			t.Errorf("%s: %q, want %q", v, got, want)
		}
	}
}

func TestRegistryOfAndQualify(t *testing.T) {
	cases := []struct{ ref, registry, qualified string }{
		{"crossplane-contrib/provider-nop:v0.2.1", "", "xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1"},
		{"crossplane-contrib/provider-nop", "", "xpkg.crossplane.io/crossplane-contrib/provider-nop"},
		{"xpkg.upbound.io/upbound/provider-aws-s3:v1", "xpkg.upbound.io", "xpkg.upbound.io/upbound/provider-aws-s3:v1"},
		{"localhost:5000/p:v1", "localhost:5000", "localhost:5000/p:v1"},
		{"127.0.0.1:5000/p", "127.0.0.1:5000", "127.0.0.1:5000/p"},
	}
	for _, c := range cases {
		if got := RegistryOf(c.ref); got != c.registry {
			t.Errorf("RegistryOf(%q) = %q, want %q", c.ref, got, c.registry)
		}
		if got := Qualify(c.ref, "xpkg.crossplane.io"); got != c.qualified {
			t.Errorf("Qualify(%q) = %q, want %q", c.ref, got, c.qualified)
		}
	}
}

// TestFullyQualified covers the v2 CEL rule (apis/pkg/v1/package_types.go@v2.0.0)
// and the strict parse behind it; TestPreflightEnvtest checks the same
// references against a real API server with Crossplane v2.3.4's CRDs.
func TestFullyQualified(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0", 64)
	cases := []struct {
		ref  string
		ok   bool
		text string
	}{
		{"xpkg.crossplane.io/crossplane-contrib/provider-nop:v0.2.1", true, ""},
		{"xpkg.crossplane.io/crossplane-contrib/provider-nop@" + digest, true, ""},
		{"registry.example.com:5000/repo/package:tag", true, ""},
		{"crossplane-contrib/provider-nop:v0.2.1", false, PackageSourceRuleMessage},
		{"xpkg.crossplane.io/crossplane-contrib/provider-nop", false, PackageSourceRuleMessage},
		{"localhost:5000/provider-nop:v1", false, PackageSourceRuleMessage},
		{"provider-nop:v1", false, PackageSourceRuleMessage},
		// The rule admits it; go-containerregistry's strict parse does not.
		{"index.docker.io/provider-nop:v1", false, "package tag is not a valid reference: could not parse reference"},
	}
	for _, c := range cases {
		err := FullyQualified(c.ref)
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want ok=%v (%q)", c.ref, err, c.ok, c.text)
		}
	}
	for s, want := range map[string]bool{"crossplane-contrib/provider-nop": false, "xpkg.crossplane.io/crossplane-contrib/provider-nop": true, " xpkg.upbound.io/upbound/provider-family-aws": true} {
		if DependencyQualified(s) != want {
			t.Errorf("DependencyQualified(%q) != %v", s, want)
		}
	}
}

func TestCrossplaneCompatible(t *testing.T) {
	cases := []struct {
		constraint, version string
		ok                  bool
		msg                 string
	}{
		{">=v1.14.0", "v2.3.4", true, ""},
		{"", "v2.3.4", true, ""},
		{">=v1.14.0, <v2.0.0", "v2.0.0", false, "incompatible Crossplane version: package is not compatible with Crossplane version (v2.0.0)"},
		{">=v1.14.0", "v2.0.0-rc.1", false, "(v2.0.0-rc.1)"},
		{">=v2.0.0-0", "v2.0.0-rc.1", true, ""},
		{"not a constraint", "v2.0.0", false, "incompatible Crossplane version: package is not compatible with Crossplane version (v2.0.0): improper constraint"},
	}
	for _, c := range cases {
		ok, msg := CrossplaneCompatible(c.constraint, semver.MustParse(c.version))
		if ok != c.ok || !strings.Contains(msg, c.msg) || ok && msg != "" {
			t.Errorf("%q vs %s: %v %q, want %v %q", c.constraint, c.version, ok, msg, c.ok, c.msg)
		}
	}
}

func TestDependencySatisfied(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		installed, constraint string
		ok                    bool
		msg                   string
	}{
		{"v0.2.1", ">=v0.2.0", true, ""},
		{"v0.2.1", ">=v0.3.0", false, "incompatible dependencies: existing package src@v0.2.1 is incompatible with constraint >=v0.3.0"},
		{d, d, true, ""},
		{"v0.2.1", d, false, "existing package src@v0.2.1 is incompatible with constraint " + d},
		{"latest", ">=v0.1.0", false, "invalid semantic version"},
		{"v0.2.1", "", false, "improper constraint"},
	}
	for _, c := range cases {
		ok, msg := DependencySatisfied("src", c.installed, c.constraint)
		if ok != c.ok || !strings.Contains(msg, c.msg) {
			t.Errorf("%s vs %q: %v %q, want %v %q", c.installed, c.constraint, ok, msg, c.ok, c.msg)
		}
	}
}

func TestParseCoreArgs(t *testing.T) {
	v2 := semver.MustParse("2.0.0")
	cases := []struct {
		args    []string
		refused []string
	}{
		{[]string{"core", "start", "--registry=r.example"}, []string{"registry"}},
		{[]string{"core", "start", "--registry", "r.example", "--debug"}, []string{"registry"}},
		{[]string{"core", "start", "-r", "r.example"}, []string{"registry"}},
		{[]string{"core", "start", "-rr.example"}, []string{"registry"}},
		{[]string{"core", "start", "--registry="}, nil},
		{[]string{"core", "start", "--enable-external-secret-stores=false", "--enable-composition-webhook-schema-validation=false"}, nil},
		{[]string{"core", "start", "--enable-external-secret-stores", "--enable-environment-configs"}, []string{"enable-external-secret-stores", "enable-environment-configs"}},
		{[]string{"core", "start", "--enable-usages", "-d"}, nil},
	}
	for _, c := range cases {
		var got []string
		for _, r := range ParseCoreArgs(c.args).Refused(v2) {
			got = append(got, r.Flag)
		}
		if strings.Join(got, ",") != strings.Join(c.refused, ",") {
			t.Errorf("%v: refused %v, want %v", c.args, got, c.refused)
		}
	}
	if r := ParseCoreArgs([]string{"-r", "x.example"}).Refused(v2); len(r) != 1 || r[0].Message != "unknown flag -r" || r[0].Written != "-r" {
		t.Errorf("short form: %+v", r)
	}
	if r := ParseCoreArgs([]string{"--registry=x.example"}).Refused(semver.MustParse("1.20.11")); len(r) != 0 {
		t.Errorf("v1.20 accepts --registry: %+v", r)
	}
}

// TestRemovedFlagsAgreeWithRealCore starts the real Crossplane cores with each
// removed flag and checks they refuse it with the message preflight predicts.
// The refusal happens before Crossplane talks to any API server.
func TestRemovedFlagsAgreeWithRealCore(t *testing.T) {
	dir := os.Getenv("XPDOCTOR_CROSSPLANE_DIR")
	if dir == "" {
		dir = "/work/main/.cache/crossplane"
	}
	for _, version := range []string{"v2.1.3", "v2.3.4"} {
		bin := filepath.Join(dir, "crossplane-"+version)
		if _, err := os.Stat(bin); err != nil {
			t.Logf("skipping %s: %v (test/build-crossplane.sh builds it)", version, err)
			continue
		}
		ver := semver.MustParse(version)
		for _, f := range RemovedFlags {
			if ver.LessThan(f.Since) {
				continue
			}
			for _, args := range [][]string{{"--" + f.Flag + "=" + flagValue(f)}, shortForm(f)} {
				if args == nil {
					continue
				}
				refused := ParseCoreArgs(args).Refused(ver)
				if len(refused) != 1 {
					t.Fatalf("%s %v: preflight predicts %d refusals", version, args, len(refused))
				}
				cmd := exec.Command(bin, append([]string{"core", "start"}, args...)...)
				cmd.Env = []string{"HOME=" + t.TempDir(), "KUBECONFIG=/nonexistent"}
				done := make(chan struct{})
				var out []byte
				go func() { out, _ = cmd.CombinedOutput(); close(done) }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("%s %v: still running after 30s", version, args)
				}
				want := "crossplane: error: " + refused[0].Message
				if !strings.Contains(string(out), want) {
					t.Errorf("%s %v:\n got %s\nwant %s", version, args, strings.TrimSpace(string(out)), want)
				}
			}
		}
	}
}

func flagValue(f RemovedFlag) string {
	if takesValue(f.Flag) {
		return "registry.example.com"
	}
	return "true"
}

func shortForm(f RemovedFlag) []string {
	if f.Short == "" {
		return nil
	}
	return []string{"-" + f.Short, flagValue(f)}
}
