package guestgo

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

func TestGoRootFor(t *testing.T) {
	ctx := context.Background()
	got, err := goRootFor(ctx, t.TempDir(), "/some/goroot", vm.Arch{GOARCH: runtime.GOARCH})
	require.NoError(t, err)
	assert.Equal(t, "/some/goroot", got, "the host's own GOROOT for a guest of its architecture")

	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	_, err = goRootFor(ctx, t.TempDir(), t.TempDir(), vm.Arch{Name: other, GOARCH: other})
	assert.ErrorContains(t, err, "VERSION", "a GOROOT without a version cannot be matched")
	if testing.Short() {
		return
	}
	// The same Go, built for the other architecture, from the module proxy.
	root := os.Getenv("GOROOT")
	if root == "" {
		root = gotest.GoRoot()
	}
	got, err = goRootFor(ctx, t.TempDir(), root, vm.Arch{Name: other, GOARCH: other})
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(got, "bin", "go"))
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&0o111, "the toolchain's go is executable")
	assert.Contains(t, got, "linux-"+other)
}
