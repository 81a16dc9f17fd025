package kernels

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

// LockSchema identifies the lock file format.
const LockSchema = "bpfmatrix-lock/v1"

// ErrLock is returned for malformed lock files.
var ErrLock = errors.New("invalid lock file")

// Lock pins every kernel to exact Debian packages or OCI image digests.
// File kernels are not pinned: their content hash is their identity.
type Lock struct {
	Schema  string               `json:"schema"`
	Kernels map[string]LockEntry `json:"kernels"`
}

// LockEntry pins one kernel.
type LockEntry struct {
	// Source is catalog.SourceOCI for an OCI image, empty for an apt kernel.
	Source string `json:"source,omitempty"`
	// Suite is the apt suite the packages come from (catalog.Spec.Suite or
	// catalog.Spec.Security).
	Suite   string `json:"suite,omitempty"`
	Arch    string `json:"arch"`
	Release string `json:"release"`
	// Version is the Debian version of the linux-image package.
	Version  string           `json:"version,omitempty"`
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

// LoadLock reads the lock file at path. A missing file yields an empty lock.
func LoadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Lock{Schema: LockSchema, Kernels: map[string]LockEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lock file: %w", err)
	}
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w %s: %v; fix it or delete it and run `bpfmatrix kernels update`", ErrLock, path, err)
	}
	if l.Schema != LockSchema {
		return nil, fmt.Errorf("%w %s: schema is %q, want %q", ErrLock, path, l.Schema, LockSchema)
	}
	if l.Kernels == nil {
		l.Kernels = map[string]LockEntry{}
	}
	for name, e := range l.Kernels {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%w %s: kernel %q: %v; run `bpfmatrix kernels update %s`", ErrLock, path, name, err, name)
		}
	}
	return &l, nil
}

// OCISpec returns the spec that the OCI entry e, pinned under name,
// stands for (false for an apt entry): what `kernels list` shows for OCI
// kernels pinned from the command line rather than the catalog.
func (e LockEntry) OCISpec(name string) (catalog.Spec, bool) {
	if e.Source != catalog.SourceOCI {
		return catalog.Spec{}, false
	}
	return catalog.Spec{Name: name, Distro: catalog.SourceOCI, Source: catalog.SourceOCI, Ref: e.Ref, Arch: e.Arch}, true
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func (e LockEntry) validate() error {
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
	if e.Archive != "" && e.Archive != archiveSecurity {
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
func (l *Lock) Save(path string) error {
	out := Lock{Schema: LockSchema, Kernels: map[string]LockEntry{}}
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
