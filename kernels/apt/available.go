package apt

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
)

// DebianSuites are the suites Available searches besides the catalog's:
// the releases a Debian mirror carries and their backports and security
// suites. Suites the mirror does not have are skipped.
var DebianSuites = []string{
	"bullseye", "bullseye-security", "bullseye-backports",
	"bookworm", "bookworm-security", "bookworm-backports",
	"trixie", "trixie-security", "trixie-backports",
	"forky", "forky-security", "forky-backports",
	"sid", "experimental",
}

// Offer is the newest kernel of one series, arch and flavour in one suite.
type Offer struct {
	// Series is the kernel series, e.g. "6.18".
	Series string
	// Arch is the Debian architecture, e.g. "amd64".
	Arch string
	// Flavour is "cloud", "rt", "16k" (arm64 16K pages) or "generic".
	Flavour string
	// Suite is the suite whose index lists the kernel.
	Suite string
	// Archive is "security" for the security archive, else "".
	Archive string
	// Release is the kernel release (uname -r).
	Release string
	// Version is the Debian version of the image package.
	Version string
	// Catalog names the catalog entries this offer would resolve for.
	Catalog []string
}

// AvailableOptions configures Available.
type AvailableOptions struct {
	// Suites to search; default: DebianSuites plus the catalog's.
	Suites []string
	// Archs to search; default amd64 and arm64.
	Archs []string
	// Catalog marks the offers of its entries; default catalog.Default.
	Catalog *catalog.Catalog
	// Progress, if not nil, is called after each index with the suite,
	// arch, how many indexes are done and how many there are.
	Progress func(suite, arch string, done, total int)
}

// Available lists every kernel the Debian mirror (and its security
// archive) offers: the newest release of each series, arch and flavour
// per suite. The Packages indexes are fetched concurrently; suites the
// mirror lacks are left out.
func (a *Archives) Available(ctx context.Context, opts AvailableOptions) ([]Offer, error) {
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	suites := opts.Suites
	if suites == nil {
		suites = append([]string(nil), DebianSuites...)
		for _, sp := range cat.All() {
			if sp.Distro == "debian" {
				suites = append(suites, sp.Suite)
			}
		}
	}
	archList := opts.Archs
	if archList == nil {
		archList = []string{"amd64", "arm64"}
	}
	type job struct{ suite, arch string }
	var jobs []job
	seen := map[string]bool{}
	for _, su := range suites {
		if seen[su] {
			continue
		}
		seen[su] = true
		for _, a := range archList {
			jobs = append(jobs, job{su, a})
		}
	}
	var (
		mu     sync.Mutex
		offers = map[string]Offer{}
		errs   []error
		done   int
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 4)
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			archive := ""
			if strings.HasSuffix(j.suite, "-security") {
				archive = lock.ArchiveSecurity
			}
			mirror, err := a.For(catalog.Spec{Distro: "debian", Arch: j.arch}, archive)
			var idx *debian.Index
			if err == nil {
				idx, err = debian.FetchIndex(ctx, a.client, mirror, j.suite, j.arch)
			}
			mu.Lock()
			defer mu.Unlock()
			done++
			if opts.Progress != nil {
				opts.Progress(j.suite, j.arch, done, len(jobs))
			}
			if err != nil {
				if !errors.Is(err, debian.ErrNotFound) && !errors.Is(err, debian.ErrIndex) && !errors.Is(err, debian.ErrNoMirror) {
					errs = append(errs, fmt.Errorf("%s/%s: %w", j.suite, j.arch, err))
				}
				return
			}
			for _, e := range idx.Entries {
				o, ok := classify(e, j.arch)
				if !ok {
					continue
				}
				o.Suite, o.Archive = j.suite, archive
				key := o.Series + "/" + o.Arch + "/" + o.Flavour + "/" + o.Suite
				if old, ok := offers[key]; ok && debian.CompareVersions(old.Version, o.Version) >= 0 {
					continue
				}
				offers[key] = o
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var out []Offer
	for _, o := range offers {
		for _, sp := range cat.All() {
			if sp.Distro == "debian" && sp.Arch == o.Arch && sp.Version == o.Series &&
				(sp.Suite == o.Suite || sp.Security == o.Suite) && sp.Naming().Matches(o.Release, o.Series) {
				o.Catalog = append(o.Catalog, sp.Name)
			}
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if c := debian.CompareVersions(a.Series, b.Series); c != 0 {
			return c < 0
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		if a.Flavour != b.Flavour {
			return a.Flavour < b.Flavour
		}
		return a.Suite < b.Suite
	})
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, errors.Join(errs...)
}

var (
	seriesRE   = regexp.MustCompile(`^([0-9]+\.[0-9]+)[.-]`)
	pageSizeRE = regexp.MustCompile(`^[0-9]+k$`)
)

// classify reads series and flavour off a linux-image-<release> entry.
func classify(e debian.Entry, arch string) (Offer, bool) {
	release, ok := strings.CutPrefix(e.Name, "linux-image-")
	if !ok || strings.HasSuffix(release, "-dbg") || strings.HasSuffix(release, "-unsigned") || e.IsMeta() {
		return Offer{}, false
	}
	m := seriesRE.FindStringSubmatch(release)
	if m == nil {
		return Offer{}, false
	}
	i := strings.LastIndex(release, "-"+arch)
	if i < 0 {
		return Offer{}, false
	}
	flavour := "generic"
	if tail := release[i+len(arch)+1:]; tail != "" {
		flavour = strings.TrimPrefix(tail, "-") // arm64-16k
		if !pageSizeRE.MatchString(flavour) {
			return Offer{}, false // -signed-template
		}
	} else if j := strings.LastIndex(release[:i], "-"); j >= 0 && j+1 < i && !isDigitByte(release[j+1]) {
		flavour = release[j+1 : i]
	}
	return Offer{Series: m[1], Arch: arch, Flavour: flavour, Release: release, Version: e.Version}, true
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }
