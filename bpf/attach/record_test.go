package attach

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfmatrix/bpfmatrix/record"
)

// TestRecording checks that a chain given a Recording writes its Result as
// the test's record, winner and failed steps, and that without a T it
// writes nothing.
func TestRecording(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.jsonl")
	t.Setenv(record.EnvRecords, path)
	var order []string
	unsupp := fmt.Errorf("no trampoline: %w", ebpf.ErrNotSupported)
	var won *ebpf.Collection
	if _, err := run(Recording{}, &won, attempt("fentry", &order, unsupp, nil, &fake{}), attempt("kprobe", &order, nil, nil, &fake{})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a chain without Recording.T wrote a record (stat: %v)", err)
	}
	if _, err := run(Recording{T: t, Hook: "entry"}, &won, attempt("fentry", &order, unsupp, nil, &fake{}), attempt("kprobe", &order, nil, nil, &fake{})); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got record.Record
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(b))), &got); err != nil {
		t.Fatalf("record %q: %v", b, err)
	}
	want := record.Record{Test: "TestRecording", Hook: "entry", Mechanism: "kprobe (fallback: fentry: no trampoline: not supported)"}
	if got != want {
		t.Fatalf("record = %+v, want %+v", got, want)
	}
}
