package initramfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackDir(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "testdata"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(src, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "testdata", "a.txt"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("ref"), 0o644))
	require.NoError(t, os.Symlink("testdata/a.txt", filepath.Join(src, "link")))

	entries, err := PackDir(src, src, 0)
	require.NoError(t, err)
	names := map[string]Entry{}
	for _, e := range entries {
		names[e.Name] = e
	}
	rel := src[1:]
	assert.Contains(t, names, rel+"/testdata/a.txt", "files keep their absolute path")
	assert.Equal(t, "testdata/a.txt", names[rel+"/link"].Link)
	assert.NotContains(t, names, rel+"/.git/HEAD", "version control is skipped")
	assert.True(t, names[filepath.Dir(rel)].Dir, "parents are created")
	require.NoError(t, WriteArchive(filepath.Join(t.TempDir(), "x.cpio"), entries))

	_, err = PackDir(src, src, 3)
	require.ErrorIs(t, err, ErrDirTooLarge)
	assert.ErrorContains(t, err, "--max-dir-size")
	_, err = PackDir(src, "relative", 0)
	assert.ErrorContains(t, err, "not absolute")
}
