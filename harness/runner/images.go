package runner

import (
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// TestPackages are the test binaries that suites need, each once: the
// built-in suites share one.
func TestPackages(suites []plan.Suite) []initramfs.TestPackage {
	var pkgs []initramfs.TestPackage
	seen := map[string]bool{}
	for _, s := range suites {
		if seen[s.BinaryName()] {
			continue
		}
		seen[s.BinaryName()] = true
		pkgs = append(pkgs, initramfs.TestPackage{Name: s.BinaryName(), ImportPath: s.Package})
	}
	return pkgs
}
