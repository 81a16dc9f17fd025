package gotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ModuleRoot is the directory of the Go module that dir belongs to: the
// nearest parent (or dir itself) with a go.mod. ok is false when there is
// none.
func ModuleRoot(dir string) (root string, ok bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// GoRoot is the Go installation whose source a test binary's go/build
// and go/importer read: $GOROOT if set, else `go env GOROOT`, else the one
// bpfmatrix was built with. "" if none is found.
func GoRoot() string {
	if g := os.Getenv("GOROOT"); g != "" {
		return g
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if g := strings.TrimSpace(string(out)); g != "" {
			return g
		}
	}
	//lint:ignore SA1019 the last resort: the toolchain bpfmatrix was built with
	return runtime.GOROOT()
}
