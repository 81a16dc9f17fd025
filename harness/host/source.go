package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// Module is the bpfmatrix module path.
const Module = "github.com/bpfmatrix/bpfmatrix"

// ErrNoSource is returned by [FindSource] when no bpfmatrix source tree can
// be found or downloaded.
var ErrNoSource = errors.New("bpfmatrix source not found")

// IsSource reports whether dir is the root of the bpfmatrix module.
func IsSource(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(first) == "module "+Module
}

// FindSource returns the root of a bpfmatrix source tree to build the guest
// program from, trying in order:
//
//  1. dir, if not empty (an error if it is not the bpfmatrix module);
//  2. the working directory and its parents (a checkout);
//  3. the checkout this binary was built from, when its source files are
//     still where the build saw them (go build, go run, go test in a
//     checkout);
//  4. the module at the version recorded in this binary's build information
//     (`go install github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix@VERSION`,
//     or a program that depends on bpfmatrix): `go mod download` puts it in
//     the module cache, read-only, and the guest is built from there.
//
// Nothing else needs bpfmatrix or u-root: the module in which bpfmatrix is
// run does not matter.
func FindSource(ctx context.Context, dir string) (string, error) {
	if dir != "" {
		if !IsSource(dir) {
			return "", fmt.Errorf("%w: %s has no go.mod of %s: pass the root of a bpfmatrix checkout", ErrNoSource, dir, Module)
		}
		return filepath.Abs(dir)
	}
	if wd, err := os.Getwd(); err == nil {
		if d := sourceAbove(wd); d != "" {
			return d, nil
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if d := sourceAbove(filepath.Dir(file)); d != "" {
			return d, nil
		}
	}
	version, replaced := moduleVersion()
	if replaced != "" && IsSource(replaced) {
		return replaced, nil
	}
	if version == "" || version == "(devel)" {
		return "", fmt.Errorf("%w: this binary was built from a bpfmatrix checkout that is no longer at the path it was built at, and records no version to download: run it from inside the checkout, pass --source DIR, or install a released version (go install %s/cmd/bpfmatrix@latest)", ErrNoSource, Module)
	}
	return downloadSource(ctx, version)
}

// sourceAbove returns the first of d and its parents that is the bpfmatrix
// module, or "".
func sourceAbove(d string) string {
	for {
		if IsSource(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// moduleVersion returns the version of bpfmatrix this binary was built
// with, and the directory of a local replacement if there is one.
func moduleVersion() (version, replacedDir string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	if bi.Main.Path == Module {
		return bi.Main.Version, ""
	}
	for _, d := range bi.Deps {
		if d.Path != Module {
			continue
		}
		if d.Replace != nil {
			if d.Replace.Version == "" {
				return "", d.Replace.Path
			}
			return d.Replace.Version, ""
		}
		return d.Version, ""
	}
	return "", ""
}

// downloadSource fetches bpfmatrix at version into the module cache and
// returns its directory.
func downloadSource(ctx context.Context, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", Module+"@"+version)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir() // outside any module
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(stdout.Bytes(), &info)
	if err != nil || info.Dir == "" {
		msg := strings.TrimSpace(info.Error + " " + stderr.String())
		if err != nil && msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%w: go mod download %s@%s: %s (the guest program is built from bpfmatrix's source: make the Go module proxy reachable, or pass --source DIR of a checkout)", ErrNoSource, Module, version, msg)
	}
	if !IsSource(info.Dir) {
		return "", fmt.Errorf("%w: go mod download gave %s, which is not the bpfmatrix module", ErrNoSource, info.Dir)
	}
	return info.Dir, nil
}

// ModuleLock is the lock file of a command run from the user's module
// (exec, shell): bpfmatrix.lock in the
// working directory or the nearest parent that has one, else next to the
// enclosing go.mod, else in the working directory. go test runs its -exec
// program in each package's directory; this keeps one lock per module.
func ModuleLock() string {
	wd, err := os.Getwd()
	if err != nil {
		return kernels.DefaultLockPath
	}
	modRoot := ""
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, kernels.DefaultLockPath)); err == nil {
			return filepath.Join(d, kernels.DefaultLockPath)
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && modRoot == "" {
			modRoot = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if modRoot != "" {
		return filepath.Join(modRoot, kernels.DefaultLockPath)
	}
	return filepath.Join(wd, kernels.DefaultLockPath)
}
