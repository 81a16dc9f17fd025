package runner

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/diskimage"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Disk is a host directory as a disk image and where the guest
// mounts it.
type Disk struct {
	// VM is the image QEMU attaches.
	VM vm.Disk
	// Guest says where the guest mounts it.
	Guest wire.Disk
}

// overlayModule lets the guest write over a read-only disk.
const overlayModule = "overlay"

// DirDisk returns the image of the host directory dir (less .git) and its
// guest mount at target: writable through an overlay whose writes stay in
// the guest's memory, or read-only.
func (r *Runner) DirDisk(ctx context.Context, serial, dir, target string, writable bool) (Disk, error) {
	path, err := diskimage.Dir(ctx, filepath.Join(r.CacheDir, "disks"), dir, []string{`^\.git(/|$)`})
	if err != nil {
		return Disk{}, err
	}
	return Disk{
		VM:    vm.Disk{Path: path, Serial: serial},
		Guest: wire.Disk{Serial: serial, FSType: diskimage.FSType, Binds: []wire.Bind{{Target: target, Writable: writable}}},
	}, nil
}

// HostArchive writes an initramfs part of host files for a guest of
// goarch: the includes, and the interpreter and libraries of each
// dynamically linked program among programs (see hostfiles.Entries). It
// returns "" when there is nothing to add.
func HostArchive(path, goarch string, includes []hostfiles.Include, programs ...string) (string, error) {
	entries, err := hostfiles.Entries(goarch, wire.IncludeDir, includes, programs...)
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	if len(entries) == 0 {
		return "", nil
	}
	if err := initramfs.WriteArchive(path, entries); err != nil {
		return "", err
	}
	return path, nil
}
