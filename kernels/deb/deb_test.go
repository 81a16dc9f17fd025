package deb_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/deb"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/debtest"
)

func sampleFiles() []debtest.File {
	return []debtest.File{
		{Name: "./"},
		{Name: "./boot/"},
		{Name: "./boot/vmlinuz-1.0", Body: []byte("kernel")},
		{Name: "./lib/modules/1.0/kernel/a.ko", Body: []byte("module")},
		{Name: "./lib/modules/1.0/run.sh", Body: []byte("#!/bin/sh"), Mode: 0o755},
		{Name: "./lib/modules/1.0/link.ko", Type: tar.TypeSymlink, Linkname: "kernel/a.ko"},
		{Name: "./lib/modules/1.0/hard.ko", Type: tar.TypeLink, Linkname: "./lib/modules/1.0/kernel/a.ko"},
	}
}

func TestWalkCompressions(t *testing.T) {
	for _, comp := range []string{"", "xz", "zst", "gz"} {
		t.Run("data.tar."+comp, func(t *testing.T) {
			var names []string
			var body string
			err := deb.Walk(bytes.NewReader(debtest.Deb(comp, sampleFiles())), func(hdr *tar.Header, r io.Reader) error {
				names = append(names, hdr.Name)
				if strings.HasSuffix(hdr.Name, "vmlinuz-1.0") {
					b, err := io.ReadAll(r)
					require.NoError(t, err)
					body = string(b)
				}
				return nil
			})
			require.NoError(t, err)
			assert.Len(t, names, len(sampleFiles()))
			assert.Equal(t, "kernel", body)
		})
	}
}

func TestExtract(t *testing.T) {
	dest := t.TempDir()
	sel := func(name string) (string, bool) {
		if rest, ok := strings.CutPrefix(name, "lib/modules/1.0"); ok {
			return "mods" + rest, true
		}
		if name == "boot/vmlinuz-1.0" {
			return "vmlinuz", true
		}
		return "", false
	}
	require.NoError(t, deb.Extract(bytes.NewReader(debtest.Deb("xz", sampleFiles())), dest, sel, deb.Limits{}))

	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dest, p))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "kernel", read("vmlinuz"))
	assert.Equal(t, "module", read("mods/kernel/a.ko"))
	assert.Equal(t, "module", read("mods/link.ko"))
	assert.Equal(t, "module", read("mods/hard.ko"))
	fi, err := os.Stat(filepath.Join(dest, "mods/run.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	_, err = os.Stat(filepath.Join(dest, "boot"))
	assert.True(t, os.IsNotExist(err), "unselected entries must not be extracted")
}

func TestExtractRefusals(t *testing.T) {
	big := deb.Limits{MaxFileSize: 10, MaxTotalSize: 15}
	tests := []struct {
		name   string
		files  []debtest.File
		limits deb.Limits
		err    error
	}{
		{"dotdot", []debtest.File{{Name: "./a/../../evil", Body: []byte("x")}}, deb.Limits{}, deb.ErrUnsafe},
		{"absolute", []debtest.File{{Name: "/etc/evil", Body: []byte("x")}}, deb.Limits{}, deb.ErrUnsafe},
		{"symlink absolute", []debtest.File{{Name: "./l", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}}, deb.Limits{}, deb.ErrUnsafe},
		{"symlink escapes", []debtest.File{{Name: "./a/l", Type: tar.TypeSymlink, Linkname: "../../x"}}, deb.Limits{}, deb.ErrUnsafe},
		{"write through symlink", []debtest.File{
			{Name: "./a", Type: tar.TypeSymlink, Linkname: "."},
			{Name: "./a/l", Type: tar.TypeSymlink, Linkname: "../x"},
		}, deb.Limits{}, deb.ErrUnsafe},
		{"hardlink escapes", []debtest.File{{Name: "./h", Type: tar.TypeLink, Linkname: "../../etc/passwd"}}, deb.Limits{}, deb.ErrUnsafe},
		{"hardlink absolute", []debtest.File{{Name: "./h", Type: tar.TypeLink, Linkname: "/etc/passwd"}}, deb.Limits{}, deb.ErrUnsafe},
		{"char device", []debtest.File{{Name: "./dev/null", Type: tar.TypeChar}}, deb.Limits{}, deb.ErrUnsafe},
		{"block device", []debtest.File{{Name: "./dev/sda", Type: tar.TypeBlock}}, deb.Limits{}, deb.ErrUnsafe},
		{"fifo", []debtest.File{{Name: "./fifo", Type: tar.TypeFifo}}, deb.Limits{}, deb.ErrUnsafe},
		{"file too large", []debtest.File{{Name: "./big", Body: make([]byte, 11)}}, big, deb.ErrTooLarge},
		{"total too large", []debtest.File{{Name: "./a", Body: make([]byte, 8)}, {Name: "./b", Body: make([]byte, 8)}}, big, deb.ErrTooLarge},
		{"absurd header size", []debtest.File{{Name: "./a", Size: 1 << 40}}, deb.Limits{}, deb.ErrTooLarge},
		{"truncated entry", []debtest.File{{Name: "./a", Size: 100}}, deb.Limits{}, deb.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			err := deb.Extract(bytes.NewReader(debtest.Deb("gz", tt.files)), dest, nil, tt.limits)
			require.ErrorIs(t, err, tt.err)
			entries, err := os.ReadDir(parent)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing may be written outside dest")
			assert.NoFileExists(t, "/etc/evil")
		})
	}
}

func TestExtractSelectorTargetMustBeLocal(t *testing.T) {
	sel := func(string) (string, bool) { return "../out", true }
	err := deb.Extract(bytes.NewReader(debtest.Deb("", []debtest.File{{Name: "./a", Body: []byte("x")}})), t.TempDir(), sel, deb.Limits{})
	require.ErrorIs(t, err, deb.ErrUnsafe)
}

func TestMalformed(t *testing.T) {
	data := debtest.Tar([]debtest.File{{Name: "a", Body: []byte("x")}})
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, deb.ErrFormat},
		{"html", []byte("<html>not found</html>"), deb.ErrFormat},
		{"no data member", debtest.AR(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}), deb.ErrFormat},
		{"first member wrong", debtest.AR(debtest.Member{Name: "data.tar", Data: data}), deb.ErrFormat},
		{"unknown compression", debtest.AR(
			debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")},
			debtest.Member{Name: "data.tar.lz4", Data: data}), deb.ErrFormat},
		{"truncated member", debtest.Deb("xz", sampleFiles())[:200], deb.ErrFormat},
		{"too many members", debtest.AR(
			debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")},
			debtest.Member{Name: "a"}, debtest.Member{Name: "b"}, debtest.Member{Name: "c"},
			debtest.Member{Name: "d"}, debtest.Member{Name: "e"}, debtest.Member{Name: "f"},
			debtest.Member{Name: "g"}, debtest.Member{Name: "h"}, debtest.Member{Name: "i"},
			debtest.Member{Name: "j"}, debtest.Member{Name: "k"}, debtest.Member{Name: "l"},
			debtest.Member{Name: "m"}, debtest.Member{Name: "n"}, debtest.Member{Name: "o"},
			debtest.Member{Name: "p"}), deb.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := deb.Walk(bytes.NewReader(tt.in), func(*tar.Header, io.Reader) error { return nil })
			require.ErrorIs(t, err, tt.err)
		})
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"./", "", false},
		{".", "", false},
		{"./boot/vmlinuz", "boot/vmlinuz", false},
		{"usr/lib/modules/", "usr/lib/modules", false},
		{"a//b/./c", "a/b/c", false},
		{"../x", "", true},
		{"/x", "", true},
		{"a/../b", "", true},
	}
	for _, tt := range tests {
		got, err := deb.NormalizeName(tt.in)
		if tt.bad {
			assert.ErrorIs(t, err, deb.ErrUnsafe, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
