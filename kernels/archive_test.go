package kernels_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"

	"github.com/bpfmatrix/bpfmatrix/kernels/apt"

	"github.com/bpfmatrix/bpfmatrix/kernels/lock"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/testmirror"
)

func TestSecurityArchive(t *testing.T) {
	e := newEnv(t)
	e.mirror.Add("bookworm", "amd64", testmirror.Classic("6.1.0-50-cloud-amd64", "6.1.176-1", ""))
	sec := testmirror.New(t)
	sec.Add("bookworm-security", "amd64", testmirror.Classic("6.1.0-48-cloud-amd64", "6.1.170-1", ""))
	open := func() *kernels.Store {
		s, err := kernels.Open(kernels.Options{CacheDir: e.cacheDir, LockPath: e.lockPath, Mirror: e.mirror.URL,
			SecurityMirror: sec.URL, HTTPClient: e.mirror.Client()})
		require.NoError(t, err)
		return s
	}
	ctx := context.Background()
	// Main is newer: main wins.
	k, err := open().Pull(ctx, spec(t, "debian-6.1"))
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-50-cloud-amd64", k.Release)
	assert.Equal(t, "bookworm", k.Suite)

	// A newer one in the security index that its pool lacks (as this
	// machine's mirror does for bullseye-security arm64) is passed over.
	gone := sec.Add("bookworm-security", "amd64", testmirror.Classic("6.1.0-56-cloud-amd64", "6.1.190-1", ""))
	sec.Remove(gone.Filename)
	ks, err := open().Update(ctx, []catalog.Spec{spec(t, "debian-6.1")})
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-50-cloud-amd64", ks[0].Release)
	assert.Positive(t, sec.Heads())

	// The security archive gets a newer one: update offers it.
	sec.Add("bookworm-security", "amd64", testmirror.Classic("6.1.0-57-cloud-amd64", "6.1.192-3", ""))
	k, err = open().Pull(ctx, spec(t, "debian-6.1"))
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-50-cloud-amd64", k.Release, "the pin holds")
	ks, err = open().Update(ctx, []catalog.Spec{spec(t, "debian-6.1")})
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-57-cloud-amd64", ks[0].Release)
	assert.Equal(t, "bookworm-security", ks[0].Suite)
	l, err := lock.Load(e.lockPath)
	require.NoError(t, err)
	assert.Equal(t, "security", l.Kernels["debian-6.1"].Archive)
	assert.Equal(t, 1, sec.DebRequests())

	// Pinned to security: later pulls download from there.
	e.cacheDir = filepath.Join(t.TempDir(), "cache2")
	k, err = open().Pull(ctx, spec(t, "debian-6.1"))
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-57-cloud-amd64", k.Release)
	assert.Equal(t, 2, sec.DebRequests())

	// A series only the security archive has is found there.
	sec.Add("bookworm-security", "amd64", testmirror.Classic("6.12.94+deb12-cloud-amd64", "6.12.94-1~deb12u1", ""))
	only := spec(t, "debian-6.1")
	only.Name, only.Version = "bookworm-6.12", "6.12"
	k, err = open().Pull(ctx, only)
	require.NoError(t, err)
	assert.Equal(t, "bookworm-security", k.Suite)
	only.Version = "6.13"
	_, err = open().Pull(ctx, only)
	require.ErrorIs(t, err, debian.ErrNoKernel)
	assert.Contains(t, err.Error(), "dists/bookworm ")

	// Without a security archive the security suites are not searched.
	s, err := kernels.Open(kernels.Options{CacheDir: t.TempDir(), LockPath: filepath.Join(t.TempDir(), "l"), Mirror: e.mirror.URL, HTTPClient: e.mirror.Client()})
	require.NoError(t, err)
	k, err = s.Pull(ctx, spec(t, "debian-6.1"))
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-50-cloud-amd64", k.Release)
}

func TestFlavours(t *testing.T) {
	e := newEnv(t)
	for _, rel := range []string{"6.12.117+deb13-amd64", "6.12.117+deb13-rt-amd64"} {
		e.mirror.Add("trixie", "amd64", testmirror.Classic(rel, "6.12.117-1", "usr/"))
	}
	for name, want := range map[string]string{"debian-6.12": trixieRel, "debian-6.12-generic": "6.12.117+deb13-amd64", "debian-6.12-rt": "6.12.117+deb13-rt-amd64"} {
		k, err := e.open(t).Pull(context.Background(), spec(t, name))
		require.NoError(t, err, name)
		assert.Equal(t, want, k.Release, name)
	}
}

func TestUbuntuArchive(t *testing.T) {
	m := testmirror.New(t)
	m.AddAll("noble-updates", "amd64", testmirror.Ubuntu("6.8.0-40-generic", "6.8.0-40.40"))
	m.AddAll("noble-updates", "amd64", testmirror.Ubuntu("6.8.0-45-generic", "6.8.0-45.45"))
	m.AddAll("noble-updates", "amd64", testmirror.Ubuntu("6.8.0-45-lowlatency", "6.8.0-45.45"))
	m.AddAll("noble-security", "amd64", testmirror.Ubuntu("6.8.0-44-generic", "6.8.0-44.44"))
	dir := t.TempDir()
	opts := kernels.Options{CacheDir: filepath.Join(dir, "cache"), LockPath: filepath.Join(dir, "lock"), UbuntuMirror: m.URL, HTTPClient: m.Client()}
	s, err := kernels.Open(opts)
	require.NoError(t, err)
	k, err := s.Pull(context.Background(), spec(t, "ubuntu-6.8"))
	require.NoError(t, err)
	assert.Equal(t, "6.8.0-45-generic", k.Release)
	assert.Equal(t, string(testmirror.Vmlinuz(k.Release)), readFile(t, k.Vmlinuz), "the unsigned image")
	assert.Equal(t, testmirror.Config, readFile(t, k.Config))
	assert.FileExists(t, filepath.Join(k.ModulesDir, "kernel/drivers/net/veth.ko.zst"))
	var names []string
	for _, p := range k.Packages {
		names = append(names, p.Name)
	}
	assert.ElementsMatch(t, []string{"linux-image-unsigned-6.8.0-45-generic", "linux-modules-6.8.0-45-generic"}, names)

	// No Ubuntu archive configured: the error says which variable to set.
	t.Setenv(apt.EnvUbuntuMirror, "")
	opts.UbuntuMirror, opts.LockPath = "", filepath.Join(dir, "lock2")
	s, err = kernels.Open(opts)
	require.NoError(t, err)
	_, err = s.Pull(context.Background(), spec(t, "ubuntu-6.8"))
	require.ErrorIs(t, err, debian.ErrNoMirror)
	assert.Contains(t, err.Error(), apt.EnvUbuntuMirror)
}

func TestAvailable(t *testing.T) {
	e := newEnv(t)
	e.mirror.Add("trixie", "amd64", testmirror.Classic("6.12.117+deb13-amd64", "6.12.117-1", "usr/"))
	e.mirror.Add("trixie", "amd64", testmirror.Pkg{Name: "linux-image-6.12-cloud-amd64", Version: "6.12.117-1", Depends: "linux-image-" + trixieRel + " (= 6.12.117-1)"})
	e.mirror.AddAll("trixie-backports", "arm64", testmirror.Split("6.18.15+deb13-cloud-arm64", "6.18.15-1~bpo13+1"))
	var progress []string
	offers, err := e.open(t).Available(context.Background(), apt.AvailableOptions{
		Suites: []string{"bullseye", "trixie", "trixie-backports", "nosuch"},
		Progress: func(suite, arch string, done, total int) {
			progress = append(progress, suite+"/"+arch)
			assert.Equal(t, 8, total)
		}})
	require.NoError(t, err)
	assert.Len(t, progress, 8)
	var got []string
	for _, o := range offers {
		got = append(got, strings.Join([]string{o.Series, o.Arch, o.Flavour, o.Suite, o.Release, strings.Join(o.Catalog, ",")}, " "))
	}
	assert.Equal(t, []string{
		"5.10 amd64 cloud bullseye " + bullseye + " debian-5.10",
		"6.12 amd64 cloud trixie " + trixieRel + " debian-6.12",
		"6.12 amd64 generic trixie 6.12.117+deb13-amd64 debian-6.12-generic",
		"6.18 arm64 cloud trixie-backports 6.18.15+deb13-cloud-arm64 debian-6.18-arm64",
	}, got)
}
