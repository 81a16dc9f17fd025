// Package testmirror serves a fake Debian archive over httptest for tests.
package testmirror

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/debtest"
)

// Pkg describes a package to publish.
type Pkg struct {
	Name, Version, Depends string
	Files                  []debtest.File
	// Comp is the data.tar compression; default "xz".
	Comp string
}

// Mirror is a fake Debian mirror. All methods are safe for concurrent use.
type Mirror struct {
	*httptest.Server
	// UseInRelease serves a clearsigned InRelease instead of Release.
	UseInRelease bool
	// ServeGzip also publishes Packages.gz, as Debian's main archive
	// does (set it before the first Add).
	ServeGzip bool

	mu       sync.Mutex
	files    map[string][]byte
	stanzas  map[string][]string // "suite/arch" -> stanzas
	status   map[string]int
	truncate map[string]bool
	requests map[string]int // GET requests
	heads    int

	// Index rendezvous (see MeetAtIndexes).
	meet        int
	meetTimeout time.Duration
	inIndex     int
	maxInIndex  int
	indexCond   *sync.Cond
}

// New starts a mirror that is closed when the test ends.
func New(t testing.TB) *Mirror {
	t.Helper()
	m := &Mirror{
		files:    map[string][]byte{},
		stanzas:  map[string][]string{},
		status:   map[string]int{},
		truncate: map[string]bool{},
		requests: map[string]int{},
	}
	m.indexCond = sync.NewCond(&m.mu)
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *Mirror) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	m.mu.Lock()
	if r.Method == http.MethodHead {
		m.heads++
	} else {
		m.requests[p]++
	}
	code, hasCode := m.status[p]
	data, ok := m.files[p]
	trunc := m.truncate[p]
	if strings.HasSuffix(p, "/Packages.xz") || strings.HasSuffix(p, "/Packages.gz") {
		m.enterIndexLocked()
		defer m.leaveIndex()
	}
	m.mu.Unlock()
	if hasCode {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if trunc {
		// Announce the full length but send half, then drop the connection.
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	w.Write(data)
}

// Add publishes p for suite and arch, regenerates the indexes and returns
// the index entry.
func (m *Mirror) Add(suite, arch string, p Pkg) debian.Package {
	comp := p.Comp
	if comp == "" {
		comp = "xz"
	}
	data := debtest.Deb(comp, p.Files)
	sum := sha256.Sum256(data)
	dir := p.Name
	if strings.HasPrefix(dir, "lib") {
		dir = dir[:4]
	} else {
		dir = dir[:1]
	}
	fn := fmt.Sprintf("pool/main/%s/%s/%s_%s_%s.deb", dir, p.Name, p.Name, p.Version, arch)
	pkg := debian.Package{Name: p.Name, Version: p.Version, Filename: fn, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	stanza := fmt.Sprintf("Package: %s\nSource: linux-signed-%s\nVersion: %s\nInstalled-Size: 1234\nMaintainer: Debian Kernel Team <debian-kernel@lists.example.org>\nArchitecture: %s\n",
		p.Name, arch, p.Version, arch)
	if p.Depends != "" {
		stanza += "Depends: " + p.Depends + "\n"
	}
	stanza += fmt.Sprintf("Description: Linux for testing\n A multi-line\n .\n description.\nFilename: %s\nSize: %d\nSHA256: %s\n", fn, len(data), pkg.SHA256)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[fn] = data
	key := suite + "/" + arch
	m.stanzas[key] = append(m.stanzas[key], stanza)
	m.publishLocked(suite)
	return pkg
}

func (m *Mirror) publishLocked(suite string) {
	var keys []string
	for k := range m.stanzas {
		if strings.HasPrefix(k, suite+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Debian\nLabel: Debian\nSuite: %s\nCodename: %s\nDate: Sat, 01 Nov 2025 00:00:00 UTC\nComponents: main contrib\nMD5Sum:\n 00000000000000000000000000000000 1 main/whatever\nSHA256:\n", suite, suite)
	for _, k := range keys {
		arch := strings.TrimPrefix(k, suite+"/")
		packages := []byte(strings.Join(m.stanzas[k], "\n"))
		xzData := debtest.Compress("xz", packages)
		p := "main/binary-" + arch + "/Packages.xz"
		m.files["dists/"+suite+"/"+p] = xzData
		sum := sha256.Sum256(xzData)
		fmt.Fprintf(&rel, " %s %8d %s\n", hex.EncodeToString(sum[:]), len(xzData), p)
		if m.ServeGzip {
			gz := debtest.Compress("gz", packages)
			gp := "main/binary-" + arch + "/Packages.gz"
			m.files["dists/"+suite+"/"+gp] = gz
			sum := sha256.Sum256(gz)
			fmt.Fprintf(&rel, " %s %8d %s\n", hex.EncodeToString(sum[:]), len(gz), gp)
		}
		sum = sha256.Sum256(packages)
		fmt.Fprintf(&rel, " %s %8d %s\n", hex.EncodeToString(sum[:]), len(packages), "main/binary-"+arch+"/Packages")
	}
	if m.UseInRelease {
		delete(m.files, "dists/"+suite+"/Release")
		body := strings.ReplaceAll(rel.String(), "\n-", "\n- -")
		m.files["dists/"+suite+"/InRelease"] = []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + body +
			"-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgcmVhbCBzaWduYXR1cmU=\n-----END PGP SIGNATURE-----\n")
	} else {
		m.files["dists/"+suite+"/Release"] = []byte(rel.String())
	}
}

// SetStatus makes the mirror answer path with the HTTP status code; 0
// restores normal service.
func (m *Mirror) SetStatus(path string, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if code == 0 {
		delete(m.status, path)
	} else {
		m.status[path] = code
	}
}

// Truncate makes the mirror cut the body of path in half.
func (m *Mirror) Truncate(path string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.truncate[path] = on
}

// Corrupt flips a byte in the stored file at path without updating indexes.
func (m *Mirror) Corrupt(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := append([]byte(nil), m.files[path]...)
	b[len(b)/2] ^= 0xff
	m.files[path] = b
}

// Remove deletes path from the mirror (it will 404).
func (m *Mirror) Remove(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, path)
}

// MeetAtIndexes makes every request for a Packages index wait, up to
// timeout, until n index requests are in flight at once, so a test can
// tell indexes read concurrently (no wait) from indexes read one after
// another (each waits out the timeout). MaxConcurrentIndexes reports what
// was reached.
func (m *Mirror) MeetAtIndexes(n int, timeout time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meet, m.meetTimeout = n, timeout
}

// MaxConcurrentIndexes returns the most Packages index requests that were
// in flight at once.
func (m *Mirror) MaxConcurrentIndexes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxInIndex
}

// enterIndexLocked counts an index request in and waits for the
// rendezvous; m.mu is held.
func (m *Mirror) enterIndexLocked() {
	m.inIndex++
	m.maxInIndex = max(m.maxInIndex, m.inIndex)
	m.indexCond.Broadcast()
	if m.meet <= 1 {
		return
	}
	deadline := time.Now().Add(m.meetTimeout)
	timer := time.AfterFunc(m.meetTimeout, func() {
		m.mu.Lock()
		m.indexCond.Broadcast()
		m.mu.Unlock()
	})
	defer timer.Stop()
	for m.maxInIndex < m.meet && time.Now().Before(deadline) {
		m.indexCond.Wait()
	}
}

func (m *Mirror) leaveIndex() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inIndex--
}

// Heads returns the number of HEAD requests served.
func (m *Mirror) Heads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.heads
}

// Requests returns how often path was requested (GET).
func (m *Mirror) Requests(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[path]
}

// DebRequests returns the number of requests for .deb files.
func (m *Mirror) DebRequests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p, c := range m.requests {
		if strings.HasSuffix(p, ".deb") {
			n += c
		}
	}
	return n
}

// TotalRequests returns the number of requests served.
func (m *Mirror) TotalRequests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.requests {
		n += c
	}
	return n
}

// Config is the kernel config shipped by the fake kernels.
const Config = "#\n# Linux/x86 Kernel Configuration\n#\nCONFIG_BPF=y\nCONFIG_BPF_JIT=y\nCONFIG_LOCALVERSION=\"-test\"\n# CONFIG_DEBUG_INFO_BTF is not set\nCONFIG_HZ=250\n"

// Vmlinuz returns the fake kernel image contents for release.
func Vmlinuz(release string) []byte { return []byte("MZ fake bzImage " + release) }

// Classic returns a single linux-image package in the bullseye/bookworm
// layout (boot/vmlinuz-<rel>, boot/config-<rel>, <prefix>lib/modules/<rel>),
// where prefix is "" or "usr/".
func Classic(release, version, prefix string) Pkg {
	mods := "./" + prefix + "lib/modules/" + release + "/"
	return Pkg{
		Name:    "linux-image-" + release,
		Version: version,
		Depends: "kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool",
		Files: []debtest.File{
			{Name: "./"}, {Name: "./boot/"},
			{Name: "./boot/System.map-" + release, Body: []byte("ffffffff81000000 T _text\n")},
			{Name: "./boot/config-" + release, Body: []byte(Config)},
			{Name: "./boot/vmlinuz-" + release, Body: Vmlinuz(release)},
			{Name: mods},
			{Name: mods + "kernel/"},
			{Name: mods + "kernel/net/"},
			{Name: mods + "kernel/net/sched/"},
			{Name: mods + "kernel/net/sched/sch_netem.ko", Body: []byte("netem module")},
			{Name: mods + "kernel/drivers/net/veth.ko.xz", Body: []byte("veth module")},
			{Name: mods + "modules.builtin", Body: []byte("kernel/fs/ext4/ext4.ko\n")},
			{Name: mods + "modules.order", Body: []byte("kernel/drivers/net/veth.ko\n")},
			{Name: "./usr/share/doc/linux-image-" + release + "/changelog.Debian.gz", Body: []byte("changes")},
		},
	}
}

// Split returns the sid-style packages: a meta linux-image package that
// depends on linux-base-, linux-binary- and linux-modules-<rel>.
func Split(release, version string) []Pkg {
	mods := "./usr/lib/modules/" + release + "/"
	dep := func(kind string) string { return fmt.Sprintf("linux-%s-%s (= %s)", kind, release, version) }
	return []Pkg{
		{
			Name:    "linux-image-" + release,
			Version: version,
			Depends: strings.Join([]string{dep("base"), dep("binary"), dep("modules")}, ", "),
			Files: []debtest.File{
				{Name: "./"}, {Name: "./usr/share/doc/linux-image-" + release + "/copyright", Body: []byte("GPL")},
			},
		},
		{
			Name: "linux-base-" + release, Version: version, Comp: "zst",
			Depends: "kmod, linux-sysctl-defaults",
			Files: []debtest.File{
				{Name: "./usr/"}, {Name: "./usr/lib/"}, {Name: "./usr/lib/modules/"}, {Name: mods},
				{Name: mods + "config", Body: []byte(Config)},
				{Name: mods + "System.map", Body: []byte("ffffffff81000000 T _text\n")},
				{Name: mods + "modules.builtin", Body: []byte("kernel/fs/ext4/ext4.ko\n")},
				{Name: mods + "modules.builtin.modinfo", Body: []byte("ext4.license=GPL\x00")},
				{Name: mods + "modules.order", Body: []byte("kernel/drivers/net/veth.ko\n")},
			},
		},
		{
			Name: "linux-binary-" + release, Version: version,
			Depends: dep("base"),
			Files: []debtest.File{
				{Name: mods},
				{Name: mods + "vmlinuz", Body: Vmlinuz(release)},
			},
		},
		{
			Name: "linux-modules-" + release, Version: version, Comp: "gz",
			Depends: dep("base") + ", " + dep("binary"),
			Files: []debtest.File{
				{Name: mods + "kernel/"},
				{Name: mods + "kernel/drivers/net/veth.ko.xz", Body: []byte("veth module")},
				{Name: mods + "kernel/net/sched/sch_netem.ko.zst", Body: []byte("netem module")},
			},
		},
	}
}

// AddAll publishes several packages.
func (m *Mirror) AddAll(suite, arch string, pkgs []Pkg) []debian.Package {
	var out []debian.Package
	for _, p := range pkgs {
		out = append(out, m.Add(suite, arch, p))
	}
	return out
}

// Ubuntu returns the packages of one Ubuntu kernel laid out as Ubuntu's
// archive has them: linux-image-<rel> (signed, for Secure Boot: it only
// depends on the rest), linux-image-unsigned-<rel> with
// boot/vmlinuz-<rel>, and linux-modules-<rel> with boot/config-<rel> and
// lib/modules/<rel>/. Releases are like 6.8.0-45-generic.
func Ubuntu(release, version string) []Pkg {
	mods := "./lib/modules/" + release + "/"
	return []Pkg{
		{
			Name: "linux-image-" + release, Version: version, Comp: "zst",
			Depends: "linux-base (>= 4.5ubuntu1~16.04.1), linux-modules-" + release,
			Files:   []debtest.File{{Name: "./boot/"}, {Name: "./boot/vmlinuz-" + release, Body: []byte("MZ signed " + release)}},
		},
		{
			Name: "linux-image-unsigned-" + release, Version: version, Comp: "zst",
			Depends: "linux-base (>= 4.5ubuntu1~16.04.1)",
			Files:   []debtest.File{{Name: "./"}, {Name: "./boot/"}, {Name: "./boot/vmlinuz-" + release, Body: Vmlinuz(release)}},
		},
		{
			Name: "linux-modules-" + release, Version: version, Comp: "zst",
			Files: []debtest.File{
				{Name: "./boot/"},
				{Name: "./boot/config-" + release, Body: []byte(Config)},
				{Name: "./boot/System.map-" + release, Body: []byte("ffffffff81000000 T _text\n")},
				{Name: mods}, {Name: mods + "kernel/"},
				{Name: mods + "kernel/drivers/net/veth.ko.zst", Body: []byte("veth module")},
				{Name: mods + "modules.order", Body: []byte("kernel/drivers/net/veth.ko\n")},
			},
		},
	}
}
