package cmd

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
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

func runDemo(ctx context.Context, s IOStreams) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the demo registry: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	host := l.Addr().String()

	pkg := xpkgtest.Package{Kind: "Provider", Name: "provider-aws-s3", Crossplane: ">=v1.14.0-0", Objects: 3,
		DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "xpkg.upbound.io/upbound/provider-family-aws", Version: ">=v1.6.0"}},
		Runtime:   []v1.Layer{xpkgtest.RandomLayer(7, 2<<20)}}
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	upstream := host + "/upbound/provider-aws-s3:v1.6.0"
	docker := host + "/mirror/upbound/provider-aws-s3:v1.6.0"
	runtime := host + "/mirror/upbound/provider-aws-s3:v1.6.1"
	steps := []struct {
		what string
		do   func() error
	}{
		{"push the genuine package (OCI index, linux/amd64 + linux/arm64) to " + upstream, func() error { return xpkgtest.Push(upstream, pkg.Index()) }},
		{"mirror it the docker pull/tag/push way to " + docker, func() error { return xpkgtest.DockerRepush(docker, pkg.Image(amd64)) }},
		{"push the provider's runtime image instead of the package to " + runtime, func() error {
			return xpkgtest.Push(runtime, xpkgtest.RuntimeImage(amd64, pkg.Runtime...))
		}},
	}
	fmt.Fprintf(s.Out, "Demo registry on %s (in this process).\n", host)
	for _, st := range steps {
		fmt.Fprintf(s.Out, "- %s\n", st.what)
		if err := st.do(); err != nil {
			return fmt.Errorf("demo setup: %w", err)
		}
	}
	runs := [][]string{
		{"inspect", upstream},
		{"inspect", docker, "--upstream", upstream},
		{"inspect", runtime, "--crossplane-version", "v2.1.3", "--crossplane-version", "v2.3.4"},
	}
	for _, args := range runs {
		fmt.Fprintf(s.Out, "\n$ %s %s\n\n", displayName(), strings.Join(args, " "))
		code := Main(args, s.In, s.Out, s.ErrOut)
		fmt.Fprintf(s.Out, "\n(exit status %d)\n", code)
	}
	return ctx.Err()
}
