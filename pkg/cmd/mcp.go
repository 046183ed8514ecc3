package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/mcpserver"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/version"
)

const mcpLong = `Mcp serves xpdoctor to AI assistants as a Model Context Protocol server over
stdio (JSON-RPC on stdin and stdout; logs and -v on stderr), with the same
kubeconfig flags and the same decision code as the other commands. Its tools:

  diagnose   the diagnose report (a summary; with detail, what -o json prints)
  inspect    judge package images in their registry (inspect -o json)
  explain    what a finding code means, the evidence it rests on, its fix
  preflight  will another Crossplane version accept what the cluster runs
  bundle     the support bundle (bundle, as JSON): the objects behind it all

It is read-only by construction: no tool mirrors, fixes or applies anything,
and its Kubernetes and registry clients refuse every write request before it
is sent. Results are redacted like every output of xpdoctor and are at most
%d bytes each.

Configure an MCP client to run "%s mcp" with the flags for the cluster
(README: "For AI assistants").`

// newMCPFlags are the mcp command's flags: diagnose's input flags, and
// every client they build refuses writes, the Kubernetes client
// (doctor.Options.ReadOnly) and every registry client (xpkg.WithReadOnly).
func newMCPFlags() *diagnoseFlags {
	f := newDiagnoseFlags()
	f.readOnly = true
	return f
}

// mcpTransport is what the server speaks over: stdin and stdout. Tests
// put one of the SDK's in-memory transports here.
var mcpTransport = func(s IOStreams) mcp.Transport {
	return &mcp.IOTransport{Reader: io.NopCloser(s.In), Writer: nopWriteCloser{s.structuredOut()}}
}

func newMCPCommand(s IOStreams) *cobra.Command {
	f := newMCPFlags()
	c := &cobra.Command{
		Use:   "mcp",
		Short: "Serve diagnose, inspect, explain, preflight and bundle to AI assistants (Model Context Protocol over stdio; read-only)",
		Long:  fmt.Sprintf(mcpLong, mcpserver.MaxResultBytes, displayName()),
		Example: exampleText(
			"# The server an MCP client starts, for one kubeconfig context",
			"$0 mcp --context prod",
			"",
			"# The same tools on a support dump, without a cluster",
			"$0 mcp --from-file dump.yaml",
		),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			srv, err := f.mcpServer()
			if err != nil {
				return err
			}
			return srv.Run(c.Context(), mcpTransport(s))
		},
	}
	f.addInput(c, s)
	return c
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// mcpServer validates the flags once, before serving, and builds the
// server on them.
func (f *diagnoseFlags) mcpServer() (*mcp.Server, error) {
	if _, err := f.doctorOptions(nil); err != nil {
		return nil, err
	}
	text := report.Text{Redactor: f.redactor}
	source := "the support dump " + text.Line(f.FromFile)
	if f.FromFile == "" {
		source = "the cluster of the kubeconfig"
		if ctx := f.kube.CurrentContext(); ctx != "" {
			source += " context " + text.Line(ctx)
		}
	}
	return mcpserver.New(mcpserver.Options{Backend: f.mcpBackend(), Redactor: f.redactor, Version: version.Get().Version, Source: source}), nil
}

// mcpBackend runs each tool through the commands' own mapping of flags
// to options: a tool's input is the command's arguments and flags, the
// server's flags the rest.
func (f *diagnoseFlags) mcpBackend() mcpserver.Backend {
	return mcpserver.Backend{
		Diagnose: func(ctx context.Context, in mcpserver.DiagnoseInput) (*diagnose.Report, error) {
			g := *f
			g.Kinds, g.CrossplaneVersion, g.Inspect = nil, in.CrossplaneVersion, in.Inspect
			if in.Kind != "" {
				g.Kinds = []string{in.Kind}
			}
			if g.Inspect == "" {
				g.Inspect = string(doctor.InspectProblems)
			}
			d, err := g.diagnosis(ctx, in.Names)
			if err != nil {
				return nil, err
			}
			if d.NotFound != nil {
				// The CLI says it on stderr beside the report; a tool has one
				// result: names that do not exist are the error.
				return nil, d.NotFound
			}
			return d.Report, nil
		},
		Inspect: func(ctx context.Context, in mcpserver.InspectInput) (*inspect.Report, error) {
			i := inspectFlags{registryFlags: f.registryFlags, Upstream: in.Upstream, CrossplaneVersions: in.CrossplaneVersions,
				Output: string(report.JSON), BandwidthMBps: defaultBandwidthMBps, Dependencies: defaultDependencies}
			o, err := i.toOptions(in.References)
			if err != nil {
				return nil, err
			}
			return o.report(ctx)
		},
		Bundle: func(ctx context.Context) (any, error) {
			if f.FromFile != "" {
				return nil, errors.New("this server reads a support dump, not a cluster: the dump is the bundle")
			}
			o, err := f.doctorOptions(nil)
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(ctx, f.Timeout)
			defer cancel()
			items, _, _, err := supportBundle(ctx, o)
			if err == nil {
				err = stopped(ctx, f.Timeout)
			}
			if err != nil {
				return nil, err
			}
			return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, nil
		},
		Preflight: func(ctx context.Context, in mcpserver.PreflightInput) (*preflight.Report, error) {
			g := *f
			g.CrossplaneVersion = in.CrossplaneVersion
			return g.preflight(ctx, in.TargetVersion)
		},
	}
}
