// Package expect has a test that passes where bpfmatrix.yaml says it is
// unsupported: an unexpected cell.
package expect

import (
	"testing"

	"example.com/usertest/internal/machine"
)

func TestNewKernel(t *testing.T) {}

// TestMachine: this package's VM is the machine asked for.
func TestMachine(t *testing.T) { machine.Check(t) }
