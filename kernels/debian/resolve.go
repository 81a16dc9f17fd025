package debian

import (
	"errors"
	"fmt"
	"regexp"
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

// ResolveKernel finds the newest linux-image-<release> package whose release
// is <version>.*-<flavour>-<arch> (version like "6.1"; -dbg and -unsigned
// packages are ignored) and follows its Depends on packages named
// linux-*-<release> that are pinned to the same version (or unconstrained),
// recursively. This covers both the classic single-package layout and the
// split linux-image/linux-binary/linux-base/linux-modules layout.
func (idx *Index) ResolveKernel(version, flavour, arch string) (*Resolved, error) {
	re, err := regexp.Compile("^linux-image-(" + regexp.QuoteMeta(version) + "[.-].*-" +
		regexp.QuoteMeta(flavour) + "-" + regexp.QuoteMeta(arch) + ")$")
	if err != nil {
		return nil, fmt.Errorf("bad kernel version %q: %w", version, err)
	}
	var best *Entry
	var bestRelease string
	var others []string
	suffix := "-" + flavour + "-" + arch
	for i := range idx.Entries {
		e := &idx.Entries[i]
		if strings.HasPrefix(e.Name, "linux-image-") && strings.HasSuffix(e.Name, suffix) {
			others = append(others, strings.TrimPrefix(e.Name, "linux-image-"))
		}
		m := re.FindStringSubmatch(e.Name)
		if m == nil || strings.HasSuffix(e.Name, "-dbg") || strings.HasSuffix(e.Name, "-unsigned") {
			continue
		}
		if best == nil {
			best, bestRelease = e, m[1]
			continue
		}
		c := CompareVersions(e.Version, best.Version)
		if c > 0 || (c == 0 && CompareVersions(m[1], bestRelease) > 0) {
			best, bestRelease = e, m[1]
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
		return nil, fmt.Errorf("%w: no linux-image package for kernel %s, flavour %q, arch %q in %s (releases with that flavour and arch: %s); check the catalog's version, suite and flavour",
			ErrNoKernel, version, flavour, arch, idx.describe(), hint)
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
