package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// diskWait bounds the wait for a disk's block device after its driver
// loaded: the driver probes the device as it loads, so this is seldom
// needed, but udev is not here to say when it is done.
const diskWait = 10 * time.Second

// MountDisks mounts every disk of the config read-only at DiskDir/<serial>
// and sets up its binds. The disk drivers must be loaded.
func MountDisks(disks []wire.Disk) error {
	var errs []error
	for _, d := range disks {
		if err := mountDisk(d); err != nil {
			errs = append(errs, fmt.Errorf("disk %s: %w", d.Serial, err))
		}
	}
	return errors.Join(errs...)
}

func mountDisk(d wire.Disk) error {
	dev, err := findDisk(d.Serial, diskWait)
	if err != nil {
		return err
	}
	root := filepath.Join(wire.DiskDir, d.Serial)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, root, d.FSType, unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", dev, d.FSType, root, err)
	}
	for i, b := range d.Binds {
		src := filepath.Join(root, b.Source)
		if err := os.MkdirAll(b.Target, 0o755); err != nil {
			return err
		}
		if b.Writable {
			if err := overlay(src, b.Target, filepath.Join(wire.DiskDir, fmt.Sprintf(".rw-%s-%d", d.Serial, i))); err != nil {
				return err
			}
			continue
		}
		if err := unix.Mount(src, b.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", src, b.Target, err)
		}
	}
	return nil
}

// overlay mounts a writable overlay of the read-only directory lower at
// target, its changes kept in a tmpfs at scratch.
func overlay(lower, target, scratch string) error {
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", scratch, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs for the overlay of %s: %w", target, err)
	}
	upper, work := filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay on %s: %w", target, err)
	}
	return nil
}

// findDisk returns the device node of the virtio disk whose serial is
// serial, waiting up to wait for it to appear.
func findDisk(serial string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		if dev, ok := diskBySerial("/sys/block", serial); ok {
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no block device with serial %q after %s (is the virtio_blk module loaded?)", serial, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// diskBySerial looks through sysfs's block devices for serial.
func diskBySerial(sysBlock, serial string) (string, bool) {
	ents, err := os.ReadDir(sysBlock)
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(sysBlock, e.Name(), "serial"))
		if err == nil && strings.TrimSpace(string(b)) == serial {
			return "/dev/" + e.Name(), true
		}
	}
	return "", false
}

// Bind sets up binds of files and directories the guest already has (see
// wire.Config.Binds): a directory onto a directory, a file onto a file,
// the target created if missing.
func Bind(binds []wire.Bind) error {
	var errs []error
	for _, b := range binds {
		fi, err := os.Stat(b.Source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fi.IsDir() {
			err = os.MkdirAll(b.Target, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(b.Target), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(b.Target, os.O_CREATE|os.O_WRONLY, fi.Mode().Perm()); err == nil {
				f.Close()
			}
		}
		if err == nil {
			err = unix.Mount(b.Source, b.Target, "", unix.MS_BIND|unix.MS_REC, "")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("bind %s on %s: %w", b.Source, b.Target, err))
		}
	}
	return errors.Join(errs...)
}
