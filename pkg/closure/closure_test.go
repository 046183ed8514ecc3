package closure

import (
	"strings"
	"testing"
)

func TestCheckFamilies(t *testing.T) {
	nodes := []Node{
		{Ref: "xpkg.upbound.io/upbound/provider-family-aws:v1.6.0", Repository: "xpkg.upbound.io/upbound/provider-family-aws", Family: "family-aws"},
		{Ref: "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0", Repository: "xpkg.upbound.io/upbound/provider-aws-s3", Family: "family-aws"},
		{Ref: "ghcr.io/someone/provider-aws-extra:v1.0.0", Repository: "ghcr.io/someone/provider-aws-extra", Family: "family-aws"},
	}
	// A bare host keeps each first path segment: upbound and someone split the family.
	if err := CheckFamilies("ecr.example", nodes); err == nil || !strings.Contains(err.Error(), "family family-aws would be split") {
		t.Fatalf("bare host: %v", err)
	}
	// A prefix with a path puts everything in one organisation.
	if err := CheckFamilies("ecr.example/crossplane", nodes); err != nil {
		t.Fatalf("with a path: %v", err)
	}
	if got := Destination("ecr.example/crossplane/", "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0"); got != "ecr.example/crossplane/upbound/provider-aws-s3:v1.6.0" {
		t.Fatalf("destination %q", got)
	}
	ic := ImageConfigs("ecr.example/crossplane", nodes)
	if strings.Count(ic, "kind: ImageConfig") != 2 || !strings.Contains(ic, "prefix: ghcr.io/") || !strings.Contains(ic, "prefix: ecr.example/crossplane/") {
		t.Fatalf("%s", ic)
	}
}
