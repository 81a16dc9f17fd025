package kernels_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/kerneltest"
)

func fileSpec(t *testing.T, ref string) catalog.Spec {
	t.Helper()
	specs, err := catalog.Default().Lookup([]string{ref})
	require.NoError(t, err)
	return specs[0]
}

func TestFileKernel(t *testing.T) {
	e := newEnv(t)
	s := e.open(t)
	const rel = "6.9.0-rc1+"
	build := t.TempDir()
	img := kerneltest.Write(t, build, "arch/x86/boot/bzImage", kerneltest.BzImage(rel, nil))
	kerneltest.Write(t, build, ".config", []byte("CONFIG_BPF=y\n"))
	mods := filepath.Join(t.TempDir(), "lib", "modules")
	kerneltest.Write(t, mods, rel+"/kernel/net/core/veth.ko", []byte("veth"))
	require.NoError(t, os.Symlink(build, filepath.Join(mods, rel, "build")))

	spec := fileSpec(t, "file:"+img+",modules="+mods)
	assert.Equal(t, "file-6.9.0-rc1", spec.Name)
	// --kernels splits at every comma: the fields are put back.
	split, err := catalog.Default().Lookup([]string{"debian-6.1", "file:" + img, "modules=" + mods, "name=mine", "debian-7.2"})
	require.NoError(t, err)
	require.Len(t, split, 3)
	assert.Equal(t, filepath.Join(mods), split[1].Modules)
	assert.Equal(t, "mine", split[1].Name)
	assert.Equal(t, "amd64", spec.Arch)
	k, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, rel, k.Release)
	assert.Equal(t, "6.9", k.Version)
	assert.Equal(t, filepath.Join(build, ".config"), k.ConfigSource)
	assert.Equal(t, "CONFIG_BPF=y\n", readFile(t, k.Config))
	assert.FileExists(t, filepath.Join(k.ModulesDir, "kernel/net/core/veth.ko"))
	assert.NoFileExists(t, filepath.Join(k.ModulesDir, "build"))
	c, ok := s.Cached(spec)
	require.True(t, ok)
	assert.Equal(t, k.Dir, c.Dir)
	lf, err := s.LoadLock()
	require.NoError(t, err)
	assert.Empty(t, lf.Kernels, "file kernels are not pinned")

	// A rebuilt image is a new kernel; the old one stays cached.
	kerneltest.Write(t, build, "arch/x86/boot/bzImage", kerneltest.BzImage(rel, []byte("CONFIG_X=y\n")))
	_, ok = s.Cached(spec)
	assert.False(t, ok)
	k2, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)
	assert.NotEqual(t, k.Dir, k2.Dir)
	assertCacheClean(t, e.cacheDir, 2)

	// Rebuilt often: the three most recently used stay, and older ones
	// only once unused for an hour.
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(k.Dir, "kernel.json"), old, old))
	for i := range 3 {
		kerneltest.Write(t, build, "arch/x86/boot/bzImage", kerneltest.BzImage(rel, []byte(fmt.Sprintf("CONFIG_N=%d\n", i))))
		_, err := s.Pull(context.Background(), spec)
		require.NoError(t, err)
	}
	assert.NoDirExists(t, k.Dir, "the oldest, unused for 2 hours")
	assert.DirExists(t, k2.Dir, "used less than an hour ago")
	assertCacheClean(t, e.cacheDir, 4)
}

func TestFileKernelConfig(t *testing.T) {
	e := newEnv(t)
	s := e.open(t)
	dir := t.TempDir()
	arm := kerneltest.Write(t, dir, "Image", kerneltest.ARM64Image("6.6.1", []byte("CONFIG_IKCONFIG=y\n")))
	bare := kerneltest.Write(t, dir, "bare/vmlinux", kerneltest.ELF(62, "6.12.3", nil))
	cfg := kerneltest.Write(t, dir, "my.config", []byte("CONFIG_BPF_LSM=y\n"))

	k, err := s.Pull(context.Background(), fileSpec(t, "file:"+arm))
	require.NoError(t, err)
	assert.Equal(t, "arm64", k.Arch)
	assert.Equal(t, "file-6.6.1", k.Name, "the banner of an uncompressed Image")
	assert.Equal(t, "IKCONFIG", k.ConfigSource)
	assert.Equal(t, "CONFIG_IKCONFIG=y\n", readFile(t, k.Config))

	// An EFI zboot image boots as the Image it wraps.
	image := kerneltest.ARM64Image("6.12.9", nil)
	zb := kerneltest.Write(t, dir, "zboot/vmlinuz.efi", kerneltest.Zboot(image))
	k, err = s.Pull(context.Background(), fileSpec(t, "file:"+zb))
	require.NoError(t, err)
	assert.Equal(t, "6.12.9", k.Release)
	assert.Equal(t, string(image), readFile(t, k.Vmlinuz))

	k, err = s.Pull(context.Background(), fileSpec(t, "file:"+bare+",name=mine"))
	require.NoError(t, err)
	assert.Equal(t, "mine", k.Name)
	assert.Equal(t, "6.12.3", k.Release)
	assert.Equal(t, "", k.Config)
	assert.Contains(t, k.NoConfig, "no IKCONFIG")
	_, err = k.ConfigValue("BPF")
	assert.ErrorIs(t, err, kernels.ErrNoConfig)
	p, _ := k.BootImage()
	assert.Equal(t, k.Vmlinuz, p, "a vmlinux boots as it is")

	k, err = s.Pull(context.Background(), fileSpec(t, "file:"+bare+",config="+cfg))
	require.NoError(t, err)
	assert.Equal(t, cfg, k.ConfigSource)
	v, err := k.ConfigValue("BPF_LSM")
	require.NoError(t, err)
	assert.Equal(t, "y", v)
}

func TestFileKernelBadInput(t *testing.T) {
	dir := t.TempDir()
	script := kerneltest.Write(t, dir, "run.sh", []byte("#!/bin/sh\nexec qemu\n"))
	arm := kerneltest.Write(t, dir, "Image", kerneltest.ARM64Image("6.6.1", nil))
	for _, tc := range []struct {
		ref  string
		want error
		msg  string
	}{
		{"file:" + script, catalog.ErrNotKernel, "run.sh"},
		{"file:" + dir, catalog.ErrNotKernel, "not a regular file"},
		{"file:" + filepath.Join(dir, "missing"), os.ErrNotExist, "missing"},
		{"file:" + arm + ",arch=amd64", catalog.ErrWrongArch, "arm64"},
		{"file:" + arm + ",config=" + filepath.Join(dir, "nope"), catalog.ErrRef, "config="},
		{"file:" + arm + ",colour=red", catalog.ErrRef, "colour"},
	} {
		_, err := catalog.Default().Lookup([]string{tc.ref})
		require.ErrorIs(t, err, tc.want, tc.ref)
		assert.Contains(t, err.Error(), tc.msg)
	}

	// The file changed into something else after the lookup.
	e := newEnv(t)
	spec := fileSpec(t, "file:"+arm)
	kerneltest.Write(t, dir, "Image", kerneltest.BzImage("6.6.1", nil))
	_, err := e.open(t).Pull(context.Background(), spec)
	require.ErrorIs(t, err, catalog.ErrWrongArch)
	entries, _ := os.ReadDir(filepath.Join(e.cacheDir, "kernels"))
	for _, en := range entries {
		assert.False(t, en.IsDir(), "left in the cache: %s", en.Name())
	}
}
