package initramfs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrUnknownModule is returned for a module the kernel's package lacks.
var ErrUnknownModule = errors.New("unknown kernel module")

// maxModuleSize bounds one decompressed module.
const maxModuleSize = 64 << 20

// ModuleName normalises a module file or name: "kernel/net/sched/cls_bpf.ko.xz"
// and "cls-bpf" both give "cls_bpf".
func ModuleName(s string) string {
	s = filepath.Base(s)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		s = strings.TrimSuffix(s, ext)
	}
	s = strings.TrimSuffix(s, ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// ModuleDeps is a kernel's modules.dep: module name -> file and dependencies.
type ModuleDeps struct {
	files   map[string]string   // name -> relative path
	deps    map[string][]string // name -> dependency names
	builtin map[string]bool
}

// ReadModuleDeps reads modules.dep and modules.builtin from a kernel's
// modules directory (lib/modules/<release>).
func ReadModuleDeps(dir string) (*ModuleDeps, error) {
	md := &ModuleDeps{files: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("initramfs: kernel modules: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		file, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || file == "" {
			continue
		}
		name := ModuleName(file)
		md.files[name] = file
		for _, d := range strings.Fields(rest) {
			md.deps[name] = append(md.deps[name], ModuleName(d))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("initramfs: read modules.dep: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			md.builtin[ModuleName(l)] = true
		}
	}
	return md, nil
}

// Closure returns the modules to load for names, dependencies first, and
// the names that are built into the kernel (nothing to load).
func (md *ModuleDeps) Closure(names []string) (order, builtin []string, err error) {
	seen := map[string]bool{}
	var visit func(n string, stack []string) error
	visit = func(n string, stack []string) error {
		if seen[n] {
			return nil
		}
		if md.builtin[n] {
			seen[n] = true
			builtin = append(builtin, n)
			return nil
		}
		if _, ok := md.files[n]; !ok {
			if len(stack) == 0 {
				return fmt.Errorf("%w %q: not in this kernel's modules.dep nor modules.builtin", ErrUnknownModule, n)
			}
			return fmt.Errorf("%w %q (needed by %s)", ErrUnknownModule, n, strings.Join(stack, " <- "))
		}
		seen[n] = true
		for _, d := range md.deps[n] {
			if err := visit(d, append(stack, n)); err != nil {
				return err
			}
		}
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(ModuleName(n), nil); err != nil {
			return nil, nil, err
		}
	}
	return order, builtin, nil
}

// Modules returns an archive with the named modules of a kernel and their
// dependencies, decompressed on the host so the guest does no
// decompression, under lib/modules/<release>/ with a modules.dep covering
// just them. It returns "" when there is nothing to pack.
func Modules(cacheDir, release, modulesDir string, names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	md, err := ReadModuleDeps(modulesDir)
	if err != nil {
		return "", err
	}
	order, _, err := md.Closure(names)
	if err != nil {
		return "", fmt.Errorf("kernel %s: %w", release, err)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	h, sum := newHasher()
	h.str(format)
	h.str(release)
	h.str(modulesDir)
	h.str(strings.Join(sorted, ","))
	path := filepath.Join(cacheDir, fmt.Sprintf("modules-%s-%s.cpio", release, sum()))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	root := "lib/modules/" + release + "/"
	var entries []Entry
	var dep bytes.Buffer
	for _, n := range order {
		file := md.files[n]
		data, err := readModule(filepath.Join(modulesDir, file))
		if err != nil {
			return "", fmt.Errorf("kernel %s: module %s: %w", release, n, err)
		}
		plain := stripCompression(file)
		entries = append(entries, Entry{Name: root + plain, Mode: 0o644, Data: data})
		var deps []string
		for _, d := range md.deps[n] {
			if f, ok := md.files[d]; ok {
				deps = append(deps, stripCompression(f))
			}
		}
		fmt.Fprintf(&dep, "%s: %s\n", plain, strings.Join(deps, " "))
	}
	entries = append(entries, Entry{Name: root + "modules.dep", Mode: 0o644, Data: dep.Bytes()})
	if b, err := os.ReadFile(filepath.Join(modulesDir, "modules.builtin")); err == nil {
		entries = append(entries, Entry{Name: root + "modules.builtin", Mode: 0o644, Data: b})
	}
	if err := WriteArchive(path, entries); err != nil {
		return "", err
	}
	return path, nil
}

func stripCompression(file string) string {
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		file = strings.TrimSuffix(file, ext)
	}
	return file
}

func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch filepath.Ext(path) {
	case ".xz":
		if r, err = xz.NewReader(f); err != nil {
			return nil, err
		}
	case ".zst":
		d, err := zstd.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		r = d
	case ".gz":
		if r, err = gzip.NewReader(f); err != nil {
			return nil, err
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, maxModuleSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxModuleSize {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxModuleSize)
	}
	return b, nil
}
