// Command kubectl-xpdoctor finds why a Crossplane package does not come up.
package main

import (
	"os"

	"github.com/xpdoctor/xpdoctor/pkg/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
