package lock_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
)

func sampleLock() *lock.File {
	pkg := func(name string) debian.Package {
		return debian.Package{Name: name, Version: "7.2.13-1", Filename: "pool/main/l/" + name + ".deb", Size: 10, SHA256: strings.Repeat("ab", 32)}
	}
	return &lock.File{Kernels: map[string]lock.Entry{
		"debian-7.2": {Suite: "sid", Arch: "amd64", Release: "7.2.13+deb14-cloud-amd64", Version: "7.2.13-1",
			Packages: []debian.Package{pkg("linux-modules-x"), pkg("linux-base-x"), pkg("linux-image-x")}},
		"debian-6.1": {Suite: "bookworm", Arch: "amd64", Release: "6.1.0-50-cloud-amd64", Version: "6.1.160-1",
			Packages: []debian.Package{pkg("linux-image-6.1.0-50-cloud-amd64")}},
	}}
}

func TestLockRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bpfmatrix.lock")
	l, err := lock.Load(p)
	require.NoError(t, err, "missing file is an empty lock")
	assert.Empty(t, l.Kernels)

	require.NoError(t, sampleLock().Save(p))
	first, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Contains(t, string(first), `"schema": "bpfmatrix-lock/v1"`)
	assert.Less(t, strings.Index(string(first), "debian-6.1"), strings.Index(string(first), "debian-7.2"))
	assert.Less(t, strings.Index(string(first), "linux-base-x"), strings.Index(string(first), "linux-modules-x"))

	l, err = lock.Load(p)
	require.NoError(t, err)
	require.NoError(t, l.Save(p))
	second, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second), "output is deterministic")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")
}

func TestLoadLockInvalid(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"syntax", `{"schema":`, "unexpected end"},
		{"schema", `{"schema":"other/v9","kernels":{}}`, `schema is "other/v9"`},
		{"no packages", `{"schema":"bpfmatrix-lock/v1","kernels":{"k":{"suite":"sid","arch":"amd64","release":"r"}}}`, "no packages"},
		{"bad sha", `{"schema":"bpfmatrix-lock/v1","kernels":{"k":{"suite":"sid","arch":"amd64","release":"r","packages":[{"name":"p","version":"1","filename":"f","size":1,"sha256":"xyz"}]}}}`, "invalid sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bpfmatrix.lock")
			require.NoError(t, os.WriteFile(p, []byte(tt.content), 0o644))
			_, err := lock.Load(p)
			require.ErrorIs(t, err, lock.ErrInvalid)
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
