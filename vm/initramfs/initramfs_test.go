package initramfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
)

// TestBaseSourceDirs checks that the base archive's cache key covers every
// package of this module the guest program is built from: if it did not,
// a change to the guest could reuse a stale base archive.
func TestBaseSourceDirs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/bpfmatrix/bpfmatrix"}}{{.Dir}}{{end}}{{end}}`, "./cmd/bpfmatrix-guest")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err)
	covered := func(dir string) bool {
		for _, d := range BaseSourceDirs {
			if dir == filepath.Join(root, d) {
				return true
			}
		}
		return false
	}
	for _, dir := range strings.Fields(string(out)) {
		assert.True(t, covered(dir), "guest depends on %s, which BaseSourceDirs does not hash", dir)
	}
}

func TestWriteArchive(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bin")
	require.NoError(t, os.WriteFile(src, []byte("#!binary"), 0o755))
	entries := []Entry{
		{Name: "bpfmatrix/run.json", Mode: 0o644, Data: []byte(`{"a":1}`)},
		{Name: "bin/uinit", Mode: 0o755, Src: src},
		{Name: "dev/console", Mode: 0o600, Dev: &[2]uint64{5, 1}},
		{Name: "tmp", Mode: 0o1777, Dir: true},
		{Name: "bin/sh", Link: "uinit"},
	}
	a, b := filepath.Join(dir, "a.cpio"), filepath.Join(dir, "b.cpio")
	require.NoError(t, WriteArchive(a, entries))
	require.NoError(t, WriteArchive(b, entries))
	ab, err := os.ReadFile(a)
	require.NoError(t, err)
	bb, err := os.ReadFile(b)
	require.NoError(t, err)
	assert.Equal(t, ab, bb, "archives are reproducible")

	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(ab)))
	require.NoError(t, err)
	got := map[string]cpio.Record{}
	for _, r := range recs {
		got[r.Name] = r
	}
	for _, name := range []string{"bpfmatrix", "bpfmatrix/run.json", "bin", "bin/uinit", "bin/sh", "dev", "dev/console", "tmp"} {
		assert.Contains(t, got, name)
	}
	body := make([]byte, got["bin/uinit"].FileSize)
	_, err = got["bin/uinit"].ReadAt(body, 0)
	require.NoError(t, err)
	assert.Equal(t, "#!binary", string(body))
	assert.Equal(t, uint64(cpio.S_IFCHR|0o600), got["dev/console"].Mode)

	// Concatenation keeps both archives, in order.
	c := filepath.Join(dir, "c.cpio")
	require.NoError(t, Concat(c, a, b))
	cb, err := os.ReadFile(c)
	require.NoError(t, err)
	assert.Equal(t, append(ab, bb...), cb)
	require.Error(t, Concat(filepath.Join(dir, "d.cpio"), a, filepath.Join(dir, "missing")))
	assert.NoFileExists(t, filepath.Join(dir, "d.cpio"), "a failed write leaves nothing")
}

// TestBaseCached builds the base archive and checks that a second build
// reuses it, and that the archive holds the guest as /init and test2json.
func TestBaseCached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the guest")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	b := &Builder{SourceDir: root, CacheDir: t.TempDir(), GOARCH: "amd64"}
	path, built, err := b.Base(t.Context())
	require.NoError(t, err)
	assert.True(t, built)
	again, built, err := b.Base(t.Context())
	require.NoError(t, err)
	assert.False(t, built, "the second build reuses the cached archive")
	assert.Equal(t, path, again)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, r := range recs {
		names[r.Name] = true
	}
	for _, want := range []string{"init", "bpfmatrix/bin/test2json", "dev/console"} {
		assert.True(t, names[want], "base archive lacks %s", want)
	}
	assert.False(t, names["bin/uinit"], "the guest is /init: no separate u-root init starts it")
}

func TestPruneStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleAge)
	for _, f := range []string{"tests-amd64-old.cpio", "tests-amd64-recent.cpio", "tests-amd64-current.cpio", "tests-arm64-old.cpio"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
		if strings.Contains(f, "old") || strings.Contains(f, "current") {
			require.NoError(t, os.Chtimes(filepath.Join(dir, f), old, old))
		}
	}
	pruneStale(dir, "tests-amd64-", filepath.Join(dir, "tests-amd64-current.cpio"))
	assert.NoFileExists(t, filepath.Join(dir, "tests-amd64-old.cpio"), "superseded and old: removed")
	assert.FileExists(t, filepath.Join(dir, "tests-amd64-recent.cpio"), "a recent archive may still be in use")
	assert.FileExists(t, filepath.Join(dir, "tests-amd64-current.cpio"))
	assert.FileExists(t, filepath.Join(dir, "tests-arm64-old.cpio"), "another arch is not touched")
}
