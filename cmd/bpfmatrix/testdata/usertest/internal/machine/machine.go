// Package machine checks, from inside a test binary, that the guest is the
// machine bpfmatrix test was asked for (its defaults: two CPUs, the
// kernel's own clocksource, its config and module tree). Every package of
// the fixture runs it, so every VM of a column split over several runs it.
package machine

import (
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// Check fails t where the guest is not the machine asked for.
func Check(t *testing.T) {
	t.Helper()
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, f := range []string{"online", "possible"} {
		if got := read("/sys/devices/system/cpu/" + f); got != "0-1" {
			t.Errorf("%s CPUs = %q, want 0-1 (--cpus 2)", f, got)
		}
	}
	if runtime.NumCPU() != 2 {
		t.Errorf("runtime.NumCPU() = %d, want 2", runtime.NumCPU())
	}
	if cs := read("/sys/devices/system/clocksource/clocksource0/current_clocksource"); strings.Contains(cs, "jiffies") {
		t.Errorf("clocksource %q: a tick-based clock, not the kernel's own choice", cs)
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	release := b.String()
	if cfg := read("/boot/config-" + release); !strings.Contains(cfg, "\nCONFIG_BPF=y\n") {
		t.Errorf("/boot/config-%s has no CONFIG_BPF=y", release)
	}
	if dep := read("/lib/modules/" + release + "/modules.dep"); !strings.Contains(dep, "veth.ko") {
		t.Errorf("/lib/modules/%s/modules.dep lists no veth module", release)
	}
}
