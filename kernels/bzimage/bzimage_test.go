package bzimage

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/bits"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
)

// kernelELF is a minimal 64-bit ELF whose one PT_NOTE segment holds a note
// of the given name and type.
func kernelELF(name string, typ uint32) []byte {
	le := binary.LittleEndian
	nameb := append([]byte(name), 0)
	for len(nameb)%4 != 0 {
		nameb = append(nameb, 0)
	}
	note := le.AppendUint32(nil, uint32(len(name)+1))
	note = le.AppendUint32(note, 4)
	note = le.AppendUint32(note, typ)
	note = append(note, nameb...)
	note = le.AppendUint32(note, 0x1000000) // the entry point
	const ehsize, phsize = 64, 56
	b := make([]byte, ehsize+phsize)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // 64-bit, little endian, version 1
	le.PutUint16(b[16:], 2)    // ET_EXEC
	le.PutUint16(b[18:], 62)   // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], ehsize) // phoff
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1) // phnum
	ph := b[ehsize:]
	le.PutUint32(ph[0:], 4) // PT_NOTE
	le.PutUint64(ph[8:], ehsize+phsize)
	le.PutUint64(ph[32:], uint64(len(note)))
	le.PutUint64(ph[40:], uint64(len(note)))
	le.PutUint64(ph[48:], 4)
	return append(b, note...)
}

// bzImage wraps payload in a setup header like the kernel's build does.
func bzImage(payload []byte, version uint16) []byte {
	const setupSects = 3
	b := make([]byte, (setupSects+1)*512)
	b[offSetupSects] = setupSects
	copy(b[offHeaderMagic:], "HdrS")
	binary.LittleEndian.PutUint16(b[offVersion:], version)
	binary.LittleEndian.PutUint32(b[offPayloadOffset:], 16)
	binary.LittleEndian.PutUint32(b[offPayloadLength:], uint32(len(payload)))
	b = append(b, make([]byte, 16)...) // the decompressor stub's place
	b = append(b, payload...)
	return append(b, 0xee, 0xee) // what follows the payload in the file
}

// withSize appends the uncompressed size, as Linux's build does to every
// payload but a gzip one (size_append).
func withSize(compressed []byte, size int) []byte {
	return binary.LittleEndian.AppendUint32(bytes.Clone(compressed), uint32(size))
}

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	case "lz4":
		lw := lz4.NewWriter(&buf)
		err = lw.Apply(lz4.LegacyOption(true))
		w = lw
	case "xz":
		w, err = xz.NewWriter(&buf)
	}
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	if kind == "gzip" {
		return buf.Bytes()
	}
	return withSize(buf.Bytes(), len(data))
}

func TestUnpack(t *testing.T) {
	kernel := kernelELF("Xen", xenElfnotePhys32Entry)
	for _, kind := range []string{"gzip", "zstd", "lz4", "xz"} {
		t.Run(kind, func(t *testing.T) {
			var out bytes.Buffer
			got, err := Unpack(bzImage(compress(t, kind, kernel), 0x20f), &out)
			require.NoError(t, err)
			assert.Equal(t, kind, got)
			assert.Equal(t, kernel, out.Bytes())
			assert.NoError(t, CheckPVH(bytes.NewReader(out.Bytes())))
		})
	}
}

// zstdWindow compresses data into a zstd frame that declares the window
// size window (a power of two), as the frames of Linux's zstd kernels do.
// The encoder would shrink the window to fit the small test input, so the
// header's window descriptor is set afterwards: the blocks do not depend on
// it.
func zstdWindow(t *testing.T, data []byte, window int) []byte {
	t.Helper()
	p := compress(t, "zstd", data)
	// Frame header: magic, descriptor, then (without the single-segment
	// flag) the window descriptor, 2^(10+exponent) with mantissa 0.
	require.Zero(t, p[4]&0x20, "the frame must carry a window descriptor")
	exp := bits.Len(uint(window)) - 1 - 10
	require.Equal(t, window, 1<<(10+exp), "a power of two")
	p = bytes.Clone(p)
	p[5] = byte(exp << 3)
	return p
}

// TestUnpackZstdWindow checks the window bound against what Linux's zstd
// kernels declare: Debian's 6.12 and 7.2 bzImages ask for 128 MiB, and
// booting them unpacked saves about a second per boot under TCG.
func TestUnpackZstdWindow(t *testing.T) {
	kernel := kernelELF("Xen", xenElfnotePhys32Entry)
	var out bytes.Buffer
	_, err := Unpack(bzImage(zstdWindow(t, kernel, 128<<20), 0x20f), &out)
	require.NoError(t, err, "the window of Linux's zstd -22 --ultra build")
	assert.Equal(t, kernel, out.Bytes())

	_, err = Unpack(bzImage(zstdWindow(t, kernel, 256<<20), 0x20f), io.Discard)
	assert.ErrorContains(t, err, "window size exceeded", "a larger window is refused before it is allocated")
}

func TestCheckPVHWithoutNote(t *testing.T) {
	for name, k := range map[string][]byte{
		"other type": kernelELF("Xen", 17),
		"other name": kernelELF("GNU", xenElfnotePhys32Entry),
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, CheckPVH(bytes.NewReader(k)), ErrNoPVH)
		})
	}
	assert.Error(t, CheckPVH(bytes.NewReader([]byte("not an elf at all"))))
}

func TestUnpackLimit(t *testing.T) {
	big := append(kernelELF("Xen", xenElfnotePhys32Entry), make([]byte, 4096)...)
	_, err := unpack(bzImage(compress(t, "gzip", big), 0x20f), io.Discard, 1024)
	assert.ErrorContains(t, err, "unpacks to more than 1024 bytes")
}

func TestUnpackRejects(t *testing.T) {
	kernel := kernelELF("Xen", xenElfnotePhys32Entry)
	good := compress(t, "gzip", kernel)
	zst := compress(t, "zstd", kernel)
	zst = zst[:len(zst)-4] // without its trailer
	short := bzImage(good, 0x20f)
	binary.LittleEndian.PutUint32(short[offPayloadLength:], 1<<30)
	for _, tc := range []struct {
		name string
		bz   []byte
		err  error
		msg  string
	}{
		{"empty", nil, ErrNotBzImage, ""},
		{"no header magic", make([]byte, 4096), ErrNotBzImage, ""},
		{"old boot protocol", bzImage(good, 0x207), ErrNotBzImage, ""},
		{"payload past the end", short, ErrNotBzImage, "outside"},
		{"unknown compression", bzImage([]byte("ABCDEFGH"), 0x20f), ErrCompression, "41 42 43 44"},
		{"not an ELF inside", bzImage(compress(t, "gzip", []byte("MZ not an elf kernel")), 0x20f), nil, "not an ELF kernel"},
		{"truncated payload", bzImage(good[:len(good)/2], 0x20f), nil, "gzip payload"},
		{"trailer disagrees", bzImage(withSize(zst, len(kernel)+1), 0x20f), nil, "trailer says"},
		{"trailer past the limit", bzImage(withSize(zst, MaxKernel+1), 0x20f), nil, "more than"},
		{"payload too short for a trailer", bzImage([]byte{0x28, 0xb5, 0x2f, 0xfd}, 0x20f), ErrNotBzImage, "4-byte payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpack(tc.bz, io.Discard)
			require.Error(t, err)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
			}
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}

// FuzzUnpack feeds arbitrary files to the parser: it must fail cleanly,
// never panic or write past its limit (1 MiB here, so that a payload that
// unpacks to the real limit does not stall the fuzzer).
func FuzzUnpack(f *testing.F) {
	kernel := kernelELF("Xen", xenElfnotePhys32Entry)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(kernel)
	w.Close()
	f.Add(bzImage(gz.Bytes(), 0x20f))
	f.Add(kernel)
	f.Add([]byte("HdrS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		_, err := unpack(b, &out, 1<<20)
		if out.Len() > 1<<20+4 {
			t.Fatalf("wrote %d bytes past the limit", out.Len())
		}
		if err == nil {
			_ = CheckPVH(bytes.NewReader(out.Bytes()))
		}
		_ = CheckPVH(bytes.NewReader(b))
	})
}
