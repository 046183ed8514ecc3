// Command mkfixture pushes benchmark packages built like `crossplane xpkg
// build` + `push`: a 2-platform index with a runtime layer per platform, or
// a family of providers sharing their runtime layers.
package main

import (
	"flag"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func main() {
	registry := flag.String("registry", "", "host:port to push to")
	mb := flag.Int("runtime-mb", 50, "runtime layer size per platform, in MB")
	family := flag.Int("family", 0, "push this many providers sharing a runtime layer instead")
	repo := flag.String("repository", "upbound/provider-big", "repository of the 2-platform package (tag v1.6.0)")
	packages := flag.Int("packages", 0, "push this many distinct 2-platform packages instead, REPOSITORY-NNNN:v1.6.0, with 1 KB runtime layers (inspect benchmarks)")
	flag.Parse()
	if *registry == "" {
		fmt.Fprintln(os.Stderr, "usage: mkfixture -registry HOST:PORT [-runtime-mb N] [-family N]")
		os.Exit(2)
	}
	if *packages > 0 {
		if err := distinct(*registry, *repo, *packages); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*registry, *repo, *mb, *family); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(registry, repo string, mb, family int) error {
	if family > 0 {
		shared := xpkgtest.RandomLayer(100, mb<<20)
		for i := 0; i < family; i++ {
			p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-aws-svc%02d", i), Objects: 50, Runtime: []v1.Layer{shared}}
			if err := xpkgtest.Push(fmt.Sprintf("%s/upbound/provider-aws-svc%02d:v1.6.0", registry, i), p.Index()); err != nil {
				return err
			}
		}
		return nil
	}
	// One runtime layer per platform, as a real multi-arch provider has.
	amd := xpkgtest.Package{Kind: "Provider", Name: "provider-big", Objects: 50, Runtime: []v1.Layer{xpkgtest.RandomLayer(1, mb<<20)}}
	arm := amd
	arm.Runtime = []v1.Layer{xpkgtest.RandomLayer(2, mb<<20)}
	return xpkgtest.Push(registry+"/"+repo+":v1.6.0", xpkgtest.IndexOf(amd, arm))
}

// distinct pushes n packages that share nothing, so that every image is
// read: the worst case for inspect's round trips.
func distinct(registry, repo string, n int) error {
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%04d", repo, i)
		amd := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-%04d", i), Objects: 5, Runtime: []v1.Layer{xpkgtest.RandomLayer(uint64(2*i+1), 1000)}}
		arm := amd
		arm.Runtime = []v1.Layer{xpkgtest.RandomLayer(uint64(2*i+2), 1000)}
		if err := xpkgtest.Push(registry+"/"+name+":v1.6.0", xpkgtest.IndexOf(amd, arm)); err != nil {
			return err
		}
	}
	return nil
}
