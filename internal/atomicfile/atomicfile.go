// Package atomicfile writes files that readers never see half written, even
// when several bpfmatrix processes share a cache: the content goes to a
// temporary file in the same directory, which is then renamed into place.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with mode perm and the content that fill
// writes, creating path's directory if needed. If fill or any step fails,
// path is left as it was.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	err = fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteBytes is Write with a fixed content.
func WriteBytes(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
