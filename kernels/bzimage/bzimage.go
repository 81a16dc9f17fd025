// Package bzimage unpacks the kernel that an x86 bzImage carries. QEMU
// boots the unpacked ELF directly through its PVH entry point, so the
// guest does not decompress its own kernel under emulation: 0.5-0.9 s of
// every TCG boot of Debian's LZ4 and zstd kernels.
//
// The input is a downloaded file: every offset is checked, the output is
// bounded and must be an ELF with a PVH entry note.
package bzimage

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// Version names what Unpack accepts. It changes whenever Unpack learns to
// unpack kernels it refused before, so that callers caching a refusal
// (kernels.Kernel.BootImage) try those kernels again.
const Version = "2" // 2: zstd windows up to 128 MiB; the size trailer is not read as data

// MaxKernel bounds the unpacked kernel (Debian's are about 55 MiB).
const MaxKernel = 512 << 20

// Bounds on the decompression window (dictionary) a payload header may ask
// for, which the decoder may allocate. Linux builds xz kernels with at most
// a 32 MiB dictionary, and zstd kernels with `zstd -22 --ultra` from a pipe,
// whose frame declares a 128 MiB window (Debian's 6.12 and 7.2 do).
const (
	maxXZDict     = 64 << 20
	maxZstdWindow = 128 << 20
)

var (
	// ErrNotBzImage: the file is not an x86 bzImage with boot protocol
	// 2.08 or later (the first to record where its payload is).
	ErrNotBzImage = errors.New("not an x86 bzImage (boot protocol >= 2.08)")
	// ErrCompression: the payload's compression is not one bzimage reads
	// (gzip, xz, zstd, lz4: what Debian and Ubuntu kernels use).
	ErrCompression = errors.New("unsupported kernel compression")
	// ErrNoPVH: the kernel has no PVH entry point (CONFIG_PVH), so QEMU
	// cannot boot it unpacked.
	ErrNoPVH = errors.New("kernel has no PVH entry note (CONFIG_PVH is off)")
)

// Setup header fields (Documentation/arch/x86/boot.rst).
const (
	offSetupSects    = 0x1f1
	offHeaderMagic   = 0x202
	offVersion       = 0x206
	offPayloadOffset = 0x248
	offPayloadLength = 0x24c
	headerEnd        = 0x250
)

// Payload returns the compressed kernel inside the bzImage bz.
func Payload(bz []byte) ([]byte, error) {
	if len(bz) < headerEnd || string(bz[offHeaderMagic:offHeaderMagic+4]) != "HdrS" {
		return nil, ErrNotBzImage
	}
	if binary.LittleEndian.Uint16(bz[offVersion:]) < 0x208 {
		return nil, ErrNotBzImage
	}
	setup := int64(bz[offSetupSects])
	if setup == 0 {
		setup = 4
	}
	start := (setup + 1) * 512
	off := int64(binary.LittleEndian.Uint32(bz[offPayloadOffset:]))
	n := int64(binary.LittleEndian.Uint32(bz[offPayloadLength:]))
	if n == 0 || start+off+n > int64(len(bz)) {
		return nil, fmt.Errorf("%w: payload at %d+%d (%d bytes) is outside the %d-byte file", ErrNotBzImage, start, off, n, len(bz))
	}
	return bz[start+off : start+off+n], nil
}

// decompressor picks the reader for a payload by its magic number.
func decompressor(p []byte) (io.Reader, string, error) {
	r := bytes.NewReader(p)
	switch {
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		g, err := gzip.NewReader(r)
		return g, "gzip", err
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		// The header names the dictionary size; cap what it may allocate.
		x, err := xz.ReaderConfig{DictCap: maxXZDict}.NewReader(r)
		return x, "xz", err
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(MaxKernel))
		if err != nil {
			return nil, "zstd", err
		}
		return z.IOReadCloser(), "zstd", nil
	case bytes.HasPrefix(p, []byte{0x02, 0x21, 0x4c, 0x18}):
		return lz4.NewReader(r), "lz4", nil
	}
	n := min(len(p), 4)
	return nil, "", fmt.Errorf("%w (payload starts % x)", ErrCompression, p[:n])
}

// Unpack writes the kernel ELF inside the bzImage bz to w and returns the
// payload's compression. It fails on anything but a complete ELF of at
// most MaxKernel bytes.
func Unpack(bz []byte, w io.Writer) (compression string, err error) {
	return unpack(bz, w, MaxKernel)
}

func unpack(bz []byte, w io.Writer, limit int64) (compression string, err error) {
	p, err := Payload(bz)
	if err != nil {
		return "", err
	}
	// Linux's build appends the uncompressed size to every payload but a
	// gzip one (whose own trailer holds it): the decompressor must stop
	// before it, and the size must match.
	size := int64(-1)
	if !bytes.HasPrefix(p, []byte{0x1f, 0x8b}) {
		if len(p) < 8 {
			return "", fmt.Errorf("%w: a %d-byte payload", ErrNotBzImage, len(p))
		}
		size = int64(binary.LittleEndian.Uint32(p[len(p)-4:]))
		p = p[:len(p)-4]
	}
	r, compression, err := decompressor(p)
	if err != nil {
		return compression, fmt.Errorf("%s payload: %w", compression, err)
	}
	if size > limit {
		return compression, fmt.Errorf("%s payload unpacks to more than %d bytes (it says %d)", compression, limit, size)
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return compression, fmt.Errorf("%s payload: %w", compression, err)
	}
	if string(head[:]) != elf.ELFMAG {
		return compression, fmt.Errorf("%s payload is not an ELF kernel (starts % x)", compression, head)
	}
	if _, err := w.Write(head[:]); err != nil {
		return compression, err
	}
	n, err := io.Copy(w, io.LimitReader(r, limit-int64(len(head))+1))
	if err != nil {
		return compression, fmt.Errorf("%s payload: %w", compression, err)
	}
	n += int64(len(head))
	if n > limit {
		return compression, fmt.Errorf("%s payload unpacks to more than %d bytes", compression, limit)
	}
	if size >= 0 && n != size {
		return compression, fmt.Errorf("%s payload unpacks to %d bytes, but its trailer says %d", compression, n, size)
	}
	return compression, nil
}

// Xen ELF note of the 32-bit PVH entry point (xen/include/public/elfnote.h).
const xenElfnotePhys32Entry = 18

// CheckPVH returns nil if the ELF kernel in r has a PVH entry note, and
// ErrNoPVH if it has none.
func CheckPVH(r io.ReaderAt) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("unpacked kernel: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			return fmt.Errorf("unpacked kernel notes: %w", err)
		}
		if hasNote(b, f.ByteOrder, "Xen", xenElfnotePhys32Entry) {
			return nil
		}
	}
	return ErrNoPVH
}

// hasNote reports whether the note segment b holds a note of name and typ.
func hasNote(b []byte, bo binary.ByteOrder, name string, typ uint32) bool {
	align := func(n uint32) uint64 { return (uint64(n) + 3) &^ 3 }
	for len(b) >= 12 {
		namesz, descsz, t := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		if align(namesz) > uint64(len(b)) {
			return false
		}
		n := b[:namesz]
		b = b[align(namesz):]
		if align(descsz) > uint64(len(b)) {
			return false
		}
		b = b[align(descsz):]
		if t == typ && string(bytes.TrimRight(n, "\x00")) == name {
			return true
		}
	}
	return false
}
