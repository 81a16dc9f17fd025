// Package flaky reads the list of tests known to be flaky on given kernels
// (--known-flaky FILE) and keeps, in the cache, how many runs in a row each
// listed test has passed, so that an entry that stopped failing is
// reported instead of rotting in the list.
//
// The list is YAML:
//
//	# flakes.yaml
//	- test: kprobe/TestKretprobe     # a row, suite/Test; path.Match globs
//	  kernels: debian-5.10*          # a glob or a list of globs (default: every kernel)
//	  reason: perf buffer wakeups lost under TCG (issue 12)
package flaky

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// ErrBadList is returned, wrapped, for a known-flaky list that does not
// parse or has an entry without a test or a reason.
var ErrBadList = errors.New("bad known-flaky list")

// CleanRuns is how many runs in a row a listed test must pass on a column
// before it is reported as no longer flaky there.
const CleanRuns = 10

// historyFile is the cache file of the passes in a row.
const historyFile = "flaky.json"

// Entry is one test known to be flaky.
type Entry struct {
	// Test is the row, "suite/TestName" (a path.Match pattern).
	Test string `yaml:"test"`
	// Kernels are patterns (path.Match) of the columns it is flaky on,
	// matched against the column's label ("debian-5.10+lsm-bpf") and
	// its kernel's name; empty: every column.
	Kernels Globs `yaml:"kernels"`
	// Reason says why, e.g. an issue link. Required: a flake without a
	// reason is never taken off the list.
	Reason string `yaml:"reason"`
}

// Globs is a list of patterns that YAML may also give as one string.
type Globs []string

// UnmarshalYAML reads one pattern or a list of them.
func (g *Globs) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*g = Globs{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*g = list
	return nil
}

// List is a known-flaky list.
type List []Entry

// Load reads the list at path.
func Load(file string) (List, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads a list from its YAML.
func Parse(b []byte) (List, error) {
	var l List
	if err := yaml.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadList, err)
	}
	return l, l.Check()
}

// Check reports the first entry of l without a test or a reason, or with
// a pattern that is not one.
func (l List) Check() error {
	for i, e := range l {
		if e.Test == "" || e.Reason == "" {
			return fmt.Errorf("%w: entry %d: needs a test and a reason", ErrBadList, i+1)
		}
		for _, p := range append(Globs{e.Test}, e.Kernels...) {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("%w: entry %d: pattern %q: %v", ErrBadList, i+1, p, err)
			}
		}
	}
	return nil
}

// Match returns the first entry that lists test (a row ID) on column k.
func (l List) Match(test string, k *results.KernelResult) (Entry, bool) {
	for _, e := range l {
		if ok, _ := path.Match(e.Test, test); !ok {
			continue
		}
		if len(e.Kernels) == 0 {
			return e, true
		}
		for _, p := range e.Kernels {
			a, _ := path.Match(p, k.Column())
			b, _ := path.Match(p, k.Kernel.Name)
			if a || b {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// Mark marks the listed tests of column k: each gets the entry's reason,
// and one that failed (on every attempt) becomes known-flaky.
func (l List) Mark(k *results.KernelResult) {
	for i := range k.Tests {
		t := &k.Tests[i]
		e, ok := l.Match(t.ID(), k)
		if !ok {
			continue
		}
		t.KnownFlaky = e.Reason
		if t.Result == results.Fail {
			t.Result = results.KnownFlaky
		}
	}
}

// History is how many runs in a row each listed test passed, per column.
type History map[string]int // column + "\x00" + test -> passes in a row

func key(column, test string) string { return column + "\x00" + test }

// LoadHistory reads the history in cacheDir; a missing or unreadable file
// is an empty history.
func LoadHistory(cacheDir string) History {
	h := History{}
	b, err := os.ReadFile(filepath.Join(cacheDir, historyFile))
	if err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h
}

// Record counts this run's listed tests (a pass adds one, anything else
// starts again from zero), writes the history back to cacheDir and returns
// the entries that passed CleanRuns times in a row or more. Columns that
// did not finish count for nothing.
func (h History) Record(cacheDir string, l List, r *results.Result) ([]results.StaleFlake, error) {
	if len(l) == 0 {
		return nil, nil
	}
	var stale []results.StaleFlake
	for i := range r.Kernels {
		k := &r.Kernels[i]
		if k.Status != results.StatusOK {
			continue
		}
		for _, t := range k.Tests {
			e, ok := l.Match(t.ID(), k)
			if !ok {
				continue
			}
			kk := key(k.Column(), t.ID())
			if t.Result != results.Pass {
				h[kk] = 0
				continue
			}
			h[kk]++
			if h[kk] >= CleanRuns {
				stale = append(stale, results.StaleFlake{Test: t.ID(), Column: k.Column(), Passes: h[kk], Reason: e.Reason})
			}
		}
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return stale, err
	}
	return stale, atomicfile.WriteBytes(filepath.Join(cacheDir, historyFile), append(b, '\n'), 0o644)
}
