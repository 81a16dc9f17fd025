// Package kerneltest builds small but well-formed kernel images for tests:
// an x86 bzImage (setup header, gzip payload holding an ELF with a PVH
// note), an arm64 Image and an ELF vmlinux, each carrying a "Linux
// version" banner and, optionally, an IKCONFIG blob.
package kerneltest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// body is the kernel's "code": the banner and the embedded config.
func body(release string, config []byte) []byte {
	b := []byte("\x00\x00Linux version " + release + " (builder@example.org) (gcc 14) #1 SMP PREEMPT_DYNAMIC\n\x00")
	if config != nil {
		b = append(b, "IKCFG_ST"...)
		b = append(b, gz(config)...)
		b = append(b, "IKCFG_ED"...)
	}
	return b
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// ELF returns an ELF vmlinux for machine (62 = x86-64, 183 = aarch64)
// with a Xen PVH entry note, then the banner and config.
func ELF(machine uint16, release string, config []byte) []byte {
	le := binary.LittleEndian
	name := []byte("Xen\x00")
	note := le.AppendUint32(nil, uint32(len(name)))
	note = le.AppendUint32(note, 4)
	note = le.AppendUint32(note, 18) // XEN_ELFNOTE_PHYS32_ENTRY
	note = append(note, name...)
	note = le.AppendUint32(note, 0x1000000)
	const ehsize, phsize = 64, 56
	b := make([]byte, ehsize+phsize)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1
	le.PutUint16(b[16:], 2)
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], ehsize)
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1)
	ph := b[ehsize:]
	le.PutUint32(ph[0:], 4) // PT_NOTE
	le.PutUint64(ph[8:], ehsize+phsize)
	le.PutUint64(ph[32:], uint64(len(note)))
	le.PutUint64(ph[40:], uint64(len(note)))
	le.PutUint64(ph[48:], 4)
	b = append(b, note...)
	return append(b, body(release, config)...)
}

// BzImage returns an x86 bzImage (boot protocol 2.15) whose header names
// release and whose gzip payload is an x86-64 ELF vmlinux.
func BzImage(release string, config []byte) []byte {
	const setupSects = 3
	b := make([]byte, (setupSects+1)*512)
	b[0x1f1] = setupSects
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x20f)
	// kernel_version points (from 0x200) at the version string.
	version := release + " (builder@example.org) #1 SMP"
	binary.LittleEndian.PutUint16(b[0x20e:], uint16(0x300-0x200))
	copy(b[0x300:], version+"\x00")
	payload := gz(ELF(62, release, config))
	binary.LittleEndian.PutUint32(b[0x248:], 16)
	binary.LittleEndian.PutUint32(b[0x24c:], uint32(len(payload)))
	b = append(b, make([]byte, 16)...)
	b = append(b, payload...)
	return append(b, 0xee, 0xee)
}

// ARM64Image returns an uncompressed arm64 Image: the 64-byte header with
// "ARM\x64" at 0x38, then the banner and config.
func ARM64Image(release string, config []byte) []byte {
	b := make([]byte, 64)
	copy(b[0x38:], "ARM\x64")
	return append(b, body(release, config)...)
}

// Write writes data to dir/name and returns the path.
func Write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Zboot wraps an arm64 Image in an EFI zboot header ("MZ", "zimg", the
// payload's offset and size, its compression) with a gzip payload.
func Zboot(image []byte) []byte {
	payload := gz(image)
	b := make([]byte, 64)
	copy(b, "MZ")
	copy(b[4:], "zimg")
	binary.LittleEndian.PutUint32(b[8:], 64)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(payload)))
	copy(b[24:], "gzip")
	return append(b, payload...)
}
