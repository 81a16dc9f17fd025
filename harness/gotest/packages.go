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
// into dir (go test -c, in parallel up to parallel), each named by
// [Package.BinaryName]. It returns the binaries' paths by package name
// and the packages that do not build.
func BuildBinaries(ctx context.Context, module, goarch, dir string, pkgs []Package, flags []string, parallel int, onBuild func(Build)) (map[string]string, []*BuildError) {
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	race := slices.Contains(flags, "-race")
	var mu sync.Mutex
	bins := map[string]string{}
	var failed []*BuildError
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, p := range pkgs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			bin := filepath.Join(dir, p.BinaryName())
			args := append(append([]string{"test", "-c", "-o", bin}, flags...), p.ImportPath)
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Dir, cmd.Env = module, goEnv(goarch, race)
			out, err := cmd.CombinedOutput()
			b := Build{Package: p.Name, GOARCH: goarch, Seconds: time.Since(t0).Seconds()}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				if _, serr := os.Stat(bin); serr != nil {
					err, out = serr, []byte("go test -c wrote no test binary")
				}
			}
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
			if onBuild != nil {
				onBuild(b)
			}
		})
	}
	wg.Wait()
	slices.SortFunc(failed, func(a, b *BuildError) int { return strings.Compare(a.Package, b.Package) })
	return bins, failed
}
