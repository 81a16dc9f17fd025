package kernels

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
)

// Kernel is a kernel extracted into the cache, ready to boot.
type Kernel struct {
	Name    string `json:"name"`
	Distro  string `json:"distro"`
	Suite   string `json:"suite"`
	Arch    string `json:"arch"`
	Flavour string `json:"flavour"`
	// Version is the catalog series, e.g. "6.1".
	Version string `json:"version"`
	// Release is the kernel release (uname -r).
	Release  string           `json:"release"`
	Packages []debian.Package `json:"packages"`

	// Dir is the cache directory holding the files below.
	Dir string `json:"dir"`
	// Vmlinuz is the kernel image.
	Vmlinuz string `json:"vmlinuz"`
	// Config is the kernel build configuration.
	Config string `json:"config"`
	// ModulesDir is the module tree, <Dir>/modules/<Release>, laid out like
	// /lib/modules/<Release>.
	ModulesDir string `json:"modules_dir"`
}

// ConfigValue returns the value of the kernel config option opt ("BPF" or
// "CONFIG_BPF") with surrounding quotes removed: "y", "m", a number or a
// string. It returns "n" for options marked "is not set" and "" (with a
// nil error) for options that do not appear at all.
func (k *Kernel) ConfigValue(opt string) (string, error) {
	if !strings.HasPrefix(opt, "CONFIG_") {
		opt = "CONFIG_" + opt
	}
	f, err := os.Open(k.Config)
	if err != nil {
		return "", fmt.Errorf("reading config of kernel %s: %w", k.Name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "# "+opt+" is not set" {
			return "n", nil
		}
		if v, ok := strings.CutPrefix(line, opt+"="); ok {
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", k.Config, err)
	}
	return "", nil
}
