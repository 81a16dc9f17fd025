package vm

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if left := Leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: QEMU processes left running after the tests: %v\n", left)
		code = 1
	}
	os.Exit(code)
}
