package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// bpfmatrixTest runs `bpfmatrix test` in dir with args and returns its
// exit code, stdout, stderr and the JSON results it wrote.
func bpfmatrixTest(t *testing.T, dir string, args ...string) (code int, stdout, stderr string, res *results.Result) {
	t.Helper()
	bin := buildBpfmatrix(t)
	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	cmd := exec.Command(bin, append([]string{"test", "--lock", lock, "--json", jsonPath, "--quiet"}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errorsAs(err, &exit) {
		t.Fatalf("bpfmatrix test: %v", err)
	}
	code = cmd.ProcessState.ExitCode()
	if b, err := os.ReadFile(jsonPath); err == nil {
		res = &results.Result{}
		require.NoError(t, json.Unmarshal(b, res))
	}
	t.Logf("bpfmatrix test %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String(), res
}

// cells maps each row of one column to its cell.
func cells(k results.KernelResult) map[string]results.TestResult {
	out := map[string]results.TestResult{}
	for _, t := range k.Tests {
		out[t.ID()] = t
	}
	return out
}

// TestTestCommand runs `bpfmatrix test` on the fixture module
// (testdata/usertest) on one kernel: a passing package that reads its
// testdata and bpfmatrix.yaml's env, a failing test, a test whose rule the
// kernel contradicts, a package that does not build, one without tests.
func TestTestCommand(t *testing.T) {
	requireExecVMs(t)
	dir, err := filepath.Abs("testdata/usertest")
	require.NoError(t, err)
	cover := filepath.Join(t.TempDir(), "cover.out")
	code, stdout, stderr, res := bpfmatrixTest(t, dir, "--kernels", "debian-6.12", "--vms-per-kernel", "2", "--", "-short", "-coverprofile", cover)
	assert.Equal(t, exitFailed, code, "a failing test, an unexpected cell and a broken package fail the run")

	// The compiler's message, naming the package.
	assert.Contains(t, stderr, "bpfmatrix: package broken does not build for amd64:")
	assert.Contains(t, stderr, `"not an int"`, "the compiler's own message")
	assert.Contains(t, stderr, "1 package(s) do not build: broken (amd64)")
	assert.Contains(t, stderr, "rule for pass/TestNoSuchTest, but no such test ran", "a rule of a test that does not exist is a warning with its name")

	require.NotNil(t, res, "results written")
	assert.Equal(t, results.Schema, res.Schema)
	if assert.NotNil(t, res.Prepare, "the host's part before the VMs") {
		assert.Greater(t, res.Prepare.Build, 0.0, "go test -c of the packages")
		assert.Greater(t, res.Prepare.Images, 0.0, "the disk images")
	}
	assert.Equal(t, []string{"expect", "fail", "pass"}, res.Suites, "one suite per package with tests that builds (not notests)")
	require.Len(t, res.Kernels, 1)
	k := res.Kernels[0]
	assert.Equal(t, results.StatusOK, k.Status, k.Error)
	c := cells(k)

	pass := c["pass/TestPass"]
	assert.Equal(t, results.Pass, pass.Result, "runs in its package directory with bpfmatrix.yaml's env: %s", pass.Output)
	assert.Equal(t, "example.com/usertest/pass", pass.Package)
	require.NotNil(t, pass.Expect)
	assert.True(t, pass.Expect.Met)
	assert.Equal(t, "bpfmatrix.yaml:14: version >= 5.10", pass.Expect.Source)
	assert.Equal(t, results.Pass, c["pass/TestSub/one"].Result, "subtests are rows")
	assert.Equal(t, results.Pass, c["pass/TestSub/two"].Result)
	assert.Equal(t, results.Skip, c["pass/TestShort"].Result, "-short reached the binary")
	assert.Equal(t, results.Pass, c["pass/TestBash"].Result, "the guest has /bin/bash: %s", c["pass/TestBash"].Output)
	// The kernel's three packages share two VMs, and each
	// package checks that its VM is the machine asked for.
	require.Len(t, k.VMs, 2, "--vms-per-kernel 2: two VMs of the kernel")
	for _, v := range k.VMs {
		assert.Equal(t, results.StatusOK, v.Status)
		assert.NotEmpty(t, v.Suites)
	}
	for _, p := range []string{"expect", "fail", "pass"} {
		m := c[p+"/TestMachine"]
		assert.Equal(t, results.Pass, m.Result, "%s's VM: CPUs, clocksource, config, modules: %s", p, m.Output)
	}

	fail := c["fail/TestFail"]
	assert.Equal(t, results.Fail, fail.Result)
	assert.Contains(t, fail.Output, "deliberate failure: got 1, want 2")
	assert.Equal(t, results.Pass, c["fail/TestFine"].Result, "the rest of a failing package runs")

	unexpected := c["expect/TestNewKernel"]
	assert.Equal(t, results.Pass, unexpected.Result)
	require.NotNil(t, unexpected.Expect)
	assert.False(t, unexpected.Expect.Met, "the rule says unsupported, the kernel passed it")
	assert.Equal(t, results.Unsupported, unexpected.Expect.Outcome)
	assert.Equal(t, 1, res.Unexpected())

	broken := c["broken/(build)"]
	assert.Equal(t, results.Fail, broken.Result)
	assert.Contains(t, broken.Output, `"not an int"`)
	for id := range c {
		assert.False(t, strings.HasPrefix(id, "notests/"), "a package without tests has no rows: %s", id)
	}

	// The coverage profiles came back from the guest, merged into one.
	profile, err := os.ReadFile(cover)
	require.NoError(t, err, "-coverprofile written on the host")
	assert.True(t, strings.HasPrefix(string(profile), "mode: set\n"), "%s", profile)
	assert.Contains(t, string(profile), "example.com/usertest/pass/pass.go:4.", "the block TestPass ran")
	assert.Equal(t, 1, strings.Count(string(profile), "mode:"), "one merged profile")

	// The terminal matrix is the same report as run's.
	for _, row := range []string{"pass/TestPass", "fail/TestFail", "expect/TestNewKernel", "broken/(build)"} {
		assert.Contains(t, stdout, row)
	}
}

// TestTestCommandNotAModule: outside a Go module, a usage error that says
// so, before anything is built or booted.
func TestTestCommandNotAModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bpfmatrix")
	}
	code, _, stderr, res := bpfmatrixTest(t, t.TempDir(), "--kernels", "debian-6.12")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "is not in a Go module (no go.mod there or above)")
	assert.Nil(t, res, "nothing written")
}

// TestExampleMatrix runs the example module (examples/) on its
// bpfmatrix.yaml's kernels, the default matrix: probe/TestEntry must use
// the kprobe fallback on arm64 5.10 and 6.1, which have no BPF trampoline,
// and fentry on every other kernel, as the file's rule says.
func TestExampleMatrix(t *testing.T) {
	requireExecVMs(t)
	code, _, _, res := bpfmatrixTest(t, exampleDir(t), "./probe")
	require.NotNil(t, res)
	assert.Equal(t, exitOK, code, "every cell as bpfmatrix.yaml says")
	want := map[string]string{
		"debian-5.10": "fentry", "debian-6.1": "fentry", "debian-6.12": "fentry", "debian-7.2": "fentry",
		"debian-5.10-arm64": "kprobe", "debian-6.1-arm64": "kprobe", "debian-6.12-arm64": "fentry",
	}
	got := map[string]string{}
	for _, k := range res.Kernels {
		e := cells(k)["probe/TestEntry"]
		assert.Equal(t, results.Pass, e.Result, "%s: %s", k.Kernel.Name, e.Output)
		got[k.Kernel.Name], _, _ = strings.Cut(e.Mechanism, " ")
		if got[k.Kernel.Name] == "kprobe" {
			assert.Contains(t, e.Mechanism, "kprobe (fallback: fentry: ", k.Kernel.Name)
		}
		assert.Equal(t, 3, e.Events, k.Kernel.Name)
	}
	assert.Equal(t, want, got)
}
