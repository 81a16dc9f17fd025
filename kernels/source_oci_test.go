package kernels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"

	"github.com/bpfmatrix/bpfmatrix/kernels/lock"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/deb"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/debtest"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/kerneltest"
	"github.com/bpfmatrix/bpfmatrix/kernels/oci"
)

// testRegistry is go-containerregistry's in-process registry on
// 127.0.0.1 (plain HTTP), counting the requests it serves.
type testRegistry struct {
	*httptest.Server
	host string
	// corrupt, if set, is a blob path suffix whose content is served
	// with one byte flipped.
	corrupt  atomic.Value
	requests atomic.Int64
	blobs    sync.Map // path -> *atomic.Int64, GET only
}

// blobGets returns how often the blob digest d was fetched.
func (r *testRegistry) blobGets(d v1.Hash) int64 {
	var n int64
	r.blobs.Range(func(k, v any) bool {
		if strings.HasSuffix(k.(string), "/blobs/"+d.String()) {
			n += v.(*atomic.Int64).Load()
		}
		return true
	})
	return n
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	h := registry.New(registry.Logger(nopLogger()))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
			c, _ := r.blobs.LoadOrStore(req.URL.Path, new(atomic.Int64))
			c.(*atomic.Int64).Add(1)
		}
		if c, _ := r.corrupt.Load().(string); c != "" && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, c) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			body[len(body)/2] ^= 0xff
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	r.host = strings.TrimPrefix(r.URL, "http://")
	return r
}

// layer is a gzip layer holding files.
func layer(t *testing.T, files []debtest.File) v1.Layer {
	t.Helper()
	data := debtest.Tar(files)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	require.NoError(t, err)
	return l
}

func image(t *testing.T, arch string, layers ...[]debtest.File) v1.Image {
	t.Helper()
	img := empty.Image
	for _, files := range layers {
		var err error
		img, err = mutate.AppendLayers(img, layer(t, files))
		require.NoError(t, err)
	}
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}

// push writes img (one platform) or an index of imgs to ref.
func (r *testRegistry) push(t *testing.T, repoTag string, imgs ...v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	require.NoError(t, err)
	if len(imgs) == 1 {
		require.NoError(t, remote.Write(ref, imgs[0]))
		return ref.String()
	}
	idx := v1.ImageIndex(empty.Index)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: cf.Architecture}}})
	}
	require.NoError(t, remote.WriteIndex(ref, idx))
	return ref.String()
}

const ociConfig = "CONFIG_BPF=y\nCONFIG_FPROBE=y\n"

// ciKernels lays an image out like cilium's ci-kernels:
// /boot/vmlinuz and, with modules, /lib/modules/<release>/.
func ciKernels(release string, vmlinuz []byte, modules bool) []debtest.File {
	files := []debtest.File{{Name: "boot/"}, {Name: "boot/vmlinuz", Body: vmlinuz}}
	if modules {
		mods := "lib/modules/" + release + "/"
		files = append(files,
			debtest.File{Name: mods}, debtest.File{Name: mods + "kernel/drivers/net/veth.ko", Body: []byte("veth")},
			debtest.File{Name: mods + "modules.order", Body: []byte("kernel/drivers/net/veth.ko\n")},
			debtest.File{Name: mods + "build", Type: '2', Linkname: "/home/builder/linux"})
	}
	return files
}

// lvhImage lays an image out like little-vm-helper's kernel images: a
// busybox base and /data/kernels/<ver>/{boot,lib/modules}.
func lvhImage(ver, release string, vmlinuz []byte) [][]debtest.File {
	base := []debtest.File{{Name: "bin/"}, {Name: "bin/busybox", Body: []byte("\x7fELF busybox"), Mode: 0o755},
		{Name: "bin/sh", Type: '1', Linkname: "bin/busybox"}, {Name: "etc/passwd", Body: []byte("root:x:0:0::/root:/bin/sh\n")}}
	d := "data/kernels/" + ver + "/"
	k := []debtest.File{{Name: d}, {Name: d + "boot/"},
		{Name: d + "boot/vmlinuz-" + release, Body: vmlinuz},
		{Name: d + "boot/config-" + release, Body: []byte(ociConfig)},
		{Name: d + "boot/System.map-" + release, Body: []byte("ffffffff81000000 T _text\n")},
		{Name: d + "lib/modules/" + release + "/kernel/net/sched/cls_bpf.ko", Body: []byte("cls_bpf")},
		{Name: d + "lib/modules/" + release + "/source", Type: '2', Linkname: "/src/linux"}}
	return [][]debtest.File{base, k}
}

func (e *env) openOCI(t *testing.T) *kernels.Store {
	t.Helper()
	s, err := kernels.Open(kernels.Options{CacheDir: e.cacheDir, LockPath: e.lockPath, Mirror: e.mirror.URL,
		HTTPClient: e.mirror.Client(), OCI: oci.Options{Keychain: authn.NewMultiKeychain()}})
	require.NoError(t, err)
	return s
}

func ociSpec(t *testing.T, ref string) catalog.Spec {
	t.Helper()
	specs, err := catalog.Default().Lookup([]string{"oci:" + ref})
	require.NoError(t, err)
	return specs[0]
}

func TestOCICIKernels(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	const rel = "6.6.63"
	amd := image(t, "amd64", ciKernels(rel, kerneltest.BzImage(rel, nil), true))
	arm := image(t, "arm64", ciKernels(rel, kerneltest.ARM64Image(rel, []byte(ociConfig)), false))
	ref := reg.push(t, "cilium/ci-kernels:6.6", amd, arm)
	s := e.openOCI(t)

	spec := ociSpec(t, ref)
	assert.Equal(t, "ci-kernels-6.6", spec.Name)
	k, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, rel, k.Release)
	assert.Equal(t, "6.6", k.Version)
	assert.Equal(t, catalog.SourceOCI, k.Source)
	assert.Equal(t, "", k.Config)
	assert.Contains(t, k.NoConfig, "no /boot/config-* and the kernel has no IKCONFIG")
	assert.FileExists(t, filepath.Join(k.ModulesDir, "kernel/drivers/net/veth.ko"))
	assert.NoFileExists(t, filepath.Join(k.ModulesDir, "build"))
	assert.Equal(t, string(kerneltest.BzImage(rel, nil)), readFile(t, k.Vmlinuz))
	d, err := amd.Digest()
	require.NoError(t, err)
	assert.Equal(t, d.String(), k.Digest)
	require.Len(t, k.Packages, 1)
	assert.Equal(t, strings.TrimPrefix(d.String(), "sha256:"), k.Packages[0].SHA256)

	lf, err := s.LoadLock()
	require.NoError(t, err)
	assert.Equal(t, lock.Entry{Source: catalog.SourceOCI, Ref: ref, Arch: "amd64", Release: rel, Digest: d.String()}, lf.Kernels[spec.Name])

	// Pinned and cached: no registry request.
	before := reg.requests.Load()
	k2, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, k.Dir, k2.Dir)
	assert.Equal(t, before, reg.requests.Load())
	c, ok := s.Cached(spec)
	require.True(t, ok)
	assert.Equal(t, k.Dir, c.Dir)

	// The same image with a config from the host: another kernel directory.
	cfg := kerneltest.Write(t, t.TempDir(), "config-6.6", []byte(ociConfig))
	kc, err := s.Pull(context.Background(), ociSpec(t, ref+",config="+cfg))
	require.NoError(t, err)
	assert.NotEqual(t, k.Dir, kc.Dir)
	assert.Equal(t, cfg, kc.ConfigSource)
	assert.Equal(t, ociConfig, readFile(t, kc.Config))

	// The arm64 image of the same index, with its IKCONFIG.
	armSpec := ociSpec(t, ref+",arch=arm64")
	assert.Equal(t, "ci-kernels-6.6-arm64", armSpec.Name)
	ka, err := s.Pull(context.Background(), armSpec)
	require.NoError(t, err)
	assert.Equal(t, "arm64", ka.Arch)
	assert.Equal(t, "IKCONFIG", ka.ConfigSource)
	assert.Equal(t, ociConfig, readFile(t, ka.Config))
	v, err := ka.ConfigValue("FPROBE")
	require.NoError(t, err)
	assert.Equal(t, "y", v)
	assertCacheClean(t, e.cacheDir, 3)
}

func TestOCILVHImage(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	const rel = "6.6.30"
	ref := reg.push(t, "lvh-images/kernel-images:6.6-main", image(t, "amd64", lvhImage("6.6", rel, kerneltest.BzImage(rel, nil))...))
	k, err := e.openOCI(t).Pull(context.Background(), ociSpec(t, ref+",name=lvh-6.6"))
	require.NoError(t, err)
	assert.Equal(t, "lvh-6.6", k.Name)
	assert.Equal(t, rel, k.Release)
	assert.Equal(t, "/boot/config-"+rel, k.ConfigSource)
	assert.Equal(t, ociConfig, readFile(t, k.Config))
	assert.FileExists(t, filepath.Join(k.ModulesDir, "kernel/net/sched/cls_bpf.ko"))
	assert.NoFileExists(t, filepath.Join(k.Dir, "busybox"))
}

func TestOCITagMoved(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	ref := reg.push(t, "cilium/ci-kernels:stable", image(t, "amd64", ciKernels("6.17.1", kerneltest.BzImage("6.17.1", nil), false)))
	s := e.openOCI(t)
	spec := ociSpec(t, ref)
	k1, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)

	reg.push(t, "cilium/ci-kernels:stable", image(t, "amd64", ciKernels("6.17.2", kerneltest.BzImage("6.17.2", nil), false)))
	// Still cached: the pinned kernel, no network.
	k, err := s.Pull(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, "6.17.1", k.Release)

	require.NoError(t, os.RemoveAll(k1.Dir))
	_, err = s.Pull(context.Background(), spec)
	require.ErrorIs(t, err, kernels.ErrTagMoved)
	assert.Contains(t, err.Error(), "run `bpfmatrix kernels update oci:"+ref+"`")

	ks, err := s.Update(context.Background(), []catalog.Spec{spec})
	require.NoError(t, err)
	assert.Equal(t, "6.17.2", ks[0].Release)
	lf, err := s.LoadLock()
	require.NoError(t, err)
	assert.Equal(t, ks[0].Digest, lf.Kernels[spec.Name].Digest)
	assertCacheClean(t, e.cacheDir, 1)
}

func TestOCIBadInput(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	const rel = "6.1.99"
	bz := kerneltest.BzImage(rel, nil)
	tests := []struct {
		name   string
		ref    string // pushed unless it starts with "missing"
		arch   string
		layers [][]debtest.File
		want   error
		msg    string
	}{
		{name: "no such tag", ref: "missing/ci-kernels:9.9", want: oci.ErrNotFound},
		{name: "no such repository", ref: "missing/nothing-here:1", want: oci.ErrNotFound},
		{name: "no kernel", ref: "empty/img:1", layers: [][]debtest.File{{{Name: "etc/os-release", Body: []byte("ID=scratch\n")}}}, want: catalog.ErrNotKernel, msg: "no kernel in it"},
		{name: "not a kernel", ref: "junk/img:1", layers: [][]debtest.File{{{Name: "boot/vmlinuz", Body: []byte("#!/bin/sh\n")}}}, want: catalog.ErrNotKernel},
		{name: "traversal", ref: "evil/traversal:1", layers: [][]debtest.File{ciKernels(rel, bz, false), {{Name: "../../etc/cron.d/x", Body: []byte("* * * * * root id")}}}, want: deb.ErrUnsafe},
		{name: "absolute symlink", ref: "evil/abs:1", layers: [][]debtest.File{{{Name: "boot/vmlinuz", Type: '2', Linkname: "/etc/shadow"}}}, want: deb.ErrUnsafe},
		{name: "symlink out", ref: "evil/rel:1", layers: [][]debtest.File{ciKernels(rel, bz, true), {{Name: "lib/modules/" + rel + "/kernel/evil", Type: '2', Linkname: "../../../../../../root"}}}, want: deb.ErrUnsafe},
		{name: "write through symlink", ref: "evil/through:1", layers: [][]debtest.File{{{Name: "lib/modules/" + rel + "/kernel", Type: '2', Linkname: "."}}, {{Name: "lib/modules/" + rel + "/kernel/x.ko", Body: []byte("x")}}}, want: deb.ErrUnsafe},
		{name: "absurd size", ref: "evil/size:1", layers: [][]debtest.File{{{Name: "boot/vmlinuz", Size: 1 << 40}}}, want: deb.ErrTooLarge},
		{name: "arm64 image for amd64", ref: "arm/only:1", arch: "arm64", layers: [][]debtest.File{ciKernels(rel, kerneltest.ARM64Image(rel, nil), false)}, want: catalog.ErrWrongArch, msg: "arch=arm64"},
		{name: "platform missing", ref: "multi/amd:1", layers: nil, want: oci.ErrPlatform},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.host + "/" + tc.ref
			spec := ociSpec(t, ref)
			switch {
			case tc.name == "platform missing":
				amd := image(t, "amd64", ciKernels(rel, bz, false))
				reg.push(t, tc.ref, amd, image(t, "s390x", ciKernels(rel, bz, false)))
				spec = ociSpec(t, ref+",arch=arm64")
			case !strings.HasPrefix(tc.ref, "missing"):
				arch := tc.arch
				if arch == "" {
					arch = "amd64"
				}
				reg.push(t, tc.ref, image(t, arch, tc.layers...))
			}
			_, err := e.openOCI(t).Pull(context.Background(), spec)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.ref)
			if tc.msg != "" {
				assert.Contains(t, err.Error(), tc.msg)
			}
			assertCacheClean(t, e.cacheDir, 0)
			lf, err := lock.Load(e.lockPath)
			require.NoError(t, err)
			assert.NotContains(t, lf.Kernels, spec.Name)
		})
	}
}

func TestOCIUnreachable(t *testing.T) {
	reg := newRegistry(t)
	host := reg.host
	reg.Close() // nothing listens there any more
	e := newEnv(t)
	_, err := e.openOCI(t).Pull(context.Background(), ociSpec(t, host+"/cilium/ci-kernels:6.6"))
	require.ErrorIs(t, err, oci.ErrUnreachable)
	assert.Contains(t, err.Error(), "reachable")
}

func TestOCIRefParse(t *testing.T) {
	for _, bad := range []string{"oci:", "oci:ci-kernels:6.6", "oci:registry.example/cilium/ci-kernels:6.6,arch=s390x", "oci:registry.example/x/y:1,modules=/tmp", "oci:registry.example/x/Y:1"} {
		_, err := catalog.Default().Lookup([]string{bad})
		assert.ErrorIs(t, err, catalog.ErrRef, bad)
	}
	specs, err := catalog.Default().Lookup([]string{"oci:registry.example/cilium/ci-kernels:6.6", "oci:registry.example/lvh-images/kernel-images:6.6-main,name=lvh-6.6"})
	require.NoError(t, err)
	assert.Equal(t, catalog.Spec{Name: "ci-kernels-6.6", Distro: "oci", Source: "oci", Ref: "registry.example/cilium/ci-kernels:6.6", Arch: "amd64"}, specs[0])
	assert.Equal(t, "lvh-6.6", specs[1].Name)
	_, err = catalog.Default().Lookup([]string{"oci:registry.example/cilium/ci-kernels:6.6", "oci:example.org/ci-kernels:6.6"})
	assert.ErrorContains(t, err, "name=")
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// TestOCIRealKernel serves a cached Debian kernel laid out like
// ci-kernels (kernel and a few modules, no config) and pulls it: the
// release comes from the bzImage itself and the image unpacks for PVH.
func TestOCIRealKernel(t *testing.T) {
	cache := os.Getenv(kernels.EnvCache)
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Skip(err)
		}
		cache = filepath.Join(d, "bpfmatrix")
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "kernels", "debian-*-cloud-amd64-*"))
	var src string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "kernel.json")); err == nil {
			src = d
			break
		}
	}
	if src == "" {
		t.Skip("no cached Debian amd64 kernel (run `bpfmatrix kernels pull debian-6.1` first)")
	}
	var meta struct{ Release string }
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(src, "kernel.json"))), &meta))
	vmlinuz, err := os.ReadFile(filepath.Join(src, "vmlinuz"))
	require.NoError(t, err)
	files := ciKernels(meta.Release, vmlinuz, false)
	mods, _ := filepath.Glob(filepath.Join(src, "modules", meta.Release, "modules.*"))
	for _, m := range mods[:min(len(mods), 4)] {
		b, err := os.ReadFile(m)
		require.NoError(t, err)
		files = append(files, debtest.File{Name: "lib/modules/" + meta.Release + "/" + filepath.Base(m), Body: b})
	}
	reg := newRegistry(t)
	ref := reg.push(t, "cilium/ci-kernels:real", image(t, "amd64", files))
	e := newEnv(t)
	k, err := e.openOCI(t).Pull(context.Background(), ociSpec(t, ref))
	require.NoError(t, err)
	assert.Equal(t, meta.Release, k.Release)
	assert.NotEmpty(t, k.NoConfig, "Debian's cloud kernels have no IKCONFIG")
	assert.Len(t, mustReadDir(t, k.ModulesDir), min(len(mods), 4))
	boot, note := k.BootImage()
	assert.Equal(t, filepath.Join(k.Dir, "vmlinux"), boot, note)
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	return es
}

func TestOCIConcurrentPulls(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	l := layer(t, ciKernels("6.6.1", kerneltest.BzImage("6.6.1", nil), true))
	img, err := mutate.AppendLayers(empty.Image, l)
	require.NoError(t, err)
	ref := reg.push(t, "cilium/ci-kernels:6.6", img)
	// Two Stores stand in for two processes, each used by two goroutines.
	stores := []*kernels.Store{e.openOCI(t), e.openOCI(t)}
	spec := ociSpec(t, ref)
	var wg sync.WaitGroup
	results := make([]*kernels.Kernel, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = stores[i%2].Pull(context.Background(), spec)
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		assert.Equal(t, results[0].Dir, results[i].Dir)
	}
	d, err := l.Digest()
	require.NoError(t, err)
	assert.EqualValues(t, 1, reg.blobGets(d), "the layer is downloaded once")
	assertCacheClean(t, e.cacheDir, 1)
	lf, err := lock.Load(e.lockPath)
	require.NoError(t, err)
	assert.Equal(t, results[0].Digest, lf.Kernels[spec.Name].Digest)
}

func TestOCICorruptLayer(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t)
	l := layer(t, ciKernels("6.6.1", kerneltest.BzImage("6.6.1", nil), true))
	img, err := mutate.AppendLayers(empty.Image, l)
	require.NoError(t, err)
	ref := reg.push(t, "cilium/ci-kernels:6.6", img)
	d, err := l.Digest()
	require.NoError(t, err)
	reg.corrupt.Store("/blobs/" + d.String())
	spec := ociSpec(t, ref)
	_, err = e.openOCI(t).Pull(context.Background(), spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ref)
	t.Log(err)
	assertCacheClean(t, e.cacheDir, 0)
	lf, err := lock.Load(e.lockPath)
	require.NoError(t, err)
	assert.NotContains(t, lf.Kernels, spec.Name)
}
