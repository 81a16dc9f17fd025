package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/vm"
)

// execKernelNames are the two kernels the example module is tested on.
var execKernelNames = []string{"debian-6.1", "debian-5.10"}

// requireExecVMs skips (or, with CI=true, fails) when VMs cannot run.
func requireExecVMs(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots VMs; run without -short")
	}
	if _, err := exec.LookPath(vm.Arches["x86_64"].QEMU); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and QEMU is missing: %v (install %s)", err, vm.Arches["x86_64"].Package)
		}
		t.Skipf("QEMU is missing (%v): run `make deps` or `sudo apt-get install -y %s`", err, vm.Arches["x86_64"].Package)
	}
}

// buildBpfmatrix builds this command into a temporary directory, as `go
// install` would, and returns its path.
func buildBpfmatrix(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bpfmatrix")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// exampleDir is the example module, a module of its own.
func exampleDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../examples")
	require.NoError(t, err)
	return dir
}

// execFlag is the -exec value of the example's go test runs. The lock file
// is the repository's, so that the runs use the kernels the rest of the
// tests use.
func execFlag(t *testing.T, bin string) string {
	t.Helper()
	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	return bin + " exec --kernels " + strings.Join(execKernelNames, ",") + " --lock " + lock
}

// goTestIn runs name args... in the example module with env added and
// returns its combined output and whether it succeeded.
func goTestIn(t *testing.T, env []string, name string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = exampleDir(t)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errorsAs(err, &exit) {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out.String())
	return out.String(), err == nil
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestGoTestExec runs the example module's tests through `go test -exec` on
// two kernels: they pass on both, read testdata/ and see a host variable;
// a failing test fails go test and the summary names the kernels; go test
// -json output stays parsable, with the kernel labels as output events.
func TestGoTestExec(t *testing.T) {
	requireExecVMs(t)
	bin := buildBpfmatrix(t)
	greet := []string{"EXAMPLE_GREETING=hello from the host"}

	out, ok := goTestIn(t, greet, "go", "test", "-count=1", "-v", "-exec", execFlag(t, bin), "./counter")
	require.True(t, ok, "go test -exec must pass")
	for _, k := range execKernelNames {
		assert.Contains(t, out, "=== bpfmatrix: kernel "+k+" (", "output is labelled by kernel")
		assert.Contains(t, out, "=== bpfmatrix: kernel "+k+": ok, exit 0")
		assert.Contains(t, out, `BPFMATRIX_KERNEL="`+k+`"`, "the eBPF test ran in the VM of %s", k)
	}
	for _, test := range []string{"TestCountsDatagrams", "TestTestdata", "TestEnv"} {
		assert.Equal(t, len(execKernelNames), strings.Count(out, "--- PASS: "+test+" "), "%s passes on every kernel", test)
	}
	assert.NotContains(t, out, "--- SKIP: TestEnv", "the host's EXAMPLE_GREETING reaches the guest")

	out, ok = goTestIn(t, append(greet, "EXAMPLE_FAIL=1"), "go", "test", "-count=1", "-json", "-exec", execFlag(t, bin), "./counter")
	require.False(t, ok, "a failing test must fail go test")
	var fails, labels int
	var summary string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "go test -json line %q is not JSON", sc.Text())
		switch {
		case ev.Action == "fail" && ev.Test == "TestFailOnRequest":
			fails++
		case ev.Action == "output" && ev.Test == "" && strings.HasPrefix(ev.Output, "=== bpfmatrix: kernel "):
			labels++
		case ev.Action == "output" && strings.Contains(ev.Output, "failed on"):
			summary = ev.Output
		}
	}
	assert.Equal(t, len(execKernelNames), fails, "TestFailOnRequest fails once per kernel")
	assert.Equal(t, 2*len(execKernelNames), labels, "a start and an end label per kernel, as package output")
	for _, k := range execKernelNames {
		assert.Contains(t, summary, k+" (exit 1)", "the summary names the failing kernel")
	}
}

// TestGotestsumExec runs the example module through gotestsum, which reads
// go test -json: the tests pass on both kernels. gotestsum is looked up on
// PATH and in GOBIN (go install gotest.tools/gotestsum@latest).
func TestGotestsumExec(t *testing.T) {
	requireExecVMs(t)
	gotestsum, err := exec.LookPath("gotestsum")
	if err != nil {
		gobin, _ := exec.Command("go", "env", "GOPATH").Output()
		gotestsum = filepath.Join(strings.TrimSpace(string(gobin)), "bin", "gotestsum")
		if _, err := os.Stat(gotestsum); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("CI=true and gotestsum is missing: go install gotest.tools/gotestsum@latest")
			}
			t.Skip("gotestsum is missing: go install gotest.tools/gotestsum@latest")
		}
	}
	bin := buildBpfmatrix(t)
	jsonFile := filepath.Join(t.TempDir(), "events.json")
	out, ok := goTestIn(t, []string{"EXAMPLE_GREETING=hello from the host"}, gotestsum, "--format", "standard-verbose", "--jsonfile", jsonFile,
		"--", "-count=1", "-exec", execFlag(t, bin), "./counter")
	require.True(t, ok, "gotestsum must pass")
	assert.Contains(t, out, "DONE")
	b, err := os.ReadFile(jsonFile)
	require.NoError(t, err)
	assert.Equal(t, len(execKernelNames), strings.Count(string(b), `"Action":"pass","Package":"example.com/bpfmatrix-example/counter","Test":"TestCountsDatagrams"`))
}

// TestShell drives `bpfmatrix shell` through a pseudo-terminal: it waits
// for the prompt, runs a command that prints a marker computed in the guest,
// checks the kernel, runs the command again from history (up arrow), checks
// that bpffs is mounted, and quits with Ctrl-].
func TestShell(t *testing.T) {
	requireExecVMs(t)
	bin := buildBpfmatrix(t)
	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	cmd := exec.Command(bin, "shell", "--kernel", "debian-6.1", "--lock", lock, "--timeout", "5m")
	cmd.Dir = t.TempDir() // outside any module: the source is found from the binary
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	require.NoError(t, err)
	defer ptmx.Close()
	defer cmd.Process.Kill()

	var out lockedBuffer
	go io.Copy(&out, ptmx)
	waitUntil := func(what string, d time.Duration, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %s; terminal so far:\n%s", what, d, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor := func(what string, d time.Duration) {
		t.Helper()
		waitUntil(fmt.Sprintf("%q", what), d, func(s string) bool { return strings.Contains(s, what) })
	}
	waitFor("$ ", 4*time.Minute) // gosh's prompt is up
	// The marker is built by the guest's shell, so seeing it proves the
	// command ran there rather than being echoed. A line typed before the
	// shell has set up its terminal can be flushed away: type it again if
	// the terminal stayed silent for 10 s. While the guest is still echoing
	// (slow on a busy machine under TCG) it is not typed again.
	const marker = "MARK-debian-6.1-END"
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), marker) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 3 minutes; terminal so far:\n%s", marker, out.String())
		}
		_, err = ptmx.Write([]byte("echo MARK-$BPFMATRIX_KERNEL-END; cat /proc/sys/kernel/osrelease\r"))
		require.NoError(t, err)
		for seen, quiet := out.Len(), time.Now(); time.Since(quiet) < 10*time.Second && !strings.Contains(out.String(), marker); {
			time.Sleep(100 * time.Millisecond)
			if n := out.Len(); n != seen {
				seen, quiet = n, time.Now()
			}
		}
	}
	waitFor("6.1.0-", time.Minute)
	// The line editor keeps history: the up arrow brings the command back.
	ran := strings.Count(out.String(), marker)
	_, err = ptmx.Write([]byte("\x1b[A\r"))
	require.NoError(t, err)
	waitUntil("second marker after the up arrow", time.Minute, func(s string) bool { return strings.Count(s, marker) > ran })
	// bpffs is mounted as for the suites (the echoed command line has no "rw").
	_, err = ptmx.Write([]byte("grep ' /sys/fs/bpf bpf ' /proc/mounts\r"))
	require.NoError(t, err)
	waitFor("/sys/fs/bpf bpf rw", time.Minute)
	_, err = ptmx.Write([]byte{quitKey})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "Ctrl-] ends the session cleanly")
	case <-time.After(time.Minute):
		t.Fatalf("bpfmatrix shell did not quit on Ctrl-]; terminal:\n%s", out.String())
	}
	// The copy from the terminal may still be catching up with the last
	// bytes the process wrote before it exited.
	waitFor("bpfmatrix: interrupted", 10*time.Second)
}
