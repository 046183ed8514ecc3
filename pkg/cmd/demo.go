package cmd

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func newDemoCommand(s IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Replay a private-registry incident offline: no cluster, no network",
		Long: `Demo starts a registry inside this process on 127.0.0.1, pushes a genuine
2-platform Crossplane package as the "upstream", then damages two mirrors of it
the ways that break private clusters: a docker pull/tag/push copy, and the
provider's runtime image pushed in place of the package. It then runs the real
xpdoctor commands against them and prints their output.`,
		Example: exampleText("$0 demo"),
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDemo(c.Context(), s)
		},
	}
}

//go:embed demodump.yaml
var demoDump string

func runDemo(ctx context.Context, s IOStreams) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the demo registry: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	host := l.Addr().String()

	// The dependency lives in the demo registry too: inspect checks it, offline.
	pkg := xpkgtest.Package{Kind: "Provider", Name: "provider-nop", Crossplane: ">=v1.14.0-0", Objects: 3,
		DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: host + "/upbound/provider-family-aws", Version: ">=v1.6.0"}},
		Runtime:   []v1.Layer{xpkgtest.RandomLayer(7, 2<<20)}}
	family := xpkgtest.Package{Kind: "Provider", Name: "provider-family-aws", Crossplane: ">=v1.14.0-0"}
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	up := func(repo string) string { return host + "/upbound/" + repo + ":v1.6.0" }
	mirror := func(repo string) string { return host + "/mirror/upbound/" + repo + ":v1.6.0" }
	steps := []struct {
		what string
		do   func() error
	}{
		{"push genuine packages (OCI index, linux/amd64 + linux/arm64) as the upstream " + host + "/upbound/...", func() error {
			for _, r := range []string{"provider-nop", "provider-runtime", "provider-aws-s3"} {
				if err := xpkgtest.Push(up(r), pkg.Index()); err != nil {
					return err
				}
			}
			return xpkgtest.Push(up("provider-family-aws"), family.Index())
		}},
		{"mirror provider-nop the docker pull/tag/push way to " + mirror("provider-nop"), func() error { return xpkgtest.DockerRepush(mirror("provider-nop"), pkg.Image(amd64)) }},
		{"push the provider's runtime image instead of the package to " + mirror("provider-runtime"), func() error {
			return xpkgtest.Push(mirror("provider-runtime"), xpkgtest.RuntimeImage(amd64, pkg.Runtime...))
		}},
		{"mirror provider-aws-s3 correctly (its dependency is not mirrored)", func() error { return xpkgtest.Push(mirror("provider-aws-s3"), pkg.Index()) }},
	}
	fmt.Fprintf(s.Out, "Demo registry on %s (in this process).\n", host)
	for _, st := range steps {
		fmt.Fprintf(s.Out, "- %s\n", st.what)
		if err := st.do(); err != nil {
			return fmt.Errorf("demo setup: %w", err)
		}
	}
	dump, err := os.CreateTemp("", "xpdoctor-demo-dump-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(dump.Name())
	if _, err := io.WriteString(dump, strings.ReplaceAll(demoDump, "REGISTRY", host)); err != nil {
		return err
	}
	if err := dump.Close(); err != nil {
		return err
	}
	mapping := host + "/mirror=" + host
	runs := []struct {
		say  string
		args []string
	}{
		{"The genuine package: every Crossplane version reads its annotated layer.", []string{"inspect", up("provider-nop")}},
		{"The docker mirror: annotation lost, index collapsed, digest changed; Crossplane survives through the slow flatten path.", []string{"inspect", mirror("provider-nop"), "--upstream", up("provider-nop")}},
		{"The runtime image mirrored as the package: the exact message each version emits.", []string{"inspect", mirror("provider-runtime"), "--crossplane-version", "v2.1.3", "--crossplane-version", "v2.3.4"}},
		{"A support dump of the cluster (kubectl get ... -o yaml), read offline.", []string{"diagnose", "--from-file", dump.Name(), "--upstream-registry", mapping}},
		{"Re-mirror the damaged packages from their upstream, byte-for-byte.", []string{"fix", "--from-file", dump.Name(), "--upstream-registry", mapping, "--yes"}},
		{"The runtime-image mirror now holds the real package.", []string{"inspect", mirror("provider-runtime"), "--upstream", up("provider-runtime")}},
	}
	for _, r := range runs {
		fmt.Fprintf(s.Out, "\n# %s\n$ %s %s\n\n", r.say, displayName(), strings.Join(r.args, " "))
		code := Main(r.args, s.In, s.Out, s.ErrOut)
		fmt.Fprintf(s.Out, "\n(exit status %d)\n", code)
	}
	return ctx.Err()
}
