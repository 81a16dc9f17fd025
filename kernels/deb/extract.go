package deb

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Selector decides whether the data.tar entry with the normalised name
// (no leading "./" or trailing "/") is extracted, and where to, as a
// slash-separated path relative to the destination directory.
type Selector func(name string) (target string, ok bool)

// HeaderSelector is like Selector but also sees the tar header, for callers
// that want to treat symlinks or directories differently.
type HeaderSelector func(name string, hdr *tar.Header) (target string, ok bool)

// ExtractOptions configures ExtractWith.
type ExtractOptions struct {
	// Select chooses the entries to extract. nil extracts everything
	// under its own name.
	Select HeaderSelector
	// Limits bounds the package's resource usage.
	Limits Limits
	// Whiteouts makes an entry named .wh.NAME remove what NAME was
	// extracted to, as in OCI image layers.
	Whiteouts bool
}

// Extract extracts the entries of the .deb read from r that sel selects into
// the directory dest, which is created if needed. It refuses, with an error
// wrapping ErrUnsafe, entries with ".." components or absolute names, device
// nodes and FIFOs, and selected symlinks or hardlinks whose target would
// resolve outside dest; nothing is ever written outside dest. Directories,
// regular files and in-tree symlinks are created. A nil sel extracts all
// entries.
func Extract(r io.Reader, dest string, sel Selector, limits Limits) error {
	var hs HeaderSelector
	if sel != nil {
		hs = func(name string, _ *tar.Header) (string, bool) { return sel(name) }
	}
	return ExtractWith(r, dest, ExtractOptions{Select: hs, Limits: limits})
}

// ExtractWith is like Extract with a header-aware selector.
func ExtractWith(r io.Reader, dest string, opts ExtractOptions) error {
	return extract(dest, opts, func(fn func(*tar.Header, io.Reader) error) error {
		return WalkLimits(r, opts.Limits, fn)
	})
}

// ExtractTar extracts the plain tar stream r (an OCI image layer) into
// dest under exactly the rules of ExtractWith: no traversal, no absolute
// names, no device nodes, no link out of dest, the same size limits.
// Callers decompress r themselves.
func ExtractTar(r io.Reader, dest string, opts ExtractOptions) error {
	x, err := NewExtractor(dest, opts)
	if err != nil {
		return err
	}
	defer x.Close()
	return x.Tar(r)
}

// Extractor extracts several tar streams into one directory, one over the
// other (the layers of an OCI image, bottom first), under the rules of
// ExtractWith; a link created by one stream is known to the next, so no
// later entry is written through it.
type Extractor struct {
	x    *extractor
	opts ExtractOptions
}

// NewExtractor returns an Extractor writing into dest, which is created
// if needed.
func NewExtractor(dest string, opts ExtractOptions) (*Extractor, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("creating extraction directory: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, fmt.Errorf("opening extraction directory: %w", err)
	}
	return &Extractor{x: &extractor{root: root, sel: opts.Select, written: map[string]string{}, symlinks: map[string]bool{}, whiteouts: opts.Whiteouts}, opts: opts}, nil
}

// Tar extracts the plain tar stream r.
func (e *Extractor) Tar(r io.Reader) error { return WalkTar(r, e.opts.Limits, e.x.entry) }

// Close releases the destination directory.
func (e *Extractor) Close() error { return e.x.root.Close() }

func extract(dest string, opts ExtractOptions, walk func(func(*tar.Header, io.Reader) error) error) error {
	e, err := NewExtractor(dest, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	return walk(e.x.entry)
}

type extractor struct {
	root *os.Root
	sel  HeaderSelector
	// written maps archive names to the targets they were extracted to.
	written map[string]string
	// symlinks holds the targets of symlinks created so far.
	symlinks map[string]bool
	// whiteouts: an entry .wh.NAME removes NAME (OCI layers).
	whiteouts bool
}

// NormalizeName returns the canonical form of a data.tar entry name: no
// leading "./" or trailing "/", cleaned. It returns "" for the archive root
// and an error wrapping ErrUnsafe for absolute names or names containing "..".
func NormalizeName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafe, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: path %q contains \"..\"", ErrUnsafe, name)
		}
	}
	n := path.Clean(name)
	if n == "." {
		return "", nil
	}
	return n, nil
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	name, err := NormalizeName(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: %q is a device node or FIFO", ErrUnsafe, hdr.Name)
	}
	if name == "" {
		return nil
	}
	if base := path.Base(name); x.whiteouts && strings.HasPrefix(base, ".wh.") {
		hidden := path.Join(path.Dir(name), strings.TrimPrefix(base, ".wh."))
		if t, ok := x.written[hidden]; ok {
			if err := x.root.RemoveAll(t); err != nil {
				return fmt.Errorf("whiteout %q: %w", hdr.Name, err)
			}
			delete(x.written, hidden)
			delete(x.symlinks, t)
		}
		return nil
	}
	target := name
	if x.sel != nil {
		var ok bool
		if target, ok = x.sel(name, hdr); !ok {
			return nil
		}
	}
	if !filepath.IsLocal(target) || strings.HasPrefix(target, "/") {
		return fmt.Errorf("%w: entry %q maps to non-local target %q", ErrUnsafe, hdr.Name, target)
	}
	target = path.Clean(target)
	if err := x.checkNoSymlinkPrefix(hdr.Name, target); err != nil {
		return err
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.root.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("extracting %q: %w", hdr.Name, err)
		}
	case tar.TypeReg:
		if err := x.mkParent(target); err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			perm = 0o755
		}
		f, err := x.root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		if err != nil {
			return fmt.Errorf("extracting %q: %w", hdr.Name, err)
		}
		n, err := io.Copy(f, body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: entry %q is truncated (%d of %d bytes)", ErrFormat, hdr.Name, n, hdr.Size)
		}
		if err != nil {
			return fmt.Errorf("extracting %q: %w", hdr.Name, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%w: entry %q is truncated (%d of %d bytes)", ErrFormat, hdr.Name, n, hdr.Size)
		}
	case tar.TypeSymlink:
		link := hdr.Linkname
		if link == "" || path.IsAbs(link) {
			return fmt.Errorf("%w: symlink %q points to absolute path %q outside the destination", ErrUnsafe, hdr.Name, link)
		}
		if resolved := path.Join(path.Dir(target), link); !filepath.IsLocal(resolved) {
			return fmt.Errorf("%w: symlink %q -> %q escapes the destination", ErrUnsafe, hdr.Name, link)
		}
		if err := x.mkParent(target); err != nil {
			return err
		}
		x.replace(target)
		if err := x.root.Symlink(link, target); err != nil {
			return fmt.Errorf("extracting symlink %q: %w", hdr.Name, err)
		}
		x.symlinks[target] = true
	case tar.TypeLink:
		old, err := NormalizeName(hdr.Linkname)
		if err != nil || old == "" {
			return fmt.Errorf("%w: hardlink %q -> %q escapes the destination", ErrUnsafe, hdr.Name, hdr.Linkname)
		}
		oldTarget, ok := x.written[old]
		if !ok {
			return fmt.Errorf("%w: hardlink %q points to %q, which was not extracted", ErrUnsafe, hdr.Name, hdr.Linkname)
		}
		if x.symlinks[oldTarget] {
			return fmt.Errorf("%w: hardlink %q points to symlink %q", ErrUnsafe, hdr.Name, hdr.Linkname)
		}
		if err := x.mkParent(target); err != nil {
			return err
		}
		x.replace(target)
		if err := x.root.Link(oldTarget, target); err != nil {
			return fmt.Errorf("extracting hardlink %q: %w", hdr.Name, err)
		}
	default:
		return fmt.Errorf("%w: entry %q has unsupported type %q", ErrUnsafe, hdr.Name, hdr.Typeflag)
	}
	x.written[name] = target
	return nil
}

// replace removes a file an earlier tar stream wrote at target (a lower
// OCI layer's), so that a link can take its place.
func (x *extractor) replace(target string) {
	for _, t := range x.written {
		if t == target {
			x.root.Remove(target)
			return
		}
	}
}

// checkNoSymlinkPrefix refuses targets that are, or go through, a symlink
// created earlier in this extraction: writing through them could escape
// dest even though every name is lexically local.
func (x *extractor) checkNoSymlinkPrefix(name, target string) error {
	p := target
	for p != "." && p != "/" && p != "" {
		if x.symlinks[p] {
			return fmt.Errorf("%w: entry %q would be written through symlink %q", ErrUnsafe, name, p)
		}
		p = path.Dir(p)
	}
	return nil
}

func (x *extractor) mkParent(target string) error {
	if dir := path.Dir(target); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %q: %w", dir, err)
		}
	}
	return nil
}
