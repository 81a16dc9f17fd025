package harness

import (
	"cmp"
	"slices"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// errNoTests is a VM's error when its guest ran no tests.
const errNoTests = "the guest ran no tests"

// suiteKey is where the schedule history keeps how long a suite ran in a
// column (next to the columns' own VM times).
func suiteKey(column, suite string) string { return column + " " + suite }

// splitColumn shares the plan's suites out over several VMs of one
// column, or returns nil for one VM with all of them. Only bpfmatrix test
// splits, and only when the run has more VM slots than columns (one
// kernel on a machine of two cores): under TCG a VM's vCPUs share one host
// thread, so one VM per column would leave the other cores idle. Every VM
// is the same machine (kernel, CPUs, memory, files); what changes is only
// which packages share a kernel, which go test -exec never lets them do.
// The suites are shared out longest first, each to the VM with the least
// work so far, by how long they ran the last time (durations.json); a
// suite never measured counts as the mean of those that were.
func (m *matrixRun) splitColumn(column string) [][]string {
	u := m.opts.user
	if u == nil {
		return nil
	}
	n := u.vmsPerColumn
	if n <= 0 {
		n = m.opts.Parallel / max(len(m.plan.Columns), 1)
	}
	n = min(n, len(m.plan.Suites))
	if n <= 1 {
		return nil
	}
	type work struct {
		name  string
		index int
		secs  float64
		known bool
	}
	var items []work
	var sum float64
	known := 0
	for i, s := range m.plan.Suites {
		secs, ok := m.hist.Expected(m.plan.SelectionKey(), suiteKey(column, s.Name))
		items = append(items, work{name: s.Name, index: i, secs: secs, known: ok})
		if ok {
			sum += secs
			known++
		}
	}
	mean := 1.0
	if known > 0 {
		mean = sum / float64(known)
	}
	for i := range items {
		if !items[i].known {
			items[i].secs = mean
		}
	}
	slices.SortStableFunc(items, func(a, b work) int { return cmp.Compare(b.secs, a.secs) })
	loads := make([]float64, n)
	picked := make([][]work, n)
	for _, it := range items {
		i := 0
		for j := range loads {
			if loads[j] < loads[i] {
				i = j
			}
		}
		loads[i] += it.secs
		picked[i] = append(picked[i], it)
	}
	groups := make([][]string, 0, n)
	for _, p := range picked {
		slices.SortFunc(p, func(a, b work) int { return a.index - b.index })
		var names []string
		for _, it := range p {
			names = append(names, it.name)
		}
		if len(names) > 0 {
			groups = append(groups, names)
		}
	}
	return groups
}

// mergeVMs makes kr, the column, of the results of its VMs: every VM's
// tests, splats, frame errors and guest log; the slowest VM's phases; and
// status, error, console and reproduce of the first VM that did not end
// well (a VM whose packages ran no tests is only an error if none ran
// any). kr.VMs lists them.
func mergeVMs(kr *results.KernelResult, parts []results.KernelResult, groups [][]string) {
	base := *kr
	*kr = parts[0]
	kr.Kernel, kr.Profile, kr.Cmdline = base.Kernel, base.Profile, base.Cmdline
	kr.Tests, kr.Splats, kr.FrameErrors, kr.GuestLog, kr.VMs = nil, nil, nil, nil, nil
	bad := -1
	for i, p := range parts {
		kr.VMs = append(kr.VMs, results.VM{Suites: groups[i], Status: p.Status, Seconds: p.Seconds, ConsoleLog: p.ConsoleLog})
		kr.Tests = append(kr.Tests, p.Tests...)
		kr.Splats = append(kr.Splats, p.Splats...)
		kr.FrameErrors = append(kr.FrameErrors, p.FrameErrors...)
		kr.GuestLog = append(kr.GuestLog, p.GuestLog...)
		kr.QEMUMaxRSSKiB = max(kr.QEMUMaxRSSKiB, p.QEMUMaxRSSKiB)
		kr.Phases.Image = max(kr.Phases.Image, p.Phases.Image)
		kr.Phases.Boot = max(kr.Phases.Boot, p.Phases.Boot)
		kr.Phases.Tests = max(kr.Phases.Tests, p.Phases.Tests)
		kr.Phases.PowerOff = max(kr.Phases.PowerOff, p.Phases.PowerOff)
		if bad < 0 && (p.Status != results.StatusOK || p.Error != "" && p.Error != errNoTests) {
			bad = i
		}
	}
	kr.Phases.Fetch = base.Phases.Fetch
	kr.Status, kr.Error, kr.Reproduce = results.StatusOK, "", ""
	if bad >= 0 {
		p := parts[bad]
		kr.Status, kr.Error, kr.Reproduce = p.Status, p.Error, p.Reproduce
		kr.ConsoleLog, kr.ConsoleTail, kr.PanicLines = p.ConsoleLog, p.ConsoleTail, p.PanicLines
	} else if len(kr.Tests) == 0 {
		kr.Error = errNoTests
	}
}
