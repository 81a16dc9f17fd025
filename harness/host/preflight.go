package host

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/diskimage"
)

// ErrNoSpace is returned before anything runs when the cache or run
// directory has too little free space.
var ErrNoSpace = errors.New("not enough free disk space")

// MinFreeBytes is the free space a run needs in its cache and run
// directories: room for a kernel, the images and the console logs.
var MinFreeBytes uint64 = 256 << 20

// Preflight checks, before any download or VM, what would make a command
// on specs fail half-way: QEMU missing, and directories that are full or
// not writable, mkfs.erofs missing.
func Preflight(specs []catalog.Spec, cacheDir, runDir string) error {
	for _, spec := range specs {
		arch, err := vm.ArchByGOARCH(spec.GOARCH())
		if err != nil {
			return err
		}
		if _, err := exec.LookPath(arch.QEMU); err != nil {
			return fmt.Errorf("%w: %s is not installed (needed for %s): run `sudo apt-get install -y %s`", vm.ErrQEMUNotFound, arch.QEMU, spec.Name, arch.Package)
		}
	}
	if _, err := exec.LookPath(diskimage.Tool); err != nil {
		return fmt.Errorf("%w: the guest's disk images (the kernel's modules and config) need it: run `sudo apt-get install -y %s`", diskimage.ErrNoTool, diskimage.Package)
	}
	for _, dir := range []string{cacheDir, runDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("harness: %w (set BPFMATRIX_CACHE or --cache/--run-dir to a writable directory)", err)
		}
		f, err := os.CreateTemp(dir, ".writable-*")
		if err != nil {
			return fmt.Errorf("harness: %s is not writable: %w (set BPFMATRIX_CACHE or --cache/--run-dir to a writable directory)", dir, err)
		}
		f.Close()
		os.Remove(f.Name())
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err == nil {
			if free := st.Bavail * uint64(st.Bsize); free < MinFreeBytes {
				return fmt.Errorf("%w: %s has %d MiB free, a run needs at least %d MiB: free some space or point BPFMATRIX_CACHE (--cache, --run-dir) elsewhere",
					ErrNoSpace, dir, free>>20, MinFreeBytes>>20)
			}
		}
	}
	return nil
}
