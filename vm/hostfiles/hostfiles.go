// Package hostfiles puts host files into the guest: what --include names
// (files, directories, programs) and what a dynamically linked program
// needs to run (its ELF interpreter and shared libraries, found by u-root's
// ldd). The files go into an initramfs archive at their guest paths.
package hostfiles

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/ldd"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// MaxSize bounds the bytes of files one set of includes may put into the
// initramfs: it lives in the guest's memory.
const MaxSize = 256 << 20

// ErrForeignELF is returned for a dynamically linked program of another
// architecture than the host's: its libraries cannot be resolved here.
var ErrForeignELF = errors.New("dynamically linked program of another architecture")

// Include is one --include: a host file or directory and where the guest
// sees it.
type Include struct {
	// Host is the absolute host path.
	Host string
	// Guest is the absolute guest path; the same as Host unless given.
	Guest string
	// Bundled says the include brings the libraries its programs need
	// (a Debian userland for the guest's architecture): they are not
	// looked up on the host.
	Bundled bool
}

// String is the flag form, PATH[:GUESTPATH].
func (i Include) String() string {
	if i.Guest == i.Host {
		return i.Host
	}
	return i.Host + ":" + i.Guest
}

// ParseInclude reads PATH[:GUESTPATH]. PATH must exist; GUESTPATH must be
// absolute and not inside the guest's own directories.
func ParseInclude(s string) (Include, error) {
	host, guest, _ := strings.Cut(s, ":")
	if host == "" {
		return Include{}, fmt.Errorf("--include %q: want PATH or PATH:GUESTPATH", s)
	}
	abs, err := filepath.Abs(host)
	if err != nil {
		return Include{}, fmt.Errorf("--include %q: %w", s, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return Include{}, fmt.Errorf("--include %q: %w", s, err)
	}
	if guest == "" {
		guest = abs
	}
	guest = filepath.Clean(guest)
	if !filepath.IsAbs(guest) {
		return Include{}, fmt.Errorf("--include %q: the guest path %q must be absolute", s, guest)
	}
	for _, reserved := range []string{"/", "/bpfmatrix", "/dev", "/proc", "/sys", "/init"} {
		if guest == reserved || (reserved != "/" && strings.HasPrefix(guest, reserved+"/")) {
			return Include{}, fmt.Errorf("--include %q: %s belongs to the guest itself: pick another guest path", s, reserved)
		}
	}
	return Include{Host: abs, Guest: guest}, nil
}

// Entries returns the archive entries of incs and programs for a guest of
// goarch: every file below each include at its guest path, and for each
// dynamically linked program among them and among programs (which the
// caller puts in the guest itself) its interpreter and libraries at their host paths (programs of goarch only:
// a library of the host cannot serve another architecture). An entry
// needed twice is there once.
//
// With stage set, each include is placed below stage (at stage+guest
// path) instead, for the guest to bind it at its guest path after mounting
// its own file systems (see Binds).
func Entries(goarch, stage string, incs []Include, programs ...string) ([]initramfs.Entry, error) {
	s := newSet()
	for _, orig := range incs {
		inc := orig
		if stage != "" {
			inc.Guest = filepath.Join(stage, inc.Guest)
		}
		err := filepath.WalkDir(inc.Host, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(inc.Host, p)
			guest := filepath.Join(inc.Guest, rel)
			if err := s.add(p, guest); err != nil {
				return err
			}
			if d.Type().IsRegular() && !inc.Bundled {
				return s.addLibraries(p, goarch)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--include %s: %w", orig, err)
		}
	}
	for _, p := range programs {
		if err := s.addLibraries(p, goarch); err != nil {
			return nil, err
		}
	}
	return s.entries()
}

// Binds are where the guest binds the includes that Entries placed below
// stage: stage+guest path onto guest path.
func Binds(stage string, incs []Include) []wire.Bind {
	var out []wire.Bind
	for _, inc := range incs {
		out = append(out, wire.Bind{Source: filepath.Join(stage, inc.Guest), Target: inc.Guest})
	}
	return out
}

// Dynamic reports whether the ELF file at path has an interpreter (is
// dynamically linked); not an ELF file is not dynamic.
func Dynamic(path string) (bool, error) {
	r, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer r.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != elf.ELFMAG {
		return false, nil
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// set collects entries by guest path.
type set struct {
	byGuest map[string]initramfs.Entry
	size    int64
}

func newSet() *set { return &set{byGuest: map[string]initramfs.Entry{}} }

func (s *set) add(host, guest string) error {
	if _, ok := s.byGuest[guest]; ok {
		return nil
	}
	fi, err := os.Lstat(host)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(guest, "/")
	switch {
	case fi.IsDir():
		s.byGuest[guest] = initramfs.Entry{Name: name, Mode: uint64(fi.Mode().Perm()), Dir: true}
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(host)
		if err != nil {
			return err
		}
		s.byGuest[guest] = initramfs.Entry{Name: name, Mode: 0o777, Link: target}
	case fi.Mode().IsRegular():
		s.size += fi.Size()
		if s.size > MaxSize {
			return fmt.Errorf("more than %d MiB of files: the initramfs lives in the guest's memory", MaxSize>>20)
		}
		s.byGuest[guest] = initramfs.Entry{Name: name, Mode: uint64(fi.Mode().Perm()), Src: host}
	}
	// Devices, sockets and pipes of the host have no meaning in the guest.
	return nil
}

// addLibraries adds the interpreter and libraries of the program at path,
// if it is a dynamically linked ELF program.
func (s *set) addLibraries(path, goarch string) error {
	dyn, err := Dynamic(path)
	if err != nil || !dyn {
		return err
	}
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	machine := f.Machine
	f.Close()
	if want := machineOf(goarch); machine != want || goarch != runtime.GOARCH {
		return fmt.Errorf("%s: %w (%s, for a %s guest on an %s host): build it for %s and statically (CGO_ENABLED=0), or leave it out", path, ErrForeignELF, machine, goarch, runtime.GOARCH, goarch)
	}
	libs, err := ldd.FList(path)
	if err != nil {
		return fmt.Errorf("%s: finding its shared libraries: %w", path, err)
	}
	sort.Strings(libs)
	for _, l := range libs {
		// Each at the path the interpreter looks for it, links as links
		// (FList lists a link and its target); the directories on the way
		// are real directories in the guest.
		if err := s.add(l, l); err != nil {
			return err
		}
	}
	return nil
}

func (s *set) entries() ([]initramfs.Entry, error) {
	names := make([]string, 0, len(s.byGuest))
	for g := range s.byGuest {
		names = append(names, g)
	}
	sort.Strings(names)
	out := make([]initramfs.Entry, 0, len(names))
	for _, n := range names {
		out = append(out, s.byGuest[n])
	}
	return out, nil
}

func machineOf(goarch string) elf.Machine {
	switch goarch {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	}
	return elf.EM_NONE
}
