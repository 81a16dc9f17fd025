package debian

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoKernel is returned when an index has no matching kernel package.
var ErrNoKernel = errors.New("no matching kernel package")

// Resolved is a kernel release and the exact packages that make it up.
type Resolved struct {
	// Release is the kernel release (uname -r), e.g. "6.1.0-50-cloud-amd64".
	Release string `json:"release"`
	// Version is the Debian version of the linux-image package.
	Version string `json:"version"`
	// Packages lists the linux-image package first, followed by the
	// packages it depends on that carry the same release.
	Packages []Package `json:"packages"`
}

// IsMeta reports whether e is a metapackage that only depends on another
// kernel's image package (bookworm-security's linux-image-6.12-cloud-amd64
// depends on linux-image-6.12.117+deb12-cloud-amd64).
func (e Entry) IsMeta() bool {
	for _, clause := range strings.Split(e.Depends, ",") {
		for _, alt := range strings.Split(clause, "|") {
			if name, _, _ := parseDep(alt); strings.HasPrefix(name, "linux-image-") {
				return true
			}
		}
	}
	return false
}

// Naming says how an archive names the packages of one kernel flavour.
type Naming struct {
	// ImagePrefix starts the name of the package with the kernel image:
	// "linux-image-" (Debian) or "linux-image-unsigned-" (Ubuntu). The
	// rest of the name is the release.
	ImagePrefix string
	// Suffix ends every release of the flavour: "-cloud-amd64", "-amd64"
	// or Ubuntu's "-generic".
	Suffix string
	// Plain means the release has no flavour word before Suffix (Debian's
	// generic kernels, linux-image-6.1.0-50-amd64): releases such as
	// 6.1.0-50-cloud-amd64 then do not match.
	Plain bool
	// With lists the prefixes of further packages, named
	// <prefix><release>, that belong to the kernel even when the image
	// package does not depend on them (Ubuntu: "linux-modules-").
	With []string
}

// DebianNaming is the naming of Debian's kernels of flavour ("cloud",
// "rt"; "generic" for the kernels without a flavour word) and arch.
func DebianNaming(flavour, arch string) Naming {
	if flavour == "generic" {
		return Naming{ImagePrefix: "linux-image-", Suffix: "-" + arch, Plain: true}
	}
	return Naming{ImagePrefix: "linux-image-", Suffix: "-" + flavour + "-" + arch}
}

// UbuntuNaming is the naming of Ubuntu's kernels of flavour ("generic",
// "lowlatency"): the unsigned image package (the signed one only wraps
// it for Secure Boot) plus linux-modules-<release>, which holds the
// config and the module tree.
func UbuntuNaming(flavour string) Naming {
	return Naming{ImagePrefix: "linux-image-unsigned-", Suffix: "-" + flavour, With: []string{"linux-modules-"}}
}

// Matches reports whether release belongs to the series version ("6.1")
// under naming n.
func (n Naming) Matches(release, version string) bool {
	rest, ok := strings.CutPrefix(release, version)
	if !ok || rest == "" || (rest[0] != '.' && rest[0] != '-') {
		return false
	}
	mid, ok := strings.CutSuffix(rest, n.Suffix)
	if !ok {
		return false
	}
	if n.Plain {
		for i := 0; i+1 < len(mid); i++ {
			if mid[i] == '-' && !isDigit(mid[i+1]) {
				return false // a flavour word: -cloud, -rt
			}
		}
	}
	return true
}

// ResolveKernel finds the newest linux-image-<release> package whose release
// is <version>.*-<flavour>-<arch> (version like "6.1"; -dbg and -unsigned
// packages are ignored) and follows its Depends on packages named
// linux-*-<release> that are pinned to the same version (or unconstrained),
// recursively. This covers both the classic single-package layout and the
// split linux-image/linux-binary/linux-base/linux-modules layout.
func (idx *Index) ResolveKernel(version, flavour, arch string) (*Resolved, error) {
	return idx.Resolve(version, DebianNaming(flavour, arch))
}

// Resolve is ResolveKernel for any naming: the newest image package of the
// series version under n, the packages it depends on that carry the same
// release, and the packages n.With names.
func (idx *Index) Resolve(version string, n Naming) (*Resolved, error) {
	var best *Entry
	var bestRelease string
	var others []string
	for i := range idx.Entries {
		e := &idx.Entries[i]
		release, ok := strings.CutPrefix(e.Name, n.ImagePrefix)
		if !ok || !strings.HasSuffix(release, n.Suffix) || release == "" || !isDigit(release[0]) || e.IsMeta() {
			continue
		}
		others = append(others, release)
		if !n.Matches(release, version) {
			continue
		}
		if best == nil {
			best, bestRelease = e, release
			continue
		}
		c := CompareVersions(e.Version, best.Version)
		if c > 0 || (c == 0 && CompareVersions(release, bestRelease) > 0) {
			best, bestRelease = e, release
		}
	}
	if best == nil {
		sort.Strings(others)
		if len(others) > 10 {
			others = others[len(others)-10:]
		}
		hint := "none"
		if len(others) > 0 {
			hint = strings.Join(others, ", ")
		}
		return nil, fmt.Errorf("%w: no %s<release> package for kernel %s with release suffix %q in %s (releases with that suffix: %s); check the catalog's version, suite and flavour",
			ErrNoKernel, n.ImagePrefix, version, n.Suffix, idx.describe(), hint)
	}

	res := &Resolved{Release: bestRelease, Version: best.Version}
	seen := map[string]bool{best.Name: true}
	var visit func(e *Entry) error
	visit = func(e *Entry) error {
		if err := checkPackage(e); err != nil {
			return err
		}
		res.Packages = append(res.Packages, e.Package)
		for _, dep := range idx.releaseDeps(e, bestRelease) {
			if seen[dep.Name] {
				continue
			}
			seen[dep.Name] = true
			if err := visit(dep); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(best); err != nil {
		return nil, err
	}
	for _, prefix := range n.With {
		name := prefix + bestRelease
		if seen[name] {
			continue
		}
		var match *Entry // the image's version, else the newest
		for _, i := range idx.byName[name] {
			c := &idx.Entries[i]
			switch {
			case match != nil && match.Version == best.Version:
			case c.Version == best.Version, match == nil, CompareVersions(c.Version, match.Version) > 0:
				match = c
			}
		}
		if match == nil {
			return nil, fmt.Errorf("%w: %s has no %s in %s", ErrNoKernel, best.Name, name, idx.describe())
		}
		seen[name] = true
		if err := visit(match); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (idx *Index) describe() string {
	if idx.Suite == "" {
		return "the index"
	}
	return fmt.Sprintf("%s/dists/%s (binary-%s)", idx.Mirror, idx.Suite, idx.Arch)
}

func checkPackage(e *Entry) error {
	if e.Filename == "" || e.SHA256 == "" || len(e.SHA256) != 64 || e.Size <= 0 {
		return fmt.Errorf("%w: package %s %s lacks Filename, Size or SHA256", ErrIndex, e.Name, e.Version)
	}
	return nil
}

// releaseDeps returns the entries named by e's Depends that belong to the
// same kernel release: name linux-<something>-<release>, constraint absent
// or "= <e.Version>", present in the index.
func (idx *Index) releaseDeps(e *Entry, release string) []*Entry {
	var out []*Entry
	for _, clause := range strings.Split(e.Depends, ",") {
		for _, alt := range strings.Split(clause, "|") {
			name, op, ver := parseDep(alt)
			if !strings.HasPrefix(name, "linux-") || !strings.HasSuffix(name, "-"+release) ||
				len(name) <= len("linux-")+len(release)+1 {
				continue
			}
			if op != "" && (op != "=" || ver != e.Version) {
				continue
			}
			var match *Entry
			for _, i := range idx.byName[name] {
				c := &idx.Entries[i]
				if op == "" || c.Version == ver {
					if match == nil || CompareVersions(c.Version, match.Version) > 0 {
						match = c
					}
				}
			}
			if match != nil {
				out = append(out, match)
				break
			}
		}
	}
	return out
}

// parseDep parses "name[:arch] [(op version)] [arch-restrictions] <profiles>".
func parseDep(s string) (name, op, version string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "[<"); i >= 0 && !strings.Contains(s[:i], "(") {
		s = strings.TrimSpace(s[:i])
	}
	rest := ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		s, rest = strings.TrimSpace(s[:i]), s[i+1:]
		if j := strings.IndexByte(rest, ')'); j >= 0 {
			rest = rest[:j]
		}
	}
	name, _, _ = strings.Cut(strings.TrimSpace(s), ":")
	rest = strings.TrimSpace(rest)
	if rest != "" {
		i := 0
		for i < len(rest) && strings.IndexByte("<>=", rest[i]) >= 0 {
			i++
		}
		op, version = rest[:i], strings.TrimSpace(rest[i:])
	}
	return name, op, version
}
