package initramfs

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// ModuleDeps indexes a kernel's modules directory. Debian's packages do not
// ship modules.dep (depmod writes it at install time), so dependencies are
// read from each module's .modinfo section, on demand.
type ModuleDeps struct {
	dir     string
	files   map[string]string // name -> path relative to dir
	deps    map[string][]string
	builtin map[string]bool
}

// ReadModuleDeps indexes the modules below dir (lib/modules/<release>) and
// reads modules.builtin.
func ReadModuleDeps(dir string) (*ModuleDeps, error) {
	md := &ModuleDeps{dir: dir, files: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.Contains(d.Name(), ".ko") {
			rel, _ := filepath.Rel(dir, p)
			md.files[ModuleName(rel)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("initramfs: kernel modules: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			md.builtin[ModuleName(l)] = true
		}
	}
	return md, nil
}

// depsOf returns the modules that name depends on, from its .modinfo.
func (md *ModuleDeps) depsOf(name string) ([]string, error) {
	if d, ok := md.deps[name]; ok {
		return d, nil
	}
	data, err := readModule(filepath.Join(md.dir, md.files[name]))
	if err != nil {
		return nil, err
	}
	info, err := modinfo(data)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	var deps []string
	for _, d := range strings.Split(info["depends"], ",") {
		if d = strings.TrimSpace(d); d != "" {
			deps = append(deps, ModuleName(d))
		}
	}
	md.deps[name] = deps
	return deps, nil
}

// modinfo parses the NUL-separated key=value strings of a module's
// .modinfo ELF section.
func modinfo(ko []byte) (map[string]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("not an ELF module: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			out[k] = v
		}
	}
	return out, nil
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
				return fmt.Errorf("%w %q: neither a module file nor in modules.builtin", ErrUnknownModule, n)
			}
			return fmt.Errorf("%w %q (needed by %s)", ErrUnknownModule, n, strings.Join(stack, " <- "))
		}
		seen[n] = true
		deps, err := md.depsOf(n)
		if err != nil {
			return err
		}
		for _, d := range deps {
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
// decompression, under lib/modules/<release>/ with a modules.dep (for
// u-root's kmodule) covering just them. It returns "" when there is nothing to pack.
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
		// "file:" then " dep" per dependency: kmodule reads a trailing
		// space as a dependency on the modules directory itself.
		dep.WriteString(plain + ":")
		for _, d := range md.deps[n] {
			if f, ok := md.files[d]; ok {
				dep.WriteString(" " + stripCompression(f))
			}
		}
		dep.WriteString("\n")
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
