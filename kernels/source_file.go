package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/flock"
	"github.com/bpfmatrix/bpfmatrix/kernels/kimage"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
)

// maxModulesTree bounds a file kernel's module tree copied into the cache.
const maxModulesTree = 4 << 30

// inspect is kimage.Inspect with errors wrapping catalog.ErrNotKernel;
// origin names the image in them.
func inspect(image []byte, origin string, wantConfig bool) (kimage.Inspected, error) {
	in, err := kimage.Inspect(image, wantConfig)
	if err != nil {
		return kimage.Inspected{}, fmt.Errorf("%w: %s: %w", catalog.ErrNotKernel, origin, err)
	}
	return in, nil
}

// seriesOf returns "6.1" of release "6.1.0-50-cloud-amd64", or "".
func seriesOf(release string) string {
	m := regexp.MustCompile(`^([0-9]+\.[0-9]+)`).FindString(release)
	return m
}

// fileKernel is a file kernel's parts, located and hashed.
type fileKernel struct {
	image                  []byte
	in                     kimage.Inspected
	configPath, configFrom string
	noConfig               string
	modules                string
	key                    string
}

// locateFile reads spec's image and finds its config and module tree
// (the fields of spec, else beside the image) and its content key.
func locateFile(spec catalog.Spec) (*fileKernel, error) {
	image, err := catalog.ReadImage(spec.Ref)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	dir := filepath.Dir(spec.Ref)
	fk := &fileKernel{image: image}
	info, err := kimage.Identify(image)
	if err != nil {
		return nil, fmt.Errorf("%w: kernel %s: %s: %w; name a bzImage, an arm64 Image or a vmlinux", catalog.ErrNotKernel, spec.Name, spec.Ref, err)
	}
	if info.Arch != spec.Arch {
		return nil, fmt.Errorf("%w: kernel %s: %s is an %s %s, not a kernel for %s; use it in an %s column", catalog.ErrWrongArch, spec.Name, spec.Ref, info.Arch, info.Format, spec.Arch, info.Arch)
	}
	release := info.Release
	// The config: the field, else beside the image, else the build tree's.
	var candidates []string
	if spec.ConfigFile != "" {
		candidates = []string{spec.ConfigFile}
	} else {
		candidates = []string{filepath.Join(dir, ".config"), filepath.Join(dir, "config")}
		if release != "" {
			candidates = append(candidates, filepath.Join(dir, "config-"+release))
		}
		// <tree>/arch/<arch>/boot/bzImage
		if boot := filepath.Dir(spec.Ref); filepath.Base(boot) == "boot" && filepath.Base(filepath.Dir(filepath.Dir(boot))) == "arch" {
			candidates = append(candidates, filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(boot))), ".config"))
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			fk.configPath, fk.configFrom = c, c
			break
		}
	}
	if spec.ConfigFile != "" && fk.configPath == "" {
		return nil, fmt.Errorf("kernel %s: config=%s is not a regular file", spec.Name, spec.ConfigFile)
	}
	fk.in, err = inspect(image, spec.Ref, fk.configPath == "")
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	if fk.in.Release == "" {
		return nil, fmt.Errorf("%w: kernel %s: %s has no \"Linux version\" banner to read its release from", catalog.ErrNotKernel, spec.Name, spec.Ref)
	}
	if fk.configPath == "" && fk.in.Config == nil {
		fk.noConfig = fmt.Sprintf("no config= given, no .config, config or config-%s beside %s, and the kernel has no IKCONFIG", fk.in.Release, spec.Ref)
	} else if fk.configPath == "" {
		fk.configFrom = "IKCONFIG"
	}
	// The module tree.
	if spec.Modules != "" {
		fk.modules = spec.Modules
		if sub := filepath.Join(spec.Modules, fk.in.Release); isDir(sub) {
			fk.modules = sub // the parent, /lib/modules, was named
		}
	} else {
		for _, c := range []string{filepath.Join(dir, "modules", fk.in.Release), filepath.Join(dir, "lib", "modules", fk.in.Release)} {
			if isDir(c) {
				fk.modules = c
				break
			}
		}
	}
	// The key: the content of the image and config, the tree's listing.
	h := sha256.New()
	sum := sha256.Sum256(image)
	h.Write(sum[:])
	if fk.configPath != "" {
		b, err := os.ReadFile(fk.configPath)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
		}
		h.Write(b)
	}
	if fk.modules != "" {
		if err := fingerprintTree(h, fk.modules); err != nil {
			return nil, fmt.Errorf("kernel %s: modules %s: %w", spec.Name, fk.modules, err)
		}
	}
	fk.key = spec.Name + "-file-" + hex.EncodeToString(h.Sum(nil))[:12]
	return fk, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// fingerprintTree writes every entry's path, type, size and modification
// time below root to w.
func fingerprintTree(w io.Writer, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(w, "%s\x00%v\x00%d\x00%d\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
}

func (s *Store) cachedFile(spec catalog.Spec) (*Kernel, bool) {
	fk, err := locateFile(spec)
	if err != nil {
		return nil, false
	}
	return s.readKernel(filepath.Join(s.cacheDir, "kernels", fk.key), spec, lock.Entry{Release: fk.in.Release})
}

// pullFile copies a file kernel (image, config, module tree) into the
// cache under its content key: a changed file is a new kernel.
func (s *Store) pullFile(ctx context.Context, spec catalog.Spec) (*Kernel, error) {
	fk, err := locateFile(spec)
	if err != nil {
		return nil, err
	}
	release := fk.in.Release
	dir := filepath.Join(s.cacheDir, "kernels", fk.key)
	defer s.pruneFileKernels(ctx, spec, dir)
	return s.build(ctx, spec, dir, lock.Entry{Release: release}, func(out string) (*Kernel, error) {
		s.progress(spec.Name, PhaseExtract, 0, int64(len(fk.image)))
		boot, err := kimage.Bootable(fk.image, fk.in.Info)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %s: %w", spec.Name, spec.Ref, err)
		}
		if err := os.WriteFile(filepath.Join(out, "vmlinuz"), boot, 0o644); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCache, err)
		}
		k := &Kernel{Name: spec.Name, Distro: catalog.SourceFile, Arch: spec.Arch, Version: seriesOf(release), Release: release,
			Source: catalog.SourceFile, Ref: spec.Ref, ConfigSource: fk.configFrom, NoConfig: fk.noConfig}
		sum := sha256.Sum256(fk.image)
		k.Digest = "sha256:" + hex.EncodeToString(sum[:])
		k.Packages = []debian.Package{{Name: spec.Ref, Version: release, Filename: filepath.Base(spec.Ref), Size: int64(len(fk.image)), SHA256: hex.EncodeToString(sum[:])}}
		switch {
		case fk.configPath != "":
			if err := copyFile(fk.configPath, filepath.Join(out, "config")); err != nil {
				return nil, err
			}
		case fk.in.Config != nil:
			if err := os.WriteFile(filepath.Join(out, "config"), fk.in.Config, 0o644); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCache, err)
			}
		}
		mods := filepath.Join(out, "modules", release)
		if fk.modules != "" {
			if err := copyTree(fk.modules, mods); err != nil {
				return nil, fmt.Errorf("kernel %s: copying modules %s: %w", spec.Name, fk.modules, err)
			}
		}
		return k, os.MkdirAll(mods, 0o755)
	})
}

// Bounds on the file kernels kept per name: a developer who rebuilds
// often makes a new cache entry every time.
const (
	keepFileKernels = 3
	fileKernelIdle  = time.Hour
)

// pruneFileKernels marks dir as used now and removes the other cache
// entries of spec's name beyond the keepFileKernels most recently used,
// if unused for fileKernelIdle (another run may still boot one). It is
// best effort.
func (s *Store) pruneFileKernels(ctx context.Context, spec catalog.Spec, dir string) {
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "kernel.json"), now, now)
	kernelsDir := filepath.Join(s.cacheDir, "kernels")
	dirs, _ := filepath.Glob(filepath.Join(kernelsDir, spec.Name+"-file-*"))
	type entry struct {
		dir  string
		used time.Time
	}
	var es []entry
	for _, d := range dirs {
		fi, err := os.Stat(filepath.Join(d, "kernel.json"))
		if err != nil || d == dir {
			continue
		}
		es = append(es, entry{d, fi.ModTime()})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].used.After(es[j].used) })
	for i, e := range es {
		if i < keepFileKernels-1 || now.Sub(e.used) < fileKernelIdle {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		unlock, err := flock.Lock(lctx, filepath.Join(kernelsDir, "."+filepath.Base(e.dir)+".lock"))
		cancel()
		if err != nil {
			continue
		}
		// kernel.json first: a half-removed directory is never complete.
		if os.Remove(filepath.Join(e.dir, "kernel.json")) == nil {
			os.RemoveAll(e.dir)
		}
		unlock()
		os.Remove(filepath.Join(kernelsDir, "."+filepath.Base(e.dir)+".lock"))
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCache, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}

// copyTree copies the directories, regular files and in-tree relative
// symlinks below src to dst; links out of the tree (a module tree's build
// and source) are left out, and at most maxModulesTree bytes are copied.
func copyTree(src, dst string) error {
	var total int64
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch t := d.Type(); {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case t&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if filepath.IsAbs(link) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), link)) {
				return nil
			}
			return os.Symlink(link, target)
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if total += fi.Size(); total > maxModulesTree {
				return fmt.Errorf("%w: more than %d bytes", ErrCache, int64(maxModulesTree))
			}
			return copyFile(p, target)
		}
		return nil // sockets, devices: not part of a module tree
	})
}

// specArg is how a user names spec on the command line.
func specArg(spec catalog.Spec) string {
	if spec.Ref == "" {
		return spec.Name
	}
	if _, err := catalog.Default().Lookup([]string{spec.Name}); err == nil {
		return spec.Name
	}
	arg := spec.SourceKind() + ":" + spec.Ref
	if spec.Arch != "amd64" && spec.SourceKind() == catalog.SourceOCI {
		arg += ",arch=" + spec.Arch
	}
	if d, err := catalog.ParseRef(arg); err != nil || d.Name != spec.Name {
		arg += ",name=" + spec.Name
	}
	return arg
}
