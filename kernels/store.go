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
	"sort"
	"strings"
	"sync"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/deb"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/flock"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
	"github.com/bpfmatrix/bpfmatrix/kernels/oci"
)

// Environment variables consulted by Open.
const (
	EnvCache  = "BPFMATRIX_CACHE"
	EnvMirror = "BPFMATRIX_DEBIAN_MIRROR"
	// EnvSecurityMirror is the Debian security archive (default: apt's
	// -security source, else the mirror with /debian replaced by
	// /debian-security).
	EnvSecurityMirror = "BPFMATRIX_DEBIAN_SECURITY_MIRROR"
	// EnvUbuntuMirror is the base URL of the Ubuntu archive for amd64
	// kernels.
	EnvUbuntuMirror = "BPFMATRIX_UBUNTU_MIRROR"
	// EnvUbuntuPortsMirror is the base URL of the Ubuntu archive for the
	// other architectures (Ubuntu's "ports" archive).
	EnvUbuntuPortsMirror = "BPFMATRIX_UBUNTU_PORTS_MIRROR"
)

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
	// Mirror is the Debian mirror base URL. Default: $BPFMATRIX_DEBIAN_MIRROR,
	// else the mirror configured for apt (see debian.MirrorFromAPT). It is
	// only resolved when a network operation needs it.
	Mirror string
	// SecurityMirror is the Debian security archive searched for the
	// catalog's Security suites. Default: $BPFMATRIX_DEBIAN_SECURITY_MIRROR,
	// else apt's -security source, else Mirror with a final /debian
	// replaced by /debian-security; if none applies the security suites
	// are not searched.
	SecurityMirror string
	// UbuntuMirror is the Ubuntu archive (catalog.Spec.Distro "ubuntu"). Default:
	// $BPFMATRIX_UBUNTU_MIRROR, or $BPFMATRIX_UBUNTU_PORTS_MIRROR for
	// architectures other than amd64.
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
	// when unknown).
	Progress func(kernel string, phase string, done, total int64)
	// Limits bounds the size of downloaded packages when extracting.
	Limits deb.Limits
}

// Store fetches kernels into a cache directory and pins them in a lock
// file. It is safe for concurrent use, also by several processes sharing
// the cache directory.
type Store struct {
	opts      Options
	cacheDir  string
	lockPath  string
	client    *http.Client
	mirrorMu  sync.Mutex
	mirrorURL string
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
	return &Store{opts: opts, cacheDir: dir, lockPath: lockPath, client: client, mirrorURL: strings.TrimRight(opts.Mirror, "/")}, nil
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
func (s *Store) Mirror() (string, error) {
	s.mirrorMu.Lock()
	defer s.mirrorMu.Unlock()
	if s.mirrorURL != "" {
		return s.mirrorURL, nil
	}
	if m := os.Getenv(EnvMirror); m != "" {
		s.mirrorURL = strings.TrimRight(m, "/")
		return s.mirrorURL, nil
	}
	root := s.opts.APTRoot
	if root == "" {
		root = "/"
	}
	m, err := debian.MirrorFromAPT(root)
	if err != nil {
		return "", err
	}
	s.mirrorURL = m
	return m, nil
}

// securityMirror returns the Debian security archive, or "" if none is
// known.
func (s *Store) securityMirror() string {
	if m := strings.TrimRight(s.opts.SecurityMirror, "/"); m != "" {
		return m
	}
	if m := os.Getenv(EnvSecurityMirror); m != "" {
		return strings.TrimRight(m, "/")
	}
	if s.opts.Mirror == "" && os.Getenv(EnvMirror) == "" {
		root := s.opts.APTRoot
		if root == "" {
			root = "/"
		}
		if m, err := debian.SecurityMirrorFromAPT(root); err == nil {
			return m
		}
	}
	if m, err := s.Mirror(); err == nil && strings.HasSuffix(m, "/debian") {
		return m + "-security"
	}
	return ""
}

// archiveMirror returns the base URL of the archive that serves spec's
// packages: archive "" (the main one) or lock.ArchiveSecurity.
func (s *Store) archiveMirror(spec catalog.Spec, archive string) (string, error) {
	if spec.Distro == "ubuntu" {
		m, env := s.opts.UbuntuMirror, EnvUbuntuMirror
		if spec.Arch != "amd64" {
			env = EnvUbuntuPortsMirror
		}
		if m == "" {
			m = os.Getenv(env)
		}
		if m == "" {
			return "", fmt.Errorf("%w: kernel %s needs an Ubuntu archive: set %s to the archive's base URL (arm64 lives in Ubuntu's ports archive)", debian.ErrNoMirror, spec.Name, env)
		}
		return strings.TrimRight(m, "/"), nil // security suites live in the same archive
	}
	if archive == lock.ArchiveSecurity {
		if m := s.securityMirror(); m != "" {
			return m, nil
		}
		return "", fmt.Errorf("%w: kernel %s is pinned to the security archive, and none is configured; set %s", debian.ErrNoMirror, spec.Name, EnvSecurityMirror)
	}
	return s.Mirror()
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
// whether the entry came from the lock file.
func (s *Store) pin(ctx context.Context, spec catalog.Spec, force bool) (lock.Entry, bool, error) {
	sum := sha256.Sum256([]byte(s.lockPath))
	unlock, err := flock.Lock(ctx, filepath.Join(s.cacheDir, "kernels", ".lockfile-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return lock.Entry{}, false, err
	}
	defer unlock()

	l, err := lock.Load(s.lockPath)
	if err != nil {
		return lock.Entry{}, false, err
	}
	if e, ok := l.Kernels[spec.Name]; ok && !force && entryMatches(spec, e) {
		return e, true, nil
	}
	e, err := s.resolve(ctx, spec)
	if err != nil {
		return lock.Entry{}, false, err
	}
	l.Kernels[spec.Name] = e
	if err := l.Save(s.lockPath); err != nil {
		return lock.Entry{}, false, err
	}
	return e, false, nil
}

// candidate is a kernel found in one archive's index.
type candidate struct {
	suite, archive string
	res            *debian.Resolved
	err            error
}

// resolve finds the newest kernel of spec in its suite and, if it has one,
// its security suite (both indexes fetched at once).
func (s *Store) resolve(ctx context.Context, spec catalog.Spec) (lock.Entry, error) {
	cands := []candidate{{suite: spec.Suite}}
	if spec.Security != "" {
		if _, err := s.archiveMirror(spec, lock.ArchiveSecurity); err == nil {
			cands = append(cands, candidate{suite: spec.Security, archive: lock.ArchiveSecurity})
		}
	}
	s.progress(spec.Name, PhaseIndex, 0, -1)
	var wg sync.WaitGroup
	for i := range cands {
		c := &cands[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			mirror, err := s.archiveMirror(spec, c.archive)
			if err != nil {
				c.err = err
				return
			}
			component := spec.Component
			if component == "" {
				component = "main"
			}
			idx, err := debian.FetchComponentIndex(ctx, s.client, mirror, c.suite, component, spec.Arch)
			if err != nil {
				c.err = fmt.Errorf("kernel %s: %w", spec.Name, err)
				return
			}
			if c.res, err = idx.Resolve(spec.Version, spec.Naming()); err != nil {
				c.err = fmt.Errorf("kernel %s: %w", spec.Name, err)
			}
		}()
	}
	wg.Wait()
	// The newest candidate whose packages the archive really serves.
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.err != nil || b.err != nil {
			return a.err == nil && b.err != nil
		}
		return debian.CompareVersions(a.res.Version, b.res.Version) > 0
	})
	var best *candidate
	var missing []string
	for i := range cands {
		c := &cands[i]
		if c.err != nil {
			// A suite without this series is no failure while the
			// other has it; a broken archive is.
			if errors.Is(c.err, debian.ErrNoKernel) {
				continue
			}
			return lock.Entry{}, c.err
		}
		if best != nil {
			continue
		}
		mirror, _ := s.archiveMirror(spec, c.archive)
		if err := s.checkPackages(ctx, mirror, c.res.Packages); err != nil {
			missing = append(missing, fmt.Sprintf("%s %s in %s: %v", c.res.Release, c.res.Version, c.suite, err))
			continue
		}
		best = c
	}
	if best == nil && len(missing) > 0 {
		return lock.Entry{}, fmt.Errorf("%w: kernel %s: the indexes list packages the archive does not serve: %s; retry later (the mirror may be syncing) or use another mirror",
			debian.ErrNotFound, spec.Name, strings.Join(missing, "; "))
	}
	if best == nil {
		for _, c := range cands {
			if c.suite == spec.Suite && c.err != nil {
				return lock.Entry{}, c.err // the main suite's ErrNoKernel
			}
		}
		return lock.Entry{}, cands[0].err
	}
	pkgs := append([]debian.Package(nil), best.res.Packages...)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return lock.Entry{Suite: best.suite, Archive: best.archive, Arch: spec.Arch, Release: best.res.Release, Version: best.res.Version, Packages: pkgs}, nil
}

// checkPackages returns an error matching debian.ErrNotFound if mirror
// lacks one of pkgs.
func (s *Store) checkPackages(ctx context.Context, mirror string, pkgs []debian.Package) error {
	for _, p := range pkgs {
		if err := debian.Check(ctx, s.client, mirror, p); err != nil {
			return err
		}
	}
	return nil
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
		mirror, err := s.archiveMirror(spec, e.Archive)
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
