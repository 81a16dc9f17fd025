// Package kmod reads a kernel's module tree as Debian ships it (no
// modules.dep: depmod writes that at install time): module names, their
// dependencies and aliases from each module's .modinfo, and the index
// files (modules.dep, modules.alias) that modprobe needs.
package kmod

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrUnknownModule is returned for a module the kernel's package lacks.
var ErrUnknownModule = errors.New("unknown kernel module")

// maxModuleSize bounds one decompressed module.
const maxModuleSize = 64 << 20

// Name normalises a module file or name: "kernel/net/sched/cls_bpf.ko.xz"
// and "cls-bpf" both give "cls_bpf".
func Name(s string) string {
	s = filepath.Base(s)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		s = strings.TrimSuffix(s, ext)
	}
	s = strings.TrimSuffix(s, ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// Tree indexes a kernel's modules directory. Debian's packages do not
// ship modules.dep (depmod writes it at install time), so dependencies are
// read from each module's .modinfo section, on demand.
type Tree struct {
	dir     string
	files   map[string]string // name -> path relative to dir
	deps    map[string][]string
	builtin map[string]bool
}

// ReadTree indexes the modules below dir (lib/modules/<release>) and
// reads modules.builtin.
func ReadTree(dir string) (*Tree, error) {
	md := &Tree{dir: dir, files: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.Contains(d.Name(), ".ko") {
			rel, _ := filepath.Rel(dir, p)
			md.files[Name(rel)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kmod: kernel modules: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			md.builtin[Name(l)] = true
		}
	}
	return md, nil
}

// depsOf returns the modules that name depends on, from its .modinfo.
func (md *Tree) depsOf(name string) ([]string, error) {
	if d, ok := md.deps[name]; ok {
		return d, nil
	}
	data, err := ReadFile(filepath.Join(md.dir, md.files[name]))
	if err != nil {
		return nil, err
	}
	info, err := modinfo(data)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	var deps []string
	for _, d := range strings.Split(first(info["depends"]), ",") {
		if d = strings.TrimSpace(d); d != "" {
			deps = append(deps, Name(d))
		}
	}
	md.deps[name] = deps
	return deps, nil
}

// modinfo parses the NUL-separated key=value strings of a module's
// .modinfo ELF section.
func modinfo(ko []byte) (map[string][]string, error) {
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
	out := map[string][]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			out[k] = append(out[k], v)
		}
	}
	return out, nil
}

// Closure returns the modules to load for names, dependencies first, and
// the names that are built into the kernel (nothing to load).
func (md *Tree) Closure(names []string) (order, builtin []string, err error) {
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
		if err := visit(Name(n), nil); err != nil {
			return nil, nil, err
		}
	}
	return order, builtin, nil
}

// StripCompression removes a module file's compression suffix.
func StripCompression(file string) string {
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		file = strings.TrimSuffix(file, ext)
	}
	return file
}

// ReadFile reads a module file, decompressing .xz, .zst and .gz, at most
// 64 MiB.
func ReadFile(path string) ([]byte, error) {
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

// File is the path of module name's file, relative to the tree, or "".
func (md *Tree) File(name string) string { return md.files[name] }

// Deps are the modules name depends on, as read by Closure (nil before).
func (md *Tree) Deps(name string) []string { return md.deps[name] }

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// WriteIndex writes modules.dep and modules.alias for every module of the
// tree into dir, in the format of depmod (and of u-root's kmodule, which
// reads modules.dep): paths relative to the tree, dependencies in the order
// they must load. It reads every module's .modinfo, several at a time.
func (md *Tree) WriteIndex(dir string) error {
	names := make([]string, 0, len(md.files))
	for n := range md.files {
		names = append(names, n)
	}
	sort.Strings(names)
	infos := make([]map[string][]string, len(names))
	errs := make([]error, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				data, err := ReadFile(filepath.Join(md.dir, md.files[names[i]]))
				if err == nil {
					infos[i], err = modinfo(data)
				}
				if err != nil {
					errs[i] = fmt.Errorf("module %s: %w", names[i], err)
				}
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	for i, n := range names {
		var deps []string
		for _, d := range strings.Split(first(infos[i]["depends"]), ",") {
			if d = strings.TrimSpace(d); d != "" {
				deps = append(deps, Name(d))
			}
		}
		md.deps[n] = deps
	}
	var dep, alias bytes.Buffer
	for i, n := range names {
		order, _, err := md.Closure([]string{n})
		if err != nil {
			return fmt.Errorf("kmod: %w", err)
		}
		dep.WriteString(md.files[n] + ":")
		// depmod lists the dependencies nearest first: the reverse of the
		// load order, without the module itself.
		for j := len(order) - 2; j >= 0; j-- {
			dep.WriteString(" " + md.files[order[j]])
		}
		dep.WriteString("\n")
		for _, a := range infos[i]["alias"] {
			fmt.Fprintf(&alias, "alias %s %s\n", a, n)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), dep.Bytes(), 0o644); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.alias"), alias.Bytes(), 0o644); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	return nil
}

// Alias is one line of modules.alias: a glob pattern and the module it
// names.
type Alias struct{ Pattern, Module string }

// ParseAliases reads modules.alias ("alias PATTERN MODULE" lines; others
// are ignored).
func ParseAliases(b []byte) []Alias {
	var out []Alias
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "alias" {
			out = append(out, Alias{f[1], f[2]})
		}
	}
	return out
}

// Resolve returns the modules whose alias pattern matches name, as
// modprobe matches them (shell globs), in file order, each once.
func Resolve(aliases []Alias, name string) []string {
	var out []string
	for _, a := range aliases {
		if ok, _ := path.Match(a.Pattern, name); ok && !slices.Contains(out, a.Module) {
			out = append(out, a.Module)
		}
	}
	return out
}
