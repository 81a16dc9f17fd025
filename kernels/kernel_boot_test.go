package kernels

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/bzimage"
)

func TestBootImage(t *testing.T) {
	fake := func(t *testing.T, arch string, vmlinuz []byte) *Kernel {
		t.Helper()
		dir := t.TempDir()
		k := &Kernel{Name: "debian-x", Arch: arch, Release: "x"}
		k.setPaths(dir)
		require.NoError(t, os.WriteFile(k.Vmlinuz, vmlinuz, 0o644))
		return k
	}
	t.Run("arm64 boots its image as it is", func(t *testing.T) {
		k := fake(t, "arm64", []byte("gzip'd Image"))
		path, note := k.BootImage()
		assert.Equal(t, k.Vmlinuz, path)
		assert.Empty(t, note)
	})
	t.Run("not a bzImage falls back with the reason", func(t *testing.T) {
		k := fake(t, "amd64", []byte("not a kernel"))
		path, note := k.BootImage()
		assert.Equal(t, k.Vmlinuz, path)
		assert.Contains(t, note, "debian-x boots its compressed bzImage: not an x86 bzImage")
		left, _ := filepath.Glob(filepath.Join(k.Dir, ".vmlinux-*"))
		assert.Empty(t, left, "no temporary file is left behind")
		assert.NoFileExists(t, filepath.Join(k.Dir, "vmlinux"))

		// The reason is cached: the next boot does not read and unpack
		// the kernel again. A bzImage header whose payload lies past the
		// end would fail differently if it did.
		assert.FileExists(t, filepath.Join(k.Dir, "vmlinux.unusable-"+bzimage.Version))
		other := make([]byte, 0x400)
		copy(other[0x202:], "HdrS")
		binary.LittleEndian.PutUint16(other[0x206:], 0x20f)
		binary.LittleEndian.PutUint32(other[0x24c:], 1<<20)
		require.NoError(t, os.WriteFile(k.Vmlinuz, other, 0o644))
		path, again := k.BootImage()
		assert.Equal(t, k.Vmlinuz, path)
		assert.Equal(t, note, again)
		require.NoError(t, os.Remove(filepath.Join(k.Dir, "vmlinux.unusable-"+bzimage.Version)))
		_, fresh := k.BootImage()
		assert.Contains(t, fresh, "outside", "without the cached reason the new file is read")
	})
	t.Run("a refusal by an older unpacker is retried", func(t *testing.T) {
		k := fake(t, "amd64", []byte("not a kernel"))
		old := filepath.Join(k.Dir, "vmlinux.unusable")
		require.NoError(t, os.WriteFile(old, []byte("zstd payload: window size exceeded"), 0o644))
		_, note := k.BootImage()
		assert.Contains(t, note, "not an x86 bzImage", "the kernel is read again")
		assert.NoFileExists(t, old, "the stale reason is removed")
		assert.FileExists(t, filepath.Join(k.Dir, "vmlinux.unusable-"+bzimage.Version))
	})
	t.Run("an unpacked kernel is reused", func(t *testing.T) {
		k := fake(t, "amd64", []byte("not a kernel"))
		vmlinux := filepath.Join(k.Dir, "vmlinux")
		require.NoError(t, os.WriteFile(vmlinux, []byte("\x7fELF"), 0o644))
		path, note := k.BootImage()
		assert.Equal(t, vmlinux, path)
		assert.Empty(t, note)
	})
}
