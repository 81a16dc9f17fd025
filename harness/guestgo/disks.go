package guestgo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
)

// shellPath is the shell of [ShellInclude].
const shellPath = "/bin/bash"

// ShellInclude adds a /bin/bash for guests of arch to incs (see
// rawexec.Options.Shell).
func ShellInclude(ctx context.Context, store *kernels.Store, arch vm.Arch, incs []hostfiles.Include) ([]hostfiles.Include, error) {
	for _, i := range incs {
		if i.Guest == shellPath {
			return incs, nil
		}
	}
	if arch.Native() {
		if _, err := os.Stat(shellPath); err == nil {
			return append(incs, hostfiles.Include{Host: shellPath, Guest: shellPath}), nil
		}
	}
	dir, err := store.Userland(ctx, arch.GOARCH, kernels.UserlandPackages...)
	if err != nil {
		return nil, fmt.Errorf("harness: a %s for the %s guest: %w", shellPath, arch.Name, err)
	}
	// Each entry of bin/ and lib/ on its own: a bind of all of /lib would
	// hide the kernel's modules below it.
	for _, d := range []string{"bin", "lib"} {
		ents, err := os.ReadDir(filepath.Join(dir, d))
		if err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
		for _, e := range ents {
			incs = append(incs, hostfiles.Include{Host: filepath.Join(dir, d, e.Name()), Guest: "/" + d + "/" + e.Name(), Bundled: true})
		}
	}
	return incs, nil
}

// Disks are the host directories of a Go test run in dir: the Go module
// of dir (writable, through an overlay) and goroot (read-only; for a guest
// of another architecture, the same Go version built for it, at goroot's
// path). Either is left out when empty.
func Disks(ctx context.Context, r *runner.Runner, arch vm.Arch, dir, goroot string) ([]runner.Disk, error) {
	var disks []runner.Disk
	if dir != "" {
		dir, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		if root, ok := gotest.ModuleRoot(dir); ok {
			dir = root
		}
		t0 := time.Now()
		d, err := r.DirDisk(ctx, "module", dir, dir, true)
		if err != nil {
			return nil, err
		}
		r.Logf("module %s on a disk image (%.1fs)", dir, time.Since(t0).Seconds())
		disks = append(disks, d)
	}
	if goroot != "" {
		src, err := goRootFor(ctx, r.CacheDir, goroot, arch)
		if err != nil {
			return nil, err
		}
		d, err := r.DirDisk(ctx, "goroot", src, goroot, false)
		if err != nil {
			return nil, err
		}
		disks = append(disks, d)
	}
	return disks, nil
}
