package mcpserver

import (
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

type jsonSchema = jsonschema.Schema

// inputSchema is the JSON schema of In (fields without omitempty are
// required, no other property is accepted), with refine adding what the
// Go type cannot say: enums, lengths, item bounds. The SDK validates every
// call's arguments against it before the handler runs.
func inputSchema[In any](refine func(map[string]*jsonSchema)) *jsonSchema {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		// The input types are this package's own: a failure is a bug here.
		panic(fmt.Sprintf("mcpserver: schema of %T: %v", *new(In), err))
	}
	if refine != nil {
		refine(s.Properties)
	}
	return s
}

func enum(vs ...string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// Bounds of string inputs: a Kubernetes object name is at most 253
// characters (RFC 1123 subdomain, apimachinery validation), an image
// reference in practice well under 1,000.
const (
	maxNameLength      = 253
	maxReferenceLength = 1000
	maxVersionLength   = 64
	maxNames           = MaxSummaryPackages
)

func maxLen(n int) *int { return &n }
