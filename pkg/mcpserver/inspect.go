package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// InspectInput is the inspect tool's input: the arguments and flags of
// `kubectl xpdoctor inspect REFS --upstream U --crossplane-version V`.
type InspectInput struct {
	References         []string `json:"references" jsonschema:"package image references, REGISTRY/REPOSITORY:TAG or @sha256:DIGEST"`
	Upstream           string   `json:"upstream,omitempty" jsonschema:"the upstream reference a single mirrored image is compared with"`
	CrossplaneVersions []string `json:"crossplaneVersions,omitempty" jsonschema:"judge only these Crossplane versions, e.g. v1.20.0 (default: every generation)"`
}

func (s *server) inspectTool() tool {
	def := &mcp.Tool{
		Name:        "inspect",
		Annotations: readOnly("Inspect package images", true),
		Description: fmt.Sprintf(`Judge Crossplane package images in their registry the way each Crossplane version would: digest, layers, the io.crossplane.xpkg base-layer annotation, where package.yaml is, the package's metadata and dependencies, a verdict per Crossplane generation (BaseLayer, Flatten or Fail with Crossplane's exact message), and with upstream how a mirror differs from its upstream. Reads manifests, the config and the annotated layer only; writes nothing. Returns the InspectReport (apiVersion xpdoctor.io/v1alpha2), byte for byte what kubectl xpdoctor inspect REFS -o json prints. At most %d references per call (2 to 5 KB each); results are at most %d bytes.`, MaxReferences, MaxResultBytes),
	}
	return newTool(s, def, func(p map[string]*jsonSchema) {
		p["references"].MinItems = maxLen(1)
		p["references"].MaxItems = maxLen(MaxReferences)
		p["references"].Items.MaxLength = maxLen(maxReferenceLength)
		p["upstream"].MaxLength = maxLen(maxReferenceLength)
		p["crossplaneVersions"].MaxItems = maxLen(8)
		p["crossplaneVersions"].Items.MaxLength = maxLen(maxVersionLength)
	}, s.inspect)
}

func (s *server) inspect(ctx context.Context, in InspectInput) (*mcp.CallToolResult, error) {
	if s.o.Backend.Inspect == nil {
		return nil, errors.New("inspect is not available in this server")
	}
	rep, err := s.o.Backend.Inspect(ctx, in)
	if err != nil {
		return nil, err
	}
	return s.exact(func(p report.Printer, w *bytes.Buffer) error { return p.Inspect(w, rep) }, "call inspect with fewer references")
}
