package debian_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
)

func writeAPT(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, "etc/apt", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return root
}

func TestMirrorFromAPT(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"deb822", map[string]string{"sources.list.d/debian.sources": `# Modernized from /etc/apt/sources.list
Types: deb
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
`}, "http://mirror.example.org/debian"},
		{"deb822 disabled and deb-src skipped", map[string]string{"sources.list.d/a.sources": `Types: deb
URIs: http://disabled.example.org/debian
Suites: trixie
Components: main
Enabled: no

Types: deb-src
URIs: http://src.example.org/debian
Suites: trixie
Components: main

types: deb deb-src
uris: https://ok.example.org/debian
suites: trixie
components: main contrib
 non-free-firmware
`}, "https://ok.example.org/debian"},
		{"deb822 security and updates only skipped", map[string]string{
			"sources.list.d/a.sources": "Types: deb\nURIs: http://security.example.org/debian-security\nSuites: trixie-security\nComponents: main\n\nTypes: deb\nURIs: http://upd.example.org/debian\nSuites: trixie-updates trixie-backports\nComponents: main\n",
			"sources.list":             "deb http://one.example.org/debian trixie main\n",
		}, "http://one.example.org/debian"},
		{"one-line with options", map[string]string{"sources.list": `# deb http://commented.example.org/debian bookworm main
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://security.example.org/debian-security bookworm-security main
deb [ arch=amd64 ] http://ftp.example.org/debian/ bookworm main contrib # comment
`}, "http://ftp.example.org/debian"},
		{"one-line contrib only skipped", map[string]string{
			"sources.list":              "deb http://a.example.org/debian bookworm contrib\n",
			"sources.list.d/extra.list": "deb http://b.example.org/debian sid main\n",
		}, "http://b.example.org/debian"},
		{"one-line disabled option", map[string]string{"sources.list": "deb [enabled=no] http://a.example.org/debian sid main\ndeb http://b.example.org/debian sid main\n"}, "http://b.example.org/debian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := debian.MirrorFromAPT(writeAPT(t, tt.files))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMirrorFromAPTNone(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"empty":         {},
		"security only": {"sources.list": "deb http://security.example.org/debian-security bookworm-security main\n"},
		"disabled":      {"sources.list.d/d.sources": "Types: deb\nURIs: http://a.example.org/debian\nSuites: sid\nComponents: main\nEnabled: no\n"},
		"not http":      {"sources.list": "deb cdrom:[Debian]/ bookworm main\n"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := debian.MirrorFromAPT(writeAPT(t, files))
			require.ErrorIs(t, err, debian.ErrNoMirror)
			assert.Contains(t, err.Error(), "set BPFMATRIX_DEBIAN_MIRROR=<URL of a Debian mirror> or pass --mirror")
		})
	}
}
