package gotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotModule is returned by [ListPackages] for a directory outside a Go
// module.
var ErrNotModule = errors.New("not in a Go module")

// Build is one test binary built on the host.
type Build struct {
	// Package is the package's row name (see [Package.Name]), GOARCH
	// the architecture it was built for.
	Package, GOARCH string
	// Err, if set, is why it did not build: a [*BuildError].
	Err     error
	Seconds float64
}

// BuildError is a package whose test binary does not build, with the
// compiler's message.
type BuildError struct {
	Package, GOARCH string
	Output          string
}

// Error names the package and the architecture, then the compiler's
// message.
func (e *BuildError) Error() string {
	return fmt.Sprintf("package %s does not build for %s:\n%s", e.Package, e.GOARCH, strings.TrimRight(e.Output, "\n"))
}

// Package is one package of the user's module with test files.
type Package struct {
	// ImportPath and Dir are go list's.
	ImportPath, Dir string
	// Name is the package's row prefix in the matrix: its import path
	// relative to the module's ("link", "internal/sys"), the module's
	// last element for its root package.
	Name string
}

// BinaryName is the file name of the package's test binary.
func (p Package) BinaryName() string { return strings.ReplaceAll(p.Name, "/", "-") + ".test" }

// ListPackages returns the packages matching patterns in the module of
// dir that have test files (as a Linux build for goarch sees them), and
// the module's path.
func ListPackages(ctx context.Context, dir, goarch string, patterns []string) (pkgs []Package, module string, err error) {
	root, ok := ModuleRoot(dir)
	if !ok {
		return nil, "", fmt.Errorf("harness: test: %s: %w (no go.mod here or above): run bpfmatrix test in your module", dir, ErrNotModule)
	}
	out, err := goCmd(ctx, dir, goEnv(goarch, false), "list", "-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, "", fmt.Errorf("harness: test: the module of %s: %w", root, err)
	}
	module = strings.TrimSpace(strings.Split(string(out), "\n")[0])
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, patterns...)
	out, err = goCmd(ctx, dir, goEnv(goarch, false), args...)
	if err != nil {
		return nil, "", fmt.Errorf("harness: test: go list %s: %w", strings.Join(patterns, " "), err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || (f[2] == "0" && f[3] == "0") {
			continue // no test files: nothing to run, as go test says
		}
		p := Package{ImportPath: f[0], Dir: f[1], Name: f[0]}
		switch {
		case f[0] == module:
			p.Name = path.Base(module)
		case strings.HasPrefix(f[0], module+"/"):
			p.Name = strings.TrimPrefix(f[0], module+"/")
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, module, nil
}

// goEnv is the environment of a go command that builds for a Linux guest
// of goarch: cgo off unless race (which needs it).
func goEnv(goarch string, race bool) []string {
	cgo := "0"
	if race {
		cgo = "1"
	}
	return append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED="+cgo)
}

// goCmd runs the go command in dir and returns its standard output; the
// error carries its standard error.
func goCmd(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// BuildBinaries builds the test binary of every package for goarch
// into dir, each named by [Package.BinaryName]. It returns the binaries'
// paths by package name and the packages that do not build.
//
// One go command builds them all (go test -c -o DIR, up to parallel
// packages at once): 26 cilium/ebpf packages took 4.6 s so against 6.5 s
// as a go command each, two at a time, since each command loads the
// module's packages again. go test -c -o DIR names a binary after its
// package's last element, so packages that share one go to a second
// command; a package that the command left without a binary (it does not
// build, or the command failed before building) is built again on its
// own, for its own compiler message.
func BuildBinaries(ctx context.Context, module, goarch, dir string, pkgs []Package, flags []string, parallel int, onBuild func(Build)) (map[string]string, []*BuildError) {
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	race := slices.Contains(flags, "-race")
	bins := map[string]string{}
	var failed []*BuildError
	report := func(b Build) {
		if onBuild != nil {
			onBuild(b)
		}
	}
	t0 := time.Now()
	var alone []Package
	for i, group := range distinctExeNames(pkgs) {
		tmp := filepath.Join(dir, fmt.Sprintf(".build-%d", i))
		got := buildGroup(ctx, module, goarch, tmp, group, flags, parallel, race, func(p Package) {
			report(Build{Package: p.Name, GOARCH: goarch, Seconds: time.Since(t0).Seconds()})
		})
		for _, p := range group {
			src, ok := got[p.Name]
			if !ok {
				alone = append(alone, p)
				continue
			}
			bin := filepath.Join(dir, p.BinaryName())
			if err := os.Rename(src, bin); err != nil {
				alone = append(alone, p)
				continue
			}
			bins[p.Name] = bin
		}
		os.RemoveAll(tmp)
	}
	for _, p := range alone {
		if ctx.Err() != nil {
			break
		}
		t1 := time.Now()
		bin := filepath.Join(dir, p.BinaryName())
		args := append(append([]string{"test", "-c", "-o", bin}, flags...), p.ImportPath)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = module, goEnv(goarch, race)
		out, err := cmd.CombinedOutput()
		if err == nil {
			if _, serr := os.Stat(bin); serr != nil {
				err, out = serr, []byte("go test -c wrote no test binary")
			}
		}
		b := Build{Package: p.Name, GOARCH: goarch, Seconds: time.Since(t1).Seconds()}
		if err != nil {
			be := &BuildError{Package: p.Name, GOARCH: goarch, Output: string(out)}
			if len(out) == 0 {
				be.Output = err.Error()
			}
			failed = append(failed, be)
			b.Err = be
		} else {
			bins[p.Name] = bin
		}
		report(b)
	}
	slices.SortFunc(failed, func(a, b *BuildError) int { return strings.Compare(a.Package, b.Package) })
	return bins, failed
}

// exeName is the file go test -c -o DIR gives a package's test binary:
// its last import path element (the one before a major version suffix
// such as /v2), plus .test.
func exeName(importPath string) string {
	elem := path.Base(importPath)
	if dir := path.Dir(importPath); dir != "." && len(elem) > 1 && elem[0] == 'v' && strings.Trim(elem[1:], "0123456789") == "" {
		elem = path.Base(dir)
	}
	return elem + ".test"
}

// distinctExeNames splits pkgs into groups, in order, in which no two
// packages' test binaries have the same exeName.
func distinctExeNames(pkgs []Package) [][]Package {
	var groups [][]Package
	var seen []map[string]bool
	for _, p := range pkgs {
		name := exeName(p.ImportPath)
		i := 0
		for i < len(groups) && seen[i][name] {
			i++
		}
		if i == len(groups) {
			groups, seen = append(groups, nil), append(seen, map[string]bool{})
		}
		groups[i], seen[i][name] = append(groups[i], p), true
	}
	return groups
}

// buildGroup runs one go test -c -o tmp/ for group and returns the
// binaries it wrote, by package name; built is called for each binary as
// it appears.
func buildGroup(ctx context.Context, module, goarch, tmp string, group []Package, flags []string, parallel int, race bool, built func(Package)) map[string]string {
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil
	}
	args := append([]string{"test", "-c", "-p", strconv.Itoa(parallel), "-o", tmp + string(filepath.Separator)}, flags...)
	for _, p := range group {
		args = append(args, p.ImportPath)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = module, goEnv(goarch, race)
	done := make(chan struct{})
	seen := map[string]bool{}
	poll := func() {
		for _, p := range group {
			if seen[p.Name] {
				continue
			}
			if _, err := os.Stat(filepath.Join(tmp, exeName(p.ImportPath))); err == nil {
				seen[p.Name] = true
				built(p)
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				poll()
			}
		}
	})
	cmd.Run() // a package that did not build is built again alone, for its message
	close(done)
	wg.Wait()
	out := map[string]string{}
	for _, p := range group {
		bin := filepath.Join(tmp, exeName(p.ImportPath))
		if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
			if !seen[p.Name] {
				built(p)
			}
			out[p.Name] = bin
		}
	}
	return out
}
