// Package harness turns a plan (kernels x suites) into VMs, collects the
// events they stream back and builds the matrix of results. It knows nothing
// about QEMU flags (package vm) or where kernels come from (package kernels).
package harness

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Suite is one in-guest test package.
type Suite struct {
	// Name is the short name, used by --suite and as the binary's name.
	Name string
	// Package is the package path relative to the bpfmatrix module.
	Package string
	// Modules are the kernel modules the suite needs loaded.
	Modules []string
	// Timeout bounds the suite's test binary in the guest.
	Timeout time.Duration
}

// ImportPath is the suite's full Go import path.
func (s Suite) ImportPath() string {
	return "github.com/bpfmatrix/bpfmatrix/" + strings.TrimPrefix(s.Package, "./")
}

// Builtin are the suites shipped with bpfmatrix.
var Builtin = []Suite{
	{Name: "kprobe", Package: "./tests/kprobe", Timeout: 2 * time.Minute},
	{Name: "uprobe", Package: "./tests/uprobe", Timeout: 2 * time.Minute},
	{Name: "tracing", Package: "./tests/tracing", Timeout: 2 * time.Minute},
	{Name: "tracepoint", Package: "./tests/tracepoint", Timeout: 2 * time.Minute},
	{Name: "socket", Package: "./tests/socket", Timeout: 2 * time.Minute},
	{Name: "cgroup", Package: "./tests/cgroup", Timeout: 2 * time.Minute},
	{Name: "perf", Package: "./tests/perf", Timeout: 2 * time.Minute},
	{Name: "tc", Package: "./tests/tc", Modules: []string{"veth", "sch_ingress", "cls_bpf"}, Timeout: 2 * time.Minute},
	{Name: "xdp", Package: "./tests/xdp", Modules: []string{"veth"}, Timeout: 2 * time.Minute},
	{Name: "lsm", Package: "./tests/lsm", Timeout: 2 * time.Minute},
	{Name: "transport", Package: "./tests/transport", Timeout: 2 * time.Minute},
	{Name: "fallback", Package: "./tests/fallback", Modules: []string{"veth", "sch_ingress", "cls_bpf"}, Timeout: 3 * time.Minute},
}

// SelectSuites returns the built-in suites whose name matches expr (all of
// them for ""), or an error naming the valid names.
func SelectSuites(expr string) ([]Suite, error) {
	if expr == "" {
		return append([]Suite(nil), Builtin...), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("--suite %q is not a valid regular expression: %w", expr, err)
	}
	var out, names []string
	var sel []Suite
	for _, s := range Builtin {
		names = append(names, s.Name)
		if re.MatchString(s.Name) {
			sel = append(sel, s)
			out = append(out, s.Name)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("--suite %q matches no suite (suites: %s)", expr, strings.Join(names, ", "))
	}
	return sel, nil
}
