package main

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReproduce is the done-when of issue 17's reproduce: a run with
// wrong values injected fails kprobe/TestKretprobe, its text report prints
// the reproduce command under the failing cell, and that command (on the
// run's results file) boots the same kernel, runs that one test verbose,
// prints its failure and exits 1; with --shell the failure is on the
// console of a shell that then takes commands, in the test's directory.
func TestReproduce(t *testing.T) {
	requireExecVMs(t)
	bin := buildBpfmatrix(t)
	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	results := filepath.Join(t.TempDir(), "r.json")
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, "run", "--quiet", "--lock", lock, "--kernels", "debian-6.1", "--profiles", "default",
		"--suite", "^kprobe$", "--run", "TestKretprobe", "--inject-wrong", "kprobe", "--json", results)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	var exit *exec.ExitError
	require.True(t, errors.As(cmd.Run(), &exit), "the run must fail: %s", errOut.String())
	assert.Contains(t, out.String(), "--- FAIL kprobe/TestKretprobe on debian-6.1")
	assert.Regexp(t, `reproduce: bpfmatrix reproduce \S+/results.json debian-6.1 \\?\s*kprobe/TestKretprobe`, out.String())

	t.Run("plain", func(t *testing.T) {
		out.Reset()
		errOut.Reset()
		cmd := exec.Command(bin, "reproduce", "--lock", lock, results, "debian-6.1", "kprobe/TestKretprobe")
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		require.True(t, errors.As(err, &exit), "reproduced: the test fails again (%v): %s", err, errOut.String())
		assert.Equal(t, 1, exit.ExitCode())
		assert.Contains(t, out.String(), "=== RUN   TestSuites/kprobe/TestKretprobe", "verbose")
		assert.Contains(t, out.String(), "vfs_write return value", "the test's failure")
		assert.Contains(t, out.String(), "--- FAIL: TestSuites/kprobe/TestKretprobe")
		assert.NotContains(t, out.String(), "TestKprobe ", "that one test only")
		assert.Contains(t, errOut.String(), "reproducing kprobe/TestKretprobe on debian-6.1 (6.1.0-")
		assert.Contains(t, errOut.String(), "kprobe/TestKretprobe on debian-6.1: fail")
	})

	t.Run("shell", func(t *testing.T) {
		cmd := exec.Command(bin, "reproduce", "--shell", "--lock", lock, "--timeout", "5m", results, "debian-6.1", "kprobe/TestKretprobe")
		ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
		require.NoError(t, err)
		defer ptmx.Close()
		defer cmd.Process.Kill()
		var term lockedBuffer
		go io.Copy(&term, ptmx)
		waitFor := func(what string, d time.Duration) {
			t.Helper()
			for deadline := time.Now().Add(d); !strings.Contains(term.String(), what); time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q within %s; terminal so far:\n%s", what, d, term.String())
				}
			}
		}
		waitFor("vfs_write return value", 4*time.Minute)
		waitFor("the test's files are in /tmp/kprobe", time.Minute)
		waitFor("$ ", time.Minute)
		// The shell runs in the test's directory, and takes commands.
		const marker = "PWD-/tmp/kprobe-END"
		for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(term.String(), marker); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q; terminal so far:\n%s", marker, term.String())
			}
			_, err = ptmx.Write([]byte("echo PWD-$PWD-END\r"))
			require.NoError(t, err)
			time.Sleep(5 * time.Second)
		}
		_, err = ptmx.Write([]byte{quitKey})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("reproduce --shell did not quit on Ctrl-]; terminal:\n%s", term.String())
		}
	})
}
