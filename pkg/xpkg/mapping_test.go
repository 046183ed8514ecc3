package xpkg_test

import (
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Each side of a mapping is a registry prefix; a first part without a dot
// or a port (other than localhost) is refused with the corrected form,
// instead of silently meaning a Docker Hub repository.
func TestMappingSidesAreRegistryPrefixes(t *testing.T) {
	cases := []struct {
		mapping string
		// want is the parsed mapping; empty when refused.
		want string
		// fixes are what the message must show when refused.
		fixes []string
	}{
		{"xpkg.upbound.io", "xpkg.upbound.io", nil},
		{"xpkg.upbound.io/upbound", "xpkg.upbound.io/upbound", nil},
		{"localhost=xpkg.crossplane.io", "localhost=xpkg.crossplane.io", nil},
		{"localhost:5000/mirror=xpkg.upbound.io/upbound", "localhost:5000/mirror=xpkg.upbound.io/upbound", nil},
		{"registry:5000/upbound=xpkg.upbound.io/upbound", "registry:5000/upbound=xpkg.upbound.io/upbound", nil},
		{"[::1]:5000/m=docker.io/upbound", "[::1]:5000/m=docker.io/upbound", nil},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound/", "123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound", nil},

		{"foo", "", []string{`upstream "foo" is not a registry prefix`, `"registry.example.com/foo"`, `"docker.io/foo" for Docker Hub`}},
		{"upbound/crossplane", "", []string{`upstream "upbound/crossplane"`, `"docker.io/upbound/crossplane"`}},
		{"upbound=xpkg.upbound.io/upbound", "", []string{`mirror "upbound"`, `"registry.example.com/upbound=xpkg.upbound.io/upbound"`, `"docker.io/upbound=xpkg.upbound.io/upbound"`}},
		{"my.ecr.io/upbound=upbound", "", []string{`upstream "upbound"`, `"my.ecr.io/upbound=registry.example.com/upbound"`}},
		{"mirror=upstream", "", []string{`mirror "mirror"`, `"registry.example.com/mirror=upstream"`}},
		{"localhostx/a=xpkg.upbound.io", "", []string{`mirror "localhostx/a"`}},
	}
	for _, c := range cases {
		m, err := xpkg.ParseMapping(c.mapping)
		if c.want != "" {
			if err != nil || m.String() != c.want {
				t.Errorf("%q: %v %v, want %s", c.mapping, m, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: accepted as %v", c.mapping, m)
			continue
		}
		for _, f := range c.fixes {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("%q: %q does not say %s", c.mapping, err, f)
			}
		}
	}
}
