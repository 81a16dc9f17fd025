package hostfiles

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

func TestParseInclude(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.txt")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	tests := []struct {
		in      string
		want    Include
		wantErr string
	}{
		{in: file, want: Include{Host: file, Guest: file}},
		{in: file + ":/opt/data.txt", want: Include{Host: file, Guest: "/opt/data.txt"}},
		{in: dir + ":/srv/x/../y", want: Include{Host: dir, Guest: "/srv/y"}},
		{in: "", wantErr: "want PATH"},
		{in: filepath.Join(dir, "missing"), wantErr: "no such file"},
		{in: file + ":relative", wantErr: "must be absolute"},
		{in: file + ":/bpfmatrix/x", wantErr: "belongs to the guest"},
		{in: file + ":/", wantErr: "belongs to the guest"},
		{in: file + ":/proc/x", wantErr: "belongs to the guest"},
	}
	for _, tt := range tests {
		got, err := ParseInclude(tt.in)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "ParseInclude(%q)", tt.in)
			continue
		}
		require.NoError(t, err, "ParseInclude(%q)", tt.in)
		assert.Equal(t, tt.want, got, "ParseInclude(%q)", tt.in)
	}
}

func TestEntriesDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "a"), []byte("a"), 0o600))
	require.NoError(t, os.Symlink("sub/a", filepath.Join(dir, "link")))
	got, err := Entries(runtime.GOARCH, "", []Include{{Host: dir, Guest: "/opt/d"}})
	require.NoError(t, err)
	byName := map[string]string{}
	for _, e := range got {
		switch {
		case e.Dir:
			byName[e.Name] = "dir"
		case e.Link != "":
			byName[e.Name] = "link " + e.Link
		default:
			byName[e.Name] = "file " + e.Src
		}
	}
	assert.Equal(t, map[string]string{
		"opt/d":       "dir",
		"opt/d/sub":   "dir",
		"opt/d/sub/a": "file " + filepath.Join(dir, "sub", "a"),
		"opt/d/link":  "link sub/a",
	}, byName)
}

// TestEntriesProgram includes the host's /bin/sh: a dynamically linked
// program comes with its interpreter and libc.
func TestEntriesProgram(t *testing.T) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	if dyn, _ := Dynamic(sh); !dyn {
		t.Skipf("%s is static here", sh)
	}
	got, err := Entries(runtime.GOARCH, "", nil, sh)
	require.NoError(t, err)
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
	}
	all := strings.Join(names, " ")
	assert.NotContains(t, all, strings.TrimPrefix(sh, "/"), "a program is the caller's to place")
	assert.Contains(t, all, "libc.so", "libc of %s in %v", sh, names)
	assert.Contains(t, all, "ld-linux", "the interpreter of %s in %v", sh, names)

	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	_, err = Entries(other, "", []Include{{Host: sh, Guest: sh}})
	assert.ErrorIs(t, err, ErrForeignELF)

	got, err = Entries(runtime.GOARCH, "/stage", []Include{{Host: sh, Guest: "/opt/sh"}}, sh)
	require.NoError(t, err)
	names = nil
	for _, e := range got {
		names = append(names, e.Name)
	}
	assert.Contains(t, names, "stage/opt/sh", "an included program below the stage")
	assert.Equal(t, []wire.Bind{{Source: "/stage/opt/sh", Target: "/opt/sh"}}, Binds("/stage", []Include{{Host: sh, Guest: "/opt/sh"}}))
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "%s twice", n)
		seen[n] = true
	}
}

func TestDynamic(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	_, err = Dynamic(exe)
	require.NoError(t, err)
	text := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755))
	dyn, err := Dynamic(text)
	require.NoError(t, err)
	assert.False(t, dyn, "a script is not a dynamic ELF program")
}
