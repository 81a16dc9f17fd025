package guest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/kmod"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// ErrNoModule is returned by Modprobe for a name that is neither a module
// of the kernel's tree nor one of its aliases.
var ErrNoModule = errors.New("module not found")

// SetModprobe points the kernel's on-demand module loading
// (/proc/sys/kernel/modprobe) at the guest's modprobe.
func SetModprobe() error {
	return os.WriteFile("/proc/sys/kernel/modprobe", []byte(wire.ModprobePath+"\n"), 0o644)
}

// ModprobeMain is the guest program run as modprobe, by the kernel to
// load a module on demand ("modprobe -q -- rtnl-link-dummy") or by a
// test. It loads each named module, or the modules its alias names, with
// their dependencies, from the module tree of the running kernel. It
// returns the exit code.
func ModprobeMain(args []string, stderr io.Writer) int {
	quiet := false
	var names []string
	flags := true
	for _, a := range args {
		switch {
		case flags && a == "--":
			flags = false
		case flags && (a == "-q" || a == "--quiet"):
			quiet = true
		case flags && (a == "-b" || a == "--use-blacklist" || a == "-a" || a == "--all" || a == "-v"):
		case flags && strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "modprobe: option %s is not supported here\n", a)
			return 1
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "usage: modprobe [-q] [--] MODULE...")
		return 1
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	code := 0
	for _, n := range names {
		if err := Modprobe(dir, n); err != nil {
			if !quiet {
				fmt.Fprintf(stderr, "modprobe: %v\n", err)
			}
			code = 1
		}
	}
	return code
}

// Modprobe loads the module name (a module name or an alias) of the module
// tree dir, with its dependencies.
func Modprobe(dir, name string) error {
	if builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(builtin)) {
			if kmod.Name(l) == kmod.Name(name) {
				return nil
			}
		}
	}
	mods := []string{name}
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !hasModule(dep, name) {
		b, err := os.ReadFile(filepath.Join(dir, "modules.alias"))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if mods = kmod.Resolve(kmod.ParseAliases(b), name); len(mods) == 0 {
			return fmt.Errorf("%w: %s in %s", ErrNoModule, name, dir)
		}
	}
	var errs []error
	for _, m := range mods {
		if err := kmodule.Probe(m, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// hasModule reports whether modules.dep lists a module called name.
func hasModule(dep []byte, name string) bool {
	want := kmod.Name(name)
	for _, line := range strings.Split(string(dep), "\n") {
		file, _, ok := strings.Cut(line, ":")
		if ok && kmod.Name(file) == want {
			return true
		}
	}
	return false
}
