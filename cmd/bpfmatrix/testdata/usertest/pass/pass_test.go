// Package pass passes: it reads its testdata (so it runs in its package
// directory) and the environment bpfmatrix.yaml sets.
package pass

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"example.com/usertest/internal/machine"
)

func TestPass(t *testing.T) {
	b, err := os.ReadFile("testdata/greeting.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != Greeting() {
		t.Fatalf("greeting = %q", got)
	}
	if v := os.Getenv("FIXTURE_FROM_CONFIG"); v != "yes" {
		t.Fatalf("FIXTURE_FROM_CONFIG = %q, want yes (from bpfmatrix.yaml)", v)
	}
	if os.Getenv("BPFMATRIX_GUEST") != "1" {
		t.Fatal("not in a bpfmatrix guest")
	}
}

func TestSub(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) {})
}

func TestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short")
	}
}

// TestBash runs /bin/bash, as cilium/ebpf's link tests attach uprobes to
// it: the guest has one, as a distribution machine does.
func TestBash(t *testing.T) {
	out, err := exec.Command("/bin/bash", "-c", "echo $((6*7))").CombinedOutput()
	if err != nil {
		t.Fatalf("/bin/bash: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "42" {
		t.Fatalf("bash said %q, want 42", got)
	}
}

// TestMachine: this package's VM is the machine asked for.
func TestMachine(t *testing.T) { machine.Check(t) }
