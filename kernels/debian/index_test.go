package debian_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/debtest"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/testmirror"
)

func fakeArchive(t *testing.T, inRelease bool, opts ...func(*testmirror.Mirror)) *testmirror.Mirror {
	t.Helper()
	m := testmirror.New(t)
	m.UseInRelease = inRelease
	for _, o := range opts {
		o(m)
	}
	m.Add("bullseye", "amd64", testmirror.Classic("5.10.0-30-cloud-amd64", "5.10.218-1", ""))
	m.Add("bullseye", "amd64", testmirror.Classic("5.10.0-32-cloud-amd64", "5.10.223-1", ""))
	m.Add("bullseye", "amd64", testmirror.Classic("5.10.0-32-amd64", "5.10.223-1", ""))
	m.Add("bullseye", "amd64", testmirror.Pkg{Name: "linux-image-5.10.0-32-cloud-amd64-dbg", Version: "5.10.226-1", Files: []debtest.File{{Name: "./x", Body: []byte("x")}}})
	m.Add("bullseye", "amd64", testmirror.Pkg{Name: "linux-image-5.10.0-33-cloud-amd64-unsigned", Version: "5.10.226-1", Files: []debtest.File{{Name: "./x", Body: []byte("x")}}})
	m.Add("bullseye", "amd64", testmirror.Pkg{Name: "linux-image-cloud-amd64", Version: "5.10.226-1", Depends: "linux-image-5.10.0-32-cloud-amd64 (= 5.10.223-1)", Files: []debtest.File{{Name: "./x", Body: []byte("x")}}})
	m.Add("bookworm", "amd64", testmirror.Classic("6.1.0-50-cloud-amd64", "6.1.160-1", ""))
	m.Add("bookworm", "amd64", testmirror.Classic("6.1.0-9-cloud-amd64", "6.1.27-1", ""))
	m.Add("trixie", "amd64", testmirror.Classic("6.12.117+deb13-cloud-amd64", "6.12.117-1", "usr/"))
	m.Add("trixie", "amd64", testmirror.Classic("6.12.9+deb13-cloud-amd64", "6.12.9-1", "usr/"))
	m.AddAll("sid", "amd64", testmirror.Split("7.2.13+deb14-cloud-amd64", "7.2.13-1"))
	m.AddAll("sid", "amd64", testmirror.Split("7.2.10+deb14-cloud-amd64", "7.2.10-1"))
	return m
}

func TestResolveKernel(t *testing.T) {
	m := fakeArchive(t, false)
	tests := []struct {
		suite, version string
		release        string
		pkgVersion     string
		packages       []string
	}{
		{"bullseye", "5.10", "5.10.0-32-cloud-amd64", "5.10.223-1", []string{"linux-image-5.10.0-32-cloud-amd64"}},
		{"bookworm", "6.1", "6.1.0-50-cloud-amd64", "6.1.160-1", []string{"linux-image-6.1.0-50-cloud-amd64"}},
		{"trixie", "6.12", "6.12.117+deb13-cloud-amd64", "6.12.117-1", []string{"linux-image-6.12.117+deb13-cloud-amd64"}},
		{"sid", "7.2", "7.2.13+deb14-cloud-amd64", "7.2.13-1", []string{
			"linux-image-7.2.13+deb14-cloud-amd64",
			"linux-base-7.2.13+deb14-cloud-amd64",
			"linux-binary-7.2.13+deb14-cloud-amd64",
			"linux-modules-7.2.13+deb14-cloud-amd64",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.suite, func(t *testing.T) {
			idx, err := debian.FetchIndex(context.Background(), m.Client(), m.URL+"/", tt.suite, "amd64")
			require.NoError(t, err)
			res, err := idx.ResolveKernel(tt.version, "cloud", "amd64")
			require.NoError(t, err)
			assert.Equal(t, tt.release, res.Release)
			assert.Equal(t, tt.pkgVersion, res.Version)
			var names []string
			for _, p := range res.Packages {
				names = append(names, p.Name)
				assert.Equal(t, tt.pkgVersion, p.Version)
				assert.Len(t, p.SHA256, 64)
				assert.NotZero(t, p.Size)
				assert.True(t, strings.HasPrefix(p.Filename, "pool/main/l/"), p.Filename)
			}
			assert.Equal(t, tt.packages, names)
		})
	}
}

func TestResolveKernelVersionPrefix(t *testing.T) {
	idx, err := debian.ParseIndex(strings.NewReader(`Package: linux-image-6.12.9+deb13-cloud-amd64
Version: 6.12.9-1
Filename: pool/a.deb
Size: 1
SHA256: 0000000000000000000000000000000000000000000000000000000000000000
`))
	require.NoError(t, err)
	_, err = idx.ResolveKernel("6.1", "cloud", "amd64")
	require.ErrorIs(t, err, debian.ErrNoKernel)
	assert.Contains(t, err.Error(), "6.12.9+deb13-cloud-amd64", "error lists available releases")
	_, err = idx.ResolveKernel("6.12", "rt", "amd64")
	require.ErrorIs(t, err, debian.ErrNoKernel)
	_, err = idx.ResolveKernel("6.12", "cloud", "amd64")
	require.NoError(t, err)
}

func TestFetchIndexInRelease(t *testing.T) {
	m := fakeArchive(t, true)
	idx, err := debian.FetchIndex(context.Background(), m.Client(), m.URL, "sid", "amd64")
	require.NoError(t, err)
	assert.Equal(t, 1, m.Requests("dists/sid/InRelease"))
	assert.Len(t, idx.Lookup("linux-modules-7.2.13+deb14-cloud-amd64"), 1)
}

// TestFetchIndexPrefersGzip: of the compressions Release lists,
// Packages.gz is read (it decodes many times faster than xz), and a listed
// one the mirror does not serve (Debian's security archive) falls back to
// Packages.xz; both are checked against Release.
func TestFetchIndexPrefersGzip(t *testing.T) {
	gzip := func(m *testmirror.Mirror) { m.ServeGzip = true }
	const gz, xz = "dists/sid/main/binary-amd64/Packages.gz", "dists/sid/main/binary-amd64/Packages.xz"
	ctx := context.Background()

	m := fakeArchive(t, false, gzip)
	idx, err := debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "amd64")
	require.NoError(t, err)
	assert.Len(t, idx.Lookup("linux-modules-7.2.13+deb14-cloud-amd64"), 1)
	assert.Equal(t, 1, m.Requests(gz))
	assert.Equal(t, 0, m.Requests(xz))

	m = fakeArchive(t, false, gzip)
	m.Remove(gz)
	idx, err = debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "amd64")
	require.NoError(t, err, "listed but not served: xz")
	assert.Len(t, idx.Lookup("linux-modules-7.2.13+deb14-cloud-amd64"), 1)
	assert.Equal(t, 1, m.Requests(xz))

	m = fakeArchive(t, false, gzip)
	m.Corrupt(gz)
	_, err = debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "amd64")
	require.ErrorIs(t, err, debian.ErrChecksum, "a corrupt gz is an error, not a reason to try xz")
}

func TestFetchIndexErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("checksum", func(t *testing.T) {
		m := fakeArchive(t, false)
		m.Corrupt("dists/sid/main/binary-amd64/Packages.xz")
		_, err := debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "amd64")
		require.ErrorIs(t, err, debian.ErrChecksum)
	})
	t.Run("http 500", func(t *testing.T) {
		m := fakeArchive(t, false)
		m.SetStatus("dists/sid/main/binary-amd64/Packages.xz", http.StatusInternalServerError)
		_, err := debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "amd64")
		var he *debian.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 500, he.StatusCode)
		assert.Contains(t, err.Error(), m.URL+"/dists/sid/main/binary-amd64/Packages.xz")
		assert.Contains(t, err.Error(), "500")
	})
	t.Run("mirror unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // nothing listens there any more
		_, err := debian.FetchIndex(ctx, srv.Client(), url, "sid", "amd64")
		require.ErrorIs(t, err, debian.ErrUnreachable)
		assert.Contains(t, err.Error(), url)
		assert.Contains(t, err.Error(), "BPFMATRIX_DEBIAN_MIRROR")
	})
	t.Run("unknown suite", func(t *testing.T) {
		m := fakeArchive(t, false)
		_, err := debian.FetchIndex(ctx, m.Client(), m.URL, "nosuch", "amd64")
		require.ErrorIs(t, err, debian.ErrNotFound)
		assert.Contains(t, err.Error(), `"nosuch"`)
	})
	t.Run("unknown arch", func(t *testing.T) {
		m := fakeArchive(t, false)
		_, err := debian.FetchIndex(ctx, m.Client(), m.URL, "sid", "s390x")
		require.ErrorIs(t, err, debian.ErrIndex)
	})
}

func TestDownload(t *testing.T) {
	ctx := context.Background()
	m := testmirror.New(t)
	p := m.Add("sid", "amd64", testmirror.Classic("7.2.13+deb14-cloud-amd64", "7.2.13-1", "usr/"))

	t.Run("ok", func(t *testing.T) {
		var buf bytes.Buffer
		var last int64
		require.NoError(t, debian.Download(ctx, m.Client(), m.URL, p, &buf, func(done, total int64) {
			assert.Equal(t, p.Size, total)
			last = done
		}))
		assert.Equal(t, p.Size, int64(buf.Len()))
		assert.Equal(t, p.Size, last)
	})
	t.Run("checksum", func(t *testing.T) {
		bad := p
		bad.SHA256 = strings.Repeat("0", 64)
		err := debian.Download(ctx, m.Client(), m.URL, bad, &bytes.Buffer{}, nil)
		require.ErrorIs(t, err, debian.ErrChecksum)
		assert.Contains(t, err.Error(), p.Name)
		assert.Contains(t, err.Error(), p.SHA256)
		assert.Contains(t, err.Error(), "bpfmatrix kernels update")
	})
	t.Run("size", func(t *testing.T) {
		bad := p
		bad.Size--
		err := debian.Download(ctx, m.Client(), m.URL, bad, &bytes.Buffer{}, nil)
		require.ErrorIs(t, err, debian.ErrChecksum)
	})
	t.Run("truncated", func(t *testing.T) {
		m.Truncate(p.Filename, true)
		defer m.Truncate(p.Filename, false)
		err := debian.Download(ctx, m.Client(), m.URL, p, &bytes.Buffer{}, nil)
		require.ErrorIs(t, err, debian.ErrChecksum)
	})
	t.Run("404", func(t *testing.T) {
		gone := p
		gone.Filename = "pool/main/l/gone.deb"
		err := debian.Download(ctx, m.Client(), m.URL, gone, &bytes.Buffer{}, nil)
		require.ErrorIs(t, err, debian.ErrNotFound)
		assert.Contains(t, err.Error(), m.URL+"/pool/main/l/gone.deb")
	})
	t.Run("unsafe filename", func(t *testing.T) {
		bad := p
		bad.Filename = "../../etc/passwd"
		err := debian.Download(ctx, m.Client(), m.URL, bad, &bytes.Buffer{}, nil)
		require.ErrorIs(t, err, debian.ErrIndex)
	})
}

func TestNamingMatches(t *testing.T) {
	for _, tc := range []struct {
		n       debian.Naming
		release string
		version string
		want    bool
	}{
		{debian.DebianNaming("cloud", "amd64"), "6.1.0-50-cloud-amd64", "6.1", true},
		{debian.DebianNaming("cloud", "amd64"), "6.12.117+deb13-cloud-amd64", "6.1", false},
		{debian.DebianNaming("cloud", "amd64"), "6.12.117+deb13-cloud-amd64", "6.12", true},
		{debian.DebianNaming("generic", "amd64"), "6.1.0-50-amd64", "6.1", true},
		{debian.DebianNaming("generic", "amd64"), "6.1.0-0.deb11.52-amd64", "6.1", true},
		{debian.DebianNaming("generic", "amd64"), "6.12.117+deb13-amd64", "6.12", true},
		{debian.DebianNaming("generic", "amd64"), "6.1.0-50-cloud-amd64", "6.1", false},
		{debian.DebianNaming("generic", "amd64"), "6.1.0-50-rt-amd64", "6.1", false},
		{debian.DebianNaming("rt", "arm64"), "6.1.0-50-rt-arm64", "6.1", true},
		{debian.UbuntuNaming("generic"), "6.8.0-45-generic", "6.8", true},
		{debian.UbuntuNaming("generic"), "6.8.0-45-generic-64k", "6.8", false},
		{debian.UbuntuNaming("generic"), "6.8.0-45-lowlatency", "6.8", false},
	} {
		if got := tc.n.Matches(tc.release, tc.version); got != tc.want {
			t.Errorf("%+v.Matches(%q, %q) = %v, want %v", tc.n, tc.release, tc.version, got, tc.want)
		}
	}
}
