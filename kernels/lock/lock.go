// Package lock reads and writes the lock file (bpfmatrix.lock) that pins
// every kernel to the exact apt packages (name, version, SHA256) or OCI
// manifest digest it was first resolved to, so later runs boot the same
// kernel until `bpfmatrix kernels update`.
package lock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"

	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// Schema identifies the lock file format.
const Schema = "bpfmatrix-lock/v1"

// ArchiveSecurity is Entry.Archive of packages from the security archive.
const ArchiveSecurity = "security"

// ErrInvalid is returned for malformed lock files.
var ErrInvalid = errors.New("invalid lock file")

// File pins every kernel to exact Debian packages or OCI image digests.
// Kernels of local files (file: references) are not pinned: their
// content hash is their identity.
type File struct {
	// Schema is the format, Schema.
	Schema string `json:"schema"`
	// Kernels are the entries by kernel (catalog) name.
	Kernels map[string]Entry `json:"kernels"`
}

// Entry pins one kernel.
type Entry struct {
	// Source is catalog.SourceOCI for an OCI image, empty for an apt kernel.
	Source string `json:"source,omitempty"`
	// Suite is the apt suite the packages come from (catalog.Spec.Suite or
	// catalog.Spec.Security).
	Suite string `json:"suite,omitempty"`
	// Arch is the Debian architecture, e.g. "amd64".
	Arch string `json:"arch"`
	// Release is the kernel release (uname -r).
	Release string `json:"release"`
	// Version is the Debian version of the linux-image package.
	Version string `json:"version,omitempty"`
	// Packages are the pinned .deb files of an apt kernel.
	Packages []debian.Package `json:"packages,omitempty"`
	// Archive is "security" when the packages come from the security
	// archive, empty for the main one.
	Archive string `json:"archive,omitempty"`
	// Ref is an OCI kernel's image reference (REGISTRY/REPO:TAG).
	Ref string `json:"ref,omitempty"`
	// Digest is the manifest digest the tag resolved to for Arch
	// ("sha256:<hex>"): the kernel is fetched by it, and a tag that
	// resolves to another digest is refused until `kernels update`.
	Digest string `json:"digest,omitempty"`
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Load reads the lock file at path. A missing file yields an empty lock.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{Schema: Schema, Kernels: map[string]Entry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lock file: %w", err)
	}
	var l File
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w %s: %v; fix it or delete it and run `bpfmatrix kernels update`", ErrInvalid, path, err)
	}
	if l.Schema != Schema {
		return nil, fmt.Errorf("%w %s: schema is %q, want %q", ErrInvalid, path, l.Schema, Schema)
	}
	if l.Kernels == nil {
		l.Kernels = map[string]Entry{}
	}
	for name, e := range l.Kernels {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%w %s: kernel %q: %v; run `bpfmatrix kernels update %s`", ErrInvalid, path, name, err, name)
		}
	}
	return &l, nil
}

// OCISpec returns the spec that the OCI entry e, pinned under name,
// stands for (false for an apt entry): what `kernels list` shows for OCI
// kernels pinned from the command line rather than the catalog.
func (e Entry) OCISpec(name string) (catalog.Spec, bool) {
	if e.Source != catalog.SourceOCI {
		return catalog.Spec{}, false
	}
	return catalog.Spec{Name: name, Distro: catalog.SourceOCI, Source: catalog.SourceOCI, Ref: e.Ref, Arch: e.Arch}, true
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func (e Entry) validate() error {
	switch e.Source {
	case catalog.SourceOCI:
		if e.Ref == "" || e.Arch == "" || e.Release == "" {
			return errors.New("ref, arch and release must be set")
		}
		if !digestRE.MatchString(e.Digest) {
			return fmt.Errorf("invalid digest %q (want sha256:<64 hex digits>)", e.Digest)
		}
		return nil
	case "":
	default:
		return fmt.Errorf("unknown source %q", e.Source)
	}
	if e.Archive != "" && e.Archive != ArchiveSecurity {
		return fmt.Errorf("unknown archive %q", e.Archive)
	}
	if e.Suite == "" || e.Arch == "" || e.Release == "" {
		return errors.New("suite, arch and release must be set")
	}
	if len(e.Packages) == 0 {
		return errors.New("no packages listed")
	}
	for _, p := range e.Packages {
		if p.Name == "" || p.Version == "" || p.Filename == "" || p.Size <= 0 {
			return fmt.Errorf("package %q lacks name, version, filename or size", p.Name)
		}
		if !sha256RE.MatchString(p.SHA256) {
			return fmt.Errorf("package %q has invalid sha256 %q", p.Name, p.SHA256)
		}
	}
	return nil
}

// Save writes the lock atomically (temporary file in the same directory,
// then rename) with deterministic formatting.
func (l *File) Save(path string) error {
	out := File{Schema: Schema, Kernels: map[string]Entry{}}
	for name, e := range l.Kernels {
		e.Packages = append([]debian.Package(nil), e.Packages...)
		sort.Slice(e.Packages, func(i, j int) bool { return e.Packages[i].Name < e.Packages[j].Name })
		out.Kernels[name] = e
	}
	b, err := json.MarshalIndent(out, "", "  ") // map keys are sorted
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing lock file %s: %w", path, err)
	}
	return nil
}
