package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ciliumEBPF is the flagship Go eBPF library whose own test suite the
// faithful guest must pass: a project none of us wrote.
const ciliumEBPF = "github.com/cilium/ebpf@v0.22.0"

// ciliumPackages are the packages of cilium/ebpf whose files the module
// proxy's zip carries intact (the zip drops symlinks: testdata/loader-el.elf
// and loader-eb.elf are, so the root package and btf's TestSpecCopy and
// TestLoadSpecFromElf need a git checkout).
var ciliumPackages = []string{"./asm", "./btf", "./link", "./perf", "./ringbuf", "./rlimit", "./internal/kallsyms", "./internal/tracefs", "./internal/epoll"}

// ciliumMustPass are tests that fail or panic in a guest that is not the
// machine a distribution has: each needs one of the things the guest
// provides (two CPUs, /bin/bash for uprobes, tracefs events).
var ciliumMustPass = []string{
	"btf/TestSpecConcurrentAccess", // needs 2+ CPUs (GOMAXPROCS)
	"link/TestUprobe",              // opens /bin/bash
	"link/TestKprobe",
	"internal/tracefs/TestNewEvent", // /bin/bash too
	"ringbuf/TestRingbufReader",
}

// TestCiliumEBPFSuite runs cilium/ebpf's own tests from the module proxy
// (the version cilium's CI runs: go test -short) through `bpfmatrix exec` on
// one kernel, as its CI would with CI_MAX_KERNEL_VERSION: every package
// passes, and the tests that need what a distribution machine has pass
// rather than skip.
func TestCiliumEBPFSuite(t *testing.T) {
	requireExecVMs(t)
	out, err := exec.Command("go", "mod", "download", "-json", ciliumEBPF).Output()
	require.NoError(t, err, "go mod download %s", ciliumEBPF)
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	// A writable copy outside the module cache: go test writes nothing
	// there, but the guest's overlay and go's checks want a plain tree.
	dir := filepath.Join(t.TempDir(), "ebpf")
	cp, err := exec.Command("cp", "-r", mod.Dir, dir).CombinedOutput()
	require.NoError(t, err, "cp: %s", cp)
	require.NoError(t, exec.Command("chmod", "-R", "u+w", dir).Run())

	bin := buildBpfmatrix(t)
	lock, err := filepath.Abs("../../bpfmatrix.lock")
	require.NoError(t, err)
	args := append([]string{"test", "-short", "-count", "1", "-json", "-skip", "^(TestSpecCopy|TestLoadSpecFromElf)$",
		"-exec", bin + " exec --kernels debian-6.12 --lock " + lock}, ciliumPackages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	pkgResult := map[string]string{}
	testResult := map[string]string{}
	var failures []string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct{ Action, Package, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(ev.Package, "github.com/cilium/ebpf"), "/")
		switch {
		case ev.Action == "output" && (strings.Contains(ev.Output, "--- FAIL") || strings.Contains(ev.Output, "panic:")):
			failures = append(failures, pkg+": "+strings.TrimSpace(ev.Output))
		case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail"):
			pkgResult[pkg] = ev.Action
		case ev.Test != "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip"):
			testResult[pkg+"/"+ev.Test] = ev.Action
		}
	}
	for _, p := range ciliumPackages {
		p = strings.TrimPrefix(p, "./")
		assert.Equal(t, "pass", pkgResult[p], "package %s", p)
	}
	for _, name := range ciliumMustPass {
		assert.Equal(t, "pass", testResult[name], "%s", name)
	}
	if t.Failed() {
		t.Logf("failures:\n%s\nstderr:\n%s", strings.Join(failures, "\n"), tail(stderr.String(), 60))
	}
	assert.NoError(t, runErr, "go test through bpfmatrix exec")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
