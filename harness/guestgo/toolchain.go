package guestgo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/vm"
)

// goRootFor returns a Go installation of the same version as goroot for
// guests of arch: goroot itself for the host's architecture, else Go's own
// toolchain module for the guest's (golang.org/toolchain, through the Go
// module proxy and its checksum database, as `go` fetches toolchains), so
// that a test that runs the go command in the guest finds one that runs.
func goRootFor(ctx context.Context, cacheDir, goroot string, arch vm.Arch) (string, error) {
	if arch.Native() {
		return goroot, nil
	}
	b, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("harness: the Go version of %s: %w", goroot, err)
	}
	version, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	mod := "golang.org/toolchain@v0.0.1-" + version + ".linux-" + arch.GOARCH
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("harness: Go %s for the %s guest (go mod download %s): %w", version, arch.Name, mod, err)
	}
	var dl struct{ Dir, Error string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		return "", fmt.Errorf("harness: go mod download %s: %v %s", mod, err, dl.Error)
	}
	return executableCopy(dl.Dir, filepath.Join(cacheDir, "toolchains", version+".linux-"+arch.GOARCH))
}

// executableCopy copies the toolchain module at src to dst, once, with its
// programs (bin/, pkg/tool/) executable: the module cache keeps no mode
// bits, and the go command marks them so itself when it switches to a
// downloaded toolchain.
func executableCopy(src, dst string) (string, error) {
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(tmp, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		return "", fmt.Errorf("harness: copying the toolchain %s: %w", src, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, statErr := os.Stat(dst); statErr != nil {
			return "", fmt.Errorf("harness: %w", err)
		}
	}
	return dst, nil
}
