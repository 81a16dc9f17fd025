// Package apt is the apt-archive source of kernels: which Debian or Ubuntu
// archive serves a catalog entry, the newest kernel packages of an entry
// (pinned as a lock.Entry), and what a Debian mirror offers. Package debian
// is the archive client underneath.
package apt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/lock"
)

// Environment variables that name the archives (see Options).
const (
	// EnvMirror is the base URL of the Debian mirror.
	EnvMirror = "BPFMATRIX_DEBIAN_MIRROR"
	// EnvSecurityMirror is the Debian security archive (default: apt's
	// -security source, else the mirror with /debian replaced by
	// /debian-security).
	EnvSecurityMirror = "BPFMATRIX_DEBIAN_SECURITY_MIRROR"
	// EnvUbuntuMirror is the base URL of the Ubuntu archive for amd64
	// kernels.
	EnvUbuntuMirror = "BPFMATRIX_UBUNTU_MIRROR"
	// EnvUbuntuPortsMirror is the base URL of the Ubuntu archive for the
	// other architectures (Ubuntu's "ports" archive).
	EnvUbuntuPortsMirror = "BPFMATRIX_UBUNTU_PORTS_MIRROR"
)

// Options names the archives. The zero value is usable.
type Options struct {
	// Mirror is the Debian mirror base URL. Default: $BPFMATRIX_DEBIAN_MIRROR,
	// else the mirror configured for apt (see debian.MirrorFromAPT). It is
	// only resolved when a network operation needs it.
	Mirror string
	// SecurityMirror is the Debian security archive searched for the
	// catalog's Security suites. Default: $BPFMATRIX_DEBIAN_SECURITY_MIRROR,
	// else apt's -security source, else Mirror with a final /debian
	// replaced by /debian-security; if none applies the security suites
	// are not searched.
	SecurityMirror string
	// UbuntuMirror is the Ubuntu archive (Spec.Distro "ubuntu"). Default:
	// $BPFMATRIX_UBUNTU_MIRROR, or $BPFMATRIX_UBUNTU_PORTS_MIRROR for
	// architectures other than amd64.
	UbuntuMirror string
	// APTRoot is the root directory whose apt configuration is consulted
	// when no mirror is set. Default "/".
	APTRoot string
	// HTTPClient is used for all requests. Default: http.DefaultClient.
	HTTPClient *http.Client
}

// Archives are the apt archives kernels come from. They are safe for
// concurrent use.
type Archives struct {
	opts      Options
	client    *http.Client
	mirrorMu  sync.Mutex
	mirrorURL string
}

// New returns the archives opts names.
func New(opts Options) *Archives {
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	return &Archives{opts: opts, client: client, mirrorURL: strings.TrimRight(opts.Mirror, "/")}
}

// Mirror returns the Debian mirror in use, resolving the default on first
// use. The error wraps debian.ErrNoMirror if none is configured.
func (a *Archives) Mirror() (string, error) {
	a.mirrorMu.Lock()
	defer a.mirrorMu.Unlock()
	if a.mirrorURL != "" {
		return a.mirrorURL, nil
	}
	if m := os.Getenv(EnvMirror); m != "" {
		a.mirrorURL = strings.TrimRight(m, "/")
		return a.mirrorURL, nil
	}
	root := a.opts.APTRoot
	if root == "" {
		root = "/"
	}
	m, err := debian.MirrorFromAPT(root)
	if err != nil {
		return "", err
	}
	a.mirrorURL = m
	return m, nil
}

// securityMirror returns the Debian security archive, or "" if none is
// known.
func (a *Archives) securityMirror() string {
	if m := strings.TrimRight(a.opts.SecurityMirror, "/"); m != "" {
		return m
	}
	if m := os.Getenv(EnvSecurityMirror); m != "" {
		return strings.TrimRight(m, "/")
	}
	if a.opts.Mirror == "" && os.Getenv(EnvMirror) == "" {
		root := a.opts.APTRoot
		if root == "" {
			root = "/"
		}
		if m, err := debian.SecurityMirrorFromAPT(root); err == nil {
			return m
		}
	}
	if m, err := a.Mirror(); err == nil && strings.HasSuffix(m, "/debian") {
		return m + "-security"
	}
	return ""
}

// For returns the base URL of the archive that serves spec's
// packages: archive "" (the main one) or lock.ArchiveSecurity.
func (a *Archives) For(spec catalog.Spec, archive string) (string, error) {
	if spec.Distro == "ubuntu" {
		m, env := a.opts.UbuntuMirror, EnvUbuntuMirror
		if spec.Arch != "amd64" {
			env = EnvUbuntuPortsMirror
		}
		if m == "" {
			m = os.Getenv(env)
		}
		if m == "" {
			return "", fmt.Errorf("%w: kernel %s needs an Ubuntu archive: set %s to the archive's base URL (arm64 lives in Ubuntu's ports archive)", debian.ErrNoMirror, spec.Name, env)
		}
		return strings.TrimRight(m, "/"), nil // security suites live in the same archive
	}
	if archive == lock.ArchiveSecurity {
		if m := a.securityMirror(); m != "" {
			return m, nil
		}
		return "", fmt.Errorf("%w: kernel %s is pinned to the security archive, and none is configured; set %s", debian.ErrNoMirror, spec.Name, EnvSecurityMirror)
	}
	return a.Mirror()
}

// candidate is a kernel found in one archive's index.
type candidate struct {
	suite, archive string
	res            *debian.Resolved
	err            error
}

// Resolve finds the newest kernel of spec in its suite and, if it has one,
// its security suite (both indexes fetched at once).
func (a *Archives) Resolve(ctx context.Context, spec catalog.Spec) (lock.Entry, error) {
	cands := []candidate{{suite: spec.Suite}}
	if spec.Security != "" {
		if _, err := a.For(spec, lock.ArchiveSecurity); err == nil {
			cands = append(cands, candidate{suite: spec.Security, archive: lock.ArchiveSecurity})
		}
	}
	var wg sync.WaitGroup
	for i := range cands {
		c := &cands[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			mirror, err := a.For(spec, c.archive)
			if err != nil {
				c.err = err
				return
			}
			component := spec.Component
			if component == "" {
				component = "main"
			}
			idx, err := debian.FetchComponentIndex(ctx, a.client, mirror, c.suite, component, spec.Arch)
			if err != nil {
				c.err = fmt.Errorf("kernel %s: %w", spec.Name, err)
				return
			}
			if c.res, err = idx.Resolve(spec.Version, spec.Naming()); err != nil {
				c.err = fmt.Errorf("kernel %s: %w", spec.Name, err)
			}
		}()
	}
	wg.Wait()
	// The newest candidate whose packages the archive really serves.
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.err != nil || b.err != nil {
			return a.err == nil && b.err != nil
		}
		return debian.CompareVersions(a.res.Version, b.res.Version) > 0
	})
	var best *candidate
	var missing []string
	for i := range cands {
		c := &cands[i]
		if c.err != nil {
			// A suite without this series is no failure while the
			// other has it; a broken archive is.
			if errors.Is(c.err, debian.ErrNoKernel) {
				continue
			}
			return lock.Entry{}, c.err
		}
		if best != nil {
			continue
		}
		mirror, _ := a.For(spec, c.archive)
		if err := a.checkPackages(ctx, mirror, c.res.Packages); err != nil {
			missing = append(missing, fmt.Sprintf("%s %s in %s: %v", c.res.Release, c.res.Version, c.suite, err))
			continue
		}
		best = c
	}
	if best == nil && len(missing) > 0 {
		return lock.Entry{}, fmt.Errorf("%w: kernel %s: the indexes list packages the archive does not serve: %s; retry later (the mirror may be syncing) or use another mirror",
			debian.ErrNotFound, spec.Name, strings.Join(missing, "; "))
	}
	if best == nil {
		for _, c := range cands {
			if c.suite == spec.Suite && c.err != nil {
				return lock.Entry{}, c.err // the main suite's ErrNoKernel
			}
		}
		return lock.Entry{}, cands[0].err
	}
	pkgs := append([]debian.Package(nil), best.res.Packages...)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return lock.Entry{Suite: best.suite, Archive: best.archive, Arch: spec.Arch, Release: best.res.Release, Version: best.res.Version, Packages: pkgs}, nil
}

// checkPackages returns an error matching debian.ErrNotFound if mirror
// lacks one of pkgs.
func (a *Archives) checkPackages(ctx context.Context, mirror string, pkgs []debian.Package) error {
	for _, p := range pkgs {
		if err := debian.Check(ctx, a.client, mirror, p); err != nil {
			return err
		}
	}
	return nil
}
