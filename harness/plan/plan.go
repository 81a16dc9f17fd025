// Package plan says what a run runs, as a value built before anything
// boots: the suites, the test selection and the ordered columns of the
// matrix, one per kernel and boot profile. It can be printed (`bpfmatrix
// run --dry-run`) and is then executed by package harness, column by
// column.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// ErrEmpty is returned by [New] for a plan without kernels or suites.
var ErrEmpty = errors.New("nothing to run (no kernels or no suites)")

// Plan is what one run runs.
type Plan struct {
	// Kernels are the kernels, in matrix order.
	Kernels []catalog.Spec
	// Profiles are the boot profiles every kernel runs under, in order.
	Profiles []expect.Profile
	// Suites run in every column, in one VM per column.
	Suites []Suite
	// Run selects the tests of every suite, as go test -run does.
	Run string
	// TestArgs are passed to every test binary.
	TestArgs []string
	// Columns are the matrix columns, kernel by kernel and, within a
	// kernel, profile by profile. A column whose profile boots its kernel
	// exactly as an earlier column of the same kernel does is dropped when
	// the kernel's config is known (see [Plan.Resolve]).
	Columns []Column
}

// Column is one planned column of the matrix: one VM.
type Column struct {
	// Index is the column's place in the matrix, 0-based.
	Index int
	// Kernel is the index of the column's kernel in Plan.Kernels.
	Kernel int
	// Spec is that kernel.
	Spec catalog.Spec
	// Profile is the boot profile, and ProfileIndex its index in
	// Plan.Profiles.
	Profile      expect.Profile
	ProfileIndex int
}

// Name is the column's label, as [results.KernelResult.Column] gives it.
func (c Column) Name() string {
	if c.Profile.Name == results.DefaultProfile {
		return c.Spec.Name
	}
	return c.Spec.Name + "+" + c.Profile.Name
}

// New returns the plan of suites on specs under profiles (none: the
// default profile only), selecting tests with run.
func New(specs []catalog.Spec, profiles []expect.Profile, suites []Suite, run string, testArgs []string) (*Plan, error) {
	if len(specs) == 0 || len(suites) == 0 {
		return nil, fmt.Errorf("harness: %w", ErrEmpty)
	}
	if err := CheckRun(run); err != nil {
		return nil, err
	}
	if len(profiles) == 0 {
		profiles = []expect.Profile{expect.DefaultProfile}
	}
	p := &Plan{Kernels: specs, Profiles: profiles, Suites: suites, Run: run, TestArgs: testArgs}
	for i, spec := range specs {
		for j, prof := range profiles {
			p.Columns = append(p.Columns, Column{Index: len(p.Columns), Kernel: i, Spec: spec, Profile: prof, ProfileIndex: j})
		}
	}
	return p, nil
}

// Resolve returns the kernel command-line arguments of c for a kernel
// built with config, and false if an earlier profile of the plan boots
// that kernel exactly the same way: then the column does not run.
func (p *Plan) Resolve(c Column, config map[string]string) (args []string, ok bool) {
	for _, r := range profilesFor(p.Profiles[:c.ProfileIndex+1], config) {
		if r.Name == c.Profile.Name {
			return r.args, true
		}
	}
	return nil, false
}

// SelectionKey names what the plan runs in each VM: VM times of different
// selections do not compare.
func (p *Plan) SelectionKey() string {
	var names []string
	for _, s := range p.Suites {
		names = append(names, s.Name)
	}
	h := sha256.Sum256([]byte(strings.Join(names, ",") + "\x00" + p.Run + "\x00" + strings.Join(p.TestArgs, "\x00")))
	return hex.EncodeToString(h[:8])
}

// Write prints the plan: the suites, then one line per column with its
// arch and boot command line. config returns a kernel's build
// configuration if it is known (cached); a column whose kernel is not yet
// known is printed as planned, and marked so.
func (p *Plan) Write(w io.Writer, config func(catalog.Spec) (map[string]string, bool)) error {
	var names []string
	for _, s := range p.Suites {
		names = append(names, s.Name)
	}
	fmt.Fprintf(w, "suites: %s\n", strings.Join(names, ", "))
	if p.Run != "" {
		fmt.Fprintf(w, "tests:  %s\n", p.Run)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tARCH\tPROFILE\tCMDLINE")
	n := 0
	for _, c := range p.Columns {
		cmdline := "(known once the kernel is fetched)"
		if cfg, known := config(c.Spec); known {
			args, ok := p.Resolve(c, cfg)
			if !ok {
				continue
			}
			cmdline = strings.Join(args, " ")
		}
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name(), c.Spec.Arch, c.Profile.Name, cmdline)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d column(s), %d kernel(s) x %d profile(s); a profile that boots a kernel like an earlier one does not run\n", n, len(p.Kernels), len(p.Profiles))
	return err
}
