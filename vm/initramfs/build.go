package initramfs

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// format is bumped when the layout of the archives changes, so that old
// cache entries are not reused.
const format = "6"

// BaseSourceDirs are the directories of this module whose Go files go into
// the base archive's binaries. A test checks it against `go list -deps`.
var BaseSourceDirs = []string{"guest", "cmd/bpfmatrix-guest", "internal/wire", "internal/kmod", "internal/splat"}

// BasePackages are built into the base archive, with their place in it.
var BasePackages = []struct{ Pkg, Path string }{
	{"./cmd/bpfmatrix-guest", wire.InitPath},
	{"cmd/test2json", wire.Test2JSONPath},
}

// Builder builds and caches the archives for one guest architecture.
type Builder struct {
	// SourceDir is the root of the bpfmatrix module.
	SourceDir string
	// CacheDir holds the built archives.
	CacheDir string
	// GOARCH is the guest's Go architecture.
	GOARCH string
	// Logf, if set, reports what is built.
	Logf func(format string, args ...any)
}

// tempDir makes a build directory inside the cache.
func (b *Builder) tempDir(pattern string) (string, error) {
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	dir, err := os.MkdirTemp(b.CacheDir, pattern)
	if err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	return dir, nil
}

func (b *Builder) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

// Base returns the base archive: the guest program as /init (it sets the
// VM up with u-root's libinit) and test2json. It is rebuilt only when their sources, go.sum or the
// Go toolchain change.
func (b *Builder) Base(ctx context.Context) (path string, built bool, err error) {
	h, sum := newHasher()
	h.str(format)
	h.str(runtime.Version())
	h.str(b.GOARCH)
	for _, f := range []string{"go.mod", "go.sum"} {
		h.str(f)
		if err := h.file(filepath.Join(b.SourceDir, f)); err != nil {
			return "", false, fmt.Errorf("initramfs: %w (is %s the bpfmatrix source tree?)", err, b.SourceDir)
		}
	}
	for _, d := range BaseSourceDirs {
		if err := hashTree(h, filepath.Join(b.SourceDir, d), func(p string) bool {
			return strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go")
		}); err != nil {
			return "", false, err
		}
	}
	path = filepath.Join(b.CacheDir, fmt.Sprintf("base-%s-%s.cpio", b.GOARCH, sum()))
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	b.logf("building the guest program (u-root base) for %s: a first build fills the Go build cache and takes minutes", b.GOARCH)
	out, err := b.tempDir(".build-base-*")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(out)
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out + "/"}
	for _, p := range BasePackages {
		args = append(args, p.Pkg)
	}
	if err := b.goCmd(ctx, args...); err != nil {
		return "", false, err
	}
	entries := devEntries()
	for _, p := range BasePackages {
		entries = append(entries, Entry{Name: strings.TrimPrefix(p.Path, "/"), Mode: 0o755, Src: filepath.Join(out, filepath.Base(p.Pkg))})
	}
	entries = append(entries,
		Entry{Name: "bpfmatrix/tests", Mode: 0o755, Dir: true},
		// The kernel's on-demand module loading runs the guest program
		// as modprobe.
		Entry{Name: strings.TrimPrefix(wire.ModprobePath, "/"), Mode: 0o777, Link: wire.InitPath},
	)
	// The floor image: the guest program alone as /init, run with -floor
	// it powers off at once. `bpfmatrix bench` boots it to measure what
	// the kernel and QEMU cost by themselves.
	floor := append(devEntries(), Entry{Name: "init", Mode: 0o755, Src: filepath.Join(out, "bpfmatrix-guest")})
	if err := WriteArchive(FloorPath(path), floor); err != nil {
		return "", false, err
	}
	if err := WriteArchive(path, entries); err != nil {
		return "", false, err
	}
	pruneStale(b.CacheDir, "base-"+b.GOARCH+"-", path, FloorPath(path))
	return path, true, nil
}

// FloorPath is the floor image built next to the base archive at base.
// Boot it with the kernel arguments FloorArgs.
func FloorPath(base string) string {
	return strings.TrimSuffix(base, ".cpio") + "-floor.cpio"
}

// FloorArgs make the floor image's /init power off at once.
var FloorArgs = []string{"--", "-floor"}

// TestPackage is one Go package whose test binary runs in the guest.
type TestPackage struct {
	// Name names the binary: <Name>.test.
	Name string
	// ImportPath is relative to the module ("./tests/kprobe") or absolute.
	ImportPath string
}

// TestBinary is where the guest finds the test binary called name.
func TestBinary(name string) string { return wire.TestsDir + "/" + name + ".test" }

// Tests returns an archive with the test binaries of pkgs (go test -c,
// static). It is rebuilt when any source file of the module changes.
func (b *Builder) Tests(ctx context.Context, pkgs []TestPackage) (path string, built bool, err error) {
	h, sum := newHasher()
	h.str(format)
	h.str(runtime.Version())
	h.str(b.GOARCH)
	for _, p := range pkgs {
		h.str(p.Name + "=" + p.ImportPath)
	}
	if err := hashTree(h, b.SourceDir, func(p string) bool {
		if strings.Contains(p, string(filepath.Separator)+"testdata"+string(filepath.Separator)) {
			return true // embedded by tests, e.g. the uprobe target
		}
		switch filepath.Ext(p) {
		case ".go", ".o", ".c", ".h", ".mod", ".sum":
			return true
		}
		return false
	}); err != nil {
		return "", false, err
	}
	path = filepath.Join(b.CacheDir, fmt.Sprintf("tests-%s-%s.cpio", b.GOARCH, sum()))
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	b.logf("building %d test binaries for %s (go test -c %s)", len(pkgs), b.GOARCH, testPackageList(pkgs))
	out, err := b.tempDir(".build-tests-*")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(out)
	var entries []Entry
	for _, p := range pkgs {
		bin := filepath.Join(out, p.Name+".test")
		if err := b.goCmd(ctx, "test", "-c", "-trimpath", "-ldflags=-s -w", "-o", bin, p.ImportPath); err != nil {
			return "", false, err
		}
		if _, err := os.Stat(bin); err != nil {
			return "", false, fmt.Errorf("initramfs: package %s has no tests (no %s.test was built)", p.ImportPath, p.Name)
		}
		entries = append(entries, Entry{Name: strings.TrimPrefix(TestBinary(p.Name), "/"), Mode: 0o755, Src: bin})
	}
	if err := WriteArchive(path, entries); err != nil {
		return "", false, err
	}
	pruneStale(b.CacheDir, "tests-"+b.GOARCH+"-", path)
	return path, true, nil
}

// staleAge is how old a superseded archive must be before it is removed:
// a concurrent run of another source version may still be reading it.
const staleAge = time.Hour

// pruneStale removes archives in dir whose name starts with prefix, other
// than keep, that were last written more than staleAge ago: they belong to
// sources that have changed since. Best effort.
func pruneStale(dir, prefix string, keep ...string) {
	matches, _ := filepath.Glob(filepath.Join(dir, prefix+"*.cpio"))
	for _, m := range matches {
		if slices.Contains(keep, m) {
			continue
		}
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) > staleAge {
			os.Remove(m)
		}
	}
}

func (b *Builder) goCmd(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.SourceDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+b.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initramfs: go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

func devEntries() []Entry {
	return []Entry{
		{Name: "dev", Mode: 0o755, Dir: true},
		{Name: "dev/console", Mode: 0o600, Dev: &[2]uint64{5, 1}},
		{Name: "dev/tty", Mode: 0o666, Dev: &[2]uint64{5, 0}},
		{Name: "dev/null", Mode: 0o666, Dev: &[2]uint64{1, 3}},
		{Name: "bpfmatrix", Mode: 0o755, Dir: true},
		{Name: "tmp", Mode: 0o1777, Dir: true},
	}
}

// hashTree adds every file below root that keep selects, in a stable order,
// skipping hidden directories.
func hashTree(h *hasher, root string, keep func(string) bool) error {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && keep(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initramfs: hash sources: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		h.str(rel)
		if err := h.file(f); err != nil {
			return err
		}
	}
	return nil
}

// testPackageList names the packages of pkgs, for progress lines.
func testPackageList(pkgs []TestPackage) string {
	var names []string
	for _, p := range pkgs {
		names = append(names, p.ImportPath)
	}
	return strings.Join(names, " ")
}
