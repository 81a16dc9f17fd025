// Package diskimage builds the read-only EROFS images that a guest mounts
// from virtio block devices: the kernel's own files (its whole module tree
// with modules.dep and modules.alias, and /boot/config-<release>), and
// host directories a test needs (its Go module, $GOROOT). An image sits on
// the host's disk and the guest reads the pages it touches, so nothing of
// it is copied into the guest's memory at boot, as an initramfs would be.
//
// Images are made by mkfs.erofs (Debian package erofs-utils). EROFS is
// built as a module into every default kernel (5.10 to 7.2, both
// architectures); uncompressed EROFS needs nothing of the kernel's
// decompressors.
package diskimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/internal/kmod"
)

// FSType is the file system of every image, for mount(2).
const FSType = "erofs"

// Tool is the program that makes the images, and Package the Debian
// package that has it.
const (
	Tool    = "mkfs.erofs"
	Package = "erofs-utils"
)

// ErrNoTool is returned when mkfs.erofs is not installed.
var ErrNoTool = errors.New(Tool + " not found")

// Modules are the kernel modules a guest loads from its initramfs before
// it can mount an image: the virtio PCI transport, the block driver and
// the file system. Some kernels build some of them in.
var Modules = []string{"virtio_pci", "virtio_blk", "erofs"}

// format changes when the layout of a cached image changes.
const format = "1"

// Options tune Build.
type Options struct {
	// Exclude are regular expressions of paths (relative to the root) to
	// leave out, as mkfs.erofs --exclude-regex takes them.
	Exclude []string
	// AllRoot makes root own every file, as a distribution's package
	// manager would have installed them.
	AllRoot bool
}

// Build writes an image of the directory root to dst, atomically: dst is
// either the whole image or absent.
func Build(ctx context.Context, dst, root string, o Options) error {
	tool, err := exec.LookPath(Tool)
	if err != nil {
		return fmt.Errorf("%w: run `sudo apt-get install -y %s`", ErrNoTool, Package)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	// -x-1: no extended attributes (the host's security labels are not the
	// guest's); -T0: fixed timestamps, so an image depends only on content.
	args := []string{"--quiet", "-x-1", "-T0"}
	if o.AllRoot {
		args = append(args, "--all-root")
	}
	for _, x := range o.Exclude {
		args = append(args, "--exclude-regex="+x)
	}
	cmd := exec.CommandContext(ctx, tool, append(args, tmp.Name(), root)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("diskimage: %s %s: %w: %s", Tool, root, err, strings.TrimSpace(string(out)))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	return nil
}

// Kernel is what a kernel's system image holds.
type Kernel struct {
	// Release is the kernel's release (uname -r).
	Release string
	// ModulesDir is the kernel's lib/modules/<release> tree; "" for a
	// kernel without modules.
	ModulesDir string
	// Config is the kernel's config file; "" if there is none.
	Config string
}

// System returns the cached image of k's files laid out as a distribution
// installs them: lib/modules/<release>/ (with modules.dep and modules.alias
// for modprobe) and boot/config-<release>. It is built on first use, in a
// few seconds, and cached in cacheDir by content.
func System(ctx context.Context, cacheDir string, k Kernel) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", format, k.Release, k.ModulesDir)
	if k.Config != "" {
		f, err := os.Open(k.Config)
		if err != nil {
			return "", fmt.Errorf("diskimage: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("diskimage: %w", err)
		}
	}
	dst := filepath.Join(cacheDir, fmt.Sprintf("system-%s-%s.erofs", k.Release, hex.EncodeToString(h.Sum(nil))[:12]))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("diskimage: %w", err)
	}
	stage, err := os.MkdirTemp(cacheDir, ".stage-")
	if err != nil {
		return "", fmt.Errorf("diskimage: %w", err)
	}
	defer os.RemoveAll(stage)
	if k.ModulesDir != "" {
		mods := filepath.Join(stage, "lib", "modules", k.Release)
		if err := linkTree(k.ModulesDir, mods); err != nil {
			return "", err
		}
		tree, err := kmod.ReadTree(mods)
		if err != nil {
			return "", err
		}
		// The staged index files are new files, not links into the cache.
		for _, f := range []string{"modules.dep", "modules.alias"} {
			os.Remove(filepath.Join(mods, f))
		}
		if err := tree.WriteIndex(mods); err != nil {
			return "", fmt.Errorf("kernel %s: %w", k.Release, err)
		}
	}
	if k.Config != "" {
		boot := filepath.Join(stage, "boot")
		if err := os.MkdirAll(boot, 0o755); err != nil {
			return "", fmt.Errorf("diskimage: %w", err)
		}
		if err := linkFile(k.Config, filepath.Join(boot, "config-"+k.Release)); err != nil {
			return "", err
		}
	}
	if err := Build(ctx, dst, stage, Options{AllRoot: true}); err != nil {
		return "", err
	}
	return dst, nil
}

// linkTree recreates the regular files and directories below src in dst
// as hard links (copies across file systems). Anything else is left out:
// a module tree has no business holding devices or links out of it.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("diskimage: %w", err)
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return linkFile(p, target)
		}
		return nil
	})
}

func linkFile(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("diskimage: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("diskimage: %w", err)
	}
	return out.Close()
}

// keepDirImages is how many images of directories stay cached.
const keepDirImages = 8

// Dir returns the cached image of the directory root less the paths (relative
// to root) that match a regular expression of exclude. A change to any
// file's path, size, mode or modification time makes a new image; the
// oldest images beyond the newest eight are removed.
func Dir(ctx context.Context, cacheDir, root string, exclude []string) (string, error) {
	var res []*regexp.Regexp
	for _, x := range exclude {
		re, err := regexp.Compile(x)
		if err != nil {
			return "", fmt.Errorf("diskimage: exclude %q: %w", x, err)
		}
		res = append(res, re)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", format, root, exclude)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, re := range res {
			if rel != "." && re.MatchString(rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("diskimage: %w", err)
	}
	base := strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, filepath.Base(root)), "_")
	dst := filepath.Join(cacheDir, fmt.Sprintf("dir-%s-%s.erofs", base, hex.EncodeToString(h.Sum(nil))[:16]))
	if _, err := os.Stat(dst); err == nil {
		now := time.Now()
		os.Chtimes(dst, now, now) // most recently used: pruned last
		return dst, nil
	}
	if err := Build(ctx, dst, root, Options{Exclude: exclude}); err != nil {
		return "", err
	}
	prune(cacheDir, "dir-", keepDirImages, dst)
	return dst, nil
}

// prune removes the oldest files of dir whose names start with prefix,
// keeping the newest keep (and keep itself).
func prune(dir, prefix string, keep int, current string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			files = append(files, file{filepath.Join(dir, e.Name()), fi.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	for i, f := range files {
		if i >= keep && f.path != current {
			os.Remove(f.path)
		}
	}
}
