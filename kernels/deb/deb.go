// Package deb reads Debian binary packages (.deb files) without trusting
// them: it parses the ar container itself, decompresses the data.tar member
// (xz, zstd, gzip or uncompressed) and walks or extracts its entries while
// enforcing size limits and refusing anything that could escape the
// destination directory.
package deb

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

var (
	// ErrFormat is returned when the input is not a well-formed .deb file.
	ErrFormat = errors.New("malformed Debian package")
	// ErrTooLarge is returned when a package (or a tar archive read with
	// WalkTar) exceeds a configured limit.
	ErrTooLarge = errors.New("size limit exceeded in archive")
	// ErrUnsafe is returned for entries that could write outside the
	// destination directory or create special files.
	ErrUnsafe = errors.New("unsafe archive entry")
)

// Default limits used when a Limits field is zero.
const (
	DefaultMaxFileSize  = 512 << 20
	DefaultMaxTotalSize = 4 << 30
	DefaultMaxMembers   = 16
	DefaultMaxEntries   = 1 << 20
)

// tarOverhead is the slack allowed for tar headers and padding on top of
// MaxTotalSize when capping the decompressed stream.
const tarOverhead = 256 << 20

// Limits bounds the resources a single package may consume. Zero fields take
// the corresponding Default value.
type Limits struct {
	// MaxFileSize is the largest size of a single entry in data.tar.
	MaxFileSize int64
	// MaxTotalSize bounds the sum of all entry sizes in data.tar and the
	// size of any ar member.
	MaxTotalSize int64
	// MaxMembers bounds the number of ar members.
	MaxMembers int
	// MaxEntries bounds the number of entries in data.tar.
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// Walk calls fn for every entry of the data.tar member of the .deb read from
// r, using default Limits. body reads the entry's contents; fn need not
// consume it. Returning an error from fn stops the walk and returns that
// error.
func Walk(r io.Reader, fn func(hdr *tar.Header, body io.Reader) error) error {
	return WalkLimits(r, Limits{}, fn)
}

// WalkLimits is like Walk with explicit limits.
func WalkLimits(r io.Reader, limits Limits, fn func(hdr *tar.Header, body io.Reader) error) error {
	limits = limits.withDefaults()
	ar, err := newARReader(r, limits)
	if err != nil {
		return err
	}
	first := true
	for {
		name, _, err := ar.next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: no data.tar member found", ErrFormat)
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			if name != "debian-binary" {
				return fmt.Errorf("%w: first ar member is %q, want \"debian-binary\"", ErrFormat, name)
			}
			continue
		}
		if !strings.HasPrefix(name, "data.tar") {
			continue
		}
		dec, closeFn, err := decompressor(name, ar)
		if err != nil {
			return err
		}
		err = walkTar(&capReader{r: dec, left: limits.MaxTotalSize + tarOverhead}, limits, fn)
		closeFn()
		return err
	}
}

func decompressor(member string, r io.Reader) (io.Reader, func(), error) {
	switch member {
	case "data.tar":
		return r, func() {}, nil
	case "data.tar.xz":
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrFormat, member, err)
		}
		return xr, func() {}, nil
	case "data.tar.zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrFormat, member, err)
		}
		return zr, zr.Close, nil
	case "data.tar.gz":
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrFormat, member, err)
		}
		return gr, func() { gr.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("%w: unsupported data member %q (want data.tar, data.tar.xz, data.tar.zst or data.tar.gz)", ErrFormat, member)
	}
}

// WalkTar is WalkLimits for a plain (uncompressed) tar stream, such as an
// OCI image layer: the same limits apply to its entries and to the stream
// itself.
func WalkTar(r io.Reader, limits Limits, fn func(hdr *tar.Header, body io.Reader) error) error {
	limits = limits.withDefaults()
	return walkTar(&capReader{r: r, left: limits.MaxTotalSize + tarOverhead}, limits, fn)
}

func walkTar(r io.Reader, limits Limits, fn func(hdr *tar.Header, body io.Reader) error) error {
	tr := tar.NewReader(r)
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return fmt.Errorf("%w: reading tar: %v", ErrFormat, err)
		}
		if entries >= limits.MaxEntries {
			return fmt.Errorf("%w: more than %d entries in the tar archive", ErrTooLarge, limits.MaxEntries)
		}
		if hdr.Size < 0 || hdr.Size > limits.MaxFileSize {
			return fmt.Errorf("%w: entry %q is %d bytes, per-file limit is %d", ErrTooLarge, hdr.Name, hdr.Size, limits.MaxFileSize)
		}
		total += hdr.Size
		if total > limits.MaxTotalSize {
			return fmt.Errorf("%w: tar entries exceed total limit of %d bytes at %q", ErrTooLarge, limits.MaxTotalSize, hdr.Name)
		}
		if err := fn(hdr, tr); err != nil {
			return err
		}
	}
}

// capReader fails with ErrTooLarge once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Probe for more data so that a stream of exactly the cap is fine.
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: decompressed data exceeds limit", ErrTooLarge)
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
