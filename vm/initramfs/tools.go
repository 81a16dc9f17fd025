package initramfs

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// ShellModule is the module the shell's commands come from, and
// ShellVersion its version when the running binary does not say (see
// [ShellPackages]).
const (
	ShellModule  = "github.com/u-root/u-root"
	ShellVersion = "v0.16.0"
)

// ShellPackages are the commands of the shell archive: u-root's gosh and a
// few tools to look around a failing kernel by hand.
var ShellPackages = []string{
	"cmds/core/gosh", "cmds/core/ls", "cmds/core/cat", "cmds/core/dmesg",
	"cmds/core/mount", "cmds/core/ps", "cmds/core/lsmod", "cmds/core/insmod",
	"cmds/core/rmmod", "cmds/core/uname", "cmds/core/echo", "cmds/core/grep",
	"cmds/core/mkdir", "cmds/core/printenv", "cmds/core/poweroff",
}

// ShellTags are the build tags of the shell's commands. goshliner gives
// gosh the line editor of github.com/peterh/liner instead of bubbline:
// bubbline redraws the whole line on every key and queries the terminal's
// colours at start, which under TCG made each key take 15-150 ms to echo
// and delayed the prompt by 10 s on a terminal that does not answer.
var ShellTags = []string{"goshliner"}

// ShellPath is the shell in the guest.
const ShellPath = "/bin/gosh"

// Tools builds packages of module at version with the build tags for the
// guest, in a module of its own under the cache (so the packages need not
// be in bpfmatrix's go.sum), and returns the directory holding the
// binaries, one per package named after its last element. The result is
// cached.
func (b *Builder) Tools(ctx context.Context, module, version string, pkgs, tags []string) (string, error) {
	h, sum := newHasher()
	h.str(format)
	h.str(runtime.Version())
	h.str(b.GOARCH)
	h.str(module + "@" + version)
	for _, p := range pkgs {
		h.str(p)
	}
	for _, t := range tags {
		h.str("tag " + t)
	}
	out := filepath.Join(b.CacheDir, fmt.Sprintf("tools-%s-%s", b.GOARCH, sum()))
	if _, err := os.Stat(filepath.Join(out, ".complete")); err == nil {
		return out, nil
	}
	b.logf("building %d commands of %s@%s for %s", len(pkgs), module, version, b.GOARCH)
	work, err := b.tempDir(".build-tools-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	gomod := fmt.Sprintf("module bpfmatrix.invalid/tools\n\ngo 1.24\n\nrequire %s %s\n", module, version)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	var full []string
	for _, p := range pkgs {
		full = append(full, path.Join(module, p))
	}
	tb := *b
	tb.SourceDir = work
	// go get resolves the packages' dependencies into the tool module's
	// go.sum, through the Go module proxy.
	if err := tb.goCmd(ctx, append([]string{"get"}, versioned(full, version)...)...); err != nil {
		return "", fmt.Errorf("%w (building the shell needs the Go module proxy, or a module cache that holds %s@%s and its dependencies)", err, module, version)
	}
	bin := filepath.Join(work, "bin")
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", bin + "/"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if err := tb.goCmd(ctx, append(args, full...)...); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(bin, ".complete"), nil, 0o644); err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	if err := os.Rename(bin, out); err != nil && !isExist(out) {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	return out, nil
}

func versioned(pkgs []string, version string) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p+"@"+version)
	}
	return out
}

// isExist reports whether dir is complete: another build got there first.
func isExist(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ".complete"))
	return err == nil
}

// Shell returns an archive with u-root's shell and the commands of
// [ShellPackages] under /bin, for `bpfmatrix shell`. version is the u-root
// version to build ("" means [ShellVersion]).
func (b *Builder) Shell(ctx context.Context, version string) (string, error) {
	if version == "" {
		version = ShellVersion
	}
	dir, err := b.Tools(ctx, ShellModule, version, ShellPackages, ShellTags)
	if err != nil {
		return "", err
	}
	var entries []Entry
	for _, p := range ShellPackages {
		name := path.Base(p)
		entries = append(entries, Entry{Name: "bin/" + name, Mode: 0o755, Src: filepath.Join(dir, name)})
	}
	entries = append(entries, Entry{Name: "bin/sh", Link: "gosh"})
	archive := dir + ".cpio"
	if _, err := os.Stat(archive); err == nil {
		return archive, nil
	}
	if err := WriteArchive(archive, entries); err != nil {
		return "", err
	}
	return archive, nil
}
