// Package fail has one test that fails.
package fail

import (
	"testing"

	"example.com/usertest/internal/machine"
)

func TestFail(t *testing.T) {
	t.Errorf("deliberate failure: got %d, want %d", 1, 2)
}

func TestFine(t *testing.T) {}

// TestMachine: this package's VM is the machine asked for.
func TestMachine(t *testing.T) { machine.Check(t) }
