package bzimage

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// UnbootableError is a bzImage that cannot be booted unpacked, whatever
// the retry: its content is the reason, not the disk written to. Callers
// may cache the refusal (until Version changes).
type UnbootableError struct {
	// Err says why (ErrNotBzImage, ErrCompression, ErrNoPVH, ...).
	Err error
}

// Error returns Err's message.
func (e *UnbootableError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *UnbootableError) Unwrap() error { return e.Err }

// errWriter remembers the first write error, to tell a full disk from a
// bad kernel.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// UnpackFile writes the ELF kernel of the bzImage file src to dst,
// atomically: concurrent callers may race to write it, and every writer
// writes the same. A kernel that cannot be unpacked or has no PVH entry
// yields an *UnbootableError; reading src or writing dst fails with the
// file system's error.
func UnpackFile(src, dst string) error {
	bz, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".vmlinux-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w := &errWriter{w: f}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := Unpack(bz, bw); err != nil {
		if w.err != nil {
			return w.err
		}
		return &UnbootableError{err}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := CheckPVH(f); err != nil {
		return &UnbootableError{err}
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}
