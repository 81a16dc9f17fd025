package runner

import (
	"fmt"
	"sync"
	"time"
)

// DefaultBootTimeout is how long a guest has to report in (its hello
// event) before its VM is killed as boot-failed, unless VMOptions says
// otherwise. Boots measured on a 2-core machine under TCG, QEMU start to
// hello, 2026-12-01: 1.4-4 s for one VM alone (x86_64 and arm64, the
// guest mounting its disk and file systems), up to 10.8 s with the
// default matrix's 7 VMs at once (debian-7.2). 60 s is 5.5 times the
// slowest of those: room for a loaded machine, and still a tenth of a
// run's timeout.
const DefaultBootTimeout = time.Minute

// bootDeadline kills a VM whose guest has not said hello in time: started
// when QEMU is, stopped by the hello. Whichever comes first wins.
type bootDeadline struct {
	after time.Duration

	mu      sync.Mutex
	timer   *time.Timer
	hello   bool
	expired bool
}

// start arms the deadline: kill is called if hello has not been by then.
// A zero deadline never expires.
func (d *bootDeadline) start(kill func()) {
	if d.after <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timer = time.AfterFunc(d.after, func() {
		d.mu.Lock()
		if d.hello {
			d.mu.Unlock()
			return
		}
		d.expired = true
		d.mu.Unlock()
		kill()
	})
}

// said records the guest's hello: the deadline no longer applies.
func (d *bootDeadline) said() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hello = true
	if d.timer != nil {
		d.timer.Stop()
	}
}

// stop disarms the deadline (the VM ended).
func (d *bootDeadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

// missed reports whether the deadline killed the VM.
func (d *bootDeadline) missed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired
}

// error is the status message of a VM the deadline killed.
func (d *bootDeadline) error() string {
	return fmt.Sprintf("the guest did not report in within the %s boot deadline (raise it with --boot-timeout)", d.after)
}
