package bpfmatrix_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
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
// guest and the host share and nothing else, reports that depend on the
// results schema only, and commands that sit on the runner and not the
// other way round.
func TestLayout(t *testing.T) {
	const mod = "github.com/bpfmatrix/bpfmatrix"
	// The packages built on the runner, which it must not import.
	commands := []string{mod + "/harness", mod + "/harness/rawexec", mod + "/harness/shell", mod + "/harness/bench", mod + "/harness/guestgo", mod + "/harness/kernelinfo", mod + "/cmd/bpfmatrix/internal/cmdflag"}
	tests := []struct {
		pkg     string
		refuse  []string // substrings no dependency may contain
		exclude string   // a dependency allowed despite refuse (pkg itself)
		// refuseExact are packages no dependency may be (not their
		// subpackages).
		refuseExact []string
	}{
		{"./internal/wire", []string{"."}, mod + "/internal/wire", nil},
		{"./guest", []string{mod + "/harness", mod + "/vm", mod + "/kernels"}, "", nil},
		{"./cmd/bpfmatrix-guest", []string{mod + "/harness"}, "", nil},
		{"./harness/report", []string{"u-root", mod + "/vm", mod + "/harness/plan", mod + "/guest"}, "", nil},
		// The host reads the suites' facts, never their code: cilium/ebpf's
		// package initialisation probes the kernel (tests/facts).
		{"./cmd/bpfmatrix", []string{mod + "/guest", "cilium/ebpf", "testify", mod + "/tests/suite", mod + "/bpf"}, "", nil},
		{".", []string{mod + "/guest", "cilium/ebpf", mod + "/tests/suite", mod + "/bpf"}, "", nil},
		{"./vm/initramfs", []string{mod + "/guest"}, "", nil},
		// No host package imports the guest.
		{"./harness/...", []string{mod + "/guest"}, "", nil},
		{"./cmd/bpfmatrix/...", []string{mod + "/guest"}, "", nil},
		// One boot path: the runner knows none of the commands on it.
		{"./harness/runner", nil, "", commands},
		// go test's host side runs the go command, nothing else.
		{"./harness/gotest", []string{"."}, mod + "/harness/gotest", nil},
		// What bpfmatrix kernels prints boots nothing.
		{"./harness/kernelinfo", []string{mod + "/vm", mod + "/harness/runner"}, "", nil},
		// The commands beside the matrix run do not go through it.
		{"./harness/rawexec", nil, "", []string{mod + "/harness", mod + "/harness/bench"}},
		{"./harness/shell", nil, "", []string{mod + "/harness", mod + "/harness/rawexec", mod + "/harness/bench"}},
		{"./harness/guestgo", nil, "", []string{mod + "/harness", mod + "/harness/rawexec", mod + "/harness/shell"}},
		{"./harness", nil, "", []string{mod + "/harness/rawexec", mod + "/harness/bench", mod + "/harness/kernelinfo"}},
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
				for _, r := range tt.refuseExact {
					if d == r {
						t.Errorf("%s depends on %s", tt.pkg, d)
					}
				}
			}
		})
	}
}

// TestOneBootPath checks the rule of docs/layout.md that every command
// boots its VMs through the runner: outside package vm and the tests,
// vm.Start is called in one place, harness/runner/boot.go.
func TestOneBootPath(t *testing.T) {
	const vmPkg = "github.com/bpfmatrix/bpfmatrix/vm"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{.Dir}}|{{join .GoFiles \",\"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || f[0] == vmPkg || f[2] == "" {
			continue
		}
		for _, name := range strings.Split(f[2], ",") {
			path := filepath.Join(f[1], name)
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			local := ""
			for _, imp := range file.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == vmPkg {
					local = "vm"
					if imp.Name != nil {
						local = imp.Name.Name
					}
				}
			}
			if local == "" {
				continue
			}
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Start" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == local {
						rel, _ := filepath.Rel(root, path)
						calls = append(calls, rel)
					}
				}
				return true
			})
		}
	}
	if want := []string{filepath.Join("harness", "runner", "boot.go")}; strings.Join(calls, " ") != strings.Join(want, " ") {
		t.Errorf("vm.Start is called in %q, want %q only", calls, want)
	}
}
