// Package initramfs builds the guest's initramfs with u-root's cpio
// package: a base archive (the guest program as /init, test2json), an archive
// of test binaries, a per-kernel archive of kernel modules and a small run
// configuration. Each part is a newc cpio cached by content; the kernel
// unpacks their concatenation.
package initramfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// Entry is one file of an archive: either Src (a file on disk) or Data.
type Entry struct {
	Name string
	Mode uint64
	Src  string
	Data []byte
	// Dir makes the entry a directory.
	Dir bool
	// Link makes the entry a symlink to Link.
	Link string
	// Dev makes the entry a character device with this major and minor.
	Dev *[2]uint64
}

// WriteArchive writes entries as a reproducible newc cpio archive at path,
// atomically. Parent directories are added as needed.
func WriteArchive(path string, entries []Entry) (err error) {
	var recs []cpio.Record
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, e := range entries {
		switch {
		case e.Dir:
			recs = append(recs, cpio.Directory(e.Name, e.Mode))
		case e.Dev != nil:
			recs = append(recs, cpio.CharDev(e.Name, e.Mode, e.Dev[0], e.Dev[1]))
		case e.Link != "":
			recs = append(recs, cpio.Symlink(e.Name, e.Link))
		case e.Src != "":
			f, err := os.Open(e.Src)
			if err != nil {
				return fmt.Errorf("initramfs: %w", err)
			}
			files = append(files, f)
			st, err := f.Stat()
			if err != nil {
				return err
			}
			recs = append(recs, cpio.Record{ReaderAt: f, Info: cpio.Info{
				Name: e.Name, Mode: cpio.S_IFREG | e.Mode, FileSize: uint64(st.Size()),
			}})
		default:
			recs = append(recs, cpio.StaticFile(e.Name, string(e.Data), e.Mode))
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	cpio.MakeAllReproducible(recs)

	return writeAtomic(path, func(w io.Writer) error {
		rw := cpio.Newc.Writer(w)
		if err := cpio.WriteRecordsAndDirs(rw, recs); err != nil {
			return err
		}
		return cpio.WriteTrailer(rw)
	})
}

// Concat writes the concatenation of parts to dst. The kernel unpacks
// concatenated cpio archives in order, later entries replacing earlier ones.
func Concat(dst string, parts ...string) error {
	return writeAtomic(dst, func(w io.Writer) error {
		for _, p := range parts {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("initramfs: concatenate %s: %w", p, err)
			}
		}
		return nil
	})
}

// writeAtomic writes path through a temporary file in the same directory
// and renames it into place, so readers never see a partial file.
func writeAtomic(path string, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o600, fill); err != nil {
		return fmt.Errorf("initramfs: write %s: %w", path, err)
	}
	return nil
}

// hasher accumulates a content key.
type hasher struct{ h io.Writer }

func newHasher() (*hasher, func() string) {
	h := sha256.New()
	return &hasher{h}, func() string { return hex.EncodeToString(h.Sum(nil))[:16] }
}

func (h *hasher) str(s string) { fmt.Fprintf(h.h, "%d:%s;", len(s), s) }

func (h *hasher) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h.h, "%d;", st.Size())
	_, err = io.Copy(h.h, f)
	return err
}
