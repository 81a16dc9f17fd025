// Package catalog names the kernels bpfmatrix tests against: the Catalog
// of apt kernel series (by default the embedded catalog.json), each a Spec,
// and the source references that name a kernel outside it
// ("oci:REGISTRY/REPO:TAG", "file:/path/to/bzImage", see ParseRef).
// A Spec says which kernel to fetch; package kernels fetches it.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

//go:embed catalog.json
var defaultCatalogJSON []byte

// ErrUnknownKernel is returned when a kernel name is not in the catalog.
var ErrUnknownKernel = errors.New("unknown kernel")

// ErrInvalid is returned for an invalid catalog.
var ErrInvalid = errors.New("invalid kernel catalog")

// Sources of kernels (Spec.Source).
const (
	// SourceAPT is an apt archive (Debian's or Ubuntu's): the default.
	SourceAPT = "apt"
	// SourceOCI is an OCI image: Spec.Ref is REGISTRY/REPO:TAG.
	SourceOCI = "oci"
	// SourceFile is a kernel image on the local disk: Spec.Ref is its path.
	SourceFile = "file"
)

// Spec is one catalog entry: a kernel series to test against.
type Spec struct {
	// Name identifies the kernel, e.g. "debian-6.1".
	Name string `json:"name"`
	// Distro is the distribution of an apt kernel: "debian" or "ubuntu"
	// (whose packages are named differently). For the other sources it is
	// the source's name ("oci", "file").
	Distro string `json:"distro"`
	// Suite is the apt suite, e.g. "bookworm", "sid" or "noble".
	Suite string `json:"suite,omitempty"`
	// Version is the kernel series, e.g. "6.1". It is empty for oci and
	// file kernels until pulled (Kernel.Version has it).
	Version string `json:"version,omitempty"`
	// Arch is the Debian architecture name, e.g. "amd64" or "arm64".
	Arch string `json:"arch"`
	// Flavour is the kernel flavour, e.g. "cloud", "rt", "generic" (for
	// Debian: the linux-image-<release>-<arch> kernels without a flavour
	// word) or Ubuntu's "generic".
	Flavour string `json:"flavour,omitempty"`
	// Default marks kernels used when none are named explicitly.
	Default bool `json:"default,omitempty"`

	// Source is where the kernel comes from: SourceAPT (the default when
	// empty), SourceOCI or SourceFile.
	Source string `json:"source,omitempty"`
	// Ref is the OCI image reference (REGISTRY/REPO:TAG) of an oci kernel,
	// or the path of a file kernel's image.
	Ref string `json:"ref,omitempty"`
	// Modules is a file kernel's module tree (laid out like
	// /lib/modules/<release>); default: modules/<release> or
	// lib/modules/<release> beside the image, else none.
	Modules string `json:"modules,omitempty"`
	// ConfigFile is the build configuration of a file or oci kernel, a
	// file on the host (for images that carry none, as ci-kernels'). A
	// file kernel's default: .config, config or config-<release> beside
	// the image (or at the top of the build tree of arch/*/boot/bzImage);
	// an oci kernel's: the image's /boot/config-*; then the IKCONFIG
	// embedded in the kernel, else none.
	ConfigFile string `json:"config,omitempty"`
	// Component is the apt archive component; default "main".
	Component string `json:"component,omitempty"`
	// Security is the suite of the distribution's security archive that
	// is searched besides Suite, e.g. "bookworm-security": the newer of
	// the two kernels is used.
	Security string `json:"security,omitempty"`
}

// SourceKind returns the spec's source, SourceAPT when Source is empty.
func (s Spec) SourceKind() string {
	if s.Source == "" {
		return SourceAPT
	}
	return s.Source
}

// GOARCH returns the Go architecture for the spec's arch.
func (s Spec) GOARCH() string { return archs[s.Arch].GOARCH }

// QEMUArch returns the QEMU system architecture (qemu-system-<arch>) for
// the spec's arch.
func (s Spec) QEMUArch() string { return archs[s.Arch].QEMU }

// ArchInfo maps a Debian architecture to Go and QEMU names.
type ArchInfo struct {
	// Debian is the Debian architecture name, e.g. "arm64".
	Debian string
	// GOARCH is the Go architecture name, e.g. "arm64".
	GOARCH string
	// QEMU is the QEMU system architecture, e.g. "aarch64".
	QEMU string
}

var archs = map[string]ArchInfo{
	"amd64": {Debian: "amd64", GOARCH: "amd64", QEMU: "x86_64"},
	"arm64": {Debian: "arm64", GOARCH: "arm64", QEMU: "aarch64"},
}

// LookupArch returns the names for the Debian architecture debArch.
func LookupArch(debArch string) (ArchInfo, bool) {
	a, ok := archs[debArch]
	return a, ok
}

// ArchFromGOARCH returns the names for the Go architecture goarch.
func ArchFromGOARCH(goarch string) (ArchInfo, bool) {
	for _, a := range archs {
		if a.GOARCH == goarch {
			return a, true
		}
	}
	return ArchInfo{}, false
}

// Catalog is a validated list of kernel specs.
type Catalog struct {
	specs []Spec
}

type catalogFile struct {
	Kernels []Spec `json:"kernels"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.+_-]*$`)
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	wordRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)
)

// Default returns the catalog embedded in the binary.
func Default() *Catalog {
	c, err := Load(bytes.NewReader(defaultCatalogJSON))
	if err != nil {
		panic(fmt.Sprintf("embedded catalog.json is invalid: %v", err))
	}
	return c
}

// Load parses and validates a catalog in the catalog.json format:
// {"kernels": [{"name": ..., "distro": ..., ...}]}.
func Load(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(f.Kernels) == 0 {
		return nil, fmt.Errorf("%w: no kernels listed", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, s := range f.Kernels {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("%w: entry %d (%q): %v", ErrInvalid, i, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: duplicate name %q", ErrInvalid, s.Name)
		}
		seen[s.Name] = true
	}
	return &Catalog{specs: f.Kernels}, nil
}

func (s Spec) validate() error {
	bad := func(field, value, want string) error {
		return fmt.Errorf("field %q has invalid value %q (want %s)", field, value, want)
	}
	if !nameRE.MatchString(s.Name) {
		return bad("name", s.Name, "lower-case letters, digits and .+_-")
	}
	if _, ok := archs[s.Arch]; !ok {
		var known []string
		for a := range archs {
			known = append(known, a)
		}
		sort.Strings(known)
		return bad("arch", s.Arch, "one of "+strings.Join(known, ", "))
	}
	switch s.SourceKind() {
	case SourceOCI:
		if s.Distro != SourceOCI {
			return bad("distro", s.Distro, `"oci" for an oci kernel`)
		}
		if s.Ref == "" {
			return bad("ref", s.Ref, "an image reference REGISTRY/REPO:TAG")
		}
		return nil
	case SourceFile:
		if s.Distro != SourceFile {
			return bad("distro", s.Distro, `"file" for a file kernel`)
		}
		if s.Ref == "" || !filepath.IsAbs(s.Ref) {
			return bad("ref", s.Ref, "the absolute path of a kernel image")
		}
		return nil
	case SourceAPT:
	default:
		return bad("source", s.Source, `"apt", "oci" or "file"`)
	}
	if _, ok := namings[s.Distro]; !ok {
		return bad("distro", s.Distro, `"debian" or "ubuntu"`)
	}
	if !wordRE.MatchString(s.Suite) {
		return bad("suite", s.Suite, `an apt suite such as "bookworm"`)
	}
	if s.Security != "" && !wordRE.MatchString(s.Security) {
		return bad("security", s.Security, `a security suite such as "bookworm-security"`)
	}
	if s.Component != "" && !wordRE.MatchString(s.Component) {
		return bad("component", s.Component, `an archive component such as "main"`)
	}
	if !versionRE.MatchString(s.Version) {
		return bad("version", s.Version, `<major>.<minor> such as "6.1"`)
	}
	if !wordRE.MatchString(s.Flavour) {
		return bad("flavour", s.Flavour, `a kernel flavour such as "cloud"`)
	}
	return nil
}

// All returns every spec in catalog order.
func (c *Catalog) All() []Spec { return append([]Spec(nil), c.specs...) }

// Defaults returns the specs marked default, in catalog order.
func (c *Catalog) Defaults() []Spec {
	var out []Spec
	for _, s := range c.specs {
		if s.Default {
			out = append(out, s)
		}
	}
	return out
}

// Names returns the names of all specs in catalog order.
func (c *Catalog) Names() []string {
	var out []string
	for _, s := range c.specs {
		out = append(out, s.Name)
	}
	return out
}

// JoinRefFields rejoins a list of kernel names that was split at every
// comma: an item "arch=...", "name=...", "modules=..." or "config=..."
// that follows a reference (oci:, file:) is a field of that reference.
func JoinRefFields(names []string) []string {
	var out []string
	for _, n := range names {
		k, _, ok := strings.Cut(n, "=")
		if ok && len(out) > 0 && IsRef(out[len(out)-1]) && refFields[k] {
			out[len(out)-1] += "," + n
			continue
		}
		out = append(out, n)
	}
	return out
}

var refFields = map[string]bool{"arch": true, "name": true, "modules": true, "config": true}

// Lookup returns the specs with the given names, in the order given. A
// name is a catalog entry or a source reference (see ParseRef):
// "oci:REGISTRY/REPO:TAG" or "file:/path/to/bzImage", with optional
// ",key=value" fields. An unknown name yields an error wrapping
// ErrUnknownKernel that lists the valid names.
//
// A list split at every comma (--kernels a,oci:REF,arch=arm64) is put back
// together: a "key=value" item after a reference is one of its fields.
func (c *Catalog) Lookup(names []string) ([]Spec, error) {
	var out []Spec
	seen := map[string]string{}
	for _, n := range JoinRefFields(names) {
		var spec Spec
		found := false
		if IsRef(n) {
			var err error
			if spec, err = ParseRef(n); err != nil {
				return nil, err
			}
			found = true
		}
		for _, s := range c.specs {
			if !found && s.Name == n {
				spec, found = s, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q; valid kernels are: %s, or oci:REGISTRY/REPO:TAG, file:/path/to/bzImage", ErrUnknownKernel, n, strings.Join(c.Names(), ", "))
		}
		if prev, ok := seen[spec.Name]; ok && prev != n {
			return nil, fmt.Errorf("%w: %q and %q are both named %q; give one another name with \",name=NAME\"", ErrUnknownKernel, prev, n, spec.Name)
		}
		seen[spec.Name] = n
		out = append(out, spec)
	}
	return out, nil
}
