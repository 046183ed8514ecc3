package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BundleInput is the bundle tool's input: none, as `kubectl xpdoctor
// bundle` reads the whole of Crossplane's state.
type BundleInput struct{}

func (s *server) bundleTool() tool {
	def := &mcp.Tool{
		Name:        "bundle",
		Annotations: readOnly("Support bundle of Crossplane's state", true),
		Description: fmt.Sprintf(`The support bundle of the cluster: the objects diagnose reads, Crossplane-scoped, as one Kubernetes List (what kubectl xpdoctor bundle writes, as JSON): packages and revisions, the Lock, ImageConfigs, DeploymentRuntimeConfigs, ControllerConfigs, Crossplane's Deployment and the runtime Deployments and Pods, their Events, and a first item (kind SupportBundle) saying how it was read (namespace, API versions, reads that were forbidden). Never Secrets; every environment value is replaced by <redacted>. For the raw state behind a finding (conditions, events, pod statuses): start with diagnose. About 1 KB per object (a 9-package cluster is 37 KB); results are at most %d bytes, refused whole when larger.`, MaxResultBytes),
	}
	return newTool(s, def, nil, s.bundle)
}

func (s *server) bundle(ctx context.Context, _ BundleInput) (*mcp.CallToolResult, error) {
	if s.o.Backend.Bundle == nil {
		return nil, errors.New("bundle is not available in this server")
	}
	list, err := s.o.Backend.Bundle(ctx)
	if err != nil {
		return nil, err
	}
	return s.compact(list, "the cluster holds more than one result carries: use diagnose, or write the bundle to a file with kubectl xpdoctor bundle -o FILE")
}
