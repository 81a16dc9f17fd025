// Package kimage identifies a Linux kernel image without trusting it: its
// format and architecture from the magic bytes (an x86 bzImage's "HdrS",
// an arm64 Image's "ARM\x64", plain, gzipped or in an EFI zboot wrapper,
// an ELF vmlinux's machine), its release from
// the bzImage header or the "Linux version" banner, and the configuration
// embedded with CONFIG_IKCONFIG (between the IKCFG_ST and IKCFG_ED
// markers).
//
// Every input is a file from somewhere else: offsets are checked, and
// decompression is bounded.
package kimage

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/klauspost/compress/zstd"

	"github.com/bpfmatrix/bpfmatrix/kernels/bzimage"
)

// Formats reported in Info.Format.
const (
	FormatBzImage = "bzImage"
	FormatARM64   = "arm64 Image"
	FormatELF     = "ELF vmlinux"
	// FormatZboot is an arm64 EFI zboot image (CONFIG_EFI_ZBOOT): a PE
	// file whose payload is a compressed Image. QEMU unpacks it itself.
	FormatZboot = "arm64 EFI zboot"
)

var (
	// ErrNotKernel is returned for a file that is none of the kernel
	// formats bpfmatrix boots.
	ErrNotKernel = errors.New("not a kernel image (want an x86 bzImage, an arm64 Image or an ELF vmlinux)")
	// ErrNoIKConfig is returned by IKConfig when the kernel carries no
	// embedded configuration (CONFIG_IKCONFIG is off).
	ErrNoIKConfig = errors.New("no embedded kernel config (CONFIG_IKCONFIG is off)")
)

// Info describes a kernel image.
type Info struct {
	// Format is one of the Format constants.
	Format string
	// Arch is the Debian architecture name: "amd64" or "arm64".
	Arch string
	// Release is the kernel release (uname -r) if the image says it
	// cheaply (the bzImage header); "" otherwise: see Release.
	Release string
	// Gzip is set for a gzip-compressed arm64 Image (Image.gz).
	Gzip bool
}

// arm64 Image header (Documentation/arch/arm64/booting.rst).
const (
	arm64MagicOff = 0x38
	arm64Magic    = "ARM\x64"
)

// Identify reads the image's format and architecture from its first bytes
// (and, for Image.gz, from the start of its decompressed content).
func Identify(b []byte) (Info, error) {
	switch {
	case len(b) >= 0x250 && string(b[0x202:0x206]) == "HdrS":
		return Info{Format: FormatBzImage, Arch: "amd64", Release: headerRelease(b)}, nil
	case len(b) >= arm64MagicOff+4 && string(b[arm64MagicOff:arm64MagicOff+4]) == arm64Magic:
		return Info{Format: FormatARM64, Arch: "arm64"}, nil
	case len(b) >= zbootHeader && string(b[0:2]) == "MZ" && string(b[4:8]) == "zimg":
		if _, _, err := zbootPayload(b); err != nil {
			return Info{}, fmt.Errorf("%w: %v", ErrNotKernel, err)
		}
		return Info{Format: FormatZboot, Arch: "arm64"}, nil
	case bytes.HasPrefix(b, []byte(elf.ELFMAG)):
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return Info{}, fmt.Errorf("%w: a broken ELF file: %v", ErrNotKernel, err)
		}
		defer f.Close()
		switch f.Machine {
		case elf.EM_X86_64:
			return Info{Format: FormatELF, Arch: "amd64"}, nil
		case elf.EM_AARCH64:
			return Info{Format: FormatELF, Arch: "arm64"}, nil
		}
		return Info{}, fmt.Errorf("%w: an ELF file for %s", ErrNotKernel, f.Machine)
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		g, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return Info{}, fmt.Errorf("%w: a broken gzip file: %v", ErrNotKernel, err)
		}
		head := make([]byte, 64)
		if _, err := io.ReadFull(g, head); err == nil && string(head[arm64MagicOff:arm64MagicOff+4]) == arm64Magic {
			return Info{Format: FormatARM64, Arch: "arm64", Gzip: true}, nil
		}
		return Info{}, fmt.Errorf("%w: a gzip file that holds no arm64 Image", ErrNotKernel)
	}
	n := min(len(b), 8)
	return Info{}, fmt.Errorf("%w: the file starts % x", ErrNotKernel, b[:n])
}

// headerRelease returns the release from the bzImage's kernel_version
// string ("6.1.0-50-cloud-amd64 (debian-kernel@...) #1 SMP ..."), or "".
func headerRelease(b []byte) string {
	off := int(binary.LittleEndian.Uint16(b[0x20e:])) + 0x200
	if off <= 0x200 || off >= len(b) {
		return ""
	}
	s := b[off:min(len(b), off+256)]
	if i := bytes.IndexAny(s, " \x00"); i >= 0 {
		s = s[:i]
	}
	if !releaseRE.Match(s) {
		return ""
	}
	return string(s)
}

var (
	releaseRE = regexp.MustCompile(`^[0-9]+\.[0-9]+[A-Za-z0-9._+~-]*$`)
	bannerRE  = regexp.MustCompile(`Linux version ([0-9]+\.[0-9]+[A-Za-z0-9._+~-]*) \(`)
)

// EFI zboot header (drivers/firmware/efi/libstub/zboot-header.S): "MZ",
// "zimg" at 4, the payload's offset and size at 8 and 12, its compression
// (a NUL-padded name) at 24.
const zbootHeader = 32

func zbootPayload(b []byte) ([]byte, string, error) {
	off := int64(binary.LittleEndian.Uint32(b[8:]))
	n := int64(binary.LittleEndian.Uint32(b[12:]))
	if n == 0 || off+n > int64(len(b)) {
		return nil, "", fmt.Errorf("zboot payload at %d (%d bytes) is outside the %d-byte file", off, n, len(b))
	}
	return b[off : off+n], string(bytes.TrimRight(b[24:32], "\x00")), nil
}

// Uncompressed returns the kernel's own code and data, where its banner
// and IKCONFIG live: the ELF inside a bzImage, a gunzipped Image.gz, or b
// itself. At most bzimage.MaxKernel bytes are produced.
func Uncompressed(b []byte, info Info) ([]byte, error) {
	switch {
	case info.Format == FormatBzImage:
		var out bytes.Buffer
		if _, err := bzimage.Unpack(b, &out); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	case info.Format == FormatZboot:
		p, comp, err := zbootPayload(b)
		if err != nil {
			return nil, err
		}
		return decompress(comp, p)
	case info.Gzip:
		return decompress("gzip", b)
	}
	return b, nil
}

// decompress unpacks an Image compressed with comp ("gzip" or "zstd"),
// to at most bzimage.MaxKernel bytes.
func decompress(comp string, b []byte) ([]byte, error) {
	var r io.Reader
	switch comp {
	case "gzip":
		g, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip Image: %w", err)
		}
		r = g
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(bzimage.MaxKernel))
		if err != nil {
			return nil, fmt.Errorf("zstd Image: %w", err)
		}
		defer z.Close()
		r = z
	default:
		return nil, fmt.Errorf("an Image compressed with %q (gzip and zstd are read)", comp)
	}
	out, err := io.ReadAll(io.LimitReader(r, bzimage.MaxKernel+1))
	if err != nil {
		return nil, fmt.Errorf("%s Image: %w", comp, err)
	}
	if len(out) > bzimage.MaxKernel {
		return nil, fmt.Errorf("the Image unpacks to more than %d bytes", bzimage.MaxKernel)
	}
	return out, nil
}

// Release returns the release in the "Linux version <release> (" banner of
// the uncompressed kernel k, or "".
func Release(k []byte) string {
	const banner = "Linux version "
	for off := 0; ; {
		i := bytes.Index(k[off:], []byte(banner))
		if i < 0 {
			return ""
		}
		off += i
		if m := bannerRE.FindSubmatch(k[off:min(len(k), off+256)]); m != nil {
			return string(m[1])
		}
		off += len(banner)
	}
}

// maxConfig bounds an embedded config (Debian's are about 300 KiB).
const maxConfig = 16 << 20

// IKConfig returns the configuration embedded in the uncompressed kernel k
// (CONFIG_IKCONFIG: a gzip stream between "IKCFG_ST" and "IKCFG_ED"), or
// an error wrapping ErrNoIKConfig.
func IKConfig(k []byte) ([]byte, error) {
	start := bytes.Index(k, []byte("IKCFG_ST"))
	if start < 0 {
		return nil, ErrNoIKConfig
	}
	body := k[start+len("IKCFG_ST"):]
	end := bytes.Index(body, []byte("IKCFG_ED"))
	if end < 0 {
		return nil, fmt.Errorf("%w: IKCFG_ST without IKCFG_ED", ErrNoIKConfig)
	}
	g, err := gzip.NewReader(bytes.NewReader(body[:end]))
	if err != nil {
		return nil, fmt.Errorf("embedded config: %w", err)
	}
	cfg, err := io.ReadAll(io.LimitReader(g, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("embedded config: %w", err)
	}
	if len(cfg) > maxConfig {
		return nil, fmt.Errorf("embedded config is larger than %d bytes", maxConfig)
	}
	return cfg, nil
}
