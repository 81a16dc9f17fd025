package kernels

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

//go:embed catalog.json
var defaultCatalogJSON []byte

// ErrUnknownKernel is returned when a kernel name is not in the catalog.
var ErrUnknownKernel = errors.New("unknown kernel")

// ErrCatalog is returned for an invalid catalog.
var ErrCatalog = errors.New("invalid kernel catalog")

// Spec is one catalog entry: a kernel series to test against.
type Spec struct {
	// Name identifies the kernel, e.g. "debian-6.1".
	Name string `json:"name"`
	// Distro is the distribution; only "debian" is supported.
	Distro string `json:"distro"`
	// Suite is the Debian suite, e.g. "bookworm" or "sid".
	Suite string `json:"suite"`
	// Version is the kernel series, e.g. "6.1".
	Version string `json:"version"`
	// Arch is the Debian architecture name, e.g. "amd64" or "arm64".
	Arch string `json:"arch"`
	// Flavour is the Debian kernel flavour, e.g. "cloud".
	Flavour string `json:"flavour"`
	// Default marks kernels used when none are named explicitly.
	Default bool `json:"default,omitempty"`
}

// GOARCH returns the Go architecture for the spec's arch.
func (s Spec) GOARCH() string { return archs[s.Arch].GOARCH }

// QEMUArch returns the QEMU system architecture (qemu-system-<arch>) for
// the spec's arch.
func (s Spec) QEMUArch() string { return archs[s.Arch].QEMU }

// ArchInfo maps a Debian architecture to Go and QEMU names.
type ArchInfo struct {
	Debian string
	GOARCH string
	QEMU   string
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

// DefaultCatalog returns the catalog embedded in the binary.
func DefaultCatalog() *Catalog {
	c, err := LoadCatalog(bytes.NewReader(defaultCatalogJSON))
	if err != nil {
		panic(fmt.Sprintf("embedded catalog.json is invalid: %v", err))
	}
	return c
}

// LoadCatalog parses and validates a catalog in the catalog.json format:
// {"kernels": [{"name": ..., "distro": ..., ...}]}.
func LoadCatalog(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
	}
	if len(f.Kernels) == 0 {
		return nil, fmt.Errorf("%w: no kernels listed", ErrCatalog)
	}
	seen := map[string]bool{}
	for i, s := range f.Kernels {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("%w: entry %d (%q): %v", ErrCatalog, i, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: duplicate name %q", ErrCatalog, s.Name)
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
	if s.Distro != "debian" {
		return bad("distro", s.Distro, `"debian"`)
	}
	if !wordRE.MatchString(s.Suite) {
		return bad("suite", s.Suite, `a Debian suite such as "bookworm"`)
	}
	if !versionRE.MatchString(s.Version) {
		return bad("version", s.Version, `<major>.<minor> such as "6.1"`)
	}
	if _, ok := archs[s.Arch]; !ok {
		var known []string
		for a := range archs {
			known = append(known, a)
		}
		sort.Strings(known)
		return bad("arch", s.Arch, "one of "+strings.Join(known, ", "))
	}
	if !wordRE.MatchString(s.Flavour) {
		return bad("flavour", s.Flavour, `a Debian kernel flavour such as "cloud"`)
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

// Lookup returns the specs with the given names, in the order given. An
// unknown name yields an error wrapping ErrUnknownKernel that lists the
// valid names.
func (c *Catalog) Lookup(names []string) ([]Spec, error) {
	var out []Spec
	for _, n := range names {
		found := false
		for _, s := range c.specs {
			if s.Name == n {
				out = append(out, s)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q; valid kernels are: %s", ErrUnknownKernel, n, strings.Join(c.Names(), ", "))
		}
	}
	return out, nil
}
