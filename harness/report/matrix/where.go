package matrix

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Where is where a failing test fails and passes, and what the expectation
// model's facts say separates the two.
type Where struct {
	// Row is the test's row; Fails and Passes are the columns where it
	// failed and passed (flaky counts as passed), Unsupported those where
	// the kernel said no.
	Row                        int
	Fails, Passes, Unsupported []int
	// Differs lists the facts in which every failing column differs from
	// every passing one: "passes from 6.12", "arch (fails on arm64)",
	// "CONFIG_FPROBE (n where it fails, y where it passes)", "boot
	// profile".
	Differs []string
}

// Where answers "where?" for every row with a failure, in row order.
func (m *Matrix) Where() []Where {
	var out []Where
	for i := range m.Rows {
		w := Where{Row: i}
		for j, c := range m.Cells[i] {
			switch c.Outcome().Final() {
			case results.Fail:
				w.Fails = append(w.Fails, j)
			case results.Pass:
				w.Passes = append(w.Passes, j)
			case results.Unsupported:
				w.Unsupported = append(w.Unsupported, j)
			}
		}
		if len(w.Fails) == 0 {
			continue
		}
		if len(w.Passes) > 0 {
			w.Differs = m.differs(w.Fails, w.Passes)
		}
		out = append(out, w)
	}
	return out
}

// differs lists the facts that separate the columns fails from passes.
func (m *Matrix) differs(fails, passes []int) []string {
	var out []string
	type version struct{ major, minor int }
	ver := func(j int) (version, bool) {
		a, b, err := expect.ParseRelease(m.Columns[j].Kernel.Kernel.Release)
		return version{a, b}, err == nil
	}
	less := func(a, b version) bool { return a.major < b.major || a.major == b.major && a.minor < b.minor }
	vf, okF := extreme(fails, ver, less)
	vp, okP := extreme(passes, ver, less)
	if okF && okP {
		switch {
		case less(vf.max, vp.min):
			out = append(out, fmt.Sprintf("passes from %d.%d", vp.min.major, vp.min.minor))
		case less(vp.max, vf.min):
			out = append(out, fmt.Sprintf("fails from %d.%d", vf.min.major, vf.min.minor))
		}
	}
	facts := []struct {
		name string
		of   func(k *results.KernelResult) (string, bool)
	}{
		{"arch", func(k *results.KernelResult) (string, bool) { return k.Kernel.Arch, k.Kernel.Arch != "" }},
		{"boot profile", func(k *results.KernelResult) (string, bool) { return profileOf(k), true }},
	}
	for _, opt := range expect.ConfigOptions {
		facts = append(facts, struct {
			name string
			of   func(k *results.KernelResult) (string, bool)
		}{opt, func(k *results.KernelResult) (string, bool) { v, ok := k.Config[opt]; return v, ok }})
	}
	for _, f := range facts {
		inF, okF := m.values(fails, f.of)
		inP, okP := m.values(passes, f.of)
		if !okF || !okP || slices.ContainsFunc(inF, func(v string) bool { return slices.Contains(inP, v) }) {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s where it fails, %s where it passes)", f.name, strings.Join(inF, "/"), strings.Join(inP, "/")))
	}
	return out
}

func profileOf(k *results.KernelResult) string {
	if k.Profile == "" {
		return results.DefaultProfile
	}
	return k.Profile
}

// values are the distinct values of a fact over cols, sorted; ok is false
// if a column does not know it.
func (m *Matrix) values(cols []int, of func(*results.KernelResult) (string, bool)) (vals []string, ok bool) {
	for _, j := range cols {
		v, known := of(m.Columns[j].Kernel)
		if !known {
			return nil, false
		}
		if !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	sort.Strings(vals)
	return vals, true
}

type span[V any] struct{ min, max V }

// extreme is the smallest and largest of f over cols; ok is false if a
// column has no value.
func extreme[V any](cols []int, f func(int) (V, bool), less func(a, b V) bool) (s span[V], ok bool) {
	for i, j := range cols {
		v, known := f(j)
		if !known {
			return s, false
		}
		if i == 0 || less(v, s.min) {
			s.min = v
		}
		if i == 0 || less(s.max, v) {
			s.max = v
		}
	}
	return s, len(cols) > 0
}

// Text is the answer as one line, the columns named by lay: "fails on amd64
// 5.10, 6.1; passes on amd64 6.12, 7.2; differs in: passes from 6.12,
// CONFIG_FPROBE (n where it fails, y where it passes)".
func (w Where) Text(m *Matrix, lay *Layout) string {
	s := "fails on " + lay.Places(m, w.Fails)
	if len(w.Unsupported) > 0 {
		s += "; unsupported on " + lay.Places(m, w.Unsupported)
	}
	switch {
	case len(w.Passes) == 0:
		return s + "; passes nowhere"
	case len(w.Differs) == 0:
		return s + "; passes on " + lay.Places(m, w.Passes) + "; nothing the expectation model knows separates them"
	}
	return s + "; passes on " + lay.Places(m, w.Passes) + "; differs in: " + strings.Join(w.Differs, ", ")
}
