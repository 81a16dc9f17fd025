package probe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfmatrix/bpfmatrix/record"
)

// write makes the process call Symbol once: one write to a file.
func write(t *testing.T) func() error {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return func() error {
		_, err := f.WriteString("x")
		return err
	}
}

// TestEntry attaches the chain and reports which mechanism won; the rule
// in bpfmatrix.yaml says which one each kernel must use.
func TestEntry(t *testing.T) {
	if os.Getenv("BPFMATRIX_GUEST") != "1" {
		t.Skip("needs root and a kernel to probe: run it with bpfmatrix test")
	}
	trigger := write(t)
	p, err := Open(trigger)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	record.Mechanism(t, "entry", p)

	before, err := p.Count()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := trigger(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := p.Count()
	if err != nil {
		t.Fatal(err)
	}
	// At least: the Go runtime may write too (never between these lines
	// in practice, but it may).
	if after-before < 3 {
		t.Fatalf("%s saw %d calls of %s after 3 writes, want at least 3", p.Mechanism, after-before, Symbol)
	}
	record.Events(t, 3)
}
