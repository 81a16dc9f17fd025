package kernels

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels/apt"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/deb"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/flock"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
	"github.com/bpfmatrix/bpfmatrix/kernels/oci"
)

// EnvCache is the cache directory consulted by Open (the archives' are in
// package apt: apt.EnvMirror and others).
const EnvCache = "BPFMATRIX_CACHE"

// DefaultLockPath is the lock file used when Options.LockPath is empty.
const DefaultLockPath = "bpfmatrix.lock"

// Progress phases reported through Options.Progress.
const (
	PhaseIndex    = "index"
	PhaseDownload = "download"
	PhaseExtract  = "extract"
)

var (
	// ErrCache is returned when the cache directory is unusable.
	ErrCache = errors.New("kernel cache unusable")
	// ErrPinnedGone is returned when the mirror no longer has a package
	// pinned in the lock file.
	ErrPinnedGone = errors.New("pinned kernel package is gone from the mirror")
	// ErrIncomplete is returned when the packages lack a kernel image or
	// config.
	ErrIncomplete = errors.New("kernel packages incomplete")
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// CacheDir holds extracted kernels. Default: $BPFMATRIX_CACHE, else
	// $XDG_CACHE_HOME/bpfmatrix, else os.UserCacheDir()/bpfmatrix.
	CacheDir string
	// Mirror is the Debian mirror base URL (see apt.Options.Mirror).
	Mirror string
	// SecurityMirror is the Debian security archive (see
	// apt.Options.SecurityMirror).
	SecurityMirror string
	// UbuntuMirror is the Ubuntu archive (see apt.Options.UbuntuMirror).
	UbuntuMirror string
	// APTRoot is the root directory whose apt configuration is consulted
	// when no mirror is set. Default "/".
	APTRoot string
	// OCI configures registry access for oci kernels (default: the Docker
	// configuration's credentials).
	OCI oci.Options
	// LockPath is the lock file. Default: "bpfmatrix.lock" in the current
	// directory.
	LockPath string
	// HTTPClient is used for all downloads. Default: http.DefaultClient.
	HTTPClient *http.Client
	// Progress, if not nil, is called with the catalog name of the kernel,
	// one of the Phase constants, and bytes done and total (total is -1
	// when unknown). Kernels are pulled concurrently: it must be safe for
	// concurrent use.
	Progress func(kernel string, phase string, done, total int64)
	// Limits bounds the size of downloaded packages when extracting.
	Limits deb.Limits
	// Downloads is how many kernels are downloaded and extracted at once
	// (default 2). Index reads and cache checks never wait for it.
	Downloads int
}

// Store fetches kernels into a cache directory and pins them in a lock
// file. It is safe for concurrent use, also by several processes sharing
// the cache directory.
type Store struct {
	opts     Options
	cacheDir string
	lockPath string
	client   *http.Client
	apt      *apt.Archives
	// downloads holds a token per download and extraction in progress.
	downloads chan struct{}
}

// Open returns a Store, creating the cache directory if needed and checking
// that it is writable.
func Open(opts Options) (*Store, error) {
	dir := opts.CacheDir
	if dir == "" {
		dir = os.Getenv(EnvCache)
	}
	if dir == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			var err error
			if base, err = os.UserCacheDir(); err != nil {
				return nil, fmt.Errorf("%w: cannot determine a cache directory (%v); set %s to a writable directory", ErrCache, err, EnvCache)
			}
		}
		dir = filepath.Join(base, "bpfmatrix")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	if err := checkWritable(filepath.Join(dir, "kernels")); err != nil {
		return nil, fmt.Errorf("%w: cache directory %s is not writable: %v; set %s to a writable directory", ErrCache, dir, err, EnvCache)
	}
	lockPath := opts.LockPath
	if lockPath == "" {
		lockPath = DefaultLockPath
	}
	if lockPath, err = filepath.Abs(lockPath); err != nil {
		return nil, fmt.Errorf("lock file path: %w", err)
	}
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	archives := apt.New(apt.Options{Mirror: opts.Mirror, SecurityMirror: opts.SecurityMirror, UbuntuMirror: opts.UbuntuMirror, APTRoot: opts.APTRoot, HTTPClient: client})
	n := opts.Downloads
	if n <= 0 {
		n = 2
	}
	return &Store{opts: opts, cacheDir: dir, lockPath: lockPath, client: client, apt: archives, downloads: make(chan struct{}, n)}, nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// CacheDir returns the absolute cache directory.
func (s *Store) CacheDir() string { return s.cacheDir }

// LockPath returns the absolute path of the lock file.
func (s *Store) LockPath() string { return s.lockPath }

// Mirror returns the Debian mirror in use, resolving the default on first
// use. The error wraps debian.ErrNoMirror if none is configured.
func (s *Store) Mirror() (string, error) { return s.apt.Mirror() }

// Available lists every kernel the Debian mirror (and its security
// archive) offers (see apt.Archives.Available).
func (s *Store) Available(ctx context.Context, opts apt.AvailableOptions) ([]apt.Offer, error) {
	return s.apt.Available(ctx, opts)
}

// LoadLock reads the store's lock file.
func (s *Store) LoadLock() (*lock.File, error) { return lock.Load(s.lockPath) }

// Pull returns the kernel for spec, downloading it if it is not cached. The
// packages pinned in the lock file are used if present; otherwise the newest
// matching kernel is resolved from the mirror's index and pinned.
func (s *Store) Pull(ctx context.Context, spec catalog.Spec) (*Kernel, error) {
	switch spec.SourceKind() {
	case catalog.SourceOCI:
		return s.pullOCI(ctx, spec, false)
	case catalog.SourceFile:
		return s.pullFile(ctx, spec)
	}
	e, pinned, err := s.pin(ctx, spec, false)
	if err != nil {
		return nil, err
	}
	return s.materialize(ctx, spec, e, pinned)
}

// Update re-resolves specs against the mirror, rewrites their lock entries
// and pulls the resulting kernels.
func (s *Store) Update(ctx context.Context, specs []catalog.Spec) ([]*Kernel, error) {
	var out []*Kernel
	for _, spec := range specs {
		var k *Kernel
		var err error
		switch spec.SourceKind() {
		case catalog.SourceOCI:
			k, err = s.pullOCI(ctx, spec, true)
		case catalog.SourceFile:
			k, err = s.pullFile(ctx, spec)
		default:
			var e lock.Entry
			if e, _, err = s.pin(ctx, spec, true); err != nil {
				return out, err
			}
			k, err = s.materialize(ctx, spec, e, false)
		}
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
	return out, nil
}

// Cached returns the kernel for spec if the lock file pins it and it is
// completely extracted in the cache. It never uses the network.
func (s *Store) Cached(spec catalog.Spec) (*Kernel, bool) {
	if spec.SourceKind() == catalog.SourceFile {
		return s.cachedFile(spec)
	}
	l, err := lock.Load(s.lockPath)
	if err != nil {
		return nil, false
	}
	e, ok := l.Kernels[spec.Name]
	if !ok || !entryMatches(spec, e) {
		return nil, false
	}
	if spec.SourceKind() == catalog.SourceOCI {
		return s.readKernel(ociDir(s, spec, e.Digest), spec, e)
	}
	return s.readKernel(s.kernelDir(spec, e), spec, e)
}

// entryMatches reports whether the lock entry e pins a kernel that spec
// describes: a changed catalog entry is resolved again.
func entryMatches(spec catalog.Spec, e lock.Entry) bool {
	if spec.SourceKind() == catalog.SourceOCI {
		return e.Source == catalog.SourceOCI && e.Ref == spec.Ref && e.Arch == spec.Arch
	}
	suite := e.Suite == spec.Suite && e.Archive == "" || spec.Security != "" && e.Suite == spec.Security && e.Archive == lock.ArchiveSecurity
	return e.Source == "" && suite && e.Arch == spec.Arch && spec.Naming().Matches(e.Release, spec.Version)
}

// pin returns the lock entry for spec, resolving it from the mirror (and
// saving the lock) if there is none or force is set. pinned reports
// whether the entry came from the lock file. A kernel's index is read
// under a lock of that kernel's own, so different kernels resolve
// concurrently while one kernel is resolved once across processes; only
// the read-modify-write of the lock file is serialized.
func (s *Store) pin(ctx context.Context, spec catalog.Spec, force bool) (lock.Entry, bool, error) {
	l, err := lock.Load(s.lockPath)
	if err != nil {
		return lock.Entry{}, false, err
	}
	if e, ok := l.Kernels[spec.Name]; ok && !force && entryMatches(spec, e) {
		return e, true, nil
	}
	sum := sha256.Sum256([]byte(s.lockPath + "\x00" + spec.Name))
	unlockKernel, err := flock.Lock(ctx, filepath.Join(s.cacheDir, "kernels", ".pin-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return lock.Entry{}, false, err
	}
	defer unlockKernel()
	if l, err = lock.Load(s.lockPath); err != nil {
		return lock.Entry{}, false, err
	}
	if e, ok := l.Kernels[spec.Name]; ok && !force && entryMatches(spec, e) {
		return e, true, nil // pinned by another process while we waited
	}
	s.progress(spec.Name, PhaseIndex, 0, -1)
	e, err := s.apt.Resolve(ctx, spec)
	if err != nil {
		return lock.Entry{}, false, err
	}
	unlock, err := s.lockMutex(ctx)
	if err != nil {
		return lock.Entry{}, false, err
	}
	defer unlock()
	if l, err = lock.Load(s.lockPath); err != nil {
		return lock.Entry{}, false, err
	}
	l.Kernels[spec.Name] = e
	if err := l.Save(s.lockPath); err != nil {
		return lock.Entry{}, false, err
	}
	return e, false, nil
}

func cacheKey(spec catalog.Spec, e lock.Entry) string {
	h := sha256.New()
	for _, p := range e.Packages {
		io.WriteString(h, p.SHA256)
	}
	return spec.Name + "-" + e.Release + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

func (s *Store) kernelDir(spec catalog.Spec, e lock.Entry) string {
	return filepath.Join(s.cacheDir, "kernels", cacheKey(spec, e))
}

// readKernel loads a complete kernel directory; kernel.json is written last
// and marks completeness. An empty e.Release matches any release (an OCI
// kernel's directory is named by its digest).
func (s *Store) readKernel(dir string, spec catalog.Spec, e lock.Entry) (*Kernel, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return nil, false
	}
	var k Kernel
	if err := json.Unmarshal(b, &k); err != nil || (e.Release != "" && k.Release != e.Release) || k.Name != spec.Name {
		return nil, false
	}
	k.setPaths(dir)
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return nil, false
	}
	return &k, true
}

func (k *Kernel) setPaths(dir string) {
	k.Dir = dir
	k.Vmlinuz = filepath.Join(dir, "vmlinuz")
	k.Config = filepath.Join(dir, "config")
	if k.NoConfig != "" {
		k.Config = ""
	}
	k.ModulesDir = filepath.Join(dir, "modules", k.Release)
}

func (s *Store) progress(kernel, phase string, done, total int64) {
	if s.opts.Progress != nil {
		s.opts.Progress(kernel, phase, done, total)
	}
}

// materialize makes sure the kernel described by e is extracted in the
// cache, downloading it at most once across processes.
func (s *Store) materialize(ctx context.Context, spec catalog.Spec, e lock.Entry, pinned bool) (*Kernel, error) {
	return s.build(ctx, spec, s.kernelDir(spec, e), e, func(out string) (*Kernel, error) {
		mirror, err := s.apt.For(spec, e.Archive)
		if err != nil {
			return nil, err
		}
		work := filepath.Dir(out)
		var total, base int64
		for _, p := range e.Packages {
			total += p.Size
		}
		sel := selector(e.Release)
		for _, p := range e.Packages {
			if err := s.fetchAndExtract(ctx, spec, p, mirror, work, out, sel, pinned, base, total); err != nil {
				return nil, err
			}
			base += p.Size
		}
		for _, f := range []string{"vmlinuz", "config"} {
			if fi, err := os.Stat(filepath.Join(out, f)); err != nil || !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%w: kernel %s: packages %s contain no %s for release %s; the catalog entry may need a different flavour",
					ErrIncomplete, spec.Name, packageNames(e.Packages), f, e.Release)
			}
		}
		if err := os.MkdirAll(filepath.Join(out, "modules", e.Release), 0o755); err != nil {
			return nil, err
		}
		return &Kernel{Name: spec.Name, Distro: spec.Distro, Suite: e.Suite, Arch: spec.Arch, Flavour: spec.Flavour,
			Version: spec.Version, Release: e.Release, Packages: e.Packages, Source: catalog.SourceAPT, ConfigSource: "package"}, nil
	})
}

// build makes dir by fill (called with an empty work directory, under
// the key's file lock, at most once across processes) unless it is
// complete already. Nothing is left behind when fill fails.
func (s *Store) build(ctx context.Context, spec catalog.Spec, dir string, e lock.Entry, fill func(out string) (*Kernel, error)) (*Kernel, error) {
	if k, ok := s.readKernel(dir, spec, e); ok {
		return k, nil
	}
	kernelsDir := filepath.Dir(dir)
	key := filepath.Base(dir)
	unlock, err := flock.Lock(ctx, filepath.Join(kernelsDir, "."+key+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if k, ok := s.readKernel(dir, spec, e); ok {
		return k, nil // another process finished it while we waited
	}
	// We hold the lock, so temporary directories for this key were left
	// behind by processes that died.
	stale, _ := filepath.Glob(filepath.Join(kernelsDir, ".tmp-"+key+"-*"))
	for _, p := range stale {
		os.RemoveAll(p)
	}
	work, err := os.MkdirTemp(kernelsDir, ".tmp-"+key+"-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v; set %s to a writable directory", ErrCache, err, EnvCache)
	}
	defer os.RemoveAll(work)
	select {
	case s.downloads <- struct{}{}:
		defer func() { <-s.downloads }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	k, err := fill(out)
	if err != nil {
		return nil, err
	}
	return s.commit(k, out, dir)
}

// commit writes kernel.json into the finished tree out (last: it marks
// the tree complete) and moves out to dir.
func (s *Store) commit(k *Kernel, out, dir string) (*Kernel, error) {
	k.setPaths(dir)
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "kernel.json"), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	// A directory without kernel.json is debris (e.g. removed by hand).
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("%w: removing incomplete %s: %v", ErrCache, dir, err)
	}
	if err := os.Rename(out, dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCache, err)
	}
	return k, nil
}

func (s *Store) fetchAndExtract(ctx context.Context, spec catalog.Spec, p debian.Package, mirror, work, out string,
	sel deb.HeaderSelector, pinned bool, base, total int64) error {
	f, err := os.CreateTemp(work, "*.deb")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCache, err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	err = debian.Download(ctx, s.client, mirror, p, f, func(done, _ int64) {
		s.progress(spec.Name, PhaseDownload, base+done, total)
	})
	if err != nil {
		if pinned && errors.Is(err, debian.ErrNotFound) {
			return fmt.Errorf("%w: kernel %s: %s %s pinned in %s is no longer on the mirror (%v); run `bpfmatrix kernels update %s` to pin the current version",
				ErrPinnedGone, spec.Name, p.Name, p.Version, s.lockPath, err, spec.Name)
		}
		return fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.progress(spec.Name, PhaseExtract, base, total)
	if err := deb.ExtractWith(f, out, deb.ExtractOptions{Select: sel, Limits: s.opts.Limits}); err != nil {
		return fmt.Errorf("kernel %s: extracting %s: %w", spec.Name, p.Filename, err)
	}
	return nil
}

func packageNames(pkgs []debian.Package) string {
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// selector maps the files of a kernel release's packages into the cache
// layout: vmlinuz, config and modules/<release>/...
func selector(release string) deb.HeaderSelector {
	modules := "modules/" + release
	return func(name string, hdr *tar.Header) (string, bool) {
		link := hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink
		switch name {
		case "boot/vmlinuz-" + release:
			return "vmlinuz", !link
		case "boot/config-" + release:
			return "config", !link
		}
		for _, prefix := range []string{"lib/modules/" + release, "usr/lib/modules/" + release} {
			if name == prefix {
				return modules, true
			}
			rest, ok := strings.CutPrefix(name, prefix+"/")
			if !ok {
				continue
			}
			switch rest {
			case "vmlinuz":
				return "vmlinuz", !link
			case "config":
				return "config", !link
			case "System.map", "build", "source":
				return "", false
			}
			if hdr.Typeflag == tar.TypeSymlink && path.IsAbs(hdr.Linkname) {
				return "", false
			}
			return modules + "/" + rest, true
		}
		return "", false
	}
}
