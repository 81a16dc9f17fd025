package fakesuites

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestApart runs when the fake binary is a suite of its own (no parent):
// it logs its working directory and, with FAKE_BARRIER=DIR and FAKE_N=N,
// waits until N processes have arrived in DIR, which only concurrent
// processes can do.
func TestApart(t *testing.T) {
	if Covered() != 42 {
		t.Fatal("Covered")
	}
	wd, _ := os.Getwd()
	t.Logf("cwd=%s", wd)
	dir := os.Getenv("FAKE_BARRIER")
	if dir == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("FAKE_N"))
	if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ents, _ := os.ReadDir(dir); len(ents) >= n {
			return
		}
	}
	t.Fatalf("fewer than %d processes arrived at the barrier: the binaries did not run at once", n)
}
