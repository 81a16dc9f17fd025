package diskimage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func needTool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(Tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: apt-get install %s", Tool, Package)
		}
		t.Skipf("%s not installed (apt-get install %s)", Tool, Package)
	}
}

func TestDir(t *testing.T) {
	needTool(t)
	src, cache := t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("ref"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n"), 0o644))
	ctx := context.Background()
	exclude := []string{`^\.git(/|$)`}

	a, err := Dir(ctx, cache, src, exclude)
	require.NoError(t, err)
	b, err := Dir(ctx, cache, src, exclude)
	require.NoError(t, err)
	assert.Equal(t, a, b, "an unchanged tree reuses its image")

	// A change in .git is not a change of the image.
	require.NoError(t, os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("other ref"), 0o644))
	c, err := Dir(ctx, cache, src, exclude)
	require.NoError(t, err)
	assert.Equal(t, a, c)

	later := time.Now().Add(time.Second)
	require.NoError(t, os.WriteFile(filepath.Join(src, "go.mod"), []byte("module y\n"), 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(src, "go.mod"), later, later))
	d, err := Dir(ctx, cache, src, exclude)
	require.NoError(t, err)
	assert.NotEqual(t, a, d, "a changed file is a new image")

	img, err := os.ReadFile(d)
	require.NoError(t, err)
	// The EROFS superblock sits at byte 1024 and starts with its magic.
	require.Greater(t, len(img), 1028)
	assert.Equal(t, []byte{0xe2, 0xe1, 0xf5, 0xe0}, img[1024:1028], "EROFS magic")
	assert.NotContains(t, string(img), "other ref", ".git is left out")
	assert.Contains(t, string(img), "module y")

	_, err = Dir(ctx, cache, src, []string{"("})
	assert.ErrorContains(t, err, "exclude")
}

func TestSystem(t *testing.T) {
	needTool(t)
	mods, cache := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mods, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644))
	config := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(config, []byte("CONFIG_BPF=y\n"), 0o644))
	ctx := context.Background()
	k := Kernel{Release: "6.1.0-test", ModulesDir: mods, Config: config}
	a, err := System(ctx, cache, k)
	require.NoError(t, err)
	img, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.Contains(t, string(img), "CONFIG_BPF=y")
	assert.Contains(t, string(img), "config-6.1.0-test")
	assert.Contains(t, string(img), "modules.dep")

	require.NoError(t, os.WriteFile(config, []byte("CONFIG_BPF=n\n"), 0o644))
	b, err := System(ctx, cache, k)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a changed config is a new image")
	leftovers, _ := filepath.Glob(filepath.Join(cache, ".stage-*"))
	assert.Empty(t, leftovers, "no staging directory is left behind")
}

func TestBuildWithoutTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Build(context.Background(), filepath.Join(t.TempDir(), "x.erofs"), t.TempDir(), Options{})
	require.ErrorIs(t, err, ErrNoTool)
	assert.ErrorContains(t, err, "apt-get install -y erofs-utils")
}
