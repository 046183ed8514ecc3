// Package mcpserver serves xpdoctor's judgements to AI assistants as a
// Model Context Protocol server (the official Go SDK), read-only by
// construction: its tools only diagnose, inspect, explain, preflight and bundle,
// with the CLI's decision code (pkg/cmd supplies it as a Backend, mapping
// each tool's input to options exactly as the commands map their flags),
// and every result is what the CLI prints as JSON: redacted with the run's
// Redactor, bounded in size, a summary first and the detail on request.
//
// Nothing here can write: no tool mirrors, fixes or applies, and the
// Backend pkg/cmd builds for `kubectl xpdoctor mcp` holds only clients
// that refuse writes before they are sent (cluster.ReadOnly for the
// Kubernetes API, xpkg.WithReadOnly for registries).
package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// Size bounds of every result. A result is never cut: one that would be
// larger is refused with what to ask instead.
const (
	// MaxResultBytes bounds the JSON of one tool result (about 25,000
	// tokens): large enough for the summary of a 300-package cluster and
	// the full report of dozens of failing packages, small enough for an
	// assistant to take in one result.
	MaxResultBytes = 100_000
	// MaxSummaryPackages bounds the packages a summary lists; the others
	// are counted (packages with findings are listed first).
	MaxSummaryPackages = 300
	// MaxReferences bounds the images one inspect call reads.
	MaxReferences = 10
)

// Backend runs the CLI's code for each tool. pkg/cmd implements it with
// the commands' own mapping of inputs to options, so that a tool's result
// is what the command prints for the same input.
type Backend struct {
	// Diagnose is `kubectl xpdoctor diagnose [NAMES] -o json`'s report.
	Diagnose func(context.Context, DiagnoseInput) (*diagnose.Report, error)
	// Inspect is `kubectl xpdoctor inspect REFS -o json`'s report.
	Inspect func(context.Context, InspectInput) (*inspect.Report, error)
	// Preflight is the upgrade preflight's report (package preflight).
	Preflight func(context.Context, PreflightInput) (*preflight.Report, error)
	// Bundle is `kubectl xpdoctor bundle`'s List (nil: the server reads a
	// support dump, which is the bundle already).
	Bundle func(context.Context) (any, error)
}

// Options configure the server.
type Options struct {
	Backend Backend
	// Redactor holds every credential the server's runs use; every result
	// and error is redacted with it.
	Redactor *redact.Redactor
	// Version is xpdoctor's version, announced to clients.
	Version string
	// Source says what the server reads ("the cluster of kubeconfig
	// context prod", "the support dump dump.yaml"), for its instructions.
	Source string
}

// Description is what the server says of itself to clients (the
// initialize result's serverInfo.description and its instructions).
const Description = "xpdoctor finds why Crossplane packages (Providers, Functions, Configurations) are not healthy, " +
	"above all in private and air-gapped clusters, and judges package images the way each Crossplane version reads them. " +
	"Read-only: no tool mirrors, fixes, applies or changes anything; the server's Kubernetes and registry clients " +
	"refuse every write request before it is sent."

// New returns the server with its tools. Run it with Server.Run over a
// transport (mcp.StdioTransport for `kubectl xpdoctor mcp`).
func New(o Options) *mcp.Server {
	s := &server{o: o, text: report.Text{Redactor: o.Redactor}}
	instructions := Description + "\n\nStart with diagnose (a summary of every package), then diagnose with detail and the names of the " +
		"packages that have findings for evidence and the exact fix; explain tells what a finding code means and what it rests on; " +
		"inspect judges an image in its registry; preflight judges an upgrade to another Crossplane version; " +
		"bundle returns the objects behind it all (no Secrets, environment values redacted)."
	if o.Source != "" {
		instructions += "\n\nThis server reads " + o.Source + "."
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "xpdoctor", Title: "xpdoctor (read-only)", Version: o.Version, Description: Description},
		&mcp.ServerOptions{Instructions: instructions, Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}})
	for _, t := range s.tools() {
		t.add(srv)
	}
	return srv
}

// server holds what every handler needs.
type server struct {
	o    Options
	text report.Text
}

// tool is one registered tool; add registers it with its typed handler.
type tool struct {
	def *mcp.Tool
	add func(*mcp.Server)
}

// readOnly are the annotations of every tool: none modifies its
// environment; openWorld says whether it reaches outside the process (a
// cluster, registries).
func readOnly(title string, openWorld bool) *mcp.ToolAnnotations {
	no := false
	return &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: &no, OpenWorldHint: &openWorld}
}

// newTool builds a tool with a typed input whose schema is derived from In
// and refined by refine; the handler returns the value to render as JSON.
func newTool[In any](s *server, def *mcp.Tool, refine func(schema map[string]*jsonSchema), h func(context.Context, In) (*mcp.CallToolResult, error)) tool {
	def.InputSchema = inputSchema[In](refine)
	return tool{def: def, add: func(srv *mcp.Server) {
		mcp.AddTool(srv, def, func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
			res, err := h(ctx, in)
			if err != nil {
				return s.failed(err), nil, nil
			}
			return res, nil, nil
		})
	}}
}

// exact is a result the CLI prints too, rendered by the CLI's printer
// (report.Printer, JSON: every string redacted with the run's Redactor,
// control and format characters escaped, values otherwise exact), byte for
// byte what `-o json` prints.
func (s *server) exact(render func(report.Printer, *bytes.Buffer) error, narrow string) (*mcp.CallToolResult, error) {
	var buf bytes.Buffer
	if err := render(report.Printer{Format: report.JSON, Redactor: s.o.Redactor}, &buf); err != nil {
		return nil, err
	}
	return bounded(buf.Bytes(), narrow)
}

// compact is a result of the server's own (a summary, an explanation):
// the same JSON, redaction and escaping, without indentation, which would
// add a third to a summary's size.
func (s *server) compact(v any, narrow string) (*mcp.CallToolResult, error) {
	var buf, out bytes.Buffer
	if err := (report.Printer{Format: report.JSON, Redactor: s.o.Redactor}).Structured(&buf, v); err != nil {
		return nil, err
	}
	// Compact removes whitespace between tokens only: strings keep their escapes.
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, err
	}
	return bounded(out.Bytes(), narrow)
}

// bounded is the result holding JSON b, as the text content and as the
// structured content; over MaxResultBytes it is refused, with narrow: what
// to ask for instead. Nothing is cut.
func bounded(b []byte, narrow string) (*mcp.CallToolResult, error) {
	if len(b) > MaxResultBytes {
		return nil, fmt.Errorf("the result is %d bytes, more than the %d bytes this server returns at once: %s", len(b), MaxResultBytes, narrow)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}, StructuredContent: json.RawMessage(b)}, nil
}

// failed is a tool error as the CLI prints errors on stderr: redacted,
// control characters escaped.
func (s *server) failed(err error) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "error: " + s.text.Line(err.Error())}}}
}

func (s *server) tools() []tool {
	return []tool{s.diagnoseTool(), s.inspectTool(), s.explainTool(), s.preflightTool(), s.bundleTool()}
}

// oneOf lists allowed values for a description.
func oneOf(vs ...string) string { return strings.Join(vs, ", ") }
