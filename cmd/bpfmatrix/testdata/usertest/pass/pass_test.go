// Package pass passes: it reads its testdata (so it runs in its package
// directory) and the environment bpfmatrix.yaml sets.
package pass

import (
	"os"
	"strings"
	"testing"
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
