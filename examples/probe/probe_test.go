package probe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfmatrix/bpfmatrix/record"
)

// fsync makes the process call Symbol once.
func fsync(t *testing.T) func() error {
	path := filepath.Join(t.TempDir(), "f")
	return func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.WriteString("x"); err != nil {
			return err
		}
		return f.Sync()
	}
}

// TestEntry attaches the chain and reports which mechanism won; the rule
// in bpfmatrix.yaml says which one each kernel must use.
func TestEntry(t *testing.T) {
	if os.Getenv("BPFMATRIX_GUEST") != "1" {
		t.Skip("needs root and a kernel to probe: run it with bpfmatrix test")
	}
	trigger := fsync(t)
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
	if after-before != 3 {
		t.Fatalf("%s saw %d calls of %s after 3 fsyncs, want 3", p.Mechanism, after-before, Symbol)
	}
	record.Events(t, 3)
}
