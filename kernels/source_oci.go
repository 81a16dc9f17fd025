package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/flock"
	"github.com/bpfmatrix/bpfmatrix/kernels/kimage"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
	"github.com/bpfmatrix/bpfmatrix/kernels/oci"
)

// ErrTagMoved is returned when an OCI tag resolves to another digest than
// the one pinned in the lock file.
var ErrTagMoved = errors.New("OCI tag no longer points at the pinned digest")

// lockMutex takes the file lock that serializes writers of the store's
// lock file.
func (s *Store) lockMutex(ctx context.Context) (func(), error) {
	sum := sha256.Sum256([]byte(s.lockPath))
	return flock.Lock(ctx, filepath.Join(s.cacheDir, "kernels", ".lockfile-"+hex.EncodeToString(sum[:6])+".lock"))
}

// ociDir is the cache directory of spec's image digest (and of its
// config=, if any: another config is another kernel directory).
func ociDir(s *Store, spec catalog.Spec, digest string) string {
	key := spec.Name + "-oci-" + strings.TrimPrefix(digest, "sha256:")[:12]
	if spec.ConfigFile != "" {
		b, _ := os.ReadFile(spec.ConfigFile)
		sum := sha256.Sum256(b)
		key += "-config-" + hex.EncodeToString(sum[:4])
	}
	return filepath.Join(s.cacheDir, "kernels", key)
}

// pullOCI returns the kernel of an OCI image. A pinned and cached image
// needs no network. Otherwise the tag is resolved for the spec's platform;
// if the lock pins another digest the pull is refused (unless force, as
// for `kernels update`), else the image is fetched by digest, extracted
// and its digest pinned.
func (s *Store) pullOCI(ctx context.Context, spec catalog.Spec, force bool) (*Kernel, error) {
	l, err := lock.Load(s.lockPath)
	if err != nil {
		return nil, err
	}
	pinned, isPinned := l.Kernels[spec.Name]
	isPinned = isPinned && entryMatches(spec, pinned) && !force
	if isPinned {
		if k, ok := s.readKernel(ociDir(s, spec, pinned.Digest), spec, pinned); ok {
			return k, nil
		}
	}
	goarch := spec.GOARCH()
	s.progress(spec.Name, PhaseIndex, 0, -1)
	res, err := oci.Resolve(ctx, spec.Ref, goarch, s.opts.OCI)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	if isPinned && res.Digest != pinned.Digest {
		return nil, fmt.Errorf("%w: kernel %s: %s (linux/%s) now resolves to %s, but %s pins %s; run `bpfmatrix kernels update %s` to pin the new image",
			ErrTagMoved, spec.Name, spec.Ref, goarch, res.Digest, s.lockPath, pinned.Digest, specArg(spec))
	}
	e := lock.Entry{Source: catalog.SourceOCI, Ref: spec.Ref, Arch: spec.Arch, Digest: res.Digest}
	dir := ociDir(s, spec, res.Digest)
	k, ok := s.readKernel(dir, spec, lock.Entry{})
	if !ok {
		if k, err = s.build(ctx, spec, dir, lock.Entry{}, func(out string) (*Kernel, error) {
			return s.extractOCI(ctx, spec, res, out)
		}); err != nil {
			return nil, err
		}
	}
	e.Release = k.Release
	unlock, err := s.lockMutex(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if l, err = lock.Load(s.lockPath); err != nil {
		return nil, err
	}
	l.Kernels[spec.Name] = e
	if err := l.Save(s.lockPath); err != nil {
		return nil, err
	}
	return k, nil
}

// extractOCI fetches the image res and lays its kernel out in out.
func (s *Store) extractOCI(ctx context.Context, spec catalog.Spec, res oci.Resolved, out string) (*Kernel, error) {
	raw := filepath.Join(filepath.Dir(out), "image")
	opts := s.opts.OCI
	opts.Limits = s.opts.Limits
	opts.Progress = func(done, total int64) { s.progress(spec.Name, PhaseDownload, done, total) }
	if err := oci.Extract(ctx, spec.Ref, res, raw, oci.Selector, opts); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	s.progress(spec.Name, PhaseExtract, res.Size, res.Size)
	origin := spec.Ref + " (" + res.Digest + ")"
	boot, _ := os.ReadDir(filepath.Join(raw, oci.BootDir))
	mods, _ := os.ReadDir(filepath.Join(raw, oci.ModulesDir))
	var modNames []string
	for _, m := range mods {
		if m.IsDir() {
			modNames = append(modNames, m.Name())
		}
	}
	var images, configs []string
	for _, b := range boot {
		if !b.Type().IsRegular() {
			continue // in-tree links to the files themselves
		}
		if strings.HasPrefix(b.Name(), "config") {
			configs = append(configs, b.Name())
		} else {
			images = append(images, b.Name())
		}
	}
	image, err := pickImage(images, modNames)
	if err != nil {
		return nil, fmt.Errorf("%w: kernel %s: image %s: %v; a kernel image holds /boot/vmlinuz (ci-kernels) or <dir>/boot/vmlinuz-<release> (lvh-images)", catalog.ErrNotKernel, spec.Name, origin, err)
	}
	data, err := os.ReadFile(filepath.Join(raw, oci.BootDir, image))
	if err != nil {
		return nil, err
	}
	config := pickConfig(configs, image)
	in, err := inspect(data, origin+" /boot/"+image, config == "" && spec.ConfigFile == "")
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	if in.Info.Arch != spec.Arch {
		return nil, fmt.Errorf("%w: kernel %s: %s holds an %s %s, not a kernel for %s; ask for its arch (,arch=%s) or a tag built for %s",
			catalog.ErrWrongArch, spec.Name, origin, in.Info.Arch, in.Info.Format, spec.Arch, in.Info.Arch, spec.Arch)
	}
	release := in.Release
	if release == "" && len(modNames) == 1 {
		release = modNames[0]
	}
	if release == "" {
		return nil, fmt.Errorf("%w: kernel %s: %s: /boot/%s has no release banner and the image no /lib/modules/<release>", catalog.ErrNotKernel, spec.Name, origin, image)
	}
	kernel, err := kimage.Bootable(data, in.Info)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %s /boot/%s: %w", spec.Name, origin, image, err)
	}
	if err := os.WriteFile(filepath.Join(out, "vmlinuz"), kernel, 0o644); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	k := &Kernel{Name: spec.Name, Distro: catalog.SourceOCI, Arch: spec.Arch, Version: seriesOf(release), Release: release,
		Source: catalog.SourceOCI, Ref: spec.Ref, Digest: res.Digest}
	repo, tag := spec.Ref, ""
	if i := strings.LastIndexAny(spec.Ref, ":@"); i > strings.LastIndex(spec.Ref, "/") {
		repo, tag = spec.Ref[:i], spec.Ref[i+1:]
	}
	k.Packages = []debian.Package{{Name: repo, Version: tag, Filename: res.Repository + "@" + res.Digest, Size: res.Size, SHA256: strings.TrimPrefix(res.Digest, "sha256:")}}
	switch {
	case spec.ConfigFile != "":
		k.ConfigSource = spec.ConfigFile
		if err := copyFile(spec.ConfigFile, filepath.Join(out, "config")); err != nil {
			return nil, err
		}
	case config != "":
		k.ConfigSource = "/boot/" + config
		if err := os.Rename(filepath.Join(raw, oci.BootDir, config), filepath.Join(out, "config")); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCache, err)
		}
	case in.Config != nil:
		k.ConfigSource = "IKCONFIG"
		if err := os.WriteFile(filepath.Join(out, "config"), in.Config, 0o644); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCache, err)
		}
	default:
		k.NoConfig = fmt.Sprintf("image %s has no /boot/config-* and the kernel has no IKCONFIG (give one with ,config=FILE)", origin)
	}
	if err := os.MkdirAll(filepath.Join(out, "modules"), 0o755); err != nil {
		return nil, err
	}
	switch {
	case len(modNames) == 0:
		err = os.Mkdir(filepath.Join(out, "modules", release), 0o755)
	case len(modNames) == 1 && (modNames[0] == release || in.Release == ""):
		err = os.Rename(filepath.Join(raw, oci.ModulesDir, modNames[0]), filepath.Join(out, "modules", release))
	default:
		found := false
		for _, m := range modNames {
			if m == release {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: kernel %s: %s: the kernel is %s but the image's modules are for %s", catalog.ErrNotKernel, spec.Name, origin, release, strings.Join(modNames, ", "))
		}
		err = os.Rename(filepath.Join(raw, oci.ModulesDir, release), filepath.Join(out, "modules", release))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	return k, nil
}

// pickImage chooses the kernel among the boot files of an image: the only
// one, else vmlinuz-<release of the only module tree>, else vmlinuz.
func pickImage(images, modules []string) (string, error) {
	sort.Strings(images)
	switch {
	case len(images) == 0:
		return "", errors.New("no kernel in it (no boot/vmlinuz*, bzImage, Image or vmlinux)")
	case len(images) == 1:
		return images[0], nil
	}
	for _, want := range append(prefixed("vmlinuz-", modules), "vmlinuz", "bzImage", "Image") {
		for _, im := range images {
			if im == want {
				return im, nil
			}
		}
	}
	return "", fmt.Errorf("several kernels in it (%s) and none matches its module tree", strings.Join(images, ", "))
}

func prefixed(prefix string, list []string) []string {
	var out []string
	for _, s := range list {
		out = append(out, prefix+s)
	}
	return out
}

// pickConfig chooses the config belonging to image (config-<release>
// for vmlinuz-<release>), else the only one.
func pickConfig(configs []string, image string) string {
	if rel, ok := strings.CutPrefix(image, "vmlinuz-"); ok {
		for _, c := range configs {
			if c == "config-"+rel {
				return c
			}
		}
	}
	if len(configs) == 1 {
		return configs[0]
	}
	return ""
}
