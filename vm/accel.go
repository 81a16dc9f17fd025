package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// Verdict is the accelerator chosen for a host, and why.
type Verdict struct {
	Accel  Accel  `json:"accel"`
	Reason string `json:"reason"`
	// Cached is true when the verdict came from an earlier probe.
	Cached bool `json:"-"`
}

func (v Verdict) String() string {
	s := fmt.Sprintf("accelerator %s (%s)", v.Accel, v.Reason)
	if v.Cached {
		s += " [cached verdict]"
	}
	return s
}

// Prober boots a short VM under the given accelerator and returns nil only
// if the guest really ran.
type Prober func(ctx context.Context, a Accel) error

// KVMDevice is the KVM device node.
var KVMDevice = "/dev/kvm"

// ResolveAccel turns want into kvm or tcg. For auto, KVM is used only if a
// test boot under it succeeds: a /dev/kvm that opens is not proof (some
// hypervisors expose one that cannot run a stock kernel). The verdict is
// cached in cacheFile per host and QEMU binary.
func ResolveAccel(ctx context.Context, want Accel, arch Arch, cacheFile string, probe Prober) (Verdict, error) {
	switch want {
	case AccelTCG:
		return Verdict{Accel: AccelTCG, Reason: "requested"}, nil
	case AccelKVM:
		if !arch.Native() {
			return Verdict{}, fmt.Errorf("--accel kvm: a %s guest cannot use KVM on this host; use --accel tcg or auto", arch.Name)
		}
		if err := openKVM(); err != nil {
			return Verdict{}, fmt.Errorf("--accel kvm: %w; use --accel tcg or auto", err)
		}
		return Verdict{Accel: AccelKVM, Reason: "requested"}, nil
	case AccelAuto:
	default:
		return Verdict{}, fmt.Errorf("unknown accelerator %q (valid: auto, kvm, tcg)", want)
	}
	if !arch.Native() {
		return Verdict{Accel: AccelTCG, Reason: "guest architecture differs from the host"}, nil
	}
	if err := openKVM(); err != nil {
		return Verdict{Accel: AccelTCG, Reason: err.Error()}, nil
	}
	key := hostKey(arch)
	cache := map[string]Verdict{}
	if b, err := os.ReadFile(cacheFile); err == nil {
		_ = json.Unmarshal(b, &cache) // a damaged cache is re-probed
	}
	if v, ok := cache[key]; ok && (v.Accel == AccelKVM || v.Accel == AccelTCG) {
		v.Cached = true
		return v, nil
	}
	v := Verdict{Accel: AccelKVM, Reason: "a test boot under KVM succeeded"}
	if err := probe(ctx, AccelKVM); err != nil {
		if ctx.Err() != nil {
			return Verdict{}, ctx.Err()
		}
		v = Verdict{Accel: AccelTCG, Reason: "/dev/kvm opens but a test boot under KVM failed: " + err.Error()}
	}
	cache[key] = v
	if b, err := json.MarshalIndent(cache, "", "  "); err == nil {
		_ = atomicfile.WriteBytes(cacheFile, b, 0o600)
	}
	return v, nil
}

func openKVM() error {
	f, err := os.OpenFile(KVMDevice, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", KVMDevice, err)
	}
	return f.Close()
}

// hostKey identifies what the verdict depends on: the host kernel, the KVM
// device and the QEMU binary.
func hostKey(arch Arch) string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	host, _ := os.Hostname()
	key := fmt.Sprintf("%s|%s|%s", host, unix.ByteSliceToString(u.Release[:]), arch.Name)
	if p, err := exec.LookPath(arch.QEMU); err == nil {
		if st, err := os.Stat(p); err == nil {
			key += fmt.Sprintf("|%s:%d:%d", p, st.Size(), st.ModTime().Unix())
		}
	}
	if st, err := os.Stat(KVMDevice); err == nil {
		key += fmt.Sprintf("|kvm:%d", st.ModTime().Unix())
	}
	return key
}

// ErrNoHello is returned by a probe whose guest never said hello.
var ErrNoHello = errors.New("the guest never reported in")

// ProbeTimeout bounds an accelerator probe boot.
const ProbeTimeout = 30 * time.Second
