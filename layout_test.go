package bpfmatrix_test

import (
	"os/exec"
	"strings"
	"testing"
)

// deps returns the non-standard packages pkg depends on (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestLayout checks the rules of docs/layout.md: one leaf contract that the
// guest and the host share and nothing else, and reports that depend on
// the results schema only.
func TestLayout(t *testing.T) {
	const mod = "github.com/bpfmatrix/bpfmatrix"
	tests := []struct {
		pkg     string
		refuse  []string // substrings no dependency may contain
		exclude string   // a dependency allowed despite refuse (pkg itself)
	}{
		{"./internal/wire", []string{"."}, mod + "/internal/wire"},
		{"./guest", []string{mod + "/harness", mod + "/vm", mod + "/kernels"}, ""},
		{"./cmd/bpfmatrix-guest", []string{mod + "/harness"}, ""},
		{"./harness/report", []string{"u-root", mod + "/vm", mod + "/harness/plan", mod + "/guest"}, ""},
		// The host reads the suites' facts, never their code: cilium/ebpf's
		// package initialisation probes the kernel (tests/facts).
		{"./cmd/bpfmatrix", []string{mod + "/guest", "cilium/ebpf", "testify", mod + "/tests/suite", mod + "/bpf"}, ""},
		{".", []string{mod + "/guest", "cilium/ebpf", mod + "/tests/suite", mod + "/bpf"}, ""},
		{"./vm/initramfs", []string{mod + "/guest"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			for _, d := range deps(t, tt.pkg) {
				if d == tt.exclude || d == mod+"/"+strings.TrimPrefix(tt.pkg, "./") {
					continue
				}
				for _, r := range tt.refuse {
					if strings.Contains(d, r) && (r != mod+"/guest" && r != mod+"/bpf" || d == r || strings.HasPrefix(d, r+"/")) {
						t.Errorf("%s depends on %s", tt.pkg, d)
					}
				}
			}
		})
	}
}
