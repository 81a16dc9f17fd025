package harness_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/bpfmatrix/bpfmatrix/vm"
)

// TestMain fails the package if any QEMU process started by its tests is
// still around when they end.
func TestMain(m *testing.M) {
	code := m.Run()
	if left := vm.Leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: QEMU processes left running after the tests: %v\n", left)
		code = 1
	}
	os.Exit(code)
}
