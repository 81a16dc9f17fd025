package harness

import (
	"context"
	"path/filepath"

	"github.com/bpfmatrix/bpfmatrix/guest"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/diskimage"
)

// systemSerial names the disk of the kernel's own files.
const systemSerial = "system"

// systemDisk returns the image of k's own files (its module tree, indexed
// for modprobe, and its config, at the paths a distribution installs them)
// and how the guest mounts it. The modules that mount it must be loaded
// first: see diskimage.Modules.
func systemDisk(ctx context.Context, cacheDir string, k *kernels.Kernel) (vm.Disk, guest.Disk, error) {
	path, err := diskimage.System(ctx, filepath.Join(cacheDir, "disks"), diskimage.Kernel{Release: k.Release, ModulesDir: k.ModulesDir, Config: k.Config})
	if err != nil {
		return vm.Disk{}, guest.Disk{}, err
	}
	g := guest.Disk{Serial: systemSerial, FSType: diskimage.FSType}
	if k.ModulesDir != "" {
		g.Binds = append(g.Binds, guest.Bind{Source: "lib/modules/" + k.Release, Target: "/lib/modules/" + k.Release})
	}
	if k.Config != "" {
		g.Binds = append(g.Binds, guest.Bind{Source: "boot", Target: "/boot"})
	}
	return vm.Disk{Path: path, Serial: systemSerial}, g, nil
}
