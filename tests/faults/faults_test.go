// Package faults breaks the guest on purpose, for the harness's own fault
// tests (harness/faults_test.go). It is not a built-in suite: its tests do
// nothing unless BPFMATRIX_FAULT names a fault.
package faults

import (
	"os"
	"testing"
	"time"

	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// EnvFault selects the fault.
const EnvFault = "BPFMATRIX_FAULT"

// EnvAttempt is the attempt number of a test run again (harness.EnvAttempt;
// this package does not import the host's).
const EnvAttempt = "BPFMATRIX_ATTEMPT"

// TestBefore passes, so that a fault test can check that results received
// before the fault are kept.
func TestBefore(t *testing.T) {
	testutil.RequireGuest(t)
	testutil.Report(t, "none", "none", 1)
}

// TestFault injects the fault named by BPFMATRIX_FAULT:
//
//	hang    never return (the VM must hit its timeout)
//	panic   crash the kernel through sysrq (the harness must see the panic)
//	exit    end the test binary abruptly, mid-test
//	splat   log a kernel WARN splat (through /dev/kmsg) and pass
//	flaky   fail on the first attempt, pass when run again (--retries
//	        sets BPFMATRIX_ATTEMPT on a retry)
func TestFault(t *testing.T) {
	testutil.RequireGuest(t)
	switch f := os.Getenv(EnvFault); f {
	case "":
		t.Skip("no fault requested")
	case "hang":
		t.Log("hanging on purpose")
		time.Sleep(time.Hour)
	case "panic":
		t.Log("crashing the kernel on purpose")
		// What TestBefore wrote is still on its way through test2json, the
		// guest and the serial port; a panic loses what has not left the
		// guest. Give it time, so that the harness's check is about
		// results the host received. With one vCPU, the crash would
		// otherwise win the race under load.
		time.Sleep(2 * time.Second)
		if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
			t.Fatalf("sysrq: %v", err)
		}
		time.Sleep(time.Hour)
	case "exit":
		os.Exit(3)
	case "splat":
		// One record per write, at KERN_WARNING, as WARN() logs it: the
		// quiet console never shows it; the guest's kernel log reader must.
		for _, line := range []string{
			"------------[ cut here ]------------",
			"WARNING: CPU: 0 PID: 1 at tests/faults/faults_test.go:1 bpfmatrix_fault_splat+0x0/0x0",
			"---[ end trace 0000000000000000 ]---",
		} {
			if err := os.WriteFile("/dev/kmsg", []byte("<4>"+line+"\n"), 0); err != nil {
				t.Fatalf("/dev/kmsg: %v", err)
			}
		}
	case "flaky":
		if a := os.Getenv(EnvAttempt); a == "" || a == "1" {
			t.Fatal("failing on the first attempt on purpose")
		}
		t.Logf("attempt %s: passing", os.Getenv(EnvAttempt))
		testutil.Report(t, "none", "none", 1)
	default:
		t.Fatalf("unknown fault %q", f)
	}
}
