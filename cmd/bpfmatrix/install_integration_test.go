package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// testVersion is the version this tree is published as, in a module proxy
// of the test's own.
const testVersion = "v0.1.0-bpfmatrixtest"

// TestGoInstalledExec installs bpfmatrix the way a user does, `go install
// github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix@VERSION` (from a file-based
// module proxy holding this tree), and runs the example module's tests
// through it from a copy of the example module outside this checkout: its
// counter package depends on neither bpfmatrix nor u-root. The guest program
// is then built from the module at that version, fetched with `go mod
// download`.
func TestGoInstalledExec(t *testing.T) {
	requireExecVMs(t)
	root, err := filepath.Abs("../..")
	require.NoError(t, err)

	proxy := t.TempDir()
	dir := filepath.Join(proxy, "github.com", "bpfmatrix", "bpfmatrix", "@v")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "list"), []byte(testVersion+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, testVersion+".info"), []byte(`{"Version":"`+testVersion+`","Time":"2026-11-24T00:00:00Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, testVersion+".mod"), gomod, 0o644))
	zf, err := os.Create(filepath.Join(dir, testVersion+".zip"))
	require.NoError(t, err)
	require.NoError(t, zip.CreateFromDir(zf, module.Version{Path: "github.com/bpfmatrix/bpfmatrix", Version: testVersion}, root))
	require.NoError(t, zf.Close())

	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	require.NoError(t, err)
	env := append(os.Environ(),
		"GOPROXY=file://"+proxy+","+strings.TrimSpace(string(upstream)),
		"GONOSUMDB=github.com/bpfmatrix/bpfmatrix", "GOFLAGS=", "CGO_ENABLED=0",
		"GOBIN="+t.TempDir(),
	)
	gobin := strings.TrimPrefix(env[len(env)-1], "GOBIN=")

	install := exec.Command("go", "install", "github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix@"+testVersion)
	install.Dir = t.TempDir() // outside any module
	install.Env = env
	out, err := install.CombinedOutput()
	require.NoError(t, err, "go install: %s", out)
	bin := filepath.Join(gobin, "bpfmatrix")

	// A copy of the example module, far from this checkout.
	example := filepath.Join(t.TempDir(), "example")
	cp := exec.Command("cp", "-r", exampleDir(t), example)
	out, err = cp.CombinedOutput()
	require.NoError(t, err, "%s", out)

	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	// ./counter only: examples/probe imports bpfmatrix's record package
	// through a replace of this checkout, which the copy does not have.
	test := exec.Command("go", "test", "-count=1", "-v", "-exec", bin+" exec --kernels debian-6.1 --lock "+lock, "./counter")
	test.Dir = example
	test.Env = append(env, "EXAMPLE_GREETING=hello from the host")
	out, err = test.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err, "go test -exec with the installed bpfmatrix")
	assert.Contains(t, string(out), "=== bpfmatrix: kernel debian-6.1")
	assert.Contains(t, string(out), "--- PASS")
	assert.NotContains(t, string(out), "--- SKIP", "the example's tests ran in the guest, none skipped")
}
