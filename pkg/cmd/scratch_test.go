package cmd

import (
	"testing"
	"fmt"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func TestScratchErrors(t *testing.T) {
	host := pushIncident(t)
	real := testregistry.Process(t)
	authd := testregistry.Process(t, "user", "pass")
	if err := xpkgtest.Push(real.Host+"/upbound/provider-nop:v1.6.0", provider.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil { t.Fatal(err) }
	for _, args := range [][]string{
		{"inspect", host + "/upbound/provider-nop:v1.6.O"},
		{"inspect", real.Host + "/upbound/provider-nop:v1.6.O"},
		{"inspect", real.Host + "/upbound/nothere:v1.6.0"},
		{"inspect", authd.Host + "/upbound/provider-nop:v1.6.0"},
		{"inspect", "http://" + host + "/upbound/provider-nop:v1.6.0"},
		{"inspect", host + "/upbound/provider-nop:v1.6.0", "--upstream", real.Host + "/upbound/provider-nop:v9"},
		{"mirror", host + "/upbound/provider-nop:v1.6.O", real.Host+"/x/y:v1"},
		{"mirror", host + "/upbound/provider-nop:v1.6.0", authd.Host+"/x/y:v1", "--yes"},
	} {
		out, errOut, code := run(t, args...)
		fmt.Printf("=== %v -> %d\n%s\n--- stderr\n%s\n", args, code, out, errOut)
	}
}
