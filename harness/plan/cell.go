package plan

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// SuiteRow is the row of a suite whose binary failed outside any test
// (package collect adds it): there is no test to run again.
const SuiteRow = "(suite)"

// ErrNoCell is returned, wrapped, when a results file has no such column or
// test, or names more than one.
var ErrNoCell = errors.New("no such cell")

// ErrNotPinned is returned, wrapped, when the kernel the store would boot
// is not the one a results file ran.
var ErrNotPinned = errors.New("not the kernel of the results")

// Cell is one cell of a results file to run again: its column and test,
// and what it takes to boot it the same way.
type Cell struct {
	Column *results.KernelResult
	Test   *results.TestResult
	// Spec is the column's kernel in the catalog; Profile its boot
	// profile; Suite the test's suite.
	Spec    catalog.Spec
	Profile expect.Profile
	Suite   Suite
	// Run selects exactly the test (and its subtests), as go test -run.
	Run string
	// InjectWrong is the run's --inject-wrong, for its tests to fail the
	// same way.
	InjectWrong []string
}

// FindCell finds the cell of res that column and test name: column is a
// column's label ("debian-5.10+lsm-bpf") or a kernel name with one
// column; test a row ("kprobe/TestKprobe") or a test name with one row.
func FindCell(res *results.Result, catalog *catalog.Catalog, column, test string) (*Cell, error) {
	var cols []*results.KernelResult
	for i := range res.Kernels {
		if k := &res.Kernels[i]; k.Column() == column {
			cols = []*results.KernelResult{k}
			break
		} else if k.Kernel.Name == column {
			cols = append(cols, k)
		}
	}
	var labels []string
	for _, k := range res.Kernels {
		labels = append(labels, k.Column())
	}
	if len(cols) != 1 {
		return nil, fmt.Errorf("%w: column %q: the results have %s", ErrNoCell, column, strings.Join(labels, ", "))
	}
	k := cols[0]
	var rows []*results.TestResult
	for i := range k.Tests {
		if t := &k.Tests[i]; t.ID() == test {
			rows = []*results.TestResult{t}
			break
		} else if t.Name == test {
			rows = append(rows, t)
		}
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("%w: test %q on %s (%d match; name it suite/TestName)", ErrNoCell, test, k.Column(), len(rows))
	}
	t := rows[0]
	if t.Name == SuiteRow {
		return nil, fmt.Errorf("%w: %s is its suite's binary failing outside any test: reproduce one of its tests", ErrNoCell, t.ID())
	}
	specs, err := catalog.Lookup([]string{k.Kernel.Name})
	if err != nil {
		return nil, err
	}
	profile := results.DefaultProfile
	if k.Profile != "" {
		profile = k.Profile
	}
	profiles, err := expect.SelectProfiles([]string{profile})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(Builtin, func(s Suite) bool { return s.Name == t.Suite })
	if i < 0 {
		return nil, fmt.Errorf("%w: suite %q is not a built-in suite", ErrNoCell, t.Suite)
	}
	return &Cell{Column: k, Test: t, Spec: specs[0], Profile: profiles[0], Suite: Builtin[i], Run: exactRun(t.Name), InjectWrong: res.InjectWrong}, nil
}

// exactRun is the go test -run selection of exactly the test name (a
// subtest with its parents).
func exactRun(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// CheckPinned returns ErrNotPinned unless k is the kernel that c's column
// ran: the same release and the same package SHA256s.
func (c *Cell) CheckPinned(k *kernels.Kernel) error {
	want := c.Column.Kernel
	if k.Release != want.Release {
		return fmt.Errorf("%w: the lock file pins %s %s, the results ran %s (use the lock file of that run: --lock)", ErrNotPinned, c.Spec.Name, k.Release, want.Release)
	}
	have := map[string]string{}
	for _, p := range k.Packages {
		have[p.Name] = p.SHA256
	}
	for _, p := range want.Packages {
		if have[p.Name] != p.SHA256 {
			return fmt.Errorf("%w: package %s %s: sha256 %s, the results ran %s (use the lock file of that run: --lock)", ErrNotPinned, p.Name, p.Version, have[p.Name], p.SHA256)
		}
	}
	return nil
}
