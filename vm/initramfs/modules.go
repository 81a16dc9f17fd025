package initramfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/internal/kmod"
)

// Modules returns an archive with the named modules of a kernel and their
// dependencies, decompressed on the host so the guest does no
// decompression, under lib/modules/<release>/ with a modules.dep (for
// u-root's kmodule) covering just them. It returns "" when there is nothing to pack.
func Modules(cacheDir, release, modulesDir string, names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	md, err := kmod.ReadTree(modulesDir)
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
		file := md.File(n)
		data, err := kmod.ReadFile(filepath.Join(modulesDir, file))
		if err != nil {
			return "", fmt.Errorf("kernel %s: module %s: %w", release, n, err)
		}
		plain := kmod.StripCompression(file)
		entries = append(entries, Entry{Name: root + plain, Mode: 0o644, Data: data})
		// "file:" then " dep" per dependency: kmodule reads a trailing
		// space as a dependency on the modules directory itself.
		dep.WriteString(plain + ":")
		for _, d := range md.Deps(n) {
			if f := md.File(d); f != "" {
				dep.WriteString(" " + kmod.StripCompression(f))
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
