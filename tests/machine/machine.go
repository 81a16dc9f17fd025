// Package machine is the in-guest suite that checks the guest is the
// machine the user asked for: as many CPUs as --cpus, a clock that
// resolves microseconds (not the 4 ms jiffies a guest falls back to
// without its timers), the kernel's config at /boot/config-<release>, and
// its module tree at /lib/modules/<release>, loaded from on demand. A
// change to how the VM boots that takes any of this away fails here, on
// every kernel.
package machine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
var Suite = suite.For(facts.Machine, TestCPUs, TestClock, TestKernelConfig, TestModules)

const family = "machine"

// asked is the machine the host asked for.
func asked(t *testing.T) wire.Machine {
	t.Helper()
	testutil.RequireGuest(t)
	var m wire.Machine
	raw := os.Getenv(wire.EnvMachine)
	require.NotEmpty(t, raw, "the host did not say what machine it asked for (%s)", wire.EnvMachine)
	require.NoError(t, json.Unmarshal([]byte(raw), &m), "%s=%s", wire.EnvMachine, raw)
	return m
}

// TestCPUs checks that the CPUs asked for are online and possible, and
// that the Go runtime sees them.
func TestCPUs(t *testing.T) {
	want := testutil.Want(family, asked(t).CPUs, asked(t).CPUs+1)
	for _, f := range []string{"online", "possible"} {
		list, err := os.ReadFile("/sys/devices/system/cpu/" + f)
		require.NoError(t, err)
		n, err := countCPUs(strings.TrimSpace(string(list)))
		require.NoError(t, err)
		assert.Equal(t, want, n, "/sys/devices/system/cpu/%s = %q", f, strings.TrimSpace(string(list)))
	}
	assert.Equal(t, want, runtime.NumCPU(), "runtime.NumCPU()")
	testutil.Report(t, "machine: cpus", fmt.Sprintf("%d CPUs", runtime.NumCPU()), 0)
}

// countCPUs counts the CPUs of a kernel CPU list such as "0-3,5".
func countCPUs(list string) (int, error) {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("CPU list %q: %w", list, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("CPU list %q: bad range %q", list, part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// TestClock checks the clocksource is a timer, not jiffies: the time of
// day advances in microseconds, and BPF_PROG_TEST_RUN (which times runs
// with the kernel's clock) reports a non-zero duration for a tiny program.
func TestClock(t *testing.T) {
	asked(t)
	cur, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	require.NoError(t, err)
	source := strings.TrimSpace(string(cur))
	jiffies := testutil.Want(family, []string{"jiffies", "refined-jiffies"}, []string{source})
	assert.NotContains(t, jiffies, source, "clocksource (available: %s)", available())

	step := time.Hour
	for range 1000 {
		t0 := time.Now()
		var d time.Duration
		for d = time.Since(t0); d == 0; d = time.Since(t0) {
		}
		step = min(step, d)
	}
	assert.Less(t, step, testutil.Want(family, 100*time.Microsecond, step), "smallest step of the clock (%s)", source)

	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SocketFilter,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	})
	require.NoError(t, err)
	defer prog.Close()
	_, perRun, err := prog.Benchmark(make([]byte, 64), 10_000, nil)
	require.NoError(t, err)
	assert.Greater(t, perRun, testutil.Want(family, time.Duration(0), perRun), "BPF_PROG_TEST_RUN duration per run (%s)", source)
	testutil.Report(t, "machine: clocksource", source, 0)
}

func available() string {
	b, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/available_clocksource")
	return strings.TrimSpace(string(b))
}

func release(t *testing.T) string {
	var u unix.Utsname
	require.NoError(t, unix.Uname(&u))
	return unix.ByteSliceToString(u.Release[:])
}

// TestKernelConfig checks /boot/config-$(uname -r) is the kernel's own
// config, byte for byte.
func TestKernelConfig(t *testing.T) {
	m := asked(t)
	if m.ConfigSHA256 == "" {
		testutil.NotActive(t, "machine: /boot/config", "the kernel came without a config file")
	}
	path := "/boot/config-" + release(t)
	b, err := os.ReadFile(path)
	require.NoError(t, err, "a distribution machine has its kernel's config there")
	sum := sha256.Sum256(b)
	assert.Equal(t, testutil.Want(family, m.ConfigSHA256, strings.Repeat("0", 64)), hex.EncodeToString(sum[:]), "SHA-256 of %s", path)
	testutil.Report(t, "machine: /boot/config", "", 0)
}

// onDemand is a module the kernel loads by itself when a socket of its
// address family is opened (request_module("net-pf-15")): AF_KEY.
const (
	onDemand       = "af_key"
	onDemandFamily = unix.AF_KEY
	pfKeyV2        = 2
)

// TestModules checks the kernel's module tree is at
// /lib/modules/$(uname -r) with its index, and that the kernel loads a
// module from it on demand through /proc/sys/kernel/modprobe, as on the
// distribution.
func TestModules(t *testing.T) {
	if !asked(t).Modules {
		testutil.NotActive(t, "machine: modules", "the kernel came without a module tree")
	}
	dir := filepath.Join("/lib/modules", release(t))
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	require.NoError(t, err)
	require.NotEmpty(t, dep, "modules.dep")
	_, err = os.Stat(filepath.Join(dir, "modules.alias"))
	require.NoError(t, err)
	modprobe, err := os.ReadFile("/proc/sys/kernel/modprobe")
	require.NoError(t, err)
	_, err = os.Stat(strings.TrimSpace(string(modprobe)))
	require.NoError(t, err, "the kernel's modprobe (/proc/sys/kernel/modprobe)")

	if !bytes.Contains(dep, []byte("/"+onDemand+".ko")) {
		testutil.NotActive(t, "machine: modules", onDemand+" is not a module of this kernel: nothing to load on demand")
	}
	if loaded(t, onDemand) {
		t.Fatalf("%s is loaded before the test: the check would prove nothing", onDemand)
	}
	fd, err := unix.Socket(onDemandFamily, unix.SOCK_RAW, pfKeyV2)
	require.NoError(t, err, "socket(AF_KEY): the kernel loads %s on demand", onDemand)
	unix.Close(fd)
	assert.True(t, loaded(t, testutil.Want(family, onDemand, "no_such_module")), "%s in /proc/modules after socket(AF_KEY)", onDemand)
	testutil.Report(t, "machine: modules", "request_module", 0)
}

func loaded(t *testing.T, module string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/modules")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == module {
			return true
		}
	}
	return false
}
