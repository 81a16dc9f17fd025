package guestgo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// stdCacheDisk returns a Go build cache (GOCACHE) holding the standard
// library of goroot compiled for a Linux guest of goarch without cgo, on
// a disk image at its own path, writable through an overlay. A test that
// runs the go command in the guest (go/importer's default importer runs
// `go list -export` for export data) finds what it needs there instead of
// compiling the standard library under emulation: cilium/ebpf's
// TestIntegerConstraint took 269 s in a TCG guest for that. The cache is
// built once per toolchain and architecture (`go list -export std` with
// the same settings the guest's go command has: GOOS=linux, no C
// compiler so no cgo, no GOFLAGS), then reused as it is, so its image is
// too.
func stdCacheDisk(ctx context.Context, r *runner.Runner, goroot, goarch string) (runner.Disk, error) {
	gobin := filepath.Join(goroot, "bin", "go")
	version, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return runner.Disk{}, fmt.Errorf("harness: %s env GOVERSION: %w", gobin, err)
	}
	v := strings.TrimSpace(string(version))
	dir := filepath.Join(r.CacheDir, "gocache", v+"-linux-"+goarch)
	marker := filepath.Join(dir, ".bpfmatrix-std")
	if _, err := os.Stat(marker); err != nil {
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, gobin, "list", "-export", "-f", "", "std")
		cmd.Dir = filepath.Join(goroot, "src")
		cmd.Env = append(cleanGoEnv(os.Environ()), "GOCACHE="+dir, "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", "GOROOT="+goroot)
		if out, err := cmd.CombinedOutput(); err != nil {
			return runner.Disk{}, fmt.Errorf("harness: compiling the standard library for the guest's Go build cache: %w: %s", err, out)
		}
		if err := atomicfile.WriteBytes(marker, []byte(v+"\n"), 0o644); err != nil {
			return runner.Disk{}, err
		}
		r.Logf("standard library of %s for linux/%s compiled into the guest's Go build cache (%.1fs)", v, goarch, time.Since(t0).Seconds())
	}
	d, err := r.DirDisk(ctx, "gocache", dir, wire.GoCacheDir, true) // one path for every architecture's cache
	if err != nil {
		return runner.Disk{}, err
	}
	return d, nil
}

// CacheDisks is the guest's Go build cache as a list of at most one
// disk: without one (it could not be built, which is logged) the guest's
// go command compiles what it needs itself, slowly but correctly.
func CacheDisks(ctx context.Context, r *runner.Runner, goroot, goarch string) []runner.Disk {
	d, err := stdCacheDisk(ctx, r, goroot, goarch)
	if err != nil {
		r.Logf("no Go build cache for the guest: %v", err)
		return nil
	}
	return []runner.Disk{d}
}

// cleanGoEnv drops the go command's settings from env, which the guest
// does not have either.
func cleanGoEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GO") || strings.HasPrefix(k, "CGO_") || k == "CC" || k == "CXX" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
