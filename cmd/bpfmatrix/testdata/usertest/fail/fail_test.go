// Package fail has one test that fails.
package fail

import "testing"

func TestFail(t *testing.T) {
	t.Errorf("deliberate failure: got %d, want %d", 1, 2)
}

func TestFine(t *testing.T) {}
