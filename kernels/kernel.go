package kernels

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels/bzimage"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
)

// Kernel is a kernel extracted into the cache, ready to boot. Every source
// (apt, OCI, file) yields the same layout.
type Kernel struct {
	// Name is the catalog name (catalog.Spec.Name).
	Name string `json:"name"`
	// Distro is the spec's distribution ("debian", "ubuntu") or source
	// ("oci", "file").
	Distro string `json:"distro"`
	// Suite is the apt suite the packages came from ("" for oci and file
	// kernels).
	Suite string `json:"suite"`
	// Arch is the Debian architecture, e.g. "amd64".
	Arch string `json:"arch"`
	// Flavour is the catalog flavour, e.g. "cloud".
	Flavour string `json:"flavour"`
	// Version is the catalog series, e.g. "6.1".
	Version string `json:"version"`
	// Release is the kernel release (uname -r).
	Release string `json:"release"`
	// Packages are the artefacts the kernel came from, each with its
	// SHA256: the .deb files of an apt kernel; for an OCI kernel one entry
	// (name: the repository, version: the tag, filename: REPO@DIGEST,
	// sha256: the manifest digest); for a file kernel one entry (name: the
	// path, version: the release, sha256: the image's).
	Packages []debian.Package `json:"packages"`

	// Source is catalog.SourceAPT, catalog.SourceOCI or catalog.SourceFile ("" in kernels
	// cached before sources existed: apt).
	Source string `json:"source,omitempty"`
	// Ref is an OCI kernel's image reference or a file kernel's path.
	Ref string `json:"ref,omitempty"`
	// Digest is an OCI kernel's manifest digest, or "sha256:<hex>" of a
	// file kernel's image.
	Digest string `json:"digest,omitempty"`
	// ConfigSource says where Config comes from: "package", a path in the
	// image ("/boot/config-6.6.1"), "IKCONFIG" (embedded in the kernel)
	// or a file on the host.
	ConfigSource string `json:"config_source,omitempty"`
	// NoConfig, when not empty, says why the kernel has no build
	// configuration; Config is then "". Expectations that depend on a
	// config option cannot be decided for it.
	NoConfig string `json:"no_config,omitempty"`

	// Dir is the cache directory holding the files below.
	Dir string `json:"dir"`
	// Vmlinuz is the kernel image.
	Vmlinuz string `json:"vmlinuz"`
	// Config is the kernel build configuration; "" if there is none
	// (see NoConfig).
	Config string `json:"config"`
	// ModulesDir is the module tree, <Dir>/modules/<Release>, laid out like
	// /lib/modules/<Release>.
	ModulesDir string `json:"modules_dir"`
}

// ErrNoConfig is returned by ConfigValue for a kernel without a build
// configuration (Kernel.NoConfig says why).
var ErrNoConfig = errors.New("kernel has no build configuration")

// ConfigValue returns the value of the kernel config option opt ("BPF" or
// "CONFIG_BPF") with surrounding quotes removed: "y", "m", a number or a
// string. It returns "n" for options marked "is not set" and "" (with a
// nil error) for options that do not appear at all.
func (k *Kernel) ConfigValue(opt string) (string, error) {
	if !strings.HasPrefix(opt, "CONFIG_") {
		opt = "CONFIG_" + opt
	}
	if k.Config == "" {
		return "", fmt.Errorf("%w: kernel %s: %s", ErrNoConfig, k.Name, k.NoConfig)
	}
	f, err := os.Open(k.Config)
	if err != nil {
		return "", fmt.Errorf("reading config of kernel %s: %w", k.Name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "# "+opt+" is not set" {
			return "n", nil
		}
		if v, ok := strings.CutPrefix(line, opt+"="); ok {
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", k.Config, err)
	}
	return "", nil
}

// BootImage returns the file QEMU boots for k. For an x86 kernel it is the
// ELF kernel unpacked from the bzImage (cached as <Dir>/vmlinux), which
// QEMU enters through its PVH entry point: the guest then does not
// decompress its own kernel under emulation, 0.5 s of a TCG boot for
// Debian's LZ4 kernels and 0.9 s for its zstd ones. When that is not
// possible (no PVH entry, an unknown compression) it returns Vmlinuz and
// says why in note; the reason is cached as <Dir>/vmlinux.unusable-<V>, so
// the kernel is not unpacked again on every boot (V is bzimage.Version: a
// newer unpacker tries again). arm64 kernels boot as they
// are: QEMU unpacks their gzip Image on the host.
func (k *Kernel) BootImage() (path, note string) {
	if k.Arch != "amd64" || isELF(k.Vmlinuz) {
		return k.Vmlinuz, ""
	}
	dst := filepath.Join(k.Dir, "vmlinux")
	if _, err := os.Stat(dst); err == nil {
		return dst, ""
	}
	unusable := dst + ".unusable-" + bzimage.Version
	if why, err := os.ReadFile(unusable); err == nil {
		return k.Vmlinuz, string(why)
	}
	// Refusals by an older unpacker may no longer hold: drop them.
	stale, _ := filepath.Glob(dst + ".unusable*")
	for _, f := range stale {
		os.Remove(f)
	}
	err := bzimage.UnpackFile(k.Vmlinuz, dst)
	if err == nil {
		return dst, ""
	}
	note = fmt.Sprintf("%s boots its compressed bzImage: %v", k.Name, err)
	var bad *bzimage.UnbootableError
	if errors.As(err, &bad) {
		_ = os.WriteFile(unusable, []byte(note), 0o644) // best effort: the next boot retries
	}
	return k.Vmlinuz, note
}

// isELF reports whether the file at p is an ELF file (a vmlinux, which
// QEMU boots through its PVH entry as it is).
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && string(b[:]) == "\x7fELF"
}
