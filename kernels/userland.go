package kernels

import (
	"archive/tar"
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
)

// UserlandSuite is the Debian suite whose programs a guest of another
// architecture than the host's gets (see Store.Userland): bookworm's
// packages still install below /bin and /lib, where the guest's
// initramfs has real directories.
const UserlandSuite = "bookworm"

// UserlandPackages are the Debian packages of the programs every
// distribution machine has and Go eBPF tests use: bash (cilium/ebpf's
// uprobe tests attach to /bin/bash) with the libraries it links.
var UserlandPackages = []string{"bash", "libtinfo6", "libc6"}

// ErrUserland is returned when the guest's userland cannot be fetched.
var ErrUserland = errors.New("guest userland")

// Userland returns a directory holding the files of Debian's packages
// names for arch (a Debian architecture: amd64, arm64), from the mirror's
// UserlandSuite, as they install: bin/bash, lib/<triplet>/libc.so.6, the
// dynamic loader. The host's own programs cannot serve a guest of another
// architecture; these can. Each .deb is checked against the suite's
// index, extracted under the same rules as a kernel's, and cached.
func (s *Store) Userland(ctx context.Context, arch string, names ...string) (string, error) {
	mirror, err := s.Mirror()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUserland, err)
	}
	idx, err := debian.FetchIndex(ctx, s.client, mirror, UserlandSuite, arch)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s index: %w", ErrUserland, UserlandSuite, arch, err)
	}
	var pkgs []debian.Package
	for _, n := range names {
		entries := idx.Lookup(n)
		if len(entries) == 0 {
			return "", fmt.Errorf("%w: no package %s in %s/%s", ErrUserland, n, UserlandSuite, arch)
		}
		best := entries[0]
		for _, e := range entries[1:] {
			if debian.CompareVersions(e.Version, best.Version) > 0 {
				best = e
			}
		}
		pkgs = append(pkgs, best.Package)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	h := sha256.New()
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s\x00%s\x00", p.Name, p.SHA256)
	}
	dir := filepath.Join(s.cacheDir, "userland", arch+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrCache, err)
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCache, err)
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "root")
	spec := catalog.Spec{Name: "userland-" + arch}
	for _, p := range pkgs {
		// Programs and libraries only: no documentation, no locales.
		if err := s.fetchAndExtract(ctx, spec, p, mirror, work, out, userlandSelector, false, 0, p.Size); err != nil {
			return "", fmt.Errorf("%w: %w", ErrUserland, err)
		}
	}
	if err := os.Rename(out, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil {
			return "", fmt.Errorf("%w: %v", ErrCache, err)
		}
	}
	return dir, nil
}

// userlandSelector keeps a package's programs and libraries.
func userlandSelector(name string, _ *tar.Header) (string, bool) {
	for _, prefix := range []string{"bin/", "lib/", "lib64/", "usr/lib/"} {
		if strings.HasPrefix(name, prefix) && !strings.Contains(name, "/gconv/") {
			return name, true
		}
	}
	return "", false
}
