package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/kimage"
	"github.com/bpfmatrix/bpfmatrix/kernels/oci"
)

var (
	// ErrRef is returned for a malformed source reference.
	ErrRef = errors.New("invalid kernel reference")
	// ErrNotKernel is returned when a file or image holds no kernel
	// image bpfmatrix can boot.
	ErrNotKernel = errors.New("no bootable kernel")
	// ErrWrongArch is returned when a kernel image is for another
	// architecture than its column.
	ErrWrongArch = errors.New("kernel image is for another architecture")
)

// namings maps an apt distribution to how it names its kernel packages.
var namings = map[string]func(Spec) debian.Naming{
	"debian": func(s Spec) debian.Naming { return debian.DebianNaming(s.Flavour, s.Arch) },
	"ubuntu": func(s Spec) debian.Naming { return debian.UbuntuNaming(s.Flavour) },
}

// Naming returns how the spec's apt distribution names its kernel packages.
// It panics for a spec of another source or an unknown distribution.
func (s Spec) Naming() debian.Naming { return namings[s.Distro](s) }

// IsRef reports whether name is a source reference ("oci:..." or
// "file:...") rather than a catalog name.
func IsRef(name string) bool {
	return strings.HasPrefix(name, SourceOCI+":") || strings.HasPrefix(name, SourceFile+":")
}

// ParseRef returns the spec of a source reference:
//
//	oci:REGISTRY/REPO:TAG[,arch=arm64][,config=FILE][,name=NAME]
//	file:/path/to/bzImage[,modules=DIR][,config=FILE][,arch=ARCH][,name=NAME]
//
// An oci kernel's arch defaults to amd64 and its name to
// <last path element of REPO>-<TAG> (plus -<arch> for arm64). A file
// kernel's arch is read from the image's magic bytes (an arch= that
// disagrees is refused with ErrWrongArch) and its name is file-<release>
// when the image says it without unpacking (a bzImage header, the banner
// of an uncompressed Image or vmlinux), else file-<base name>.
// Relative paths are taken from the working directory.
func ParseRef(ref string) (Spec, error) {
	kind, rest, _ := strings.Cut(ref, ":")
	fields := strings.Split(rest, ",")
	target := fields[0]
	opts := map[string]string{}
	allowed := map[string]bool{"arch": true, "name": true, "config": true}
	if kind == SourceFile {
		allowed["modules"] = true
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !allowed[k] || v == "" {
			return Spec{}, fmt.Errorf("%w %q: bad field %q (%s takes %s)", ErrRef, ref, f, kind, fieldList(allowed))
		}
		opts[k] = v
	}
	if target == "" {
		return Spec{}, fmt.Errorf("%w %q: nothing after %q", ErrRef, ref, kind+":")
	}
	if a, ok := opts["arch"]; ok {
		if _, known := archs[a]; !known {
			return Spec{}, fmt.Errorf("%w %q: arch %q (want amd64 or arm64)", ErrRef, ref, a)
		}
	}
	var s Spec
	switch kind {
	case SourceOCI:
		r, err := oci.ParseRef(target)
		if err != nil {
			return Spec{}, fmt.Errorf("%w %q: %w", ErrRef, ref, err)
		}
		s = Spec{Source: SourceOCI, Distro: SourceOCI, Ref: target, Arch: "amd64"}
		if a := opts["arch"]; a != "" {
			s.Arch = a
		}
		s.Name = sanitizeName(path.Base(r.Context().RepositoryStr()) + "-" + r.Identifier())
		if s.Arch != "amd64" {
			s.Name += "-" + s.Arch
		}
		if c := opts["config"]; c != "" {
			if s.ConfigFile, err = filepath.Abs(c); err != nil {
				return Spec{}, fmt.Errorf("%w %q: %v", ErrRef, ref, err)
			}
			if fi, err := os.Stat(s.ConfigFile); err != nil || !fi.Mode().IsRegular() {
				return Spec{}, fmt.Errorf("%w %q: config=%s is not a readable file", ErrRef, ref, c)
			}
		}
	case SourceFile:
		p, err := filepath.Abs(target)
		if err != nil {
			return Spec{}, fmt.Errorf("%w %q: %v", ErrRef, ref, err)
		}
		b, info, err := identifyFile(p)
		if err != nil {
			return Spec{}, fmt.Errorf("%s: %w", ref, err)
		}
		s = Spec{Source: SourceFile, Distro: SourceFile, Ref: p, Arch: info.Arch}
		if a := opts["arch"]; a != "" && a != info.Arch {
			return Spec{}, fmt.Errorf("%w: %s is an %s %s, not a kernel for %s; drop arch=%s or name a kernel built for %s",
				ErrWrongArch, p, info.Arch, info.Format, a, a, a)
		}
		for k, field := range map[string]*string{"modules": &s.Modules, "config": &s.ConfigFile} {
			if v := opts[k]; v != "" {
				if *field, err = filepath.Abs(v); err != nil {
					return Spec{}, fmt.Errorf("%w %q: %v", ErrRef, ref, err)
				}
				if _, err := os.Stat(*field); err != nil {
					return Spec{}, fmt.Errorf("%w %q: %s=%s: %v", ErrRef, ref, k, v, err)
				}
			}
		}
		release := info.Release
		if release == "" && info.Format != kimage.FormatBzImage && !info.Gzip {
			release = kimage.Release(b) // an uncompressed Image or vmlinux
		}
		if release != "" {
			s.Name = sanitizeName("file-" + release)
		} else {
			s.Name = sanitizeName("file-" + filepath.Base(p))
		}
	default:
		return Spec{}, fmt.Errorf("%w %q: want oci:REGISTRY/REPO:TAG or file:/path/to/bzImage", ErrRef, ref)
	}
	if n := opts["name"]; n != "" {
		if !nameRE.MatchString(n) {
			return Spec{}, fmt.Errorf("%w %q: name %q (lower-case letters, digits and .+_-)", ErrRef, ref, n)
		}
		s.Name = n
	}
	return s, nil
}

func fieldList(allowed map[string]bool) string {
	var out []string
	for _, k := range []string{"modules", "config", "arch", "name"} {
		if allowed[k] {
			out = append(out, k+"=")
		}
	}
	return strings.Join(out, ", ")
}

var nameBadRE = regexp.MustCompile(`[^a-z0-9.+_-]+`)

func sanitizeName(s string) string {
	s = nameBadRE.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-._+")
	if s == "" {
		return "kernel"
	}
	return s
}

// maxImage bounds a kernel image file (Debian's are about 10 MiB, an
// uncompressed vmlinux with debug info several hundred).
const maxImage = 1 << 30

// identifyFile reads the kernel image at p and names its format and arch.
func identifyFile(p string) ([]byte, kimage.Info, error) {
	b, err := ReadImage(p)
	if err != nil {
		return nil, kimage.Info{}, err
	}
	info, err := kimage.Identify(b)
	if err != nil {
		return nil, kimage.Info{}, fmt.Errorf("%w: %s: %w; name a bzImage (arch/x86/boot/bzImage), an arm64 Image (arch/arm64/boot/Image) or a vmlinux", ErrNotKernel, p, err)
	}
	return b, info, nil
}

// ReadImage reads the kernel image file at p, refusing (with ErrNotKernel)
// what is not a regular file or is larger than 1 GiB.
func ReadImage(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotKernel, p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxImage+1))
	if err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	if len(b) > maxImage {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrNotKernel, p, maxImage)
	}
	return b, nil
}
