// Package repo checks the repository itself: no build outputs in git, and
// every make target the documentation names exists.
package repo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository, from this package's directory.
const root = "../.."

func gitFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
}

// executableMagic are the first bytes of the executables Go builds:
// ELF, Mach-O (32/64-bit, either byte order, universal) and PE.
var executableMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
	{'M', 'Z'},
}

// An 11 MB mkfixture binary was committed at the root once.
func TestNoBinariesInGit(t *testing.T) {
	for _, f := range gitFiles(t) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		} else if err != nil {
			t.Fatal(err)
		}
		for _, m := range executableMagic {
			if bytes.HasPrefix(b, m) {
				t.Errorf("%s is an executable (%d bytes): remove it from git and ignore it", f, len(b))
			}
		}
	}
}

// Every `make TARGET` the README, the krew manifest and the CI script name
// is a target of the Makefile.
func TestDocumentedMakeTargetsExist(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	mention := regexp.MustCompile("`make ([a-z][a-z0-9-]*)|^\\s*make ([a-z][a-z0-9-]*)")
	for _, f := range []string{"README.md", "plugins/krew.yaml.tmpl", "plugins/krew.yaml", ".ci/run", "bench/README.md"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, m := range mention.FindAllStringSubmatch(line, -1) {
				if name := m[1] + m[2]; !targets[name] {
					t.Errorf("%s names `make %s`, which the Makefile does not have", f, name)
				}
			}
		}
	}
}
