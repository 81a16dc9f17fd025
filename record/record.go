// Package record lets a Go test tell bpfmatrix what it found out about the
// kernel it runs on: which hook it exercised, which attach mechanism won
// (and why the earlier ones failed), how many events it checked, or that
// the kernel does not support the hook at all. bpfmatrix puts the record
// into the test's cell of the matrix ("✓ kp*": passed through the kprobe
// fallback) and checks it against the rules of bpfmatrix.yaml
// (mechanism: fentry).
//
// Outside bpfmatrix every function is a no-op, so tests call it
// unconditionally:
//
//	l, res, err := attachEntry(objs) // fentry, else kprobe
//	if err != nil {
//		t.Fatal(err)
//	}
//	record.Mechanism(t, "entry", res) // "kprobe (fallback: fentry: ...)"
//
// The package imports only the standard library; a test binary that uses it
// needs no other part of bpfmatrix.
package record

import (
	"encoding/json"
	"fmt"
	"os"
)

// EnvRecords names the file (JSON Lines) the bpfmatrix guest collects
// records from; it is set only inside a bpfmatrix VM.
const EnvRecords = "BPFMATRIX_RECORDS"

// Record is one thing a test reports about itself. Its JSON is the record
// format of bpfmatrix's guest, one object per line.
type Record struct {
	// Test is the test's name (t.Name()); Write fills it in.
	Test string `json:"test"`
	// Hook is the hook kind the test exercised, e.g. "kprobe" or "entry".
	Hook string `json:"hook,omitempty"`
	// Mechanism is the attach mechanism that won, with the steps that
	// failed before it: "fentry", "kprobe (fallback: fentry: <why>)".
	Mechanism string `json:"mechanism,omitempty"`
	// Events is how many events the test checked by content; records of
	// one test add up.
	Events int `json:"events,omitempty"`
	// Unsupported is the kernel's reason for not supporting the hook. A
	// test that records it and then skips is "unsupported" in the matrix,
	// not "skipped".
	Unsupported string `json:"unsupported,omitempty"`
}

// T is what the package needs of a test: *testing.T, *testing.B and
// testing.TB have it.
type T interface {
	Name() string
	Helper()
}

// Enabled reports whether records are collected: the test runs in a
// bpfmatrix VM.
func Enabled() bool { return os.Getenv(EnvRecords) != "" }

// Mechanism records that t exercised hook through mechanism, anything
// whose String method names it (a chain's result) or a string.
func Mechanism(t T, hook string, mechanism any) error {
	t.Helper()
	return Write(t, Record{Hook: hook, Mechanism: fmt.Sprint(mechanism)})
}

// Events records that t checked n events by content.
func Events(t T, n int) error {
	t.Helper()
	return Write(t, Record{Events: n})
}

// Unsupported records that the kernel does not support hook, for reason
// (the kernel's error). Skip the test afterwards: the cell reads
// "unsupported" with the reason.
func Unsupported(t T, hook, reason string) error {
	t.Helper()
	return Write(t, Record{Hook: hook, Unsupported: reason})
}

// Write appends r, with Test set to t's name, to the record file: a single
// write, so that a record survives a crash of the test binary whole. It
// does nothing outside bpfmatrix.
func Write(t T, r Record) error {
	t.Helper()
	path := os.Getenv(EnvRecords)
	if path == "" {
		return nil
	}
	r.Test = t.Name()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}
