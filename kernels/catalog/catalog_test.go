package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

func TestDefaultCatalog(t *testing.T) {
	c := catalog.Default()
	assert.Equal(t, []string{"debian-5.10", "debian-6.1", "debian-6.12", "debian-7.2",
		"debian-5.10-arm64", "debian-6.1-arm64", "debian-6.12-arm64", "debian-7.2-arm64",
		"debian-6.16", "debian-6.17", "debian-6.18", "debian-7.3", "debian-6.18-arm64", "debian-7.3-arm64",
		"debian-6.12-bookworm", "debian-6.1-generic", "debian-6.12-generic", "debian-6.12-rt", "debian-6.12-generic-arm64",
		"ubuntu-6.8"}, c.Names())
	var defaults []string
	for _, s := range c.Defaults() {
		defaults = append(defaults, s.Name+"/"+s.Arch)
	}
	assert.Equal(t, []string{"debian-5.10/amd64", "debian-6.1/amd64", "debian-6.12/amd64", "debian-7.2/amd64",
		"debian-5.10-arm64/arm64", "debian-6.1-arm64/arm64", "debian-6.12-arm64/arm64"}, defaults)
	specs, err := c.Lookup([]string{"debian-7.2", "debian-5.10"})
	require.NoError(t, err)
	require.Len(t, specs, 2)
	assert.Equal(t, catalog.Spec{Name: "debian-7.2", Distro: "debian", Suite: "sid", Version: "7.2", Arch: "amd64", Flavour: "cloud", Default: true}, specs[0])
	assert.Equal(t, "bullseye", specs[1].Suite)
	assert.Equal(t, "bullseye-security", specs[1].Security)
	assert.Equal(t, "amd64", specs[0].GOARCH())
	assert.Equal(t, "x86_64", specs[0].QEMUArch())
}

func TestCatalogLookupUnknown(t *testing.T) {
	_, err := catalog.Default().Lookup([]string{"debian-6.1", "debian-9.9"})
	require.ErrorIs(t, err, catalog.ErrUnknownKernel)
	assert.Contains(t, err.Error(), `"debian-9.9"`)
	assert.Contains(t, err.Error(), "debian-5.10, debian-6.1, debian-6.12, debian-7.2, debian-5.10-arm64")
}

func TestArch(t *testing.T) {
	a, ok := catalog.LookupArch("arm64")
	require.True(t, ok)
	assert.Equal(t, catalog.ArchInfo{Debian: "arm64", GOARCH: "arm64", QEMU: "aarch64"}, a)
	a, ok = catalog.ArchFromGOARCH("amd64")
	require.True(t, ok)
	assert.Equal(t, "x86_64", a.QEMU)
	_, ok = catalog.LookupArch("x86_64")
	assert.False(t, ok)
}

func TestLoadCatalogInvalid(t *testing.T) {
	entry := func(kv ...string) string {
		fields := map[string]string{"name": "k", "distro": "debian", "suite": "sid", "version": "7.2", "arch": "arm64", "flavour": "cloud"}
		for i := 0; i < len(kv); i += 2 {
			fields[kv[i]] = kv[i+1]
		}
		var parts []string
		for k, v := range fields {
			parts = append(parts, `"`+k+`":"`+v+`"`)
		}
		return `{"kernels":[{` + strings.Join(parts, ",") + `}]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"arch", entry("arch", "x86_64"), `"arch" has invalid value "x86_64"`},
		{"distro", entry("distro", "fedora"), `"distro" has invalid value "fedora"`},
		{"source", entry("source", "ftp"), `"source" has invalid value "ftp"`},
		{"oci without ref", entry("source", "oci", "distro", "oci"), `"ref"`},
		{"file relative", entry("source", "file", "distro", "file", "ref", "bzImage"), `"ref"`},
		{"security", entry("security", "Bad Suite"), `"security"`},
		{"version", entry("version", "6"), `"version" has invalid value "6"`},
		{"flavour", entry("flavour", ""), `"flavour"`},
		{"suite", entry("suite", "Book Worm"), `"suite"`},
		{"name", entry("name", "Bad Name"), `"name"`},
		{"unknown field", `{"kernels":[{"name":"k","colour":"red"}]}`, `colour`},
		{"empty", `{"kernels":[]}`, "no kernels"},
		{"duplicate", `{"kernels":[` + strings.TrimSuffix(strings.TrimPrefix(entry(), `{"kernels":[`), `]}`) + `,` + strings.TrimSuffix(strings.TrimPrefix(entry(), `{"kernels":[`), `]}`) + `]}`, "duplicate"},
		{"syntax", `{`, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.Load(strings.NewReader(tt.in))
			require.ErrorIs(t, err, catalog.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	c, err := catalog.Load(strings.NewReader(entry()))
	require.NoError(t, err)
	assert.Equal(t, "aarch64", c.All()[0].QEMUArch())
	assert.Empty(t, c.Defaults())
}
