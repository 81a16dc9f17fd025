package initramfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrDirTooLarge is returned by [PackDir] when a directory holds more than
// the limit.
var ErrDirTooLarge = errors.New("directory too large to pack")

// DefaultDirLimit is the default limit of [PackDir]: the archive lives in
// the guest's memory.
const DefaultDirLimit = 64 << 20

// skipDirs are version-control directories no test reads.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// PackDir returns the entries that recreate the tree below src at the
// absolute guest path dest (usually the same path: `go test` runs a test
// binary in its package directory and tests open testdata/ relative to
// it). Regular files, directories and symbolic links are kept; version
// control directories are skipped. If the files add up to more than limit
// bytes it fails with [ErrDirTooLarge]; limit <= 0 means [DefaultDirLimit].
func PackDir(src, dest string, limit int64) ([]Entry, error) {
	if limit <= 0 {
		limit = DefaultDirLimit
	}
	if !filepath.IsAbs(dest) {
		return nil, fmt.Errorf("initramfs: pack %s: guest path %q is not absolute", src, dest)
	}
	var entries []Entry
	var total int64
	name := func(p string) string {
		rel, _ := filepath.Rel(src, p)
		return strings.TrimPrefix(filepath.ToSlash(filepath.Join(dest, rel)), "/")
	}
	// The parents of dest, so that the tree has somewhere to hang.
	for d := filepath.Dir(dest); d != "/" && d != "."; d = filepath.Dir(d) {
		entries = append(entries, Entry{Name: strings.TrimPrefix(d, "/"), Mode: 0o755, Dir: true})
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		perm := uint64(info.Mode().Perm())
		switch {
		case d.IsDir():
			if p != src && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			entries = append(entries, Entry{Name: name(p), Mode: perm, Dir: true})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries = append(entries, Entry{Name: name(p), Link: target})
		case d.Type().IsRegular():
			total += info.Size()
			if total > limit {
				return fmt.Errorf("%w: %s holds more than %d MiB of files (at %s): raise the limit (bpfmatrix exec --max-dir-size) or move large files out of the package directory", ErrDirTooLarge, src, limit>>20, p)
			}
			entries = append(entries, Entry{Name: name(p), Mode: perm, Src: p})
		}
		// Sockets, devices and pipes are left out.
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrDirTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("initramfs: pack %s: %w", src, err)
	}
	return entries, nil
}
