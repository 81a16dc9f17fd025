package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/bpfmatrix/bpfmatrix/internal/kmod"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/diskimage"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// systemSerial names the disk of the kernel's own files.
const systemSerial = "system"

// kernelFiles is what a guest gets of its kernel's own files, at the paths a
// distribution installs them: the module tree (indexed for modprobe) and
// the config, on a disk image; for a kernel without a module tree, the
// config alone in the initramfs.
type kernelFiles struct {
	disk    *vm.Disk
	guest   *wire.Disk
	modules []string // to load before the disk can be mounted
	archive string   // an initramfs part, or ""
	machine wire.Machine
}

// kernelFiles prepares k's files for a guest with cpus CPUs.
func (r *Runner) kernelFiles(ctx context.Context, k *kernels.Kernel, cpus int, dir string) (*kernelFiles, error) {
	f := &kernelFiles{machine: wire.Machine{CPUs: cpus, Modules: k.ModulesDir != ""}}
	var config []byte
	if k.Config != "" {
		var err error
		if config, err = os.ReadFile(k.Config); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(config)
		f.machine.ConfigSHA256 = hex.EncodeToString(sum[:])
	}
	if k.ModulesDir == "" {
		if config == nil {
			return f, nil
		}
		f.archive = filepath.Join(dir, "boot.cpio")
		return f, initramfs.WriteArchive(f.archive, []initramfs.Entry{{Name: "boot/config-" + k.Release, Mode: 0o644, Data: config}})
	}
	path, err := diskimage.System(ctx, filepath.Join(r.CacheDir, "disks"), diskimage.Kernel{Release: k.Release, ModulesDir: k.ModulesDir, Config: k.Config})
	if err != nil {
		return nil, err
	}
	f.disk = &vm.Disk{Path: path, Serial: systemSerial}
	f.guest = &wire.Disk{Serial: systemSerial, FSType: diskimage.FSType, Binds: []wire.Bind{{Source: "lib/modules/" + k.Release, Target: "/lib/modules/" + k.Release}}}
	if config != nil {
		f.guest.Binds = append(f.guest.Binds, wire.Bind{Source: "boot", Target: "/boot"})
	}
	f.modules = diskimage.Modules
	return f, nil
}

// apply adds the kernel's files to a guest request and its VM's disks.
func (f *kernelFiles) apply(cfg *wire.Config, parts []string, disks []vm.Disk) ([]string, []vm.Disk) {
	if f.guest != nil {
		cfg.Disks = append([]wire.Disk{*f.guest}, cfg.Disks...)
		disks = append([]vm.Disk{*f.disk}, disks...)
	}
	if f.archive != "" {
		parts = append(parts, f.archive)
	}
	var mods []string
	for _, m := range append(append([]string(nil), f.modules...), cfg.Modules...) {
		if !containsModule(mods, m) {
			mods = append(mods, m)
		}
	}
	cfg.Modules = mods
	b, _ := json.Marshal(f.machine)
	cfg.Env = append(append([]string(nil), cfg.Env...), wire.EnvMachine+"="+string(b))
	return parts, disks
}

// containsModule reports whether list names module m, under the kernel's
// own name rules (kmod.Name: "sch-ingress" is sch_ingress).
func containsModule(list []string, m string) bool {
	for _, l := range list {
		if kmod.Name(l) == kmod.Name(m) {
			return true
		}
	}
	return false
}
